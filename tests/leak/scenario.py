"""The leak test's world: the demo region (organisations, accounts, covenant 2026-1 and
whatever demo cases ``netwerk.demo`` seeds), plus a household of our own whose notes carry
markers in every covenant category, all written by CJG Alphen aan den Rijn, and whose
1gezin1plan carries a marker in every piece (``tests/leak/plan_scenario.py``).

Who may see what, by the demo covenant (betrokkenheid and contactgegevens go to every
party for every purpose, so those markers appear wherever a purpose exists):

* **Amira** (13-14) — CJG, GGZ, Jongerenwerk, Veilig Thuis involved (client matches); Raad
  voor de Kinderbescherming was involved and ended. Every member of her household gave
  consent for gezamenlijk gesprek, plan bespreken and delen met GGZ (the household's plan
  is read about all of them at once). Signalering gives zorgen to the care partners and
  veiligheid to Veilig Thuis. The plan gives procesregie (plan, zorgen, gezondheid for
  GGZ, school for Leerplicht) to the organisations on it: CJG (zorgcoördinator), GGZ and
  Leerplicht (action owners), Jongerenwerk (at the kitchen table). ggz.1's noodtoegang
  for procesregie adds nothing now; veiligthuis.1's opens Amira's plan notes, not the
  household's plan (a claim for one member is not one for the household).
* **Bas** (9-10), Amira's brother — Leerplicht and CJG involved; consent for gezamenlijk
  gesprek. Each organisation involved with Amira has a family match with Leerplicht
  through him: the care partners see his zorgen, Veilig Thuis his veiligheid, Leerplicht
  school for both children.
* **Carmen** (18-19), their sister, safety flag — only CJG; never reached through the
  household. **Peter**, their father, has no involvement and no notes.
* **Dirk** (16-17) — CJG, Jongerenwerk and Politie involved. His consent for gezamenlijk
  gesprek was withdrawn (so Jongerenwerk no longer sees zorgen); Politie sees veiligheid;
  jongerenwerk.2 claimed noodtoegang for nazorg, which the covenant gives them nothing for.

``tests/leak/test_leak.py`` (SCENARIO) spells this out per account.

Everyone else (the other organisations, beheerder, privacy officer, bestuurder,
leidinggevende, the Veiligheidshuis chair and secretary) has no purpose for any of them;
``tests/leak/plan_oracle.py`` spells out the plan, page by page.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pyotp
from flask import current_app
from sqlalchemy import select

from meetings import operations as mops
from meetings.demo import OVERLEGGEN, create_demo_overleggen
from meetings.models import AgendaItem, Meeting, Overleg
from netwerk import demo, jobqueue
from netwerk import operations as ops
from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from netwerk.models import Family, FamilyMember, Involvement, Person, User
from netwerk.validators import bsn_valid
from privacy.demo_covenant import CATEGORIES, PURPOSES
from privacy.models import Consent
from privacy.operations import ConsentSpec, withdraw_consent
from tests.leak.harness import Scenario, collect_ids, plant_notes
from tests.leak.plan_scenario import plant_plan

PLANTER = "cjg-alphen.1"
PLANTER_ORG = "CJG Alphen aan den Rijn"
TWO_FACTOR = ("voorzitter", "privacy", "ggz.1")  # accounts that log in with a code


def random_bsn(rng: random.Random) -> str:
    while True:
        digits = f"{rng.randrange(10_000_000, 999_999_999):09d}"
        if bsn_valid(digits):
            return digits


@dataclass(frozen=True)
class Who:
    first: str
    last: str
    born: date
    bsn: str
    safety_flag: bool = False

    def data(self, address: str) -> ops.PersonData:
        return ops.PersonData(self.first, self.last, self.born, bsn=self.bsn, municipality="Alphen aan den Rijn",
                              address=address, safety_flag=self.safety_flag)


def local(user: User) -> str:
    return user.email.split("@")[0]


def build(today: date | None = None) -> Scenario:
    """Seed the demo region and our household; commit; return the scenario."""
    now = utcnow()
    today = today or now.date()
    demo.create_demo_region()
    cases = getattr(demo, "create_demo_cases", None)
    if cases is not None:  # the demo's own persons, when the demo has them
        cases(today)
    # The demo's overleggen, their meetings and the De Vries household on an agenda, so
    # every meetings page (overleg, meeting, console, stream, letters) is walked.
    create_demo_overleggen(today)
    db.session.commit()
    users = {local(u): u for u in db.session.scalars(select(User))}
    for name in TWO_FACTOR:
        users[name].totp_secret, users[name].totp_enabled = pyotp.random_base32(), True
    rng = random.Random(uuid.uuid4().int)
    tag = uuid.uuid4().hex[:6]
    people = {
        # ages stay in their consent band whatever the day: 13-14, 9-10, 18-19, 16-17
        "amira": Who("Amira", f"Lekkerkerk{tag}", date(today.year - 14, 3, 4), random_bsn(rng)),
        "bas": Who("Bas", f"Lekkerkerk{tag}", date(today.year - 10, 6, 10), random_bsn(rng)),
        "carmen": Who("Carmen", f"Lekkerkerk{tag}", date(today.year - 19, 2, 2), random_bsn(rng), safety_flag=True),
        "peter": Who("Peter", f"Lekkerkerk{tag}", date(today.year - 44, 8, 8), random_bsn(rng)),
        "dirk": Who("Dirk", f"Dijkhuis{tag}", date(today.year - 17, 5, 5), random_bsn(rng)),
    }
    since = today - timedelta(days=30)

    def report(key: str, account: str) -> Person:
        user = users[account]
        involvement = ops.report_involvement(
            people[key].data(f"Lekstraat {len(key)}"),
            ops.InvolvementData(user.organisation_id, user.name, user.email, since, contact_phone="071 555 0101"),
            actor_for(user, "deelnemer"), now)
        return involvement.person

    cjg = actor_for(users[PLANTER], "deelnemer")
    amira, carmen = report("amira", PLANTER), report("carmen", PLANTER)
    household = ops.add_household_member(amira, "kind", people["peter"].data("Lekstraat 6"), "ouder", cjg, now)
    peter = next(m.person for m in household.members if m.person_id != amira.id)
    ops.add_household_member(amira, "kind", people["carmen"].data("Lekstraat 6"), "kind", cjg, now)
    bas = report("bas", "leerplicht.1")
    ops.add_household_member(amira, "kind", people["bas"].data("Lekstraat 3"), "kind", cjg, now)
    report("bas", PLANTER)
    dirk = report("dirk", PLANTER)
    for account in ("ggz.1", "jongerenwerk.1", "veiligthuis.1", "raad.1"):
        report("amira", account)
    for account in ("jongerenwerk.1", "politie.1"):
        report("dirk", account)
    raad = users["raad.1"]
    ended = db.session.scalar(select(Involvement).where(Involvement.person_id == amira.id,
                                                        Involvement.organisation_id == raad.organisation_id))
    ops.end_involvement(ended, actor_for(raad, "deelnemer"), today)

    ggz = users["ggz.1"]
    # The household's plan is read about all four members at once, so a step counts for
    # it only when each of them gave it: they all did for the plan, the joint
    # conversation and sharing with GGZ.
    household_steps = (("gezamenlijk_gesprek", None), ("plan_bespreken", None),
                       ("delen_met_organisatie", ggz.organisation_id))
    for person, step, given_by, org in (
            *((amira, step, "ouder_en_jongere", org) for step, org in household_steps),
            *((bas, step, "ouder", org) for step, org in household_steps),
            *((carmen, step, "jongere", org) for step, org in household_steps),
            *((peter, step, "jongere", org) for step, org in household_steps),
            (dirk, "gezamenlijk_gesprek", "jongere", None), (dirk, "voorwaarden", "jongere", None)):
        ops.record_consent(person, ConsentSpec(step=step, given_by=given_by, form="schriftelijk",
                                               given_on=since, organisation_id=org), cjg, today)
    withdrawn = db.session.scalar(select(Consent).where(Consent.person_id == dirk.id,
                                                        Consent.step == "gezamenlijk_gesprek"))
    withdraw_consent(withdrawn, today, cjg)

    reason = "Acute zorg gemeld door huisarts; afstemming nodig buiten de match om."
    ops.claim_purpose(amira, "procesregie", reason, actor_for(ggz, "deelnemer"), now)
    ops.claim_purpose(dirk, "nazorg", reason, actor_for(users["jongerenwerk.2"], "deelnemer"), now)
    # A claim for one member opens that member's notes, never the household's plan.
    ops.claim_purpose(amira, "procesregie", reason, actor_for(users["veiligthuis.1"], "deelnemer"), now)

    markers = {}
    for person in (amira, bas, carmen, dirk):
        markers |= plant_notes(person, users[PLANTER], CATEGORIES, cjg, today)
    db.session.commit()
    markers |= plant_plan(household, users, PLANTER, today)

    persons = {"amira": amira, "bas": bas, "carmen": carmen, "dirk": dirk}
    terms = []
    for person in persons.values():
        # Search results show pseudonyms, so a marker can only surface through a search
        # over content: search for one marker per person. Searching by name, pseudonym,
        # birth year and BSN is test_oracle's business.
        terms.append(next(m for m, p in markers.items() if p.person_id == person.id))
    return Scenario(
        markers=markers, password=demo.demo_password(), purposes=list(PURPOSES), categories=list(CATEGORIES),
        ids=collect_ids([p.id for p in persons.values()]), search_terms=terms,
        seeds=plan_urls(household.id), planter_org_id=users[PLANTER].organisation_id,
        extra={"persons": {k: p.id for k, p in persons.items()}, "people": people, "family_id": household.id},
    )


PLAN_PAGES = ("plan", "plan/afdrukken", "plan/gezinsversie")  # the plan page and its printable versions


def plan_urls(family_id: uuid.UUID) -> list[str]:
    """Every account's walk asks for these, linked or not (the printable versions are
    linked from the plan page only, and only to those who may see it)."""
    return [*(f"/gezinnen/{family_id}/{page}" for page in PLAN_PAGES), "/mijn-acties"]


def by_local(name: str) -> User:
    return db.session.scalar(select(User).where(User.email == f"{name}@{demo.DOMAIN}"))


def markers_of(scenario: Scenario, key: str, *categories: str) -> set[str]:
    pid = scenario.extra["persons"][key]
    return {m for m, p in scenario.markers.items()
            if p.person_id == pid and (not categories or p.category in categories)}



# --- meetings (issue 5): a closed meeting with its besluitenlijst, a live one on the wall ---------

MEETING_ATTENDANCE = (  # (account, section index, status) at the closed meeting
    ("cjg-alphen.1", 0, "aanwezig"), ("cjg-alphen.1", 1, "aanwezig"),
    ("leerplicht.1", 0, "aanwezig"), ("jongerenwerk.1", 0, "afgemeld"),  # Jongerenwerk's only one sent apologies
    ("politie.1", 1, "aanwezig"),  # Politie sits at both tables but came to Strafrecht only
    ("raad.1", 1, "later"),
)


def build_meetings(scenario: Scenario, today: date | None = None) -> None:
    """On the demo's Hét Overleg: Amira's household (the plan with markers) in section A
    (Preventief) and Dirk in section B (Strafrecht onder 18) of a past meeting that is run
    and closed (attendance per :data:`MEETING_ATTENDANCE`; the besluitenlijst mails are
    delivered to the outbox) and of a later one that is live, with a projector link.
    Recorded in ``scenario.extra["meetings"]``."""
    now = utcnow()
    today = today or now.date()
    users = {local(u): u for u in db.session.scalars(select(User))}
    chair = users["voorzitter"]
    act = actor_for(chair, "voorzitter")
    overleg = db.session.scalar(select(Overleg).where(Overleg.name == OVERLEGGEN[0][0]))
    sections = overleg.sections[:2]
    household = db.session.get(Family, scenario.extra["family_id"])
    dirk = scenario.extra["persons"]["dirk"]
    dirk_family_id = db.session.scalar(select(FamilyMember.family_id).where(FamilyMember.person_id == dirk))
    dirk_family = db.session.get(Family, dirk_family_id) if dirk_family_id else ops.compose_family(
        [(db.session.get(Person, dirk), "kind")], act)
    dates = list(db.session.scalars(select(Meeting).where(Meeting.overleg_id == overleg.id)
                                    .order_by(Meeting.date)))
    past = next(m for m in dates if m.date < today)
    live = [m for m in dates if m.date > today][1]  # the one after the next (the next gets the carry-over)

    def agenda(meeting: Meeting) -> dict[str, AgendaItem]:
        items = {"A": mops.add_to_agenda(meeting, sections[0], household, chair, act),
                 "B": mops.add_to_agenda(meeting, sections[1], dirk_family, chair, act)}
        for item in items.values():
            mops.make_letters(item, today)
        return items

    closed_items = agenda(past)
    for account, index, status in MEETING_ATTENDANCE:
        mops.record_attendance(past, sections[index], users[account], status, chair, act)
    db.session.commit()
    mops.go_live(past, chair, act, now, past.version)
    mops.record_decision(closed_items["A"], mops.DecisionSpec("zorgcoordinator", user_id=users[PLANTER].id),
                         chair, act, today)
    mops.record_decision(closed_items["B"], mops.DecisionSpec("terug_op_agenda", on_date=today + timedelta(days=28)),
                         chair, act, today)
    mops.mark_discussed(closed_items["A"], chair, act)
    mops.close(past, chair, act, utcnow(), past.version)
    db.session.commit()
    jobqueue.drain(current_app._get_current_object())  # the besluitenlijst mails (and the letters' jobs)
    db.session.expire_all()

    live_items = agenda(live)
    db.session.commit()
    mops.go_live(live, chair, act, utcnow(), live.version)
    mops.record_decision(live_items["A"], mops.DecisionSpec("geen_actie"), chair, act, today)
    token = mops.issue_projector_link(live, chair, act, utcnow())
    db.session.commit()
    scenario.extra["meetings"] = {
        "closed": past.id, "live": live.id, "token": token, "sections": {"A": sections[0].id, "B": sections[1].id},
        "closed_items": {k: i.id for k, i in closed_items.items()},
        "live_items": {k: i.id for k, i in live_items.items()},
        "pseudonyms": {"A": household.pseudonym, "B": dirk_family.pseudonym},
    }
