"""Retention: find what the covenant's periods say has expired, show it as a dry run, and
remove it — the same deletion path serves granted erasure requests (AVG art. 17).

What expires, and from which day a period counts (the *trigger*):

- ``betrokkenheid``: a registration of involvement, from the day it ended;
- ``notitie``: a note, per category, from the day the person's last involvement ended
  (never while any organisation is still involved);
- ``plan``: a closed 1gezin1plan with all its parts, from its closing date;
- ``agendapunt``: a family on an agenda, per purpose of its section, with its decisions,
  letters and events, from the date of the meeting;
- ``persoon``: the person's identity, consent and household membership, from the day their
  last involvement ended, and only once nothing else about them (or an open matter of their
  household) remains; a household goes with its last member.

No period, no removal: a kind without a period in the covenant in force is never touched.

The package works on the domain's tables through the metadata (by table name), not by
importing them: ``privacy`` must not depend on ``meetings`` (CONVENTIONS item 13). Every
deletion is checked against every foreign key in the metadata: a row still referenced by
something outside what is being removed (another package's table, a record not expired)
keeps its whole record, which the dry run reports as held back. Audit entries are never
touched; the proof of each run is a new entry with hashed ids, the rules and the covenant
version, never content. Counts per kind, category, purpose, organisation and month stay in
``retention_statistic``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Table, delete, select, tuple_, update

from netwerk.db import db, utcnow
from privacy.audit import Actor, blind, record
from privacy.models import AuditEntry, CovenantRetention, RetentionAnchor, RetentionRun, RetentionStatistic
from privacy.queries import covenant_in_force

KIND_LABELS = {
    "agendapunt": "Agendapunten (met besluiten, brieven en gebeurtenissen)",
    "plan": "Plannen (1gezin1plan met doelen, acties en geschiedenis)",
    "notitie": "Notities",
    "betrokkenheid": "Registraties van betrokkenheid (met matches)",
    "persoon": "Personen (identiteit, instemming, gezinslidmaatschap)",
    "gezin": "Gezinnen",
}
TRIGGERS = {
    "betrokkenheid": "na het einde van de betrokkenheid",
    "notitie": "nadat de laatste betrokkenheid bij de persoon is geëindigd",
    "plan": "na het afsluiten van het plan",
    "agendapunt": "na de datum van het overleg",
    "persoon": "nadat de laatste betrokkenheid is geëindigd, en pas als er niets anders over de persoon meer is",
}
ORDER = ("agendapunt", "plan", "notitie", "betrokkenheid", "persoon", "gezin")

# Rows that belong to a record and go with it: (child table, its column naming the parent).
OWNED: dict[str, tuple[tuple[str, str], ...]] = {
    "agenda_item": (("meeting_decision", "agenda_item_id"), ("family_letter", "agenda_item_id"),
                    ("meeting_event", "item_id")),
    "plan": (("plan_coordinator", "plan_id"), ("plan_concern", "plan_id"), ("plan_goal", "plan_id"),
             ("plan_evaluation", "plan_id"), ("plan_network", "plan_id"), ("plan_action", "plan_id"),
             ("plan_history", "plan_id")),
    "plan_action": (("plan_action_update", "action_id"), ("plan_history", "action_id")),
    "involvement": (("involvement_match", "first_id"), ("involvement_match", "second_id")),
    "person": (("family_member", "person_id"), ("consent", "person_id"), ("purpose_claim", "person_id"),
               ("retention_anchor", "person_id"), ("family_letter", "person_id")),
    "family": (("family_member", "family_id"),),
}
# References that are cleared instead of blocking: a later agenda item carried over from a
# removed one stays; a request keeps the pseudonym of the person it erased.
NULLIFY = {("agenda_item", "carried_from_id"), ("rights_request", "person_id")}
CHUNK = 500


class RetentionError(Exception):
    """A refused retention action, with a Dutch message; nothing has been written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Period:
    kind: str
    category: str
    purpose: str
    months: int
    grounds: str = ""

    @property
    def code(self) -> str:
        return f"{self.kind}/{self.category}/{self.purpose}:{self.months}"


