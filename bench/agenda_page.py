"""The agenda page (issue 5, performance): GET /vergaderingen/<id> for a meeting with 40
agenda items whose households hold 300 open actions between them, median and p95, and the
SQL statements per request — which must not grow with items or actions (asserted in
tests/meetings/test_agenda_statements.py; here shown for a small and the full agenda).

The world: one CJG with ``--users`` deelnemers, ``--families`` households (a parent and a
child, the CJG involved, a plan with a goal: ``bench/my_actions.py``'s seeding, through the
real operations), ``--actions`` open actions spread over them (bulk ORM inserts, as there),
an overleg of two sections with the CJG at both tables, and a meeting with every household
on its agenda (``meetings.operations.add_to_agenda``, alternating sections). A second
meeting with ``--small`` households and a tenth of the actions gives the statement count
to compare with. Two viewers: a CJG participant, and the secretary (who also sees the
letters and the informing forms).

    .venv/bin/python bench/agenda_page.py [-n 30] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass, field
from datetime import date, time, timedelta

import _common as bench  # before the project imports: puts the project on sys.path
import my_actions as seeding
from flask import Flask
from sqlalchemy import select

from meetings import operations as mops
from meetings.models import Meeting
from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.models import Family, FamilyMember, Involvement, Organisation
from netwerk.models.plans import Plan
from netwerk.security import hash_password
from privacy.audit import Actor
from tests.factories import make_covenant


@dataclass
class World:
    meetings: dict[str, uuid.UUID] = field(default_factory=dict)  # "40 items" -> meeting id
    viewers: dict[str, str] = field(default_factory=dict)  # label -> e-mail


def _families_of(org_id: uuid.UUID) -> list[uuid.UUID]:
    return list(db.session.scalars(
        select(Plan.family_id).join(FamilyMember, FamilyMember.family_id == Plan.family_id)
        .join(Involvement, Involvement.person_id == FamilyMember.person_id)
        .where(Involvement.organisation_id == org_id).distinct()))


def seed(app: Flask, args: argparse.Namespace, today: date) -> tuple[World, float]:
    start = bench.now()
    world = World()
    with app.app_context():
        password_hash = hash_password(seeding.PASSWORD)
        big = seeding.create_org("CJG Bench", args.users, password_hash)
        small = seeding.create_org("CJG Klein", args.users, password_hash)
        vh = ops.create_organisation(ops.OrganisationData(name="Veiligheidshuis Bench", org_type="veiligheidshuis",
                                                          domain="veiligheid"), seeding.SYSTEM)
        people = {}
        for role in ("voorzitter", "secretaris"):
            user, _ = ops.create_user(ops.UserData(email=f"{role}@example.org", name=f"Bench {role}",
                                                   organisation_id=vh.id, roles={role}), seeding.SYSTEM)
            user.password_hash, user.must_change_password = password_hash, False
            people[role] = user
        orgs = db.session.scalars(select(Organisation).where(Organisation.id.in_([big.org_id, small.org_id, vh.id])))
        make_covenant(*orgs)
        for org_world, families, actions in ((big, args.families, args.actions),
                                             (small, args.small, max(1, args.actions // 10))):
            seeding.add_families(org_world, families, today)
            seeding.add_actions(org_world, actions, today)
        chair = people["voorzitter"]
        actor = Actor(user_id=chair.id, org_id=vh.id, role="voorzitter")
        overleg = mops.create_overleg(mops.OverlegSpec(
            name="Hét Overleg Bench", kind="procesoverleg", every_weeks=2, first_date=today, start_time=time(13, 30),
            duration_minutes=180, place="Zaal", chair_ids=(chair.id,), secretary_id=people["secretaris"].id,
            sections=(mops.SectionSpec("Preventief", "signalering", (big.org_id, small.org_id)),)), actor, today)
        mops.add_section(overleg, mops.SectionSpec("Strafrecht onder 18", "procesregie", (big.org_id, small.org_id)),
                         chair, actor, today)
        for days, org_world in ((7, big), (21, small)):
            meeting = Meeting(overleg_id=overleg.id, date=today + timedelta(days=days), start_time=time(13, 30),
                              duration_minutes=180, place="Zaal")
            db.session.add(meeting)
            db.session.flush()
            families = _families_of(org_world.org_id)
            for n, family_id in enumerate(families):
                mops.add_to_agenda(meeting, overleg.sections[n % 2], db.session.get(Family, family_id), chair, actor)
            world.meetings[f"{len(families)} items, {org_world.actions} actions"] = meeting.id
        db.session.commit()
        world.viewers = {"participant": big.emails[0], "secretary": people["secretaris"].email}
        db.session.remove()
    return world, bench.now() - start


def page(app: Flask, email: str, meeting_id: uuid.UUID, items: int) -> seeding.Page:
    client = seeding.web_client(app, email)
    url = f"/vergaderingen/{meeting_id}"
    return seeding.Page(f"GET {url[:14]}…", lambda: client.get(url), items,
                        lambda r: r.get_data(as_text=True).count('<li id="item-'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=30, help="timed requests per row")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--families", type=int, default=40, help="agenda items of the big meeting")
    parser.add_argument("--actions", type=int, default=300)
    parser.add_argument("--small", type=int, default=5, help="agenda items of the small meeting")
    parser.add_argument("--users", type=int, default=5)
    parser.add_argument("--count-passes", type=int, default=3)
    bench.backends_arg(parser)
    args = parser.parse_args()
    today = utcnow().date()
    rows, counts = [], []
    with bench.workspace("agenda") as dbs:
        for backend in bench.parse_backends(args.backends):
            database = dbs.new(backend)
            app = bench.migrated_app(database.instance, database.url)
            world, seconds = seed(app, args, today)
            print(f"{backend}: seeded in {seconds:.1f} s")
            for label, meeting_id in world.meetings.items():
                items = int(label.split()[0])
                for viewer, email in world.viewers.items():
                    p = page(app, email, meeting_id, items)
                    times, size = seeding.timed(p, args.n, args.warmup)
                    with app.app_context():
                        statements, by_table = seeding.counted(p, args.count_passes)
                    s = bench.Summary.of(times)
                    rows.append([backend, viewer, label, s.n, bench.ms(s.median), bench.ms(s.p95), bench.ms(s.maximum),
                                 f"{size / 1024:,.0f}", "/".join(str(c) for c in sorted(set(statements)))])
                    counts.append((backend, viewer, label, min(statements), by_table))
            bench.dispose(app)
        bench.print_environment(dbs)
    bench.print_table(["backend", "viewer", "agenda", "n", "median ms", "p95 ms", "max ms", "KiB", "statements"],
                      rows, title=f"GET /vergaderingen/<id> ({args.warmup} warm-up requests not counted), test client")
    print()
    for backend, viewer in dict.fromkeys((b, v) for b, v, *_ in counts):
        seen = {label: n for b, v, label, n, _ in counts if (b, v) == (backend, viewer)}
        same = "yes" if len(set(seen.values())) == 1 else "NO"
        print(f"{backend} {viewer}: same statement count for {' and '.join(seen)}: {same} ({seen})")
    print("\nStatements by table (mean per request):")
    for backend, viewer, label, _, by_table in counts:
        print(f"  {backend} {viewer} {label}: {by_table}")


if __name__ == "__main__":
    main()
