"""The fictional demo region: Alphen aan den Rijn and Katwijk with their partners, and
the covenant they signed (``privacy.demo_covenant``).

Idempotent: organisations and accounts are found by name and e-mail and created only when
missing, through the same operations the beheerder uses, so the demo is audited too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update

from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.models import Family, FamilyMember, Organisation, Person, Plan, PlanAction, User
from netwerk.security import hash_password
from privacy.audit import Actor
from privacy.demo_covenant import VERSION as COVENANT_VERSION
from privacy.demo_covenant import demo_covenant
from privacy.models import CovenantVersion
from privacy.operations import ConsentSpec, create_covenant_version

DEFAULT_DEMO_PASSWORD = "netwerk-demo-2026"
DOMAIN = "demo.netwerk.test"

# (name, type, domain, e-mail local part)
ORGANISATIONS: list[tuple[str, str, str, str]] = [
    ("Gemeente Alphen aan den Rijn", "gemeente", "bestuur", "alphen"),
    ("Gemeente Katwijk", "gemeente", "bestuur", "katwijk"),
    ("CJG Alphen aan den Rijn", "cjg", "zorg", "cjg-alphen"),
    ("CJG Katwijk", "cjg", "zorg", "cjg-katwijk"),
    ("Politie Hollands Midden", "politie", "veiligheid", "politie"),
    ("Jongerenwerk Rijnstreek", "jongerenwerk", "zorg", "jongerenwerk"),
    ("Jeugdbescherming west", "gi", "zorg", "jbw"),
    ("Raad voor de Kinderbescherming Leiden", "raad", "veiligheid", "raad"),
    ("Veilig Thuis Hollands Midden", "veilig_thuis", "veiligheid", "veiligthuis"),
    ("Reclassering Nederland regio Leiden", "reclassering", "veiligheid", "reclassering"),
    ("Leerplicht Rijnstreek", "leerplicht", "onderwijs", "leerplicht"),
    ("Veiligheidshuis Hollands Midden", "veiligheidshuis", "veiligheid", "vhh"),
    ("GGZ Rijnland", "ggz", "zorg", "ggz"),
    ("Stichting Regionaal Samenwerkingsverband Onderwijs", "school", "onderwijs", "zat"),
]

FIRST = ["Anne", "Bram", "Carla", "Daan", "Eva", "Fatima", "Gert", "Hanna", "Ilias", "Joke", "Karim",
         "Lotte", "Mehmet", "Noor", "Oscar", "Petra", "Quinten", "Rosa", "Sven", "Tessa", "Umut",
         "Vera", "Willem", "Yara", "Zeynep", "Ruben", "Sanne", "Thijs"]
LAST = ["de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot",
        "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra"]


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    organisation: str
    roles: tuple[str, ...]


def _special_accounts() -> list[DemoAccount]:
    return [
        DemoAccount(f"beheerder@{DOMAIN}", "Bea Beheer", "Gemeente Alphen aan den Rijn", ("beheerder",)),
        DemoAccount(f"voorzitter@{DOMAIN}", "Victor Voorzitter", "Veiligheidshuis Hollands Midden", ("voorzitter",)),
        DemoAccount(f"voorzitter.katwijk@{DOMAIN}", "Vera Voorzitter", "Gemeente Katwijk", ("voorzitter",)),
        DemoAccount(f"secretaris@{DOMAIN}", "Sam Secretaris", "Veiligheidshuis Hollands Midden", ("secretaris",)),
        DemoAccount(f"privacy@{DOMAIN}", "Pim Privacy", "Gemeente Alphen aan den Rijn", ("privacy",)),
        DemoAccount(f"leidinggevende@{DOMAIN}", "Lies Leidinggevende", "Politie Hollands Midden", ("leidinggevende",)),
        DemoAccount(f"bestuurder@{DOMAIN}", "Bert Bestuurder", "Gemeente Alphen aan den Rijn", ("bestuurder",)),
    ]


def demo_accounts() -> list[DemoAccount]:
    """Every demo account: one per special role, and two deelnemers per partner."""
    accounts = _special_accounts()
    n = 0
    for name, _type, _domain, local in ORGANISATIONS:
        for i in (1, 2):
            person = f"{FIRST[n % len(FIRST)]} {LAST[(n * 7) % len(LAST)]}"
            n += 1
            accounts.append(DemoAccount(f"{local}.{i}@{DOMAIN}", person, name, ("deelnemer",)))
    return accounts


def demo_password() -> str:
    return os.environ.get("NETWERK_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


def create_demo_region() -> tuple[int, int]:
    """Create what is missing; returns (organisations created, users created)."""
    actor = Actor.system("demo")
    orgs = {o.name: o for o in db.session.scalars(select(Organisation))}
    created_orgs = 0
    for name, org_type, domain, local in ORGANISATIONS:
        if name not in orgs:
            orgs[name] = ops.create_organisation(ops.OrganisationData(
                name=name, org_type=org_type, domain=domain, email=f"info@{local}.{DOMAIN}",
                phone="071 000 0000"), actor)
            created_orgs += 1
    existing = set(db.session.scalars(select(User.email)))
    created_users = 0
    password_hash = hash_password(demo_password())
    for account in demo_accounts():
        if account.email in existing:
            continue
        ops.create_user(ops.UserData(email=account.email, name=account.name,
                                     organisation_id=orgs[account.organisation].id, roles=set(account.roles)),
                        actor, demo_password_hash=password_hash)
        created_users += 1
    if db.session.scalar(select(CovenantVersion.id).where(CovenantVersion.version == COVENANT_VERSION)) is None:
        parties = [(org.id, org.org_type) for org in orgs.values()]
        create_covenant_version(demo_covenant(parties, date(2026, 1, 1)), actor)
    return created_orgs, created_users


# --- demo cases: households, involvements, matches, notes, consent --------------------------

@dataclass(frozen=True)
class DemoPerson:
    key: str
    first: str
    last: str
    born: date
    bsn: str | None = None
    safety_flag: bool = False
    address: str | None = None  # fictional; letters to families need one


PERSONS = [
    DemoPerson("sanne", "Sanne", "de Vries", date(1984, 5, 17), address="Demostraat 12, 2400 AA Alphen aan den Rijn"),
    DemoPerson("daan", "Daan", "de Vries", date(2010, 9, 2), "111222333"),
    DemoPerson("lotte", "Lotte", "de Vries", date(2014, 1, 23)),
    DemoPerson("yara", "Yara", "Bakker", date(2011, 6, 30), safety_flag=True),
    DemoPerson("karim", "Karim", "Hendriks", date(2006, 11, 8), "123456782"),
]
HOUSEHOLDS = [[("sanne", "ouder"), ("daan", "kind"), ("lotte", "kind")]]
# (person, organisation e-mail local part of the contact account)
INVOLVEMENTS = [
    ("daan", "cjg-alphen.1"), ("daan", "jongerenwerk.1"), ("daan", "politie.1"), ("lotte", "leerplicht.1"),
    ("yara", "veiligthuis.1"), ("yara", "cjg-katwijk.1"), ("karim", "reclassering.1"), ("karim", "politie.2"),
]
# (person, author account, category, text): fictional, so the demo shows the gate at work
NOTES = [
    ("daan", "cjg-alphen.1", "zorgen", "Moeder maakt zich zorgen over verzuim en uitgaan; gesprek gepland."),
    ("daan", "cjg-alphen.1", "gezondheid", "Daan staat op de wachtlijst voor een intake bij de GGZ."),
    ("daan", "politie.1", "strafrechtelijk", "Aangehouden voor winkeldiefstal; HALT-afdoening loopt."),
    ("lotte", "leerplicht.1", "school", "Relatief verzuim sinds oktober; gesprek met school en moeder."),
    ("yara", "veiligthuis.1", "veiligheid", "Melding huiselijk geweld; veiligheidsplan opgesteld."),
    ("karim", "reclassering.1", "strafrechtelijk", "Toezicht loopt; meldplicht eens per twee weken."),
]
# (person, step, given by, form)
CONSENTS = [("daan", "contact", "jongere", "mondeling"), ("daan", "gezamenlijk_gesprek", "jongere", "schriftelijk")]


def create_demo_cases(today: date) -> int:
    """Households with involvements (so matches), notes and consent; only into a region
    without persons. Returns the number of persons created."""
    if db.session.scalar(select(Person.id).limit(1)) is not None:
        create_demo_plan(today)  # a region seeded before the demo had a plan gets it now
        return 0
    actor = Actor.system("demo")
    users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User))}
    persons = {p.key: ops.register_person(ops.PersonData(p.first, p.last, p.born, bsn=p.bsn,
                                                         municipality="Alphen aan den Rijn",
                                                         address=p.address, safety_flag=p.safety_flag),
                                         actor, today)
               for p in PERSONS}
    for members in HOUSEHOLDS:
        ops.compose_family([(persons[key], relation) for key, relation in members], actor)
    for key, contact in INVOLVEMENTS:
        user = users[contact]
        ops.register_involvement(persons[key], ops.InvolvementData(
            user.organisation_id, user.name, user.email, today, contact_phone="071 000 0000"), actor, today)
    for key, step, given_by, form in CONSENTS:
        ops.record_consent(persons[key], ConsentSpec(step=step, given_by=given_by, form=form, given_on=today),
                           actor, today)
    for key, author, category, text in NOTES:
        ops.add_note(persons[key], users[author], category, text, actor, today)
    create_demo_plan(today)
    return len(persons)


# --- the demo plan (1gezin1plan) for the De Vries household ---------------------------------

PLAN_COORDINATOR = "cjg-alphen.1"
PLAN_GOALS = [  # (key, life domain, author account, text)
    ("school", "school", "leerplicht.1", "Lotte gaat weer elke schooldag naar school."),
    ("vrije_tijd", "vrije_tijd", "jongerenwerk.1", "Daan heeft na school een vaste plek en bezigheid."),
    ("opvoeding", "opvoeding", PLAN_COORDINATOR, "Moeder en Daan houden zich aan afspraken over uitgaan."),
]
# (goal, owner account or "oma", what, done when, due in days, status, progress note).
# Different organisations and states, so each demo user's Mijn acties has something in it:
# a negative due date is overdue, 1 day is "binnenkort".
PLAN_ACTIONS = [
    ("school", "leerplicht.1", "Leerplicht voert een verzuimgesprek met moeder en Lotte op school",
     "klaar als de afspraken van het gesprek op papier staan en door moeder zijn getekend", -3, "open", None),
    ("vrije_tijd", "jongerenwerk.1", "Jongerenwerker neemt Daan mee naar de open avond van het jongerencentrum",
     "klaar als Daan minstens één avond in het jongerencentrum is geweest", 1, "open", None),
    ("opvoeding", "politie.1", "Wijkagent bespreekt de HALT-afspraken met Daan en moeder thuis",
     "klaar als de datum van de HALT-taakstraf vastligt", 14, "bezig", "Eerste huisbezoek gedaan; moeder belt terug."),
    ("opvoeding", PLAN_COORDINATOR, "CJG voert een gezinsgesprek over de afspraken bij uitgaan",
     "klaar als er drie afspraken op papier staan die moeder en Daan allebei tekenen", 21, "gereed",
     "Gezinsgesprek gevoerd: drie afspraken staan op papier, moeder en Daan hebben ze allebei getekend."),
    ("school", "oma", "Oma haalt Lotte op dinsdag en donderdag op van school",
     "klaar als Lotte vier weken lang op die dagen bij oma is opgevangen", 28, "open", None),
]


def demo_household() -> Family | None:
    """The De Vries household, found through Daan's BSN (names are encrypted)."""
    daan = next(p for p in PERSONS if p.key == "daan")
    person = ops.person_by_bsn(daan.bsn)
    if person is None:
        return None
    return db.session.scalar(select(Family).join(FamilyMember).where(FamilyMember.person_id == person.id))