def periods_of(covenant_id: int) -> list[Period]:
    rows = db.session.scalars(select(CovenantRetention).where(CovenantRetention.covenant_id == covenant_id)
                              .order_by(CovenantRetention.id))
    return [Period(r.kind, r.category_code, r.purpose_code, r.months, r.grounds) for r in rows]


def period_for(periods: Iterable[Period], kind: str, category: str | None = None,
               purpose: str | None = None) -> Period | None:
    """The period for one record: a period for its own category or purpose goes before the
    one for all ("*"); None when the covenant sets none (then nothing is removed)."""
    best: tuple[int, Period] | None = None
    for p in periods:
        if p.kind != kind or p.category not in ("*", category) or p.purpose not in ("*", purpose):
            continue
        score = (p.category != "*") + (p.purpose != "*")
        if best is None or score > best[0]:
            best = (score, p)
    return best[1] if best else None


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months; the 31st becomes the last day of a shorter month."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - every month has a 28th


# --- what a sweep finds ----------------------------------------------------------------------

@dataclass(eq=False)
class Unit:
    """One record and every row that goes with it, as the dry run shows it (no content)."""

    kind: str
    root: Any
    label: str
    rule: Period | None
    due: date | None
    category: str = ""
    purpose: str = ""
    organisation_id: uuid.UUID | None = None
    month: date | None = None
    person_id: uuid.UUID | None = None
    anchor_end: date | None = None  # involvements: the day they ended
    rows: dict[str, set[tuple]] = field(default_factory=dict)
    requires: list[Unit] = field(default_factory=list)  # removed only together with these


@dataclass
class Sweep:
    today: date
    covenant_version: str | None
    units: list[Unit]
    held: list[tuple[Unit, str]]  # expired, but still referenced: kept, with the table naming it

    def counts(self) -> dict[str, int]:
        found = Counter(u.kind for u in self.units)
        return {kind: found[kind] for kind in ORDER if found[kind]}

    def by_kind(self) -> dict[str, list[Unit]]:
        return {kind: [u for u in self.units if u.kind == kind] for kind in ORDER}


def _table(name: str) -> Table | None:
    return db.metadata.tables.get(name)


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _collect(unit: Unit, table_name: str, ids: list) -> None:
    """Add ``ids`` of ``table_name`` and every row OWNED by them to ``unit``."""
    if not ids:
        return
    unit.rows.setdefault(table_name, set()).update((i,) for i in ids)
    for child_name, column in OWNED.get(table_name, ()):
        child = _table(child_name)
        if child is None:
            continue
        pk = list(child.primary_key.columns)
        found: list[tuple] = []
        for chunk in _chunks(ids):
            found += [tuple(r) for r in db.session.execute(select(*pk).where(child.c[column].in_(chunk)))]
        if not found:
            continue
        if len(pk) == 1 and child_name in OWNED:
            _collect(unit, child_name, [r[0] for r in found])
        else:
            unit.rows.setdefault(child_name, set()).update(found)


def _first_of_month(day: date | None) -> date | None:
    return day.replace(day=1) if day else None


def _cutoff(today: date, periods: list[Period], kind: str) -> date | None:
    """A date no expired record of ``kind`` can be after (a month has at least 28 days):
    lets the database skip the young records before the exact check."""
    months = [p.months for p in periods if p.kind == kind]
    return today - timedelta(days=28 * min(months)) if months else None


def _involvement_end(end_date: date | None, expires_on: date) -> date:
    return min(end_date, expires_on) if end_date else expires_on


