"""The cost of "notify, then fetch" (issue 5): every event makes every open screen fetch its
view again, through the privacy gate. How long does one re-fetch take, and how many SQL
statements, for the participant's live view, the chair's console and the projector?

The database holds one overleg with two sections and a live meeting with ``--items``
families on its agenda (each with a person involved with CJG and police, a plan with a
goal and ``--actions`` SMART actions, all through the real operations); the wall shows an
item halfway. Each screen's fragment (``?deel=1``, what the live script fetches) is
requested ``--warmup`` times untimed, then ``-n`` times timed; statements are counted in a
separate pass. The live view and the console read the plan through the gate on every
fetch (decisions and audit entries included), the projector reads no plan content.

    .venv/bin/python bench/live_screens.py [-n 30] [--items 40] [--actions 3] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, time, timedelta

import _common as bench  # before the project imports: puts the project on sys.path
import pyotp
from flask import Flask
from flask.testing import FlaskClient

from meetings import operations as mops
from meetings.models import Meeting
from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from tests.conftest import post_form
from tests.factories import PASSWORD, make_covenant, make_org, make_user


def seed(app: Flask, items: int, actions: int) -> dict[str, object]:
    with app.app_context():
        cjg, police = make_org("CJG Bench", "cjg"), make_org("Politie Bench", "politie", "veiligheid")
        vh = make_org("Veiligheidshuis Bench", "veiligheidshuis", "veiligheid")
        make_covenant(cjg, police, vh)
        chair = make_user("voorzitter", org=vh, totp=True, name="Vera Voorzitter")
        secretary = make_user("secretaris", org=vh, name="Sem Secretaris")
        youth, officer = make_user(org=cjg, name="Jan Jeugdwerker"), make_user(org=police, name="Paula Politie")
        today, sys_actor = utcnow().date(), actor_for(chair)
        overleg = mops.create_overleg(mops.OverlegSpec(
            name="Bench-overleg", kind="procesoverleg", every_weeks=2, first_date=date(2026, 1, 6),
            start_time=time(13, 30), duration_minutes=180, place="Zaal", chair_ids=(chair.id,),
            secretary_id=secretary.id, sections=(mops.SectionSpec("Preventief", "signalering", (cjg.id, police.id)),)),
            sys_actor, today)
        mops.add_section(overleg, mops.SectionSpec("Strafrecht", "procesregie", (cjg.id, police.id)), chair, sys_actor,
                         today)
        meeting = Meeting(overleg_id=overleg.id, date=today, start_time=time(13, 30), duration_minutes=180,
                          place="Zaal")
        db.session.add(meeting)
        db.session.flush()
        youth_actor = actor_for(youth)
        for n in range(items):
            person = ops.register_person(ops.PersonData(f"Kind{n}", "Bench", date(2012, 1, 1) + timedelta(days=n)),
                                         sys_actor, today, confirmed_new=True)
            family = ops.compose_family([(person, "kind")], sys_actor)
            for org, user in ((cjg, youth), (police, officer)):
                ops.register_involvement(person, ops.InvolvementData(org.id, user.name, user.email, today),
                                         sys_actor, today)
            plan = ops.start_plan(family, youth, youth_actor, today)
            goal = ops.add_goal(plan, "school", "Het kind gaat weer elke dag naar school.", youth, youth_actor)
            for k in range(actions):
                ops.add_action(plan, goal_id=goal.id, what=f"Jeugdwerker belt de mentor, gesprek {k + 1}",
                               done_when="klaar als er een datum voor een gesprek staat", owner_user=youth,
                               owner_member=None, due=today + timedelta(days=7 + k), due_text=None, agreed_by=None,
                               agreed_on=None, actor=youth_actor, today=today)
            mops.add_to_agenda(meeting, overleg.sections[n % 2], family, chair, sys_actor)
        db.session.commit()
        mops.go_live(meeting, chair, sys_actor, utcnow(), meeting.version)
        middle = mops.ordered_items(meeting)[items // 2]
        mops.move_to(meeting, middle.id, chair, sys_actor, utcnow(), meeting.version)
        token = mops.issue_projector_link(meeting, chair, sys_actor, utcnow())
        db.session.commit()
        return {"meeting": str(meeting.id), "token": token, "chair": (chair.email, chair.totp_secret),
                "officer": (officer.email, None)}


def web_client(app: Flask, login: tuple[str, str | None]) -> FlaskClient:
    """Logged in through the real forms (password, then the code when the account has 2FA),
    outside any app context: each request gets its own, as in a server."""
    email, secret = login
    client = app.test_client()
    response = post_form(client, "/inloggen", {"email": email, "password": PASSWORD})
    if secret:
        response = post_form(client, "/inloggen/code", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302, f"login of {email}: {response.status_code}"
    return client


def measure(label: str, app: Flask, fetch: Callable[[], object], warmup: int, n: int) -> list[object]:
    for _ in range(warmup):
        fetch()
    seconds = []
    for _ in range(n):
        elapsed, response = bench.time_call(fetch)
        assert response.status_code == 200, (label, response.status_code)  # type: ignore[attr-defined]
        seconds.append(elapsed)
    with app.app_context(), bench.count_statements(db.engine) as seen:
        fetch()
    summary = bench.Summary.of(seconds)
    return [label, bench.ms(summary.median), bench.ms(summary.p95), len(seen)]


def run(backend: str, dbs: bench.Databases, args: argparse.Namespace) -> None:
    database = dbs.new(backend)
    app = bench.migrated_app(database.instance, database.url)
    try:
        ids = seed(app, args.items, args.actions)
        chair_client, police_client = web_client(app, ids["chair"]), web_client(app, ids["officer"])
        beamer = app.test_client()
        base = f"/vergaderingen/{ids['meeting']}"
        rows = [
            measure("live view (police)", app, lambda: police_client.get(f"{base}/live?deel=1"), args.warmup, args.n),
            measure("console (chair)", app, lambda: chair_client.get(f"{base}/console?deel=1"), args.warmup, args.n),
            measure("projector", app, lambda: beamer.get(f"/projectie/{ids['token']}?deel=1"), args.warmup, args.n),
        ]
        bench.print_table(["fragment", "median ms", "p95 ms", "statements"], rows,
                          f"{backend}: {args.items} items, {args.actions} actions each, n={args.n}")
    finally:
        bench.dispose(app)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--actions", type=int, default=3)
    bench.backends_arg(parser, default=("sqlite",))
    args = parser.parse_args()
    with bench.workspace("live-screens") as dbs:
        for backend in bench.parse_backends(args.backends):
            run(backend, dbs, args)
        bench.print_environment(dbs)


if __name__ == "__main__":
    main()
