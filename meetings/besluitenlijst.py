"""The besluitenlijst (decisions list) of a closed meeting, per organisation.

An organisation receives only the sections it attended: a section counts when someone of
the organisation was recorded there as present (``aanwezig``, or ``later``: came in late).
The chair and the secretary ran the whole meeting and see every section.

Per item the list holds the household's pseudonym, the structured decisions (with their
date or zorgcoördinator) and the actions agreed — owner, due date and status are "that"
(the projector showed them to the whole table); what an action *says* is plan content and
is read through the privacy gate (``netwerk.content.plan_content``) for the reader, for the
section's purpose when their context gives it. Where the gate withholds it the list says
whom to call instead. Never content categories, notes, BSN or addresses.

The page and the PDF are built from the same :class:`Besluitenlijst`; opening either is
audited (``meetings.besluitenlijst_opened``), besides the gate's own entries.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Select, or_, select

from meetings.models import DECISION_KINDS, ActionAtClose, AgendaItem, Attendance, Decision, Meeting, Section
from meetings.policy import admitted_section_ids, manages
from meetings.queries import ANONYMOUS, MEETING_PARTS, OPEN_STATES
from netwerk import access
from netwerk.content import plan_content
from netwerk.db import db, utcnow
from netwerk.models import Family, FamilyMember, Organisation, User
from netwerk.models.plans import ACTION_STATES, Plan, PlanAction
from netwerk.pdf import Document, Letterhead, dutch_date
from privacy.audit import Actor, blind, record

PRESENT = ("aanwezig", "later")  # attendance states that count as "the organisation was there"
MAIL_KIND = "besluitenlijst"
WITHHELD_ACTION = "Inhoud niet gedeeld met uw organisatie"

@dataclass
class ActionLine:
    owner: str
    due: date
    status: str  # label
    late: bool
    new: bool  # agreed during this meeting
    text: str | None  # None: the gate withheld it


@dataclass
class ItemMinutes:
    item: AgendaItem
    pseudonym: str
    discussed: bool
    decisions: list[str] = field(default_factory=list)
    actions: list[ActionLine] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # whom to call for what is not shown


@dataclass
class SectionMinutes:
    section: Section
    items: list[ItemMinutes]


@dataclass
class Besluitenlijst:
    meeting: Meeting
    sections: list[SectionMinutes]

    @property
    def section_ids(self) -> list[uuid.UUID]:
        return [s.section.id for s in self.sections]

    @property
    def family_ids(self) -> list[uuid.UUID]:
        return [i.item.family_id for s in self.sections for i in s.items]


# --- who receives which sections -------------------------------------------------------------

def attended(meeting: Meeting) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Organisation id -> the sections someone of it attended (one statement)."""
    rows = db.session.execute(
        select(User.organisation_id, Attendance.section_id).join(User, User.id == Attendance.user_id)
        .where(Attendance.meeting_id == meeting.id, Attendance.status.in_(PRESENT)))
    found: dict[uuid.UUID, set[uuid.UUID]] = {}
    for org_id, section_id in rows:
        found.setdefault(org_id, set()).add(section_id)
    return found


def sections_for(meeting: Meeting, user: User) -> set[uuid.UUID]:
    """The sections of the besluitenlijst ``user`` may read: all for the chair and secretary,
    otherwise those their organisation attended and is (still) admitted to."""
    if manages(user, meeting.overleg):
        return {s.id for s in meeting.overleg.sections}
    return attended(meeting).get(user.organisation_id, set()) & admitted_section_ids(user, meeting.overleg)


def recipients(meeting: Meeting) -> list[User]:
    """Who gets the mail: the active people of an attending organisation recorded in the
    meeting's attendance (present, late, absent or excused alike: the absent need it most)."""
    orgs = set(attended(meeting))
    users = db.session.scalars(
        select(User).join(Attendance, Attendance.user_id == User.id)
        .where(Attendance.meeting_id == meeting.id, User.organisation_id.in_(orgs), User.active.is_(True))
        .distinct().order_by(User.name)).all()
    return list(users)


# --- building the list ------------------------------------------------------------------------

