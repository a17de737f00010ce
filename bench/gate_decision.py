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

All calls of a run share one session and transaction (a request that decides many times).
An instrumented pass counts the SQL statements per evaluate and splits a call's time into
the gate's logic, building the ``select()``s, SQLAlchemy's session/ORM execution and the
driver (cursor events plus wrappers patched in for that pass). What-if passes time
evaluate with the look-ups memoised inside this script, to show what caching would save;
nothing in ``privacy`` is changed. ``decide()`` (evaluate + audit entry) is timed for
comparison, with a commit every N decisions.

    .venv/bin/python bench/gate_decision.py [-n 2000] [--decide-n 500] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import _common as bench  # before the project imports: puts the project on sys.path
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db
from netwerk.demo import DOMAIN, create_demo_region
from netwerk.models import Organisation, User
from netwerk.operations.families import age_on
from privacy import policy
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

QUERY_FUNCTIONS = ("covenant_in_force", "vocabulary", "party_on", "rule_for", "consent_on_record")
_FROM = re.compile(r"\bFROM\s+([a-z_]+)", re.IGNORECASE)


def evaluate(viewer: Actor, s: Scenario) -> policy.Decision:
    return policy.evaluate(viewer, s.subjects, s.category, s.purpose, DAY)


def check(viewer: Actor, scenarios: list[Scenario]) -> None:
    for s in scenarios:
        d = evaluate(viewer, s)
        assert (d.allowed, d.reason) == (s.allowed, s.reason), f"{s.label}: got {d}"
        assert d.covenant_version == "2026-1", f"{s.label}: decided by {d.covenant_version}"


def timed_rounds(viewer: Actor, scenarios: list[Scenario], rounds: int, warmup: int,
                 new_request: Callable[[], None] | None = None, per_request: int = 1) -> dict[str, list[float]]:
    """Per-call seconds of evaluate per scenario, scenarios interleaved round by round.
    For the what-if passes, ``new_request()`` (the memo reset) runs before each scenario's
    call in every ``per_request``-th round: a request is ``per_request`` decisions of one
    scenario, so its first decision pays every look-up, as in :func:`profile`."""
    times: dict[str, list[float]] = {s.label: [] for s in scenarios}
    for i in range(warmup + rounds):
        for s in scenarios:
            if new_request and i % per_request == 0:
                new_request()
            start = bench.now()
            evaluate(viewer, s)
            elapsed = bench.now() - start
            if i >= warmup:
                times[s.label].append(elapsed)
    return times


@dataclass
class Probe:
    """Per-call counters of one instrumented pass (see :func:`instrumented`)."""

    statements: Counter[str] = field(default_factory=Counter)  # by the statement's first table
    driver: float = 0.0  # cursor.execute() -> returned
    session: float = 0.0  # inside Session.scalar()/scalars(): compile-cache look-up, execute, ORM result
    queries: float = 0.0  # inside privacy.queries' functions: also building the select()
    calls: int = 0
    wall: float = 0.0
    per_call: list[int] = field(default_factory=list)  # statements of each call


