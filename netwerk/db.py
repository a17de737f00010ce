"""Database foundations shared by every package: the declarative base, the constraint
naming convention, UTC datetimes, client-side UUID keys and the after-commit hook."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are stored as
    naive UTC and re-labelled on the way out. Naive values on the way in are a bug.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # Every ``Mapped[datetime]`` is a UTCDateTime. Set on the registry (not as a class
    # attribute) because Flask-SQLAlchemy subclasses this base.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


db = SQLAlchemy(model_class=Base)


class UUIDPrimaryKey:
    """Primary key assigned in Python at construction.

    Encrypted columns bind their ciphertext to the row id, so the id must exist before the
    first flush; UUIDs also keep ids out of reach of enumeration in URLs.
    """

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("id", uuid.uuid4())
        super().__init__(**kwargs)


def enum_check(column: str, values: tuple[str, ...] | list[str]) -> str:
    """SQL for a CHECK that keeps a string column inside its enumeration."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


# --- after-commit callbacks -------------------------------------------------------------
# Notifications, jobs and live events must leave only once the data they point to is
# committed (and never when the transaction rolls back).

_AFTER_COMMIT = "netwerk_after_commit"


def on_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` after the current request/job transaction commits. Registered
    inside a savepoint that is rolled back, it is dropped with the savepoint's work."""
    session = db.session()
    scope = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_AFTER_COMMIT, []).append((scope, callback))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_AFTER_COMMIT, [])
    for _scope, callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction: Any) -> None:
    if not previous_transaction.nested:
        session.info.pop(_AFTER_COMMIT, None)
        return
    # A savepoint rolled back: drop what was registered inside it (or in savepoints within
    # it, which are rolled back already), keep the rest of the transaction's callbacks.
    kept = [(scope, cb) for scope, cb in session.info.get(_AFTER_COMMIT, [])
            if scope is not previous_transaction and not _inside(scope, previous_transaction)]
    session.info[_AFTER_COMMIT] = kept


def _inside(scope: Any, savepoint: Any) -> bool:
    parent = getattr(scope, "parent", None)
    while parent is not None:
        if parent is savepoint:
            return True
        parent = parent.parent
    return False


# --- SQLite: serialise writers ------------------------------------------------------------
# pysqlite starts transactions lazily and upgrades read locks to write locks later, which
# deadlocks or fails with "database is locked" under concurrent writers (the audit chain
# reads its head and then appends). BEGIN IMMEDIATE takes the write lock up front, so the
# embedded mode serialises transactions instead of failing them. PostgreSQL is for scale.

@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection: Any, connection_record: Any) -> None:
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