def build(meeting: Meeting, section_ids: set[uuid.UUID], viewer: Actor, *, reveal_anonymous: bool = False,
          read_as: User | None = None) -> Besluitenlijst:
    """The besluitenlijst of ``meeting`` limited to ``section_ids``, with action texts as
    the gate lets ``viewer`` read them (``read_as``: the viewer's account, for the purposes
    their context gives; None reads no plan text at all)."""
    sections = [s for s in meeting.overleg.sections if s.id in section_ids]
    items = db.session.scalars(select(AgendaItem).where(
        AgendaItem.meeting_id == meeting.id, AgendaItem.section_id.in_(section_ids))
        .order_by(AgendaItem.position)).all()
    family_ids = list({i.family_id for i in items})
    pseudonyms = dict(db.session.execute(select(Family.id, Family.pseudonym).where(Family.id.in_(family_ids))).all())
    decisions = _decisions([i.id for i in items])
    actions = _actions(meeting, family_ids)
    minutes: dict[uuid.UUID, list[ItemMinutes]] = {s.id: [] for s in sections}
    purposes = {s.id: s.purpose for s in sections}
    for item in items:
        hidden = item.inform_state == "anoniem" and not reveal_anonymous
        # An anonymous family stays anonymous on paper too: its decisions without the names
        # of who takes them, and no actions (owners, dates and "whom to call" would point
        # to the family), as on the projector and the live view.
        entry = ItemMinutes(item, ANONYMOUS if hidden else pseudonyms[item.family_id], item.status == "besproken",
                            decisions.get(item.id, ([], []))[1 if hidden else 0])
        plan, lines = (None, []) if hidden else actions.get(item.family_id, (None, []))
        if plan is not None and lines:
            allowed, entry.withheld = _readable(viewer, read_as, plan, purposes[item.section_id])
            entry.actions = [ActionLine(owner, due, ACTION_STATES[status], status in OPEN_STATES
                                        and due < meeting.date, new, a.what if a.id in allowed else None)
                             for a, owner, new, status, due in lines]
        minutes[item.section_id].append(entry)
    return Besluitenlijst(meeting, [SectionMinutes(s, minutes[s.id]) for s in sections])