def create_demo_plan(today: date) -> int:
    """The De Vries household's plan: a zorgcoördinator, goals, the network and SMART actions
    of several organisations in several states, through the plan operations (so audited and
    in the history). Idempotent: a household that has a plan, open or closed, gets none."""
    family = demo_household()
    if family is None or db.session.scalar(select(Plan.id).where(Plan.family_id == family.id).limit(1)):
        return 0
    users = {u.email.split("@")[0]: u for u in db.session.scalars(select(User).where(User.email.like(f"%@{DOMAIN}")))}
    coordinator = users[PLAN_COORDINATOR]
    lead = _actor(coordinator)
    plan = ops.start_plan(family, coordinator, lead, today)
    ops.update_plan(plan, family_view="We willen weer rust in huis en dat Lotte graag naar school gaat.",
                    strengths="Oma woont om de hoek en helpt graag; Daan voetbalt en is goed met zijn handen.",
                    next_evaluation=today + timedelta(days=42), family_agreement_required=True,
                    expected_version=plan.version, actor=lead, today=today)
    goals = {key: ops.add_goal(plan, domain, text, users[author], _actor(users[author]))
             for key, domain, author, text in PLAN_GOALS}
    oma = ops.add_network_member(plan, "informeel", "Oma de Vries", "Vangt Lotte op na school", None, None, lead)
    ops.adopt_plan(plan, "overleg", lead, today)
    for goal, owner, what, done_when, due_in, status, note in PLAN_ACTIONS:
        owner_user = users.get(owner)
        action, _ = ops.add_action(
            plan, goal_id=goals[goal].id, what=what, done_when=done_when, owner_user=owner_user,
            owner_member=oma if owner_user is None else None, due=today + timedelta(days=max(due_in, 7)),
            due_text=None, agreed_by="ouder", agreed_on=today, actor=lead, today=today)
        if status != "open":  # whoever works on it has accepted it
            ops.accept_action(action, owner_user or coordinator, _actor(owner_user or coordinator), utcnow())
            ops.update_action(action, status=status, progress=note, failure_reason=None, due=None,
                              expected_version=action.version, actor=_actor(owner_user or coordinator), today=today)
        if due_in < 7:
            # A new action's date lies ahead; the demo shows one that is late and one that
            # is nearly due, as the passing of time would (set directly, not as a user's move).
            db.session.execute(update(PlanAction).where(PlanAction.id == action.id)
                               .values(due=today + timedelta(days=due_in)))
    db.session.flush()
    return 1


def _actor(user: User) -> Actor:
    return Actor(user_id=user.id, org_id=user.organisation_id, role="deelnemer")