def _agenda_units(today: date, periods: list[Period]) -> list[Unit]:
    cutoff = _cutoff(today, periods, "agendapunt")
    item, meeting, section, overleg, family = (_table(n) for n in (
        "agenda_item", "meeting", "overleg_section", "overleg", "family"))
    if cutoff is None or None in (item, meeting, section, overleg, family):
        return []
    rows = db.session.execute(
        select(item.c.id, meeting.c.date, meeting.c.status, section.c.purpose, overleg.c.organisation_id,
               family.c.pseudonym)
        .join(meeting, meeting.c.id == item.c.meeting_id).join(section, section.c.id == item.c.section_id)
        .join(overleg, overleg.c.id == meeting.c.overleg_id).join(family, family.c.id == item.c.family_id)
        .where(meeting.c.date <= cutoff, meeting.c.status != "live"))
    units = []
    for r in rows:
        rule = period_for(periods, "agendapunt", purpose=r.purpose)
        if rule is None or add_months(r.date, rule.months) > today:
            continue
        unit = Unit("agendapunt", r.id, f"Gezin {r.pseudonym}, overleg van {r.date:%d-%m-%Y}", rule,
                    add_months(r.date, rule.months), purpose=r.purpose, organisation_id=r.organisation_id,
                    month=_first_of_month(r.date))
        _collect(unit, "agenda_item", [r.id])
        units.append(unit)
    return units


def _plan_units(today: date, periods: list[Period]) -> list[Unit]:
    cutoff = _cutoff(today, periods, "plan")
    plan, family = _table("plan"), _table("family")
    if cutoff is None or plan is None or family is None:
        return []
    rows = db.session.execute(
        select(plan.c.id, plan.c.closed_on, plan.c.created_at, plan.c.organisation_id, family.c.pseudonym)
        .join(family, family.c.id == plan.c.family_id)
        .where(plan.c.status == "afgesloten", plan.c.closed_on.is_not(None), plan.c.closed_on <= cutoff))
    units = []
    for r in rows:
        rule = period_for(periods, "plan")
        if rule is None or add_months(r.closed_on, rule.months) > today:
            continue
        unit = Unit("plan", r.id, f"Plan van gezin {r.pseudonym}, afgesloten {r.closed_on:%d-%m-%Y}", rule,
                    add_months(r.closed_on, rule.months), category="plan", organisation_id=r.organisation_id,
                    month=_first_of_month(r.created_at.date()))
        _collect(unit, "plan", [r.id])
        units.append(unit)
    return units


def _active_persons() -> Any:
    inv = _table("involvement")
    return select(inv.c.person_id).where(inv.c.status == "actief")


def _anchors(person_ids: set[uuid.UUID]) -> dict[uuid.UUID, date]:
    """The day each person's last involvement ended (rows still there, or remembered)."""
    inv = _table("involvement")
    found: dict[uuid.UUID, date] = {}
    ids = list(person_ids)
    for chunk in _chunks(ids):
        for r in db.session.execute(select(inv.c.person_id, inv.c.end_date, inv.c.expires_on)
                                    .where(inv.c.person_id.in_(chunk), inv.c.status != "actief")):
            end = _involvement_end(r.end_date, r.expires_on)
            found[r.person_id] = max(found.get(r.person_id, end), end)
        for r in db.session.execute(select(RetentionAnchor.person_id, RetentionAnchor.last_involvement_end)
                                    .where(RetentionAnchor.person_id.in_(chunk))):
            found[r[0]] = max(found.get(r[0], r[1]), r[1])
    return found


def _org_names() -> dict[uuid.UUID, str]:
    org = _table("organisation")
    return dict(db.session.execute(select(org.c.id, org.c.name)).all())


