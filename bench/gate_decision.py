"""Privacy gate decision cost: ``privacy.policy.evaluate()`` per call, without the audit write.

Target (issue): the gate's decision without its audit entry costs a median under 0.2 ms.

The database holds the demo region (``netwerk.demo``: 14 organisations, their accounts and
the demo covenant 2026-1 in force from 2026-01-01) plus its expired predecessor 2025-1, and
P persons (default 300) with stepped consent, a third of the joint-talk step withdrawn.
The viewer is a deelnemer of CJG Alphen (``netwerk.auth.actor_for``); the subjects are
blinded (``privacy.audit.blind``): a family and two persons. Scenarios, interleaved so
machine drift hits them alike, each checked for the expected answer before timing:

- allowed, covenant rule:    "school" for "signalering" (legal task, no consent step)
- allowed, consent recorded: "zorgen" for "signalering" (step gezamenlijk_gesprek, both persons)
- denied, consent withdrawn: the same, but the second person withdrew the step
- denied, no covenant rule:  "strafrechtelijk" for "strafrechtelijke_aanpak"

The gate reads through ``privacy.queries``: ``compiled_in_force(on)`` keeps each covenant
version compiled (vocabulary, parties, rules) in a per-process cache (``_COMPILED``) and
reads the list of versions once per database transaction; ``consents_on_record`` reads a
subject's consent rows once per transaction. So a call costs what those caches hold:

- warm: all calls in one transaction (a page deciding many times); no SQL expected.
- first in a transaction: a rollback before every call, then ``Session.connection()``
  and a ``SELECT 1`` begin the next transaction (as a request that loaded its user
  first), untimed; the call re-reads the version list and the consent of the persons it
  asks about.
- cold: as "first", and the process cache ``_COMPILED`` cleared too (a new process, or
  the first use of a new covenant version): the call also compiles the version.

Separate counting passes (cursor events; never during timing) give the SQL statements per
call in each state, and per position in a transaction whose first statement is the
gate's own (rollback without begin). ``decide()`` (evaluate + audit entry) is timed for
comparison, with a commit every N decisions.

    .venv/bin/python bench/gate_decision.py [-n 2000] [--decide-n 500] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import _common as bench  # before the project imports: puts the project on sys.path
from flask import Flask
from sqlalchemy import event, func, select

from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.demo import DOMAIN, create_demo_region
from netwerk.models import Organisation, User
from netwerk.operations.families import age_on
from privacy import policy, queries
from privacy.audit import Actor, blind
from privacy.demo_covenant import demo_covenant
from privacy.models import Consent, CovenantRule
from privacy.operations import ConsentSpec, create_covenant_version, withdraw_consent

DAY = date(2026, 6, 1)  # the decision day: covenant 2026-1 in force, 2025-1 expired
CONSENT_GIVEN, CONSENT_WITHDRAWN = date(2026, 2, 1), date(2026, 4, 1)


@dataclass(frozen=True)
class Scenario:
    label: str
    category: str
    purpose: str
    subjects: list[str]
    reason: str  # what the gate must answer, checked before timing
    allowed: bool


@dataclass
class Setup:
    viewer: Actor
    scenarios: list[Scenario]
    persons: int
    consents: int
    rules: int
    seconds: float


# --- the database ----------------------------------------------------------------------------

def seed(app: Flask, persons: int) -> Setup:
    """Demo region + predecessor covenant + persons with stepped consent; committed."""
    start = bench.now()
    with app.app_context():
        actor = Actor.system("bench")
        create_demo_region()
        orgs = list(db.session.scalars(select(Organisation).order_by(Organisation.name)))
        old = demo_covenant([(o.id, o.org_type) for o in orgs], date(2025, 1, 1))
        create_covenant_version(replace(old, version="2025-1", valid_until=date(2025, 12, 31)), actor)
        ggz = next(o for o in orgs if o.org_type == "ggz")
        people = []
        for i in range(persons):
            born = date(2008 + i % 10, 1 + i % 12, 1 + i % 28)  # 8 to 18 years old when consenting
            person = ops.register_person(ops.PersonData(f"Kind{i}", "Bench", born), actor, DAY, confirmed_new=True)
            people.append(person)
            giver = _giver(age_on(person, CONSENT_GIVEN))
            for step in ("contact", "gezamenlijk_gesprek"):
                ops.record_consent(person, ConsentSpec(step, giver, "mondeling", CONSENT_GIVEN), actor, DAY)
            if i % 2:
                ops.record_consent(person, ConsentSpec("delen_met_organisatie", giver, "schriftelijk",
                                                       CONSENT_GIVEN, ggz.id), actor, DAY)
        db.session.flush()
        subjects = [ops.subject_of(p) for p in people]
        withdrawn_subjects = set()
        for i, person in enumerate(people):
            if i % 3 == 2:  # a third withdrew the joint talk again
                consent = db.session.scalar(select(Consent).where(Consent.person_id == person.id,
                                                                  Consent.step == "gezamenlijk_gesprek"))
                withdraw_consent(consent, CONSENT_WITHDRAWN, actor)
                withdrawn_subjects.add(subjects[i])
        db.session.commit()
        user = db.session.scalar(select(User).where(User.email == f"cjg-alphen.1@{DOMAIN}"))
        viewer = actor_for(user, "deelnemer")
        family = blind("family", uuid.uuid4())
        consenting = [s for s in subjects if s not in withdrawn_subjects]
        # The withdrawn person comes second, so the gate looks up both persons' consent.
        both, one_withdrawn = [family, *consenting[:2]], [family, consenting[2], min(withdrawn_subjects)]
        scenarios = [
            Scenario("allowed: covenant rule", "school", "signalering", both, "covenant_rule", True),
            Scenario("allowed: consent recorded", "zorgen", "signalering", both, "covenant_rule", True),
            Scenario("denied: consent withdrawn", "zorgen", "signalering", one_withdrawn, "consent_missing", False),
            Scenario("denied: no covenant rule", "strafrechtelijk", "strafrechtelijke_aanpak", both,
                     "no_covenant_rule", False),
        ]
        rules = db.session.scalar(select(func.count()).select_from(CovenantRule))
        consents = db.session.scalar(select(func.count()).select_from(Consent))
        db.session.remove()
    return Setup(viewer, scenarios, persons, consents, rules, bench.now() - start)


def _giver(age: int) -> str:
    return "ouder" if age < 12 else "ouder_en_jongere"


# --- measuring -------------------------------------------------------------------------------

_FROM = re.compile(r"\bFROM\s+([a-z_]+)", re.IGNORECASE)


def evaluate(viewer: Actor, s: Scenario) -> policy.Decision:
    return policy.evaluate(viewer, s.subjects, s.category, s.purpose, DAY)


def check(viewer: Actor, scenarios: list[Scenario], before: Callable[[], None] | None = None) -> None:
    for s in scenarios:
        if before:
            before()
        d = evaluate(viewer, s)
        assert (d.allowed, d.reason) == (s.allowed, s.reason), f"{s.label}: got {d}"
        assert d.covenant_version == "2026-1", f"{s.label}: decided by {d.covenant_version}"


def new_transaction(begin: bool = True) -> None:
    """End the session's transaction (nothing was written, so a rollback is as good as a
    commit). With ``begin``, start the next one the way a request has by the time it asks
    the gate (it loaded its user first): ``Session.connection()`` checks a connection out
    and autobegins, and a ``SELECT 1`` makes the driver send its BEGIN (psycopg defers it
    to the first statement), so neither is charged to the gate's first call."""
    db.session.rollback()
    if begin:
        db.session.connection().exec_driver_sql("SELECT 1")


