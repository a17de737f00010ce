"""The plan on paper (issue 4, item 6): the professionals' print version and the family
version in plain Dutch. Both show only what the viewer may see (through the same gate,
which audits the reading), both answer like the plan page for outsiders, and the family
version carries no internal codes and only short sentences of its own."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from netwerk import operations as ops
from netwerk.db import db
from netwerk.models.plans import ACTION_STATES, PLAN_STATES, Plan, PlanAction, PlanGoal
from netwerk.views.plan_print import FAMILY_ACTION_STATES, dutch_date
from privacy.models import AuditEntry
from tests.factories import CATEGORIES, PURPOSES, make_user
from tests.helpers import html
from tests.netwerk import test_plan_views
from tests.netwerk.test_person_views import client_for, same_page
from tests.netwerk.test_plan_views import DONE_WHEN, NOBODY, TODAY, WHAT, World, actor, started

# The plan pages' world (a CJG, the police, an outsider, a household) is this module's
# fixture too; bound by assignment so pytest registers it here without a shadowed import.
world = test_plan_views.world

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
PAGES = ("afdrukken", "gezinsversie")
# Category keys that are also ordinary Dutch words the family text may use in a sentence
# ("het plan", "zorgen maken"); they must still never stand alone as a label.
ORDINARY_WORDS = {"plan", "zorgen"}
MAX_WORDS = 15


def url(w: World, page: str, query: str = "") -> str:
    return f"{w.url}/{page}{query}"


def plan_reads() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "content.read", AuditEntry.object_type == "plan"))


def with_content(w: World) -> Plan:
    """A plan with content of two categories: "plan" (the police may read it for
    procesregie) and "gezondheid" (only the CJG that wrote it)."""
    plan = started(w)
    goal = ops.add_goal(plan, "veiligheid", "MARKER-GOAL", w.coordinator, actor(w.coordinator))
    ops.add_concern(plan, "gezondheid", "gezondheid", "MARKER-HEALTH", w.coordinator, actor(w.coordinator), TODAY)
    ops.add_concern(plan, "school", "plan", "MARKER-PLAN-CONCERN", w.coordinator, actor(w.coordinator), TODAY)
    ops.add_network_member(plan, "informeel", "MARKER-OMA", "Haalt Noor op", None, None, actor(w.coordinator))
    ops.add_action(plan, goal_id=goal.id, what=WHAT, done_when=DONE_WHEN, owner_user=w.agent, owner_member=None,
                   due=TODAY + timedelta(days=14), due_text=None, agreed_by="ouder", agreed_on=TODAY,
                   actor=actor(w.coordinator), today=TODAY)
    db.session.commit()
    return plan


def short_content(w: World) -> Plan:
    """Every field filled with one word, and actions in every state: what remains of the
    family version is its own fixed text. Built directly: one-word actions are not SMART."""
    plan = ops.start_plan(w.family, w.coordinator, actor(w.coordinator), TODAY)
    plan.family_view, plan.strengths, plan.next_evaluation = "Rust", "Koken", TODAY + timedelta(days=30)
    plan.status, plan.adopted_on = "vastgesteld", TODAY
    goal = PlanGoal(plan_id=plan.id, domain="school", organisation_id=w.cjg.id, author_user_id=w.coordinator.id,
                    achieved_on=TODAY)
    goal.text = "Slapen"
    dropped = PlanGoal(plan_id=plan.id, domain="wonen", organisation_id=w.cjg.id, author_user_id=w.coordinator.id,
                       dropped_on=TODAY)
    dropped.text = "Verhuizen"
    db.session.add_all([goal, dropped])
    db.session.flush()
    for status in ACTION_STATES:
        action = PlanAction(plan_id=plan.id, goal_id=goal.id, owner_user_id=w.coordinator.id,
                            owner_org_id=w.cjg.id, due=TODAY, organisation_id=w.cjg.id, status=status,
                            failure_reason="niet_ondernomen" if status == "niet_gelukt" else None,
                            created_by_user_id=w.coordinator.id)
        action.what, action.done_when = "Bellen", "Gebeld"
        db.session.add(action)
    ops.add_network_member(plan, "informeel", "Oma", "Oppas", None, None, actor(w.coordinator))
    db.session.commit()
    return plan


class _Text(HTMLParser):
    """The visible text of a page, one line per block, so a heading or a list item never
    runs into the next sentence (and inline tags never cut a sentence in two)."""

    BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "dt", "dd", "div", "section", "footer", "main", "ul", "br",
              "title", "article", "dl", "header"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.skip += tag in ("script", "style")
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.skip -= tag in ("script", "style")
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return "".join(parser.parts)


def sentences(page: str) -> list[str]:
    text = visible_text(page)
    pieces = re.split(r"(?<=[.!?])\s+|\n", text)
    return [" ".join(p.split()) for p in pieces if p.strip()]


def long_sentences(page: str, limit: int = MAX_WORDS) -> list[str]:
    return [s for s in sentences(page) if len(re.findall(r"\w+", s)) > limit]


def words(page: str) -> set[str]:
    return set(re.findall(r"\w+", visible_text(page).lower()))


# --- what the viewer may see ---------------------------------------------------------------

def test_the_print_version_shows_what_the_viewer_may_see_and_the_rest_only_as_that(app, world):
    with_content(world)
    police = client_for(app, world.agent)
    page = html(police.get(url(world, "afdrukken", "?doel=procesregie")))
    assert "Plan van " + world.family.pseudonym in page and "Concept" in page
    assert "Sanne de Vries, CJG Plan, 071 555 1234" in page and "Doel: <strong>procesregie</strong>" in page
    assert "MARKER-GOAL" in page and "Veiligheid" in page and WHAT in page and DONE_WHEN in page
    assert "MARKER-PLAN-CONCERN" in page and "Plan en acties" in page and "School en werk" in page
    assert "MARKER-OMA" in page and "We willen rust in huis" in page and "Oma helpt veel" in page
    assert "Ouder(s)" in page and "Wout Agent (Politie Plan)" in page and "Open" in page
    assert "MARKER-HEALTH" not in page
    assert "Er is informatie bij CJG Plan — neem contact op" in page
    assert f"Afgedrukt op {dutch_date(TODAY)} door Wout Agent, Politie Plan." in page and "Vertrouwelijk" in page
    own = html(client_for(app, world.coordinator).get(url(world, "afdrukken")))
    assert "MARKER-HEALTH" in own and "Gezondheid" in own and "MARKER-GOAL" in own
    assert WHAT not in own and "Er is informatie bij Politie Plan" in own  # the police's action, without a purpose


def test_the_print_version_honours_the_asked_purpose_like_the_plan_page(app, world):
    with_content(world)
    police = client_for(app, world.agent)
    page = html(police.get(url(world, "afdrukken", "?doel=nazorg")))  # not a purpose the context gives
    assert "Er is geen doel uit de context voor “nazorg”" in page
    assert "MARKER-GOAL" not in page and WHAT in page  # the police's own action only
    assert f'href="/gezinnen/{world.family.id}/plan?doel=nazorg"' in page


def test_the_family_version_shows_what_the_viewer_may_see_without_the_concerns(app, world):
    with_content(world)
    page = html(client_for(app, world.agent).get(url(world, "gezinsversie", "?doel=procesregie")))
    assert "MARKER-GOAL" in page and WHAT in page and DONE_WHEN in page and "MARKER-OMA" in page
    assert "We willen rust in huis" in page and "Oma helpt veel" in page
    assert "Uw vaste contactpersoon (zorgcoördinator)" in page and "Sanne de Vries" in page
    assert "Telefoon: 071 555 1234" in page
    action = db.session.scalar(select(PlanAction))
    assert f"Uiterlijk op: {dutch_date(action.due)}" in page
    assert "Er is informatie bij CJG Plan — neem contact op" in page
    assert "MARKER-HEALTH" not in page and "MARKER-PLAN-CONCERN" not in page  # concerns: one sentence instead
    assert "Uw contactpersoon bespreekt deze zorgen met u" in page
    own = html(client_for(app, world.coordinator).get(url(world, "gezinsversie")))
    assert "MARKER-HEALTH" not in own and "MARKER-PLAN-CONCERN" not in own and "MARKER-GOAL" in own


def test_an_action_whose_goal_the_viewer_does_not_see_is_listed_apart(app, world):
    with_content(world)
    # a purpose the context does not give: the police see only their own action, not its goal
    page = html(client_for(app, world.agent).get(url(world, "gezinsversie", "?doel=nazorg")))
    assert "MARKER-GOAL" not in page and "Andere afspraken" in page and WHAT in page


# --- who may open the pages ----------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_outsiders_unknown_and_malformed_ids_get_the_same_404(app, world, page):
    with_content(world)
    outsider = client_for(app, world.outsider)
    hidden = outsider.get(url(world, page))
    missing = outsider.get(f"/gezinnen/{NOBODY}/plan/{page}")
    malformed = outsider.get(f"/gezinnen/x/plan/{page}")
    assert hidden.status_code == 404 and same_page(hidden, missing) and same_page(hidden, malformed)
    assert "MARKER" not in html(hidden)


@pytest.mark.parametrize("page", PAGES)
def test_a_family_without_an_open_plan_is_404(app, world, page):
    assert client_for(app, world.colleague).get(url(world, page)).status_code == 404


@pytest.mark.parametrize("page", PAGES)
def test_a_role_without_person_work_is_refused(app, world, page):
    with_content(world)
    manager = make_user("beheerder", org=world.cjg, totp=True)  # the CJG is involved with Noor
    assert client_for(app, manager).get(url(world, page)).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_each_page_reads_through_the_gate_and_is_audited(app, world, page):
    with_content(world)
    police = client_for(app, world.agent)
    before = plan_reads()
    assert police.get(url(world, page, "?doel=procesregie")).status_code == 200
    db.session.expire_all()
    entries = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "content.read", AuditEntry.object_type == "plan").order_by(AuditEntry.seq)).all()
    new = entries[before:]
    assert new and plan_reads() > before
    assert all(e.actor_user_id == world.agent.id and e.purpose == "procesregie" for e in new)
    assert {e.outcome for e in new} == {"allowed", "denied"}  # the health concern was refused, and logged
    assert all("MARKER" not in str(e.meta) for e in new)


def gate_entries(client, path: str) -> list[tuple]:
    """The content.read entries one request writes, without their order or sequence."""
    db.session.expire_all()
    before = db.session.scalar(select(func.max(AuditEntry.seq))) or 0
    assert client.get(path).status_code == 200
    db.session.expire_all()
    rows = db.session.scalars(select(AuditEntry).where(AuditEntry.seq > before, AuditEntry.action == "content.read"))
    return sorted((e.outcome, e.data_categories, sorted(e.subject_ids), e.purpose, e.object_id, str(e.meta))
                  for e in rows)


PLANTED = ("MARKER-GOAL", "MARKER-HEALTH", "MARKER-PLAN-CONCERN", "MARKER-OMA", WHAT, "We willen rust in huis")


@pytest.mark.parametrize(("query", "allowed"), [
    ("?doel=procesregie", set(PLANTED) - {"MARKER-HEALTH"}),
    ("?doel=nazorg", {WHAT}),  # no context gives it: the police's own action only
])
def test_both_pages_read_through_the_gate_exactly_as_the_plan_page_does(app, world, query, allowed):
    with_content(world)
    police = client_for(app, world.agent)
    shown = {page: {m for m in PLANTED if m in html(police.get(url(world, page, query)))} for page in PAGES}
    assert shown == {"afdrukken": allowed, "gezinsversie": allowed - {"MARKER-PLAN-CONCERN"}}
    # The same decisions, in the same audit entries, as the plan page for the same purpose.
    plan_entries = gate_entries(police, world.url + query)
    assert plan_entries and all(gate_entries(police, url(world, page, query)) == plan_entries for page in PAGES)


# --- the family version: plain Dutch, no internal codes -----------------------------------

def test_the_family_version_carries_no_internal_codes(app, world):
    plan = with_content(world)
    goal = db.session.scalar(select(PlanGoal))
    failed = PlanAction(plan_id=plan.id, goal_id=goal.id, owner_user_id=world.coordinator.id,
                        owner_org_id=world.cjg.id, due=TODAY, organisation_id=world.cjg.id, status="niet_gelukt",
                        failure_reason="niet_ondernomen", created_by_user_id=world.coordinator.id)
    failed.what, failed.done_when = "Bellen", "Gebeld"
    db.session.add(failed)
    db.session.commit()
    for viewer, query in ((world.coordinator, ""), (world.agent, "?doel=procesregie")):
        page = html(client_for(app, viewer).get(url(world, "gezinsversie", query)))
        assert "Dit is niet gelukt." in page  # the failed action is there, in words
        assert not UUID.search(page), UUID.search(page)
        assert world.family.pseudonym not in page and "(20" not in visible_text(page)
        codes = {*PLAN_STATES, *ACTION_STATES, *PURPOSES, *(CATEGORIES.keys() - ORDINARY_WORDS)}
        assert not codes & words(page), codes & words(page)
        assert not [c for c in codes if "_" in c and c in page]  # snake_case keys not even in the markup
        text = visible_text(page).lower()
        for label in (*PURPOSES.values(), *(label for label, _, _ in CATEGORIES.values())):
            assert not re.search(rf"\b{re.escape(label.lower())}\b", text), label
        lines = {line.strip().lower() for line in visible_text(page).splitlines()}
        assert not lines & ORDINARY_WORDS  # "plan" or "zorgen" never as a bare label
        assert 'class="tag"' not in page and "zorgcoördinator" not in text.replace("(zorgcoördinator)", "")


def test_the_family_versions_own_text_is_short_sentences(app, world):
    ops.start_plan(world.family, world.coordinator, actor(world.coordinator), TODAY)  # no content at all
    db.session.commit()
    client = client_for(app, world.coordinator)
    empty = html(client.get(url(world, "gezinsversie")))
    assert "Dit plan is nog niet af." in empty and "Telefoon: 071 555 1234" in empty
    assert len(sentences(empty)) > 10 and long_sentences(empty) == []
    world.coordinator.phone = world.cjg.phone = world.cjg.email = None  # no way to reach them on file
    db.session.commit()
    unreachable = html(client.get(url(world, "gezinsversie")))
    assert "Vraag in het gesprek hoe u deze persoon kunt bereiken." in unreachable
    assert long_sentences(unreachable) == []


def test_the_family_versions_text_around_content_is_short_sentences_too(app, world):
    short_content(world)
    page = html(client_for(app, world.coordinator).get(url(world, "gezinsversie")))
    for phrase in (f"We hebben dit plan afgesproken op {dutch_date(TODAY)}.", "Dit is gedaan.",
                   "Hier wordt aan gewerkt.", "Dit is niet meer nodig.", "Slapen", "Oma: Oppas",
                   f"Dit is gelukt op {dutch_date(TODAY)}.", f"Dit is niet meer nodig sinds {dutch_date(TODAY)}."):
        assert phrase in page
    assert long_sentences(page) == []
    assert all(len(s.split()) <= MAX_WORDS for s in FAMILY_ACTION_STATES.values())


def test_the_sentence_check_catches_a_long_sentence():
    long = "<p>" + " ".join(["woord"] * (MAX_WORDS + 1)) + ".</p><h2>Kort</h2>"
    assert long_sentences(long) == [" ".join(["woord"] * (MAX_WORDS + 1)) + "."]
    split = "<p>Een <strong>zin</strong> met " + " ".join(["woord"] * MAX_WORDS) + ".</p>"
    assert len(long_sentences(split)) == 1  # inline markup does not hide a long sentence


def test_dates_are_written_out_in_dutch_without_the_locale():
    assert dutch_date(date(2026, 12, 15)) == "15 december 2026"
    assert dutch_date(date(2027, 3, 1)) == "1 maart 2027"
    assert dutch_date(None) == ""


# --- escaping --------------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
def test_what_people_wrote_is_escaped(app, world, page):
    plan = started(world)
    ops.add_goal(plan, "school", "<script>alert(1)</script>", world.coordinator, actor(world.coordinator))
    ops.add_network_member(plan, "informeel", "<b>Oma</b>", "<img src=x>", None, None, actor(world.coordinator))
    db.session.commit()
    body = html(client_for(app, world.coordinator).get(url(world, page)))
    assert "<script" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>Oma</b>" not in body and "<img src=x>" not in body and "&lt;b&gt;Oma&lt;/b&gt;" in body
