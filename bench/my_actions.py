"""Mijn acties (issue 4) at scale: GET /mijn-acties and GET /api/v1/me/actions for a user
whose organisation has 2,000 open actions across 500 families.

The issue's target: a median page time, and a SQL statement count that does not grow with
the number of actions. The database holds one big organisation (``--families`` families,
each with a plan, a goal and ``--actions`` open actions spread evenly over them, owned by
``--users`` users of the organisation, due dates from 20 days ago to 40 days ahead) and
three small organisations for the statement counts, built the same way:

- 5 families with 20 actions, 5 families with 200 actions (actions x10, families equal),
- 20 families with 20 actions (families x4, actions equal).

Families, persons, involvements, plans, coordinator terms and goals are made through the
real operations (``netwerk.operations``: audit entries, matches, history). Actions are
bulk-inserted as ORM ``PlanAction`` objects with their texts set through the model's
``Encrypted`` descriptors (ciphertext bound to the row, as ``add_action`` writes it), plus
an ``action.added`` history row each; they skip ``add_action``'s SMART check and audit
entry, which would make seeding several times slower and which the page does not read.

Each organisation's viewer logs in through the real form (``POST /inloggen``) with the
test client, and its page is requested ``--warmup`` times untimed, then ``-n`` times
timed. Statements are counted in separate passes (``before_cursor_execute``), never
while timing.

    .venv/bin/python bench/my_actions.py [-n 30] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import _common as bench  # before the project imports: puts the project on sys.path
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.models import Organisation, User
from netwerk.models.plans import PlanAction, PlanHistory
from netwerk.security import hash_password
from privacy.audit import Actor
from tests.factories import make_covenant

PASSWORD = "Vier-lange-woorden-als-wachtwoord"
GOAL = "Het kind slaapt weer door en gaat uitgerust naar school"
SYSTEM = Actor.system("bench")
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
COMMIT_EVERY = 25  # families per transaction while seeding: bounded transactions, few commits


# --- seeding ---------------------------------------------------------------------------------

@dataclass
class OrgWorld:
    """One organisation's users, families, plans and goals (ids: seeding spans sessions)."""

    name: str
    org_id: uuid.UUID
    emails: list[str]
    user_ids: list[uuid.UUID]
    plans: list[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=list)  # (plan id, goal id)
    actions: int = 0


def actor_of(user: User) -> Actor:
    return Actor(user_id=user.id, org_id=user.organisation_id, role="deelnemer")


def create_org(name: str, users: int, password_hash: str) -> OrgWorld:
    """An organisation with ``users`` deelnemers sharing one password (hashed once: argon2
    with the production parameters costs a fraction of a second per hash)."""
    org = ops.create_organisation(ops.OrganisationData(name=name, org_type="cjg", domain="zorg"), SYSTEM)
    slug = name.lower().replace(" ", "-")
    emails, ids = [], []
    for i in range(users):
        user, _ = ops.create_user(ops.UserData(email=f"{slug}.{i}@example.org", name=f"Medewerker {i} {name}",
                                               organisation_id=org.id, roles={"deelnemer"}), SYSTEM)
        user.password_hash, user.must_change_password = password_hash, False
        emails.append(user.email)
        ids.append(user.id)
    db.session.commit()
    return OrgWorld(name, org.id, emails, ids)


def add_family(world: OrgWorld, index: int, today: date) -> None:
    """A parent and a child, the organisation involved with the child, a plan with the
    organisation's users taking turns as zorgcoördinator, and one goal."""
    born_child = date(2010 + index % 8, 1 + index % 12, 1 + index % 28)
    mother = ops.register_person(ops.PersonData(f"Moeder{index}", world.name.split()[0], date(1984, 5, 1)),
                                 SYSTEM, today, confirmed_new=True)
    child = ops.register_person(ops.PersonData(f"Kind{index}", world.name.split()[0], born_child),
                                SYSTEM, today, confirmed_new=True)
    family = ops.compose_family([(mother, "ouder"), (child, "kind")], SYSTEM)
    ops.register_involvement(child, ops.InvolvementData(
        organisation_id=world.org_id, contact_name="Contact Bench", contact_email="contact@example.org",
        start_date=today - timedelta(days=30)), SYSTEM, today)
    coordinator = db.session.get(User, world.user_ids[index % len(world.user_ids)])
    assert coordinator is not None
    plan = ops.start_plan(family, coordinator, actor_of(coordinator), today)
    goal = ops.add_goal(plan, "gezondheid", GOAL, coordinator, actor_of(coordinator))
    world.plans.append((plan.id, goal.id))