def cold() -> None:
    """A process-cache miss: no compiled covenant version, and a new transaction."""
    queries._COMPILED.clear()
    new_transaction()


@dataclass(frozen=True)
class State:
    key: str
    description: str
    before: Callable[[], None] | None  # untimed, before every call


STATES = (
    State("warm", "same transaction, caches filled", None),
    State("first", "first call of a transaction (rollback + begin before it)", new_transaction),
    State("cold", "first call of a transaction, _COMPILED cleared", cold),
)


def timed_rounds(viewer: Actor, scenarios: list[Scenario], rounds: int, warmup: int,
                 before: Callable[[], None] | None = None) -> dict[str, list[float]]:
    """Per-call seconds of evaluate per scenario, scenarios interleaved round by round;
    ``before()`` runs untimed before every call."""
    times: dict[str, list[float]] = {s.label: [] for s in scenarios}
    for i in range(warmup + rounds):
        for s in scenarios:
            if before:
                before()
            start = bench.now()
            evaluate(viewer, s)
            elapsed = bench.now() - start
            if i >= warmup:
                times[s.label].append(elapsed)
    return times


@dataclass
class Count:
    """SQL statements of a counting pass: by the statement's first table, and per call."""

    tables: Counter[str] = field(default_factory=Counter)
    per_call: list[int] = field(default_factory=list)

    def mean(self) -> float:
        return statistics.fmean(self.per_call) if self.per_call else 0.0

    def by_table(self) -> str:
        n = len(self.per_call)
        return ", ".join(f"{k} {v / n:.3g}" for k, v in sorted(self.tables.items())) or "-"


@contextlib.contextmanager
def counting() -> Iterator[list[str]]:
    """Cursor events note each statement's first table (or its verb) while the block runs."""
    seen: list[str] = []

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        match = _FROM.search(statement)
        seen.append(match.group(1) if match else statement.split(None, 1)[0].lower())

    event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(db.engine, "after_cursor_execute", after)