def _note_units(today: date, periods: list[Period], names: dict[uuid.UUID, str]) -> list[Unit]:
    if not any(p.kind == "notitie" for p in periods):
        return []
    note, person = _table("note"), _table("person")
    rows = db.session.execute(
        select(note.c.id, note.c.person_id, note.c.category, note.c.organisation_id, note.c.written_on,
               person.c.pseudonym).join(person, person.c.id == note.c.person_id)
        .where(note.c.person_id.not_in(_active_persons()))).all()
    anchors = _anchors({r.person_id for r in rows})
    units = []
    for r in rows:
        rule = period_for(periods, "notitie", category=r.category)
        start = anchors.get(r.person_id, r.written_on)  # never involved: from the note's own date
        if rule is None or add_months(start, rule.months) > today:
            continue
        unit = Unit("notitie", r.id, f"{r.pseudonym}: notitie ({r.category}) van {names.get(r.organisation_id, '?')}",
                    rule, add_months(start, rule.months), category=r.category, organisation_id=r.organisation_id,
                    month=_first_of_month(r.written_on), person_id=r.person_id)
        unit.rows["note"] = {(r.id,)}
        units.append(unit)
    return units


def _involvement_units(today: date, periods: list[Period], names: dict[uuid.UUID, str]) -> list[Unit]:
    rule = period_for(periods, "betrokkenheid")
    cutoff = _cutoff(today, periods, "betrokkenheid")
    if rule is None or cutoff is None:
        return []
    inv, person = _table("involvement"), _table("person")
    rows = db.session.execute(
        select(inv.c.id, inv.c.person_id, inv.c.organisation_id, inv.c.start_date, inv.c.end_date,
               inv.c.expires_on, person.c.pseudonym).join(person, person.c.id == inv.c.person_id)
        .where(inv.c.status != "actief"))
    units = []
    for r in rows:
        end = _involvement_end(r.end_date, r.expires_on)
        if end > cutoff or add_months(end, rule.months) > today:
            continue
        unit = Unit("betrokkenheid", r.id, f"{r.pseudonym}: betrokkenheid van {names.get(r.organisation_id, '?')}, "
                    f"geëindigd {end:%d-%m-%Y}", rule, add_months(end, rule.months), category="betrokkenheid",
                    organisation_id=r.organisation_id, month=_first_of_month(r.start_date), person_id=r.person_id,
                    anchor_end=end)
        _collect(unit, "involvement", [r.id])
        units.append(unit)
    return units


@dataclass
class _Households:
    """Each family's members, its plans and agenda items, and whether anyone is involved."""

    members: dict[uuid.UUID, set[uuid.UUID]]
    of_person: dict[uuid.UUID, set[uuid.UUID]]
    records: dict[uuid.UUID, set[tuple[str, Any]]]
    involved: set[uuid.UUID]  # families with a member still actively involved
    created: dict[uuid.UUID, date]
    pseudonyms: dict[uuid.UUID, str]


def _households() -> _Households:
    fm, family, plan, item = (_table(n) for n in ("family_member", "family", "plan", "agenda_item"))
    members: dict[uuid.UUID, set[uuid.UUID]] = {}
    of_person: dict[uuid.UUID, set[uuid.UUID]] = {}
    for family_id, person_id in db.session.execute(select(fm.c.family_id, fm.c.person_id)):
        members.setdefault(family_id, set()).add(person_id)
        of_person.setdefault(person_id, set()).add(family_id)
    records: dict[uuid.UUID, set[tuple[str, Any]]] = {}
    for table, kind in ((plan, "plan"), (item, "agendapunt")):
        if table is not None:
            for record_id, family_id in db.session.execute(select(table.c.id, table.c.family_id)):
                records.setdefault(family_id, set()).add((kind, record_id))
    active = set(db.session.scalars(_active_persons()))
    involved = {f for f, people in members.items() if people & active}
    rows = db.session.execute(select(family.c.id, family.c.created_at, family.c.pseudonym)).all()
    return _Households(members, of_person, records, involved, {r.id: r.created_at.date() for r in rows},
                       {r.id: r.pseudonym for r in rows})