def add_families(world: OrgWorld, count: int, today: date) -> None:
    for i in range(count):
        add_family(world, i, today)
        if (i + 1) % COMMIT_EVERY == 0:
            db.session.commit()
    db.session.commit()


def due_offset(j: int) -> int:
    """Days from today, -20..+40, so some actions are overdue and some due soon."""
    return (j * 7) % 61 - 20


def add_actions(world: OrgWorld, count: int, today: date, batch: int = 500) -> None:
    """``count`` open actions spread round-robin over the world's plans and users, written
    as ORM objects (texts through the Encrypted descriptors, which need the id the model
    assigns at construction) plus their history rows; flushed ``batch`` at a time."""
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(world.user_ids)))}
    now = utcnow()
    for j in range(count):
        plan_id, goal_id = world.plans[j % len(world.plans)]
        owner = users[world.user_ids[j % len(world.user_ids)]]
        writer = users[world.user_ids[(j + 1) % len(world.user_ids)]]
        action = PlanAction(plan_id=plan_id, goal_id=goal_id, owner_user_id=owner.id, owner_org_id=world.org_id,
                            due=today + timedelta(days=due_offset(j)), status="open" if j % 3 else "bezig",
                            due_changes=0, organisation_id=world.org_id, created_by_user_id=writer.id,
                            created_at=now, updated_at=now, version=1, accepted_at=None)
        action.what = f"{owner.name} belt moeder van gezin {j % len(world.plans)} over afspraak {j} met de huisarts"
        action.done_when = f"klaar als afspraak {j} met de huisarts in de agenda staat"
        history = PlanHistory(plan_id=plan_id, action_id=action.id, user_id=writer.id,
                              organisation_id=world.org_id, kind="action.added")
        history.changes = {"what": action.what, "done_when": action.done_when, "due": action.due.isoformat(),
                           "goal_id": str(goal_id), "owner_user_id": str(owner.id)}
        db.session.add_all([action, history])
        if (j + 1) % batch == 0:
            db.session.flush()
    db.session.commit()
    world.actions += count


@dataclass
class Shape:
    name: str
    families: int
    actions: int
    users: int


def seed(app: Flask, shapes: list[Shape], today: date) -> tuple[dict[str, OrgWorld], float]:
    """Every shape's organisation, one covenant with all of them as parties (no rules: an
    organisation reads its own actions under the gate's own-organisation rule), then their
    families and actions. Returns the worlds and the seconds it took."""
    start = bench.now()
    with app.app_context():
        password_hash = hash_password(PASSWORD)
        worlds = {s.name: create_org(s.name, s.users, password_hash) for s in shapes}
        orgs = db.session.scalars(select(Organisation).where(
            Organisation.id.in_([w.org_id for w in worlds.values()]))).all()
        make_covenant(*orgs)
        for s in shapes:
            add_families(worlds[s.name], s.families, today)
            add_actions(worlds[s.name], s.actions, today)
        db.session.remove()
    return worlds, bench.now() - start


# --- requests ---------------------------------------------------------------------------------

def web_client(app: Flask, email: str) -> FlaskClient:
    """A test client logged in through the real form: GET for the CSRF token, then POST."""
    client = app.test_client()
    match = CSRF_RE.search(client.get("/inloggen").get_data(as_text=True))
    assert match, "no CSRF token on /inloggen"
    response = client.post("/inloggen", data={"csrf_token": match.group(1) or match.group(2),
                                              "email": email, "password": PASSWORD})
    assert response.status_code == 302, f"login of {email}: status {response.status_code}"
    return client


def api_token(app: Flask, email: str) -> str:
    response = app.test_client().post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["access_token"])