def _decisions(item_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[list[str], list[str]]]:
    """Per item: its decisions with, and without, who they name (the latter for anonymous items)."""
    rows = db.session.execute(
        select(Decision, User.name, Organisation.name).outerjoin(User, User.id == Decision.user_id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(Decision.agenda_item_id.in_(item_ids)).order_by(Decision.decided_at)).all()
    found: dict[uuid.UUID, tuple[list[str], list[str]]] = {}
    for decision, user, org in rows:
        label = DECISION_KINDS[decision.kind]
        if decision.on_date:
            label += f" op {decision.on_date.strftime('%d-%m-%Y')}"
        named, bare = found.setdefault(decision.agenda_item_id, ([], []))
        named.append(f"{label}: {user} ({org})" if user else label)
        bare.append(label)
    return found


Standing = tuple[PlanAction, str, bool, str, date]  # action, owner label, new, status, due


def _actions(meeting: Meeting, family_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[Plan, list[Standing]]]:
    """Per household: its running plan and the actions that stand after the meeting, with
    owner label, "new" and their status and due date. For a meeting whose actions were kept
    at closing (:func:`keep_actions_at_close`): as they stood then; for one closed before
    that was done: as they stand now."""
    if meeting.actions_kept:
        query = (select(Plan, PlanAction, ActionAtClose).join(PlanAction, PlanAction.plan_id == Plan.id)
                 .join(ActionAtClose, ActionAtClose.action_id == PlanAction.id)
                 .where(ActionAtClose.meeting_id == meeting.id, Plan.family_id.in_(family_ids)))
        rows = [(plan, action, kept.owner, kept.new, kept.status, kept.due)
                for plan, action, kept in db.session.execute(query)]
    else:
        rows = [(plan, action, owner, new, action.status, action.due)
                for plan, action, owner, new in _standing_now(meeting, family_ids)]
    found: dict[uuid.UUID, tuple[Plan, list[Standing]]] = {}
    for plan, action, owner, new, status, due in sorted(rows, key=lambda r: (r[5], r[1].created_at)):
        found.setdefault(plan.family_id, (plan, []))[1].append((action, owner, new, status, due))
    return found


def _owned(query: Select) -> Select:
    return (query.join(PlanAction, PlanAction.plan_id == Plan.id)
            .outerjoin(User, User.id == PlanAction.owner_user_id)
            .outerjoin(Organisation, Organisation.id == User.organisation_id))


def _labelled(query: Select) -> list[tuple[Plan, PlanAction, str]]:
    # An informal owner (a grandmother at the kitchen table) is named in the plan only.
    return [(plan, action, f"{user} ({org})" if user else "iemand uit het netwerk van het gezin")
            for plan, action, user, org in db.session.execute(query)]


def _standing_now(meeting: Meeting, family_ids: list[uuid.UUID]) -> list[tuple[Plan, PlanAction, str, bool]]:
    """The actions that stand after the meeting — those still open, and those agreed or
    changed during it — read as they are now."""
    since = meeting.live_since or meeting.closed_at
    touched = [PlanAction.status.in_(OPEN_STATES)]
    if since is not None:
        touched += [PlanAction.created_at >= since, PlanAction.updated_at >= since]
    query = _owned(select(Plan, PlanAction, User.name, Organisation.name)).where(
        Plan.family_id.in_(family_ids), Plan.status != "afgesloten", or_(*touched))
    if meeting.closed_at is not None:
        query = query.where(PlanAction.created_at <= meeting.closed_at)
    return [(plan, action, owner, since is not None and action.created_at >= since)
            for plan, action, owner in _labelled(query)]


def keep_actions_at_close(meeting: Meeting) -> int:
    """Called when the meeting closes (in its transaction): remember how every action of
    its households stood, per agenda item, so the besluitenlijst stays the record of this
    meeting."""
    items = {i.family_id: i.id for i in db.session.scalars(select(AgendaItem).where(
        AgendaItem.meeting_id == meeting.id))}
    rows = _standing_now(meeting, list(items)) if items else []
    db.session.add_all(ActionAtClose(agenda_item_id=items[plan.family_id], action_id=action.id,
                                     meeting_id=meeting.id, status=action.status, due=action.due,
                                     owner=owner[:300], new=new) for plan, action, owner, new in rows)
    meeting.actions_kept = True
    return len(rows)


def _readable(viewer: Actor, read_as: User | None, plan: Plan, section_purpose: str
              ) -> tuple[set[uuid.UUID], list[str]]:
    """The action ids whose text the gate discloses to the viewer, and the "that" lines
    for what it withholds. The purpose is the section's when the viewer's context gives it
    (else the first the context gives, else none: own organisation's texts only), as the
    plan page chooses it (``netwerk.web.read_plan``)."""
    if read_as is None:
        return set(), []
    members = db.session.scalars(select(FamilyMember.person_id).where(FamilyMember.family_id == plan.family_id))
    visible = sorted((m for m in members if access.person_relation(read_as.organisation_id, m) is not None), key=str)
    # A noodtoegang is claimed for one urgent case, not for reading minutes: only purposes
    # a context gives count here.
    contexts = [c for c in access.family_purposes(viewer, visible, utcnow()) if not c.emergency] if visible else []
    chosen = access.choose_purpose(contexts, section_purpose) or access.choose_purpose(contexts, None)
    content = plan_content(viewer, plan, chosen.purpose if chosen else None, "besluitenlijst", MEETING_PARTS)
    return {a.id for a in content.actions}, content.withheld


def audit_opened(lijst: Besluitenlijst, viewer: Actor, form: str) -> None:
    """Reading the list is a disclosure of who was discussed: one entry per opening."""
    record("meetings.besluitenlijst_opened", actor=viewer, summary=f"besluitenlijst opened ({form})",
           subjects=[blind("family", fid) for fid in lijst.family_ids], object_type="meeting",
           object_id=lijst.meeting.id, meta={"sections": [str(s) for s in lijst.section_ids], "format": form})


# --- the PDF ----------------------------------------------------------------------------------

def title(meeting: Meeting) -> str:
    return f"Besluitenlijst {meeting.overleg.name}, {dutch_date(meeting.date)}"


def render_pdf(lijst: Besluitenlijst, reader: str) -> bytes:
    """The list as a PDF with the letterhead; ``reader``: for whom (organisation)."""
    meeting = lijst.meeting
    doc = Document(title(meeting), Letterhead.from_config())
    doc.title_block(f"Voor {reader}. Alleen de onderdelen waarbij uw organisatie aanwezig was.")
    for part in lijst.sections:
        doc.heading(part.section.name)
        if not part.items:
            doc.paragraph("Geen gezinnen besproken in dit onderdeel.")
        for entry in part.items:
            doc.heading(entry.pseudonym + ("" if entry.discussed else " (niet besproken: doorgeschoven)"))
            doc.facts([("Besluiten", "; ".join(entry.decisions) or "geen")])
            if entry.actions:
                doc.table(["Actie", "Eigenaar", "Uiterlijk", "Stand"],
                          [[(a.text if a.text is not None else WITHHELD_ACTION) + (" (nieuw)" if a.new else ""),
                            a.owner, a.due.strftime("%d-%m-%Y"), a.status + (" (te laat)" if a.late else "")]
                           for a in entry.actions], widths=(80, 45, 22, 23))
            for line in entry.withheld:
                doc.paragraph(line)
    return doc.render()