def _person_units(today: date, periods: list[Period], found: list[Unit], homes: _Households) -> list[Unit]:
    rule = period_for(periods, "persoon")
    if rule is None:
        return []
    person = _table("person")
    rows = db.session.execute(select(person.c.id, person.c.pseudonym, person.c.created_at)
                              .where(person.c.id.not_in(_active_persons()))).all()
    anchors = _anchors({r.id for r in rows})
    by_key = {(u.kind, u.root): u for u in found}
    units = []
    for r in rows:
        families = homes.of_person.get(r.id, set())
        if families & homes.involved:
            continue  # the household is still in the network's view
        # Never involved (a parent in the household): from the household's last involvement.
        household = [anchors[m] for f in families for m in homes.members.get(f, ()) if m in anchors]
        start = anchors.get(r.id) or max(household, default=r.created_at.date())
        if add_months(start, rule.months) > today:
            continue
        needed = [by_key.get(key) for f in families for key in homes.records.get(f, ())]
        if None in needed:
            continue  # a plan or agenda item of the household is still kept
        unit = Unit("persoon", r.id, r.pseudonym, rule, add_months(start, rule.months),
                    month=_first_of_month(r.created_at.date()), person_id=r.id,
                    requires=[u for u in needed if u is not None])
        _collect(unit, "person", [r.id])
        units.append(unit)
    return units


def _family_units(rule: Period | None, found: list[Unit], homes: _Households,
                  persons: set[uuid.UUID]) -> list[Unit]:
    """A household goes with its last member. One left without members (held back earlier,
    e.g. by an escalation) goes as soon as nothing refers to it: it names no one any more."""
    by_key = {(u.kind, u.root): u for u in found}
    units = []
    for family_id, created in homes.created.items():
        people = homes.members.get(family_id, set())
        if rule is None or (people and not people <= persons):
            continue
        needed = [by_key.get(key) for key in homes.records.get(family_id, ())]
        if None in needed:
            continue
        requires = [u for u in needed if u is not None] + [u for u in found if u.kind == "persoon" and u.root in people]
        unit = Unit("gezin", family_id, f"Gezin {homes.pseudonyms[family_id]}", rule, None,
                    month=_first_of_month(created), requires=requires)
        _collect(unit, "family", [family_id])
        units.append(unit)
    return units


def _referrers(table_name: str) -> list[tuple[Table, Any]]:
    """Every (child table, column) in the metadata whose foreign key to ``table_name`` would
    stop a deletion: not one we clear ourselves, nor one the database cascades or clears
    (its owner declared that its rows follow the parent)."""
    found = []
    for table in db.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table.name != table_name or (table.name, fk.parent.name) in NULLIFY:
                continue
            if (fk.ondelete or "").upper() not in ("CASCADE", "SET NULL"):
                found.append((table, fk.parent))
    return found


def settle(units: list[Unit]) -> tuple[list[Unit], list[tuple[Unit, str]]]:
    """Keep back every record that something outside the removal still refers to (or that
    needs a record kept back), until what remains can be removed with every foreign key
    intact."""
    held: list[tuple[Unit, str]] = []
    while True:
        owner: dict[tuple[str, tuple], Unit] = {}
        for unit in units:
            for table_name, keys in unit.rows.items():
                for key in keys:
                    owner[(table_name, key)] = unit
        bad: dict[Unit, str] = {}
        for table_name in {t for u in units for t in u.rows}:
            ids = [key[0] for (name, key) in owner if name == table_name and len(key) == 1]
            for child, column in _referrers(table_name):
                pk = list(child.primary_key.columns)
                for chunk in _chunks(ids):
                    for row in db.session.execute(select(column, *pk).where(column.in_(chunk))):
                        if (child.name, tuple(row[1:])) not in owner:
                            bad.setdefault(owner[(table_name, (row[0],))], child.name)
        removed = set(bad)
        for unit in units:
            if unit not in removed and any(r in removed or r not in units for r in unit.requires):
                bad[unit] = "samenhang"
        if not bad:
            return units, held
        held += list(bad.items())
        units = [u for u in units if u not in bad]