@dataclass
class Page:
    """One URL as one user sees it: how to fetch it and how to check the answer."""

    label: str
    fetch: Callable[[], TestResponse]
    expected_rows: int
    count_rows: Callable[[TestResponse], int]


def html_page(app: Flask, email: str, expected_rows: int) -> Page:
    # The page shows the first MY_ACTIONS_PER_PAGE actions (the earliest due); the gate
    # reads only those, while the query still loads all of the user's open actions.
    client = web_client(app, email)
    shown = min(expected_rows, app.config["MY_ACTIONS_PER_PAGE"])
    return Page("GET /mijn-acties", lambda: client.get("/mijn-acties"), shown,
                lambda r: r.get_data(as_text=True).count('<tr id="actie-'))


def api_page(app: Flask, email: str, expected_rows: int) -> Page:
    client, headers = app.test_client(), {"Authorization": f"Bearer {api_token(app, email)}"}
    return Page("GET /api/v1/me/actions", lambda: client.get("/api/v1/me/actions", headers=headers),
                expected_rows, lambda r: len(r.get_json()["actions"]))


def fetch_ok(page: Page) -> tuple[float, int]:
    """Seconds and body bytes of one request, which must be a 200 with every row."""
    seconds, response = bench.time_call(page.fetch)
    assert response.status_code == 200, f"{page.label}: status {response.status_code}"
    rows = page.count_rows(response)
    assert rows == page.expected_rows, f"{page.label}: {rows} rows, expected {page.expected_rows}"
    return seconds, len(response.get_data())


@dataclass
class Measured:
    backend: str
    label: str
    families: int
    actions: int
    times: list[float] = field(default_factory=list)
    size: int = 0
    statements: list[int] = field(default_factory=list)
    by_table: str = ""


