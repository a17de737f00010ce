"""The daily stagnation scan (issue 6) at scale: 10,000 families and 100,000 plan actions.

Target: a scan under 30 s on SQLite and on PostgreSQL; time and peak memory are printed.

The database is filled with bulk inserts (SQLAlchemy Core, insertmanyvalues), not through
the operations (which would take an hour with their audit entries). Texts are really
encrypted and bound to their rows, as the app writes them; the judgments the plan
operations make when a text is written (does a completion note cover its criterion, which
action does a new one re-create) are stored with them, as the operations would. Per family: a plan (85%
adopted) with a zorgcoördinator, 2 goals, ``--actions`` actions (3 gereed — one in three
families with a note that does not cover the criterion —, 1 lapsed, 1 not achieved, the
rest open or in progress, 4% of them more than 14 days overdue and the others due from 10
days ago to 60 days ahead, 0-4 pushes (3% more than twice), 2% without the family's
agreement), a completion note per finished action and a recent progress note on 97% of the
open ones; one in twenty families re-created a lapsed action. Twenty
overleggen meet fortnightly (13 meetings up to the scan day); each family sits on 1-5
consecutive agendas of one of them, with the coordinator's attendance recorded for 60% of
the items (10% absent) and 3% of the letters unsent; one family in ten has a client match,
half of them not afgestemd.

Each scan runs in a fresh (spawned) process so its peak resident memory (VmHWM) is the
scan's own plus the app's; the baseline row is a process that only builds the app.
Scans: the first one (it registers every action in the scan state, links the re-created
actions and proposes everything that fires), then ``-n`` steady-state daily
scans on the following days (median and p95), which is what runs every night.

    .venv/bin/python bench/escalation_scan.py [--families 10000] [--actions 10] [-n 3]
        [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import _common as bench  # before the project imports: puts the project on sys.path
from sqlalchemy import func, insert, select

DAY = date(2026, 11, 23)
OVERLEGGEN = 20
ORGS = 12
USERS = 20  # per organisation
MEETINGS = 13  # fortnightly, the last one on the scan day
GOOD_NOTE = "De afspraak met de school is gemaakt en de datum staat in de agenda"
CRITERION = "klaar als er een datum voor de afspraak met de school in de agenda staat"


def _at(day: date) -> datetime:
    return datetime.combine(day, dtime(9), tzinfo=UTC)


class Seeder:
    """Rows per table, encrypted where the app encrypts, inserted in batches."""

    def __init__(self, rng: random.Random) -> None:
        from privacy.encryption import associated_data, keyring

        self.rng, self._aad, self._keyring = rng, associated_data, keyring()
        self.rows: dict[Any, list[dict[str, Any]]] = {}

    def enc(self, table: str, column: str, row_id: uuid.UUID, plain: str) -> str:
        return self._keyring.encrypt(plain, self._aad(table, column, row_id))

    def add(self, model: Any, **values: Any) -> uuid.UUID:
        values.setdefault("id", uuid.uuid4())
        self.rows.setdefault(model.__table__, []).append(values)
        return values["id"]

    def flush(self) -> None:
        from netwerk.db import db

        for table in _insert_order():
            rows = self.rows.pop(table, [])
            for start in range(0, len(rows), 5000):
                db.session.execute(insert(table), rows[start:start + 5000])
        db.session.commit()


def _insert_order() -> list[Any]:
    from netwerk.db import db

    return list(db.metadata.sorted_tables)


def seed(families: int, per_family: int, seed_value: int = 6) -> dict[str, int]:
    from escalation import ladder
    from meetings.models import AgendaItem, Attendance, Meeting, Overleg, Section, SectionParty
    from netwerk import smart
    from netwerk.db import db
    from netwerk.models import Family, FamilyMember, Involvement, Match, Organisation, Person, User
    from netwerk.models.plans import ActionUpdate, CoordinatorTerm, Plan, PlanAction, PlanGoal

    rng = random.Random(seed_value)
    s = Seeder(rng)
    orgs = [s.add(Organisation, name=f"Partner {i}", org_type="cjg", domain="zorg", active=True,
                  created_at=_at(DAY)) for i in range(ORGS)]
    users = [[s.add(User, email=f"u{i}.{k}@bench.test", name=f"Gebruiker {i}.{k}", organisation_id=org,
                    password_hash="x", must_change_password=False, active=True, failed_logins=0,
                    totp_enabled=False, is_demo=False, created_at=_at(DAY)) for k in range(USERS)]
             for i, org in enumerate(orgs)]
    overleggen, meetings, sections = [], [], []
    for o in range(OVERLEGGEN):
        oid = s.add(Overleg, name=f"Overleg {o}", kind="signaleringsoverleg", every_weeks=2,
                    first_date=DAY - timedelta(days=14 * MEETINGS), start_time=dtime(13, 30), duration_minutes=180,
                    place="Zaal", organisation_id=orgs[0], created_at=_at(DAY))
        sid = s.add(Section, overleg_id=oid, name="Onderdeel", purpose="signalering", position=0)
        for org in orgs:
            s.rows.setdefault(SectionParty.__table__, []).append({"section_id": sid, "organisation_id": org})
        overleggen.append(oid)
        sections.append(sid)
        meetings.append([s.add(Meeting, overleg_id=oid, date=DAY - timedelta(days=14 * k), start_time=dtime(13, 30),
                               duration_minutes=180, place="Zaal", status="gesloten" if k else "voorbereid",
                               version=1, created_at=_at(DAY), blanked=False)
                         for k in range(MEETINGS - 1, -1, -1)])
    counts = {"actions": 0, "updates": 0, "items": 0, "matches": 0}
    present: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for i in range(families):
        fid = s.add(Family, pseudonym=f"G{i}", created_at=_at(DAY - timedelta(days=200)))
        coord_org = i % ORGS
        coordinator = users[coord_org][i % USERS]
        status = rng.choices(["vastgesteld", "concept", "geevalueerd"], [85, 10, 5])[0]
        pid = s.add(Plan, family_id=fid, status=status, family_agreement_required=True,
                    next_evaluation=DAY + timedelta(days=rng.randint(-5, 120)), organisation_id=orgs[coord_org],
                    created_at=_at(DAY - timedelta(days=150)), version=1)
        s.add(CoordinatorTerm, plan_id=pid, user_id=coordinator, organisation_id=orgs[coord_org],
              start_on=DAY - timedelta(days=150))
        goals = []
        for g in range(2):
            gid = uuid.uuid4()
            s.add(PlanGoal, id=gid, plan_id=pid, domain="school", text=s.enc("plan_goal", "text", gid, f"Doel {g}"),
                  organisation_id=orgs[coord_org], author_user_id=coordinator,
                  created_at=_at(DAY - timedelta(days=150)))
            goals.append(gid)
        recreated = i % 20 == 0
        slots: dict[int, uuid.UUID] = {}
        for j in range(per_family):
            owner_org = (i + j) % ORGS
            if recreated and j == 5:
                owner_org = (i + 3) % ORGS  # the lapsed action of slot 3, made again
            owner = users[owner_org][(i + j) % USERS]
            aid = uuid.uuid4()
            created = DAY - timedelta(days=rng.randint(20, 120) if not (recreated and j == 5) else 10)
            what = f"Medewerker belt de school over de afspraak voor onderdeel {j if not (recreated and j == 5) else 3}"
            state, reason, note = "open", None, None
            if j < 3:
                state = "gereed"
                note = "gedaan" if j == 2 and i % 3 == 0 else GOOD_NOTE
            elif j == 3:
                state = "vervallen"
            elif j == 4:
                state, reason = "niet_gelukt", "niet_ondernomen"
            else:
                state = rng.choice(["open", "bezig"])
                if rng.random() < 0.97:
                    note = "Er is contact geweest met de school; de afspraak volgt"
            slots[j] = aid
            s.add(PlanAction, id=aid, plan_id=pid, goal_id=goals[j % 2],
                  criterion_met=smart.criterion_met(note, CRITERION) if state == "gereed" else None,
                  continues_action_id=slots[3] if recreated and j == 5 else None,
                  what=s.enc("plan_action", "what", aid, what),
                  done_when=s.enc("plan_action", "done_when", aid, CRITERION),
                  owner_user_id=owner, owner_member_id=None, owner_org_id=orgs[owner_org],
                  due=DAY + timedelta(days=rng.randint(-60, -15) if rng.random() < 0.04 else rng.randint(-10, 60)),
                  agreed_by=None if rng.random() < 0.02 else "ouder", agreed_on=None,
                  accepted_at=_at(created), status=state, failure_reason=reason,
                  due_changes=rng.choices([0, 1, 2, 3, 4], [70, 20, 7, 2, 1])[0], organisation_id=orgs[coord_org],
                  created_by_user_id=coordinator, created_at=_at(created), updated_at=_at(created + timedelta(days=5)),
                  version=1)
            counts["actions"] += 1
            if note is not None:
                uid = uuid.uuid4()
                s.add(ActionUpdate, id=uid, action_id=aid, text=s.enc("plan_action_update", "text", uid, note),
                      written_on=DAY - timedelta(days=rng.randint(1, 13) if j >= 5 else rng.randint(14, 60)),
                      author_user_id=owner,
                      organisation_id=orgs[owner_org], created_at=_at(created + timedelta(days=5)))
                counts["updates"] += 1
        o = i % OVERLEGGEN
        streak, end = rng.randint(1, 5), rng.randint(0, 3)
        for k in range(MEETINGS - 1 - end - streak + 1, MEETINGS - end):
            mid = meetings[o][k]
            s.add(AgendaItem, meeting_id=mid, section_id=sections[o], family_id=fid, position=i,
                  reasons=["nieuw_signaal"], decision_needed=True, planned_minutes=15, status="besproken",
                  used_seconds=0, added_at=_at(DAY - timedelta(days=14 * (MEETINGS - 1 - k) + 7)),
                  inform_state="te_versturen" if rng.random() < 0.03 else "verstuurd")
            counts["items"] += 1
            if rng.random() < 0.6 and (mid, coordinator) not in present:  # a person attends once per meeting
                present.add((mid, coordinator))
                s.rows.setdefault(Attendance.__table__, []).append({
                    "meeting_id": mid, "section_id": sections[o], "user_id": coordinator,
                    "status": "afwezig" if rng.random() < 0.1 else "aanwezig", "recorded_at": _at(DAY),
                    "recorded_by_user_id": coordinator})
        if i % 10 == 0:
            person = uuid.uuid4()
            s.add(Person, id=person, first_name=s.enc("person", "first_name", person, "Kind"),
                  last_name=s.enc("person", "last_name", person, f"Gezin {i}"),
                  birth_date=s.enc("person", "birth_date", person, "2012-03-04"), pseudonym="K.G. (2012)",
                  birth_year=2012, safety_flag=False, created_at=_at(DAY))
            s.rows.setdefault(FamilyMember.__table__, []).append({"family_id": fid, "person_id": person,
                                                                   "relation": "kind"})
            inv = [s.add(Involvement, person_id=person, organisation_id=orgs[(i + k) % ORGS], contact_name="Contact",
                         contact_email="c@bench.test", start_date=DAY - timedelta(days=60),
                         expires_on=DAY + timedelta(days=300), status="actief", registered_at=_at(DAY))
                   for k in range(2)]
            made = DAY - timedelta(days=rng.randint(0, 30))
            s.add(Match, kind="client", first_id=inv[0], second_id=inv[1], created_at=_at(made),
                  respond_by=made + timedelta(days=10), afgestemd_on=None if i % 20 == 0 else made)
            counts["matches"] += 1
        if i % 500 == 499:
            s.flush()
    s.flush()
    for overleg in db.session.scalars(select(Overleg)):
        ladder.ensure_default(overleg)
    db.session.commit()
    counts["families"] = families
    return counts


# --- a scan in a process of its own ---------------------------------------------------------

def _child(url: str, instance: str, day: str | None, out: Any) -> None:
    from escalation.scan import run_scan
    from netwerk.db import db

    app = bench.build_app(Path(instance), url)
    with app.app_context():
        started = time.perf_counter()
        result = run_scan(datetime.fromisoformat(day), force=True) if day else None
        seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    peak_mb = _peak_rss_mb()
    out.put((seconds, peak_mb, None if result is None else (result.proposed, result.firings,
                                                             result.registered, result.lines_linked, result.per_rule,
                                                             result.propose_seconds)))


def _peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM). Not ``ru_maxrss``: on Linux that keeps the
    parent's peak across the fork and exec that start a spawned process."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_process(url: str, instance: Path, day: datetime | None) -> tuple[float, float, Any]:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_child, args=(url, str(instance), day.isoformat() if day else None, out))
    proc.start()
    value = out.get()
    proc.join()
    if proc.exitcode:
        raise SystemExit(f"scan process failed ({proc.exitcode})")
    return value


def run_backend(dbs: bench.Databases, backend: str, families: int, per_family: int, repeats: int) -> list[list[str]]:
    from netwerk.db import db

    target = dbs.new(backend)
    app = bench.migrated_app(target.instance, target.url)
    with app.app_context():
        took, counts = bench.time_call(lambda: seed(families, per_family))
        from netwerk.models.plans import PlanAction
        assert db.session.scalar(select(func.count()).select_from(PlanAction)) == counts["actions"]
        db.session.remove()
    bench.dispose(app)
    print(f"# {backend}: seeded {counts} in {took:.0f} s")
    rows = []
    base = in_process(target.url, target.instance, None)
    rows.append([backend, "baseline (app only)", "-", "-", f"{base[1]:.0f}", "-"])
    first = in_process(target.url, target.instance, _at(DAY) + timedelta(hours=1))
    proposed, firings, registered, linked, per_rule, propose_s = first[2]
    print(f"# {backend}: first scan per rule: {per_rule}")
    rows.append([backend, "first scan", f"{first[0]:.2f}", f"{first[0]:.2f}", f"{first[1]:.0f}",
                 f"{registered:,} registered, {linked} linked, {firings:,} firings, "
                 f"{proposed:,} proposed (propose: {propose_s:.1f} s)"])
    steady = [in_process(target.url, target.instance, _at(DAY + timedelta(days=d)) + timedelta(hours=1))
              for d in range(1, repeats + 1)]
    summary = bench.Summary.of([s[0] for s in steady])
    rows.append([backend, f"daily scan (x{repeats})", f"{summary.median:.2f}", f"{summary.p95:.2f}",
                 f"{max(s[1] for s in steady):.0f}",
                 f"{sum(s[2][0] for s in steady):,} new proposals (propose: {sum(s[2][5] for s in steady):.1f} s), "
                 f"{steady[-1][2][1]:,} firings"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", type=int, default=10_000)
    parser.add_argument("--actions", type=int, default=10, help="actions per family")
    parser.add_argument("-n", type=int, default=3, help="steady-state daily scans")
    bench.backends_arg(parser)
    args = parser.parse_args()
    rows: list[list[str]] = []
    with bench.workspace("escalation-scan") as dbs:
        for backend in bench.parse_backends(args.backends):
            rows += run_backend(dbs, backend, args.families, args.actions, args.n)
        bench.print_table(["backend", "run", "median s", "p95 s", "peak RSS MB", "what it did"], rows,
                          title=f"Stagnation scan: {args.families:,} families, "
                                f"{args.families * args.actions:,} actions (target < 30 s)")
        bench.print_environment(dbs)


if __name__ == "__main__":
    main()