def sweep(today: date, only: dict[str, set[str]] | None = None) -> Sweep:
    """What has expired on ``today`` under the covenant in force: a dry run, nothing written.
    ``only`` limits it to the ids an approved dry run listed."""
    covenant = covenant_in_force(today)
    if covenant is None:
        return Sweep(today, None, [], [])
    periods = periods_of(covenant.id)
    names = _org_names()
    units = _agenda_units(today, periods) + _plan_units(today, periods)
    units += _note_units(today, periods, names) + _involvement_units(today, periods, names)
    homes = _households()
    units += _person_units(today, periods, units, homes)
    units += _family_units(period_for(periods, "persoon"), units, homes,
                           {u.root for u in units if u.kind == "persoon"})
    if only is not None:
        units = [u for u in units if str(u.root) in only.get(u.kind, set())]
    kept, held = settle(units)
    return Sweep(today, covenant.version, kept, held)


# --- removing --------------------------------------------------------------------------------

def _statistics(units: list[Unit], reason: str) -> None:
    counts = Counter((u.kind, u.category, u.purpose, u.organisation_id, u.month or date(1970, 1, 1)) for u in units)
    for (kind, category, purpose, org_id, month), n in counts.items():
        row = db.session.scalar(select(RetentionStatistic).where(
            RetentionStatistic.kind == kind, RetentionStatistic.category == category,
            RetentionStatistic.purpose == purpose, RetentionStatistic.month == month,
            RetentionStatistic.reason == reason,
            RetentionStatistic.organisation_id.is_(None) if org_id is None
            else RetentionStatistic.organisation_id == org_id))
        if row is None:
            db.session.add(RetentionStatistic(kind=kind, category=category, purpose=purpose,
                                              organisation_id=org_id, month=month, reason=reason, removed=n))
        else:
            row.removed += n


def _remember_anchors(units: list[Unit]) -> None:
    """Involvements that go while their person stays: keep the day they ended, from which
    the person's notes and the person count."""
    leaving = {u.root for u in units if u.kind == "persoon"}
    ends: dict[uuid.UUID, date] = {}
    for u in units:
        if u.kind == "betrokkenheid" and u.person_id not in leaving and u.anchor_end:
            ends[u.person_id] = max(ends.get(u.person_id, u.anchor_end), u.anchor_end)
    for person_id, end in ends.items():
        anchor = db.session.get(RetentionAnchor, person_id)
        if anchor is None:
            db.session.add(RetentionAnchor(person_id=person_id, last_involvement_end=end))
        elif anchor.last_involvement_end < end:
            anchor.last_involvement_end = end


def _delete_rows(units: list[Unit]) -> None:
    rows: dict[str, set[tuple]] = {}
    for unit in units:
        for table_name, keys in unit.rows.items():
            rows.setdefault(table_name, set()).update(keys)
    items = [k[0] for k in rows.get("agenda_item", ())]
    for chunk in _chunks(items):  # cleared first: a later item may have been carried from this one
        db.session.execute(update(_table("agenda_item")).where(_table("agenda_item").c.carried_from_id.in_(chunk))
                           .values(carried_from_id=None))
        db.session.execute(update(_table("meeting")).where(_table("meeting").c.current_item_id.in_(chunk))
                           .values(current_item_id=None))
    persons = [k[0] for k in rows.get("person", ())]
    request = _table("rights_request")
    for chunk in _chunks(persons):
        db.session.execute(update(request).where(request.c.person_id.in_(chunk)).values(person_id=None))
    for table in reversed(db.metadata.sorted_tables):  # children before parents
        keys = sorted(rows.get(table.name, ()), key=str)
        pk = list(table.primary_key.columns)
        for chunk in _chunks(keys):
            where = pk[0].in_([k[0] for k in chunk]) if len(pk) == 1 else tuple_(*pk).in_(chunk)
            db.session.execute(delete(table).where(where))


