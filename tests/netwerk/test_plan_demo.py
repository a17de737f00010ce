"""The demo region's plan (issue 4): ``flask demo`` seeds one plan for the De Vries
household with a zorgcoördinator, goals and SMART actions of several organisations in
several states, so a demo user's Mijn acties is filled; running it again changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from netwerk import demo
from netwerk.db import db, utcnow
from netwerk.models import User
from netwerk.models.plans import Plan, PlanAction, PlanHistory
from tests.helpers import html, logged_in


def client_for(app, user: User):
    client = app.test_client()
    logged_in(client, user, password=demo.demo_password())
    return client


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def demo_user(local: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{local}@{demo.DOMAIN}"))


def test_the_demo_seeds_one_plan_once_and_fills_mijn_acties(app):
    today = utcnow().date()
    demo.create_demo_region()
    demo.create_demo_cases(today)
    db.session.commit()
    plan = db.session.scalar(select(Plan))
    assert plan.status == "vastgesteld" and count(Plan) == 1
    actions = db.session.scalars(select(PlanAction)).all()
    assert 4 <= len(actions) <= 6
    assert len({a.owner_org_id for a in actions if a.owner_org_id}) >= 3
    assert {"open", "bezig", "gereed"} <= {a.status for a in actions}
    assert any(a.due < today for a in actions) and any(0 <= (a.due - today).days <= 3 for a in actions)
    history = count(PlanHistory)
    assert demo.create_demo_cases(today) == 0 and demo.create_demo_plan(today) == 0  # idempotent
    db.session.commit()
    assert (count(Plan), count(PlanAction), count(PlanHistory)) == (1, len(actions), history)
    late = html(client_for(app, demo_user("leerplicht.1")).get("/mijn-acties"))
    assert "te laat" in late and "verzuimgesprek" in late
    soon = html(client_for(app, demo_user("jongerenwerk.1")).get("/mijn-acties"))
    assert "binnenkort" in soon and "Accepteren" in soon
    coordinator = html(client_for(app, demo_user(demo.PLAN_COORDINATOR)).get("/mijn-acties"))
    assert coordinator.count('id="actie-') == 4  # every open action of the family, as zorgcoördinator