def count_calls(call: Callable[[], Any], calls: int, before: Callable[[], None] | None = None) -> Count:
    """Statements of each ``call()``; ``before()`` runs outside the counted window."""
    result = Count()
    with counting() as seen:
        for _ in range(calls):
            if before:
                before()
            mark = len(seen)
            call()
            result.per_call.append(len(seen) - mark)
            result.tables.update(seen[mark:])
    return result


def count_positions(viewer: Actor, s: Scenario, repeats: int, depth: int, begin: bool) -> list[Count]:
    """Statements of the 1st..``depth``-th call in a transaction, begun before the first
    call or not (then the gate's first statement autobegins it)."""
    positions = [Count() for _ in range(depth)]
    with counting() as seen:
        for _ in range(repeats):
            new_transaction(begin)
            for position in positions:
                mark = len(seen)
                evaluate(viewer, s)
                position.per_call.append(len(seen) - mark)
                position.tables.update(seen[mark:])
    return positions


def decide(viewer: Actor, s: Scenario) -> policy.Decision:
    return policy.decide(viewer, subjects=s.subjects, category=s.category, purpose=s.purpose, on=DAY,
                         object_type="note", object_id=uuid.uuid4())


def time_decide(viewer: Actor, scenarios: list[Scenario], rounds: int, commit_every: int,
                warmup: int) -> tuple[dict[str, list[float]], list[float]]:
    """Per-call seconds of decide() (evaluate + audit record + flush) and of each commit."""
    times: dict[str, list[float]] = {s.label: [] for s in scenarios}
    commits: list[float] = []
    calls = 0
    for i in range(warmup + rounds):
        for s in scenarios:
            start = bench.now()
            decide(viewer, s)
            elapsed = bench.now() - start
            calls += 1
            if i >= warmup:
                times[s.label].append(elapsed)
            if calls % commit_every == 0:
                start = bench.now()
                db.session.commit()
                if i >= warmup:
                    commits.append(bench.now() - start)
    db.session.commit()
    return times, commits


def count_decide(viewer: Actor, scenarios: list[Scenario], calls: int, commit_every: int) -> Count:
    """Statements per decide() with a commit every ``commit_every`` decisions (the commit
    itself is not counted)."""
    result = Count()
    with counting() as seen:
        for i in range(calls):
            mark = len(seen)
            decide(viewer, scenarios[i % len(scenarios)])
            result.per_call.append(len(seen) - mark)
            result.tables.update(seen[mark:])
            if (i + 1) % commit_every == 0:
                db.session.commit()
    db.session.commit()
    return result


@dataclass
class Result:
    backend: str
    setup: Setup
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # state -> scenario -> seconds
    counts: dict[str, dict[str, Count]] = field(default_factory=dict)  # state -> scenario -> statements
    positions: dict[bool, dict[str, list[Count]]] = field(default_factory=dict)  # begun -> scenario -> 1st..
    decide: dict[str, list[float]] = field(default_factory=dict)
    decide_counts: Count = field(default_factory=Count)
    commits: list[float] = field(default_factory=list)
    round_trip: list[float] = field(default_factory=list)


POSITION_DEPTH = 3