def _hashed(units: list[Unit]) -> dict[str, list[str]]:
    """The removed ids, blinded as the audit log names subjects: given an id one can prove
    it was removed, but the entry itself names nobody."""
    subject = {"persoon": "person", "gezin": "family"}
    found: dict[str, list[str]] = {}
    for unit in units:
        found.setdefault(unit.kind, []).append(blind(subject.get(unit.kind, unit.kind), unit.root))
    return {kind: sorted(ids) for kind, ids in found.items()}


def remove(units: list[Unit], actor: Actor, *, reason: str, covenant_version: str | None,
           object_type: str, object_id: object, extra: dict[str, Any] | None = None) -> AuditEntry:
    """Remove ``units`` (already settled), keep their statistics, write the proof entry."""
    db.session.flush()  # pending ORM changes first: the deletes below bypass the session
    _statistics(units, reason)
    _remember_anchors(units)
    db.session.flush()
    _delete_rows(units)
    db.session.expire_all()
    counts = Counter(u.kind for u in units)
    rules = sorted({u.rule.code for u in units if u.rule is not None})
    subjects = [blind("person", u.root) for u in units if u.kind == "persoon"] + \
        [blind("family", u.root) for u in units if u.kind == "gezin"]
    return record(
        "retention.erased" if reason == "verzoek" else "retention.executed", actor=actor,
        summary="records erased on request" if reason == "verzoek" else "expired records removed",
        subjects=subjects, object_type=object_type, object_id=object_id, covenant_version=covenant_version,
        meta={"reason": reason, "removed": {k: counts[k] for k in ORDER if counts[k]}, "rules": rules,
              "ids": _hashed(units)} | (extra or {}))


# --- the dry run and its approval ------------------------------------------------------------

def _proposal(found: Sweep) -> dict[str, Any]:
    return {
        "ids": {kind: [str(u.root) for u in units] for kind, units in found.by_kind().items() if units},
        "lines": {kind: [[u.label, u.due.isoformat() if u.due else "", _rule_text(u.rule)] for u in units]
                  for kind, units in found.by_kind().items() if units},
        "held": [[u.kind, u.label, table] for u, table in found.held],
    }


def _rule_text(rule: Period | None) -> str:
    if rule is None:
        return "gaat mee met de laatste persoon van het gezin"
    scope = rule.category if rule.category != "*" else rule.purpose if rule.purpose != "*" else "alle"
    return f"{rule.months} maanden ({scope})"


def propose(today: date, actor: Actor) -> RetentionRun | None:
    """The dry run: store what would be removed for the privacy officer to approve; an
    earlier open proposal lapses. None when nothing has expired. Idempotent per day."""
    found = sweep(today)
    proposal = _proposal(found)
    open_runs = db.session.scalars(select(RetentionRun).where(RetentionRun.status == "voorstel")).all()
    for run in open_runs:
        if run.reference_day == today and run.proposal == proposal:
            return run
    for run in open_runs:
        run.status, run.proposal = "vervallen", {}
    if not found.units and not found.held:
        return None
    run = RetentionRun(status="voorstel", reference_day=today, covenant_version=found.covenant_version,
                       proposal=proposal, counts=found.counts() | ({"_held": len(found.held)} if found.held else {}),
                       created_by_user_id=actor.user_id)
    db.session.add(run)
    db.session.flush()
    record("retention.proposed", actor=actor, summary="retention dry run made", object_type="retention_run",
           object_id=run.id, covenant_version=found.covenant_version,
           meta={"would_remove": found.counts(), "held": len(found.held)})
    return run


