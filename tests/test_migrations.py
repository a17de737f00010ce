"""Alembic migrations build exactly the schema the models describe, on an empty
PostgreSQL database and on SQLite, and downgrade cleanly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from escalation.scan import scan
from netwerk.db import db
from netwerk.models.plans import PlanAction
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


def _rows(tables: list[str]) -> dict[str, int]:
    return {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def test_a_migration_that_rebuilds_a_referenced_table_keeps_every_row_on_sqlite(tmp_path):
    """0017 rebuilds ``plan_action``, which other tables refer to (one with ON DELETE
    CASCADE). With foreign keys enforced, SQLite's drop-and-copy would cascade into them or
    fail; the migration environment turns enforcement off for the change and checks the
    result. Here with the demo region's data, down to 0016 and up again."""
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'd.sqlite3'}", DEMO_MODE=True)
    with app.app_context():
        upgrade()
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        scan()  # the scan remembers every action: escalation_scan_action refers to plan_action
        db.session.commit()
        done = db.session.execute(select(PlanAction.id).where(PlanAction.status == "gereed")).scalars().all()
        assert done and all(db.session.get(PlanAction, i).criterion_met is True for i in done)
        tables = ["plan_action", "plan_action_update", "plan_history", "escalation_scan_action", "escalation"]
        before = _rows(tables)
        assert before["plan_action"] > 0 and before["escalation_scan_action"] == before["plan_action"]
        db.session.remove()
        downgrade(revision="0016_escalation_scan")
        upgrade()
        assert _rows(tables) == before
        assert all(db.session.get(PlanAction, i).criterion_met is True for i in done)  # carried both ways
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()


def test_an_old_orphan_row_does_not_stop_later_upgrades_on_sqlite(tmp_path):
    """The foreign-key check counts only what a migration adds: a database that already
    holds a broken reference (written with enforcement off, long ago) still upgrades, and
    enforcement is back on afterwards."""
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'o.sqlite3'}")
    with app.app_context():
        upgrade(revision="0017_action_judgments")
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA foreign_keys=OFF")
            raw.driver_connection.execute(
                "INSERT INTO notification (id, user_id, kind, link, created_at) "
                "VALUES ('0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210', 'x', '/', "
                "'2026-01-01 00:00:00')")
            raw.driver_connection.execute("PRAGMA foreign_keys=ON")
        finally:
            raw.close()
        upgrade()  # 0018 applies although the orphan is there
        upgrade()  # and a run with nothing to do scans nothing and succeeds
        assert db.session.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == \
            "0018_actions_at_close"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        db.session.remove()
        db.engine.dispose()