def profile(page: Page, top: int) -> None:
    """One request under cProfile: the project's functions by cumulative time, and every
    function by own time, to say where a page's milliseconds go."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(fetch_ok, page)
    stats = pstats.Stats(profiler)
    print(f"\n--- profile of one {page.label} ({page.expected_rows} rows) ---")
    stats.sort_stats("cumulative").print_stats(r"(netwerk|privacy)/", top)
    stats.sort_stats("tottime").print_stats(top)


def timed(page: Page, n: int, warmup: int) -> tuple[list[float], int]:
    for _ in range(warmup):
        fetch_ok(page)
    samples = [fetch_ok(page) for _ in range(n)]
    return [s for s, _ in samples], samples[-1][1]


def counted(page: Page, passes: int) -> tuple[list[int], str]:
    """Statements per request over ``passes`` requests (the listener is attached only here)."""
    per_request, tables = [], bench.StatementCount()
    for _ in range(passes):
        with bench.count_statements(db.engine) as seen:
            fetch_ok(page)
        per_request.append(len(seen))
        tables.add(seen)
    return per_request, tables.by_label()


def measure(app: Flask, backend: str, world: OrgWorld, shape: Shape, args: argparse.Namespace,
            with_times: bool) -> list[Measured]:
    results = []
    for make in (html_page, api_page):
        page = make(app, world.emails[0], world.actions)
        m = Measured(backend, page.label, shape.families, shape.actions)
        if with_times:
            m.times, m.size = timed(page, args.n, args.warmup)
            if args.profile:
                profile(page, args.profile)
        else:
            fetch_ok(page)  # warm: the first request of a client compiles templates, loads keys
        with app.app_context():
            m.statements, m.by_table = counted(page, args.count_passes)
        results.append(m)
    return results


# --- report ---------------------------------------------------------------------------------

def report(results: list[Measured], args: argparse.Namespace, seeded: dict[str, float]) -> None:
    rows = []
    for m in results:
        if not m.times:
            continue
        s = bench.Summary.of(m.times)
        rows.append([m.backend, m.label, m.families, m.actions, s.n, bench.ms(s.median), bench.ms(s.p95),
                     bench.ms(s.minimum), bench.ms(s.maximum), f"{m.size / 1024:,.0f}", _stmts(m)])
    bench.print_table(["backend", "request", "families", "actions", "n", "median ms", "p95 ms", "min ms",
                       "max ms", "KiB", "statements"], rows,
                      title=f"Page time ({args.warmup} warm-up requests not counted), test client, one process")
    rows = [[m.backend, m.label, m.families, m.actions, _stmts(m)] for m in results]
    bench.print_table(["backend", "request", "families", "actions", "statements/request"], rows,
                      title=f"SQL statements per request ({args.count_passes} counting passes per row)")
    print()
    for line in growth(results):
        print(line)
    print("\nStatements by table (mean per request; insert/update/delete by their table):")
    for m in results:
        print(f"  {m.backend} {m.label} {m.families} families/{m.actions} actions: {m.by_table}")
    print()
    for backend, seconds in seeded.items():
        print(f"{backend}: seeded in {seconds:.1f} s")


def growth(results: list[Measured]) -> list[str]:
    """Per backend and URL: equal counts for 5 families with 20 and with 200 actions (the
    issue's requirement), and the statements each further family adds."""
    lines = []
    for backend, label in dict.fromkeys((m.backend, m.label) for m in results):
        at = {(m.families, m.actions): min(m.statements) for m in results if (m.backend, m.label) == (backend, label)}
        if {(5, 20), (5, 200), (20, 20)} <= set(at):
            same = "yes" if at[(5, 20)] == at[(5, 200)] else "NO"
            per_family = (at[(20, 20)] - at[(5, 20)]) / 15
            lines.append(f"{backend} {label}: same count with 10x the actions: {same}; "
                         f"+{per_family:.2f} statements per family")
    return lines


def _stmts(m: Measured) -> str:
    low, high = min(m.statements), max(m.statements)
    return str(low) if low == high else f"{low}-{high}"


def run_backend(app: Flask, backend: str, args: argparse.Namespace) -> tuple[list[Measured], float]:
    main = Shape("Groot CJG", args.families, args.actions, args.users)
    small = [Shape("Klein CJG", 5, 20, 2), Shape("Dicht CJG", 5, 200, 2), Shape("Breed CJG", 20, 20, 2)]
    today = utcnow().date()
    worlds, seconds = seed(app, [main, *small], today)
    print(f"# {backend}: seeded {sum(w.actions for w in worlds.values())} actions on "
          f"{sum(len(w.plans) for w in worlds.values())} plans in {seconds:.1f} s")
    results = []
    for shape in [*small, main]:
        results += measure(app, backend, worlds[shape.name], shape, args, with_times=shape is main
                           or args.time_small)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PlanAction)) == sum(
            w.actions for w in worlds.values())
        db.session.remove()
    return results, seconds


def default_backends() -> tuple[str, ...]:
    from tests.services import available

    return bench.BACKENDS if available("postgres") else ("sqlite",)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=30, help="timed requests per URL (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests first (default %(default)s)")
    parser.add_argument("--families", type=int, default=500, help="families of the big organisation")
    parser.add_argument("--actions", type=int, default=2000, help="open actions of the big organisation")
    parser.add_argument("--users", type=int, default=5, help="users of the big organisation (owners, coordinators)")
    parser.add_argument("--count-passes", type=int, default=3, help="statement-counting requests per URL")
    parser.add_argument("--profile", type=int, default=0, metavar="TOP",
                        help="profile one request of each timed URL, print the TOP functions (default: off)")
    parser.add_argument("--time-small", action="store_true", help="also time the small organisations' pages")
    bench.backends_arg(parser, default=default_backends())
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"),
                        help="shorthand for --backends (both: sqlite,postgresql)")
    args = parser.parse_args()
    if args.backend:
        args.backends = ",".join(bench.BACKENDS) if args.backend == "both" else args.backend

    results: list[Measured] = []
    seeded: dict[str, float] = {}
    with bench.workspace("my-actions") as dbs:
        for backend in bench.parse_backends(args.backends):
            database = dbs.new(backend)
            print(bench.load_note(f"before {backend}"))
            app = bench.migrated_app(database.instance, database.url)
            try:
                measured, seeded[backend] = run_backend(app, backend, args)
                results += measured
            finally:
                bench.dispose(app)
        bench.print_environment(dbs)
    report(results, args, seeded)


if __name__ == "__main__":
    main()