def execute_run(run: RetentionRun, actor: Actor, today: date) -> dict[str, int]:
    """Carry out an approved dry run: exactly what it listed that is still expired today."""
    if run.status != "voorstel":
        raise RetentionError("Deze proefrun is al uitgevoerd of vervangen door een nieuwere; "
                             "maak zo nodig een nieuwe proefrun.")
    if not run.proposal.get("ids"):
        raise RetentionError("Deze proefrun noemt niets om te verwijderen.")
    found = sweep(today, only={kind: set(ids) for kind, ids in run.proposal["ids"].items()})
    entry = remove(found.units, actor, reason="bewaartermijn", covenant_version=found.covenant_version,
                   object_type="retention_run", object_id=run.id, extra={"held": len(found.held)})
    run.status, run.approved_by_user_id, run.executed_at = "uitgevoerd", actor.user_id, utcnow()
    run.removed, run.audit_seq, run.proposal = found.counts(), entry.seq, {}
    return found.counts()


# --- erasure on request ------------------------------------------------------------------------

def erasure_units(person_id: uuid.UUID, scope: str) -> list[Unit]:
    """What erasing a person removes: their notes ("notities"), or everything about them
    ("alles"): identity, involvements, notes, consent, letters to them, and the plans and
    agenda items of a household of which they are the only member."""
    person, note = _table("person"), _table("note")
    pseudonym = db.session.scalar(select(person.c.pseudonym).where(person.c.id == person_id))
    units = []
    for r in db.session.execute(select(note.c.id, note.c.category, note.c.organisation_id, note.c.written_on)
                                .where(note.c.person_id == person_id)):
        unit = Unit("notitie", r.id, f"{pseudonym}: notitie ({r.category})", None, None, category=r.category,
                    organisation_id=r.organisation_id, month=_first_of_month(r.written_on), person_id=person_id)
        unit.rows["note"] = {(r.id,)}
        units.append(unit)
    if scope != "alles":
        return units
    inv = _table("involvement")
    for r in db.session.execute(select(inv.c.id, inv.c.organisation_id, inv.c.start_date)
                                .where(inv.c.person_id == person_id)):
        unit = Unit("betrokkenheid", r.id, f"{pseudonym}: betrokkenheid", None, None, category="betrokkenheid",
                    organisation_id=r.organisation_id, month=_first_of_month(r.start_date), person_id=person_id)
        _collect(unit, "involvement", [r.id])
        units.append(unit)
    homes = _households()
    for family_id in homes.of_person.get(person_id, set()):
        if homes.members.get(family_id) != {person_id}:
            continue  # the household's plan is also about the others
        for kind, record_id in homes.records.get(family_id, ()):
            unit = Unit(kind, record_id, f"Gezin {homes.pseudonyms[family_id]}: {kind}", None, None)
            _collect(unit, "plan" if kind == "plan" else "agenda_item", [record_id])
            units.append(unit)
    created = db.session.scalar(select(person.c.created_at).where(person.c.id == person_id))
    me = Unit("persoon", person_id, pseudonym or "?", None, None, month=_first_of_month(created.date()),
              person_id=person_id)
    _collect(me, "person", [person_id])
    units.append(me)
    for family_id in homes.of_person.get(person_id, set()):
        if homes.members.get(family_id) == {person_id}:
            family = Unit("gezin", family_id, f"Gezin {homes.pseudonyms[family_id]}", None, None,
                          month=_first_of_month(homes.created[family_id]), requires=[me])
            _collect(family, "family", [family_id])
            units.append(family)
    return units


def erase(person_id: uuid.UUID, scope: str, actor: Actor, request_id: uuid.UUID) -> dict[str, int]:
    """Erase through the retention path; refused (nothing written) when something outside
    the erasure still refers to the person."""
    kept, held = settle(erasure_units(person_id, scope))
    blocking = [table for unit, table in held if unit.kind == "persoon"]
    if blocking:
        raise RetentionError("Wissen kan nog niet: er verwijzen nog gegevens naar deze persoon "
                             f"({', '.join(sorted(set(blocking)))}). Er is niets gewist.")
    remove(kept, actor, reason="verzoek", covenant_version=None, object_type="rights_request",
           object_id=request_id, extra={"scope": scope, "held": len(held)})
    return dict(Counter(u.kind for u in kept))
