"""Alembic migrations build exactly the schema the models describe, on an empty
PostgreSQL database and on SQLite, and downgrade cleanly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from netwerk.db import db
from tests.conftest import make_app


def _diff(app) -> list:
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


@pytest.mark.postgresql
def test_migrations_match_models_on_empty_postgresql(pg_server, tmp_path):
    url = pg_server.create_database("migrations_check")
    app = make_app(tmp_path, url)
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
    assert _diff(app) == []
    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_migrations_match_models_on_sqlite(tmp_path):
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'm.sqlite3'}")
    with app.app_context():
        upgrade()
    assert _diff(app) == []
    with app.app_context():
        db.engine.dispose()