def run_backend(app: Flask, backend: str, args: argparse.Namespace) -> Result:
    queries._COMPILED.clear()  # nothing from the previous backend's database
    setup = seed(app, args.persons)
    viewer, scenarios = setup.viewer, setup.scenarios
    result = Result(backend, setup)
    rounds = {"warm": (args.n, args.warmup), "first": (args.fresh_n, args.warmup // 10),
              "cold": (args.cold_n, 2)}
    with app.app_context():
        conn = db.session.connection()
        result.round_trip = [bench.time_call(lambda: conn.exec_driver_sql("SELECT 1").scalar())[0]
                             for _ in range(1000)]
        for state in STATES:
            new_transaction()
            check(viewer, scenarios, state.before)  # correct in this state; fills the caches for "warm"
            n, warmup = rounds[state.key]
            result.times[state.key] = timed_rounds(viewer, scenarios, n, warmup, state.before)
        for state in STATES:
            new_transaction()
            check(viewer, scenarios)
            result.counts[state.key] = {
                s.label: count_calls(lambda s=s: evaluate(viewer, s), args.profile_calls, state.before)
                for s in scenarios}
        for begin in (True, False):
            result.positions[begin] = {s.label: count_positions(viewer, s, args.profile_calls // 10,
                                                                POSITION_DEPTH, begin)
                                       for s in scenarios}
        db.session.rollback()
        decided = [s for s in scenarios if s.label.startswith(("allowed: covenant", "denied: no covenant"))]
        result.decide, result.commits = time_decide(viewer, decided, args.decide_n, args.commit_every,
                                                    args.warmup // 10)
        result.decide_counts = count_decide(viewer, decided, args.profile_calls, args.commit_every)
        db.session.remove()
    return result


# --- report ---------------------------------------------------------------------------------

TARGET = 0.0002  # seconds: the median target for one decision without its audit entry


def ms(seconds: float) -> str:
    """Milliseconds with three decimals: a warm decision takes hundredths of one."""
    return f"{seconds * 1000:.3f}"


def report(results: list[Result], args: argparse.Namespace) -> None:
    rows = []
    for r in results:
        for state in STATES:
            for label, times in r.times[state.key].items():
                s, c = bench.Summary.of(times), r.counts[state.key][label]
                rows.append([r.backend, state.key, label, s.n, ms(s.median), ms(s.p95),
                             "yes" if s.median < TARGET else "NO", f"{c.mean():.2f}", c.by_table()])
    bench.print_table(
        ["backend", "state", "scenario", "calls", "median ms", "p95 ms", "< 0.2 ms", "stmts/call",
         "statements per call by table"],
        rows, title=("evaluate(): one decision without its audit entry, by cache state (statements from a "
                     f"separate counting pass of {args.profile_calls} calls):\n"
                     + "\n".join(f"  {s.key}: {s.description}" for s in STATES)))

    rows = []
    for r in results:
        for begin in (True, False):
            for label, positions in r.positions[begin].items():
                rows.append([r.backend, "yes" if begin else "no", label,
                             *(f"{p.mean():.2f}" for p in positions),
                             "; ".join(p.by_table() for p in positions)])
    bench.print_table(
        ["backend", "begun", "scenario", *(f"stmts call {i + 1}" for i in range(POSITION_DEPTH)),
         "by table (call 1; call 2; ...)"],
        rows, title=(f"Statements of evaluate() calls 1-{POSITION_DEPTH} of a transaction "
                     f"({args.profile_calls // 10} transactions per row): begun = the transaction was begun "
                     "before the gate's first call (Session.connection()), else the gate's first statement "
                     "autobegins it"))

    rows = []
    for r in results:
        commit = bench.Summary.of(r.commits) if r.commits else None
        for label, times in r.decide.items():
            s = bench.Summary.of(times)
            per_call = s.mean + (commit.mean / args.commit_every if commit else 0)
            rows.append([r.backend, label, s.n, ms(s.median), ms(s.p95),
                         ms(commit.median) if commit else "-", ms(per_call)])
    bench.print_table(
        ["backend", "scenario", "calls", "decide median ms", "decide p95 ms",
         f"commit (every {args.commit_every}) median ms", "mean ms/decision incl. commit share"],
        rows, title="decide(): evaluate + audit entry (chain lock, head, insert, flush), for comparison")
    for r in results:
        c = r.decide_counts
        print(f"{r.backend}: decide() statements per call (mean of {len(c.per_call)}, commit every "
              f"{args.commit_every}, commit not counted): {c.mean():.2f}: {c.by_table()}")

    print()
    for r in results:
        rt = bench.Summary.of(r.round_trip)
        s = r.setup
        print(f"{r.backend}: SELECT 1 round trip median {ms(rt.median)} ms; seeded {s.persons} persons, "
              f"{s.consents} consent rows, {s.rules} covenant rules (2 versions) in {s.seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000,
                        help="timed warm evaluate calls per scenario (default %(default)s)")
    parser.add_argument("--fresh-n", type=int, default=1000,
                        help="timed first-in-transaction evaluate calls per scenario (default %(default)s)")
    parser.add_argument("--cold-n", type=int, default=200,
                        help="timed cold (process cache cleared) evaluate calls per scenario (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=200,
                        help="untimed warm rounds first; a tenth of it before first-in-transaction calls "
                             "(default %(default)s)")
    parser.add_argument("--decide-n", type=int, default=500,
                        help="timed decide calls per scenario (default %(default)s)")
    parser.add_argument("--commit-every", type=int, default=10,
                        help="decide calls per commit (default %(default)s)")
    parser.add_argument("--persons", type=int, default=300, help="persons with consent rows (default %(default)s)")
    parser.add_argument("--profile-calls", type=int, default=300,
                        help="calls per scenario and state in the statement-counting passes (default %(default)s)")
    bench.backends_arg(parser)
    args = parser.parse_args()
    backends = bench.parse_backends(args.backends)

    results = []
    with bench.workspace("gate") as dbs:
        for backend in backends:
            database = dbs.new(backend)
            print(bench.load_note(f"before {backend}"))
            app = bench.migrated_app(database.instance, database.url)
            try:
                results.append(run_backend(app, backend, args))
            finally:
                bench.dispose(app)
        bench.print_environment(dbs)
    print(f"# decision day {DAY.isoformat()}; viewer: deelnemer of CJG Alphen; subjects: a family and two persons")
    report(results, args)


if __name__ == "__main__":
    main()