@contextlib.contextmanager
def instrumented() -> Iterator[Probe]:
    """Cursor events count and time the statements; wrappers (patched in for the pass only,
    nothing in ``privacy`` changes) time the gate's query functions and the session calls.
    The wrappers add about a microsecond per call; use the figures as a split, not a total."""
    probe = Probe()
    engine = db.engine

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_stmt_start"] = bench.now()

    def after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        probe.driver += bench.now() - conn.info.pop("bench_stmt_start")
        match = _FROM.search(statement)
        probe.statements[match.group(1) if match else statement.split(None, 1)[0].lower()] += 1

    def timed(fn: Callable[..., Any], attr: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = bench.now()
            try:
                return fn(*args, **kwargs)
            finally:
                setattr(probe, attr, getattr(probe, attr) + bench.now() - start)
        return wrapper

    functions = {name: getattr(policy, name) for name in QUERY_FUNCTIONS}
    methods = {name: getattr(Session, name) for name in ("scalar", "scalars")}
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    for name, fn in functions.items():
        setattr(policy, name, timed(fn, "queries"))
    for name, fn in methods.items():
        setattr(Session, name, timed(fn, "session"))
    try:
        yield probe
    finally:
        for name, fn in functions.items():
            setattr(policy, name, fn)
        for name, fn in methods.items():
            setattr(Session, name, fn)
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def profile(viewer: Actor, s: Scenario, calls: int, new_request: Callable[[], None] | None = None,
            per_request: int = 1) -> Probe:
    evaluate(viewer, s)
    with instrumented() as probe:
        for i in range(calls):
            if new_request and i % per_request == 0:
                new_request()
            before = probe.statements.total()
            start = bench.now()
            evaluate(viewer, s)
            probe.wall += bench.now() - start
            probe.per_call.append(probe.statements.total() - before)
        probe.calls = calls
    return probe


@dataclass(frozen=True)
class Variant:
    key: str
    description: str
    request_memo: tuple[str, ...]  # dropped at every request start
    process_memo: tuple[str, ...] = ()  # kept: a covenant version is never edited once written


VARIANTS = (
    Variant("a", "per-request memo of covenant_in_force(day), vocabulary(version), party_on(version, org, day)",
            ("covenant_in_force", "vocabulary", "party_on")),
    Variant("b", "(a) + process-wide cache of rule_for(version, party, purpose, category)",
            ("covenant_in_force", "vocabulary", "party_on"), ("rule_for",)),
    Variant("c", "(b) + per-request memo of consent_on_record(subject, step, org, day)",
            ("covenant_in_force", "vocabulary", "party_on", "consent_on_record"), ("rule_for",)),
    Variant("d", "covenant_in_force, vocabulary, party_on, rule_for all process-wide (covenant_in_force "
                 "dropped whenever a version is written) + per-request memo of consent_on_record",
            ("consent_on_record",), ("covenant_in_force", "vocabulary", "party_on", "rule_for")),
)
MEMO_KEYS: dict[str, Callable[..., tuple]] = {
    "covenant_in_force": lambda on: (on,),
    "vocabulary": lambda c: (c.id,),
    "party_on": lambda c, org, on: (c.id, org, on),
    "rule_for": lambda c, p, purpose, category: (c.id, p.id, purpose, category),
    "consent_on_record": lambda subject, step, org, on: (subject, step, org, on),
}


@contextlib.contextmanager
def memoised(variant: Variant) -> Iterator[Callable[[], None]]:
    """What-if: the gate's look-ups memoised, patched into ``privacy.policy`` for the
    duration only. Yields the request-start hook that drops the per-request memo. (This
    memo holds ORM objects, which is fine here because nothing commits in between; a real
    cache would hold plain values.)"""
    per_request: dict[tuple, Any] = {}
    per_process: dict[tuple, Any] = {}
    originals = {name: getattr(policy, name) for name in (*variant.request_memo, *variant.process_memo)}

    def memo(store: dict, name: str) -> Callable[..., Any]:
        original, key = originals[name], MEMO_KEYS[name]

        def wrapper(*args: Any) -> Any:
            k = (name, *key(*args))
            if k not in store:
                store[k] = original(*args)
            return store[k]
        return wrapper

    for name in variant.request_memo:
        setattr(policy, name, memo(per_request, name))
    for name in variant.process_memo:
        setattr(policy, name, memo(per_process, name))
    try:
        yield per_request.clear
    finally:
        for name, fn in originals.items():
            setattr(policy, name, fn)


def time_decide(viewer: Actor, scenarios: list[Scenario], rounds: int, commit_every: int,
                warmup: int) -> tuple[dict[str, list[float]], list[float]]:
    """Per-call seconds of decide() (evaluate + audit record + flush) and of each commit."""
    times: dict[str, list[float]] = {s.label: [] for s in scenarios}
    commits: list[float] = []
    calls = 0
    for i in range(warmup + rounds):
        for s in scenarios:
            start = bench.now()
            policy.decide(viewer, subjects=s.subjects, category=s.category, purpose=s.purpose, on=DAY,
                          object_type="note", object_id=uuid.uuid4())
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


@dataclass
class WhatIf:
    times: dict[str, list[float]]
    probes: dict[str, Probe]


@dataclass
class Result:
    backend: str
    setup: Setup
    evaluate: dict[str, list[float]] = field(default_factory=dict)
    probes: dict[str, Probe] = field(default_factory=dict)
    what_if: dict[str, WhatIf] = field(default_factory=dict)
    decide: dict[str, list[float]] = field(default_factory=dict)
    commits: list[float] = field(default_factory=list)
    round_trip: list[float] = field(default_factory=list)


def run_backend(app: Flask, backend: str, args: argparse.Namespace) -> Result:
    setup = seed(app, args.persons)
    viewer, scenarios = setup.viewer, setup.scenarios
    result = Result(backend, setup)
    with app.app_context():
        check(viewer, scenarios)
        conn = db.session.connection()
        result.round_trip = [bench.time_call(lambda: conn.exec_driver_sql("SELECT 1").scalar())[0]
                             for _ in range(1000)]
        result.evaluate = timed_rounds(viewer, scenarios, args.n, args.warmup)
        result.probes = {s.label: profile(viewer, s, args.profile_calls) for s in scenarios}
        per_request = args.decisions_per_request
        for variant in VARIANTS:
            with memoised(variant) as new_request:
                check(viewer, scenarios)
                times = timed_rounds(viewer, scenarios, args.n, args.warmup, new_request, per_request)
                probes = {s.label: profile(viewer, s, args.profile_calls, new_request, per_request)
                          for s in scenarios}
            result.what_if[variant.key] = WhatIf(times, probes)
        db.session.rollback()
        decided = [s for s in scenarios if s.label.startswith(("allowed: covenant", "denied: no covenant"))]
        result.decide, result.commits = time_decide(viewer, decided, args.decide_n, args.commit_every,
                                                    args.warmup // 10)
        db.session.remove()
    return result


# --- report ---------------------------------------------------------------------------------

TARGET = 0.0002  # seconds: the median target for one decision without its audit entry


def report(results: list[Result], args: argparse.Namespace) -> None:
    rows = []
    for r in results:
        for label, times in r.evaluate.items():
            s, p = bench.Summary.of(times), r.probes[label]
            rows.append([r.backend, label, s.n, bench.ms(s.median), bench.ms(s.p95),
                         "yes" if s.median < TARGET else "NO", f"{p.statements.total() / p.calls:.0f}"])
    bench.print_table(["backend", "scenario", "calls", "median ms", "p95 ms", "< 0.2 ms", "stmts/call"], rows,
                      title="evaluate(): one decision without its audit entry (warm, one transaction)")

    rows = []
    for r in results:
        for label, p in r.probes.items():
            n = p.calls
            build = p.queries - p.session
            orm = p.session - p.driver
            rows.append([r.backend, label, bench.ms(p.wall / n), bench.ms((p.wall - p.queries) / n),
                         bench.ms(build / n), bench.ms(orm / n), bench.ms(p.driver / n),
                         f"{p.driver / p.wall * 100:.0f}%",
                         ", ".join(f"{k} {v / n:.0f}" for k, v in sorted(p.statements.items()))])
    bench.print_table(
        ["backend", "scenario", "mean ms", "gate logic", "building select()", "session/ORM", "in driver",
         "driver share", "statements per call by table"],
        rows, title=(f"Where a call's time goes (instrumented pass of {args.profile_calls} calls per scenario; "
                     "ms per call):\n  gate logic = evaluate minus its query functions; building select() = "
                     "query functions minus Session.scalar(s);\n  session/ORM = Session.scalar(s) minus the "
                     "driver (cache key, compiled-cache look-up, execution context, ORM rows);\n  in driver "
                     "= cursor.execute() until it returns"))

    rows = []
    for r in results:
        for variant in VARIANTS:
            w = r.what_if[variant.key]
            for label in r.evaluate:
                all_calls = bench.Summary.of(w.times[label])
                starts = [(args.warmup + j) % args.decisions_per_request == 0 for j in range(len(w.times[label]))]
                first = bench.Summary.of([t for t, s in zip(w.times[label], starts, strict=True) if s])
                later = [t for t, s in zip(w.times[label], starts, strict=True) if not s]
                p = w.probes[label]
                firsts = p.per_call[::args.decisions_per_request]
                laters = [c for i, c in enumerate(p.per_call) if i % args.decisions_per_request]
                rows.append([r.backend, variant.key, label, bench.ms(bench.Summary.of(r.evaluate[label]).median),
                             bench.ms(all_calls.median), bench.ms(all_calls.p95), bench.ms(first.median),
                             bench.ms(bench.Summary.of(later).median) if later else "-",
                             f"{sum(firsts) / len(firsts):.0f}",
                             f"{sum(laters) / len(laters):.0f}" if laters else "-"])
    bench.print_table(
        ["backend", "what-if", "scenario", "as is median", "median", "p95", "1st of request median",
         "later median", "stmts 1st", "stmts later"],
        rows, title=("What-if: the look-ups memoised inside this script (privacy/ unchanged), a request = "
                     f"{args.decisions_per_request} decisions per scenario (ms):\n"
                     + "\n".join(f"  ({v.key}) {v.description}" for v in VARIANTS)))

    rows = []
    for r in results:
        commit = bench.Summary.of(r.commits) if r.commits else None
        for label, times in r.decide.items():
            s = bench.Summary.of(times)
            per_call = s.mean + (commit.mean / args.commit_every if commit else 0)
            rows.append([r.backend, label, s.n, bench.ms(s.median), bench.ms(s.p95),
                         bench.ms(commit.median) if commit else "-", bench.ms(per_call)])
    bench.print_table(
        ["backend", "scenario", "calls", "decide median ms", "decide p95 ms",
         f"commit (every {args.commit_every}) median ms", "mean ms/decision incl. commit share"],
        rows, title="decide(): evaluate + audit entry (chain lock, head, insert, flush), for comparison")

    for r in results:
        rt = bench.Summary.of(r.round_trip)
        s = r.setup
        print(f"{r.backend}: SELECT 1 round trip median {bench.ms(rt.median)} ms; seeded {s.persons} persons, "
              f"{s.consents} consent rows, {s.rules} covenant rules (2 versions) in {s.seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="timed evaluate calls per scenario (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed rounds first (default %(default)s)")
    parser.add_argument("--decide-n", type=int, default=500,
                        help="timed decide calls per scenario (default %(default)s)")
    parser.add_argument("--commit-every", type=int, default=10,
                        help="decide calls per commit (default %(default)s)")
    parser.add_argument("--persons", type=int, default=300, help="persons with consent rows (default %(default)s)")
    parser.add_argument("--profile-calls", type=int, default=300,
                        help="calls per scenario in the statement-profiling pass (default %(default)s)")
    parser.add_argument("--decisions-per-request", type=int, default=10,
                        help="what-if: decisions per scenario between memo resets (default %(default)s)")
    bench.backends_arg(parser)
    args = parser.parse_args()
    backends = bench.parse_backends(args.backends)

    results = []
    with bench.workspace("gate") as dbs:
        for backend in backends:
            database = dbs.new(backend)
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
