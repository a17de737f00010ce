"""The privacy officer's covenant editor: reading versions, and changes that always become a
new version (audited, never editing the old one) which the privacy gate then decides by."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select

from netwerk.auth import actor_for
from netwerk.db import db, utcnow
from netwerk.models import ROLES
from privacy.audit import blind
from privacy.demo_covenant import demo_covenant
from privacy.forms import CONSENT_STEP_LABELS, LEGAL_BASIS_LABELS
from privacy.models import CONSENT_STEPS, LEGAL_BASES, AuditEntry, CovenantParty, CovenantRule, CovenantVersion
from privacy.operations import create_covenant_version
from privacy.policy import decide
from tests.conftest import csrf_token
from tests.factories import SYSTEM, make_org, make_user
from tests.helpers import html, logged_in, path_of

OVERVIEW = "/privacy/convenant"


def today() -> date:
    return utcnow().date()  # the day the views and the gate call "today"


# --- helpers ----------------------------------------------------------------------------------

class _Forms(HTMLParser):
    """The fields of every form on a page, as a browser would submit them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[dict, dict]] = []
        self._fields: dict | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self._fields = {}
            self.forms.append((a, self._fields))
        elif self._fields is None:
            return
        elif tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            self._fields[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
            self._fields[self._select] = None
        elif tag == "option" and self._select and ("selected" in a or self._fields[self._select] is None):
            self._fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._fields = None
        elif tag == "select":
            self._select = None


def page_form(client, url: str) -> dict:
    """The fields of the page's POST form (not the logout form in the header)."""
    page = client.get(url)
    assert page.status_code == 200, html(page)
    parser = _Forms()
    parser.feed(html(page))
    forms = [fields for attrs, fields in parser.forms if attrs.get("method") == "post" and "action" not in attrs]
    assert len(forms) == 1, parser.forms
    return dict(forms[0])


def submit(client, url: str, remove: tuple[str, ...] = (), **changes: object):
    """Load ``url``, change some fields (keys may hold "|", so pass them as a dict), post it."""
    fields = page_form(client, url)
    fields.update(changes.pop("fields", {}))  # type: ignore[arg-type]
    fields.update(changes)
    for name in remove:
        fields.pop(name)
    return client.post(url, data=fields)


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def rules_of(covenant_id: int) -> set[tuple]:
    return {(r.purpose_code, r.category_code, r.receiver, r.allowed, r.legal_basis, r.consent_step, r.article)
            for r in db.session.scalars(select(CovenantRule).where(CovenantRule.covenant_id == covenant_id))}


def newest() -> CovenantVersion:
    db.session.expire_all()
    return db.session.scalars(select(CovenantVersion).order_by(CovenantVersion.id.desc())).first()


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def ask(user, category: str, purpose: str, on: date):
    decision = decide(actor_for(user, "deelnemer"), subjects=[blind("family", "f-1")], category=category,
                      purpose=purpose, on=on)
    db.session.commit()
    return decision


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture
def region(app):
    """The demo covenant (version 2026-1, in force since 30 days) for four partners."""
    orgs = {t: make_org(f"Partner {t}", org_type=t) for t in ("cjg", "politie", "ggz", "gemeente")}
    covenant = create_covenant_version(
        demo_covenant([(o.id, o.org_type) for o in orgs.values()], today() - timedelta(days=30)), SYSTEM)
    db.session.commit()
    return covenant, orgs


@pytest.fixture
def officer(app):
    user = make_user("privacy", totp=True, name="Petra Privacy")
    client = app.test_client()
    logged_in(client, user)
    return client, user


def rules_url(covenant: CovenantVersion, purpose: str = "signalering") -> str:
    return f"/privacy/convenant/{covenant.id}/nieuwe-versie/regels/{purpose}"


def parties_url(covenant: CovenantVersion) -> str:
    return f"/privacy/convenant/{covenant.id}/nieuwe-versie/partijen"


def general_url(covenant: CovenantVersion) -> str:
    return f"/privacy/convenant/{covenant.id}/nieuwe-versie"


# --- reading --------------------------------------------------------------------------------------

def test_officer_sees_the_version_in_force(region, officer):
    _, orgs = region
    client, _ = officer
    page = html(client.get(OVERVIEW))
    assert "Convenant Zorg en Veiligheid Hollands Midden (demo) — versie 2026-1" in page
    assert "van kracht" in page and "elke beslissing" in page
    assert 'aria-current="page">Convenant</a>' in page  # the menu item
    for org in orgs.values():
        assert org.name in page
    assert "Bijzonder persoonsgegeven (AVG art. 9)" in page and "Strafrechtelijk gegeven (AVG art. 10)" in page
    # one purpose's matrix at a time, the first by default
    assert "Regels voor het doel Signalering en vroegtijdige afstemming" in page
    assert "Regels voor het doel Procesregie" not in page
    assert "Wettelijke taak" in page and "art. 4" in page
    assert "<caption>Versies van het convenant, nieuwste eerst</caption>" in page
    procesregie = html(client.get(OVERVIEW + "?doel=procesregie"))
    assert "Regels voor het doel Procesregie en 1gezin1plan" in procesregie
    assert "Gezamenlijk gesprek en informanten" in procesregie and "Toestemming" in procesregie
    assert client.get(OVERVIEW + "?doel=onbekend").status_code == 404


def test_labels_cover_every_legal_basis_and_consent_step():
    assert set(LEGAL_BASIS_LABELS) == set(LEGAL_BASES)
    assert set(CONSENT_STEP_LABELS) == set(CONSENT_STEPS)


def test_an_older_version_can_be_viewed(region, officer):
    covenant, _ = region
    client, _ = officer
    response = submit(client, general_url(covenant), title="Convenant, tweede versie")
    assert response.status_code == 302
    new = newest()
    assert path_of(response) == f"/privacy/convenant/{new.id}"
    assert "Versie 2026-2 is vastgesteld" in html(client.get(path_of(response)))
    current = html(client.get(OVERVIEW))
    assert "Convenant, tweede versie — versie 2026-2" in current
    old = html(client.get(f"/privacy/convenant/{covenant.id}"))
    assert "versie 2026-1" in old and "niet de versie die nu van kracht is" in old
    assert client.get("/privacy/convenant/999999").status_code == 404


def test_without_any_covenant_the_page_says_so(app, officer):
    client, _ = officer
    page = client.get(OVERVIEW)
    assert page.status_code == 200 and "Er is geen convenant van kracht" in html(page)


# --- changing rules ---------------------------------------------------------------------------------

def test_changing_one_rule_makes_a_new_version_and_leaves_the_old_one_alone(region, officer):
    covenant, _ = region
    client, user = officer
    before = rules_of(covenant.id)
    form = page_form(client, rules_url(covenant))
    assert form["version"] == "2026-2" and form["valid_from"] == today().isoformat()
    assert form["type:politie|veiligheid|toegestaan"] == "ja"
    assert form["type:politie|veiligheid|grondslag"] == "wettelijke_taak"
    assert form["type:politie|zorgen|toegestaan"] == "nee"
    response = submit(client, rules_url(covenant), fields={"type:politie|veiligheid|toegestaan": "nee"})
    assert response.status_code == 302, html(response)
    new = newest()
    assert new.version == "2026-2" and new.created_by_user_id == user.id
    assert rules_of(covenant.id) == before  # the old version is untouched
    after = rules_of(new.id)
    assert len(after) == len(before)
    assert before - after == {("signalering", "veiligheid", "type:politie", True, "wettelijke_taak", None, "art. 8")}
    assert after - before == {("signalering", "veiligheid", "type:politie", False, None, None, "art. 8")}
    entry = audit("covenant.version_created")[-1]
    assert (entry.actor_user_id, entry.actor_role, entry.covenant_version, entry.object_id) == (
        user.id, "privacy", "2026-2", str(new.id))
    assert (entry.meta["based_on"], entry.meta["change"]) == (covenant.version, "rules:signalering")


def test_decisions_use_the_new_version_from_its_first_day(region, officer):
    covenant, orgs = region
    client, _ = officer
    agent = make_user("deelnemer", org=orgs["politie"])
    start = today() + timedelta(days=5)
    response = submit(client, rules_url(covenant), valid_from=start.isoformat(),
                      fields={"type:politie|veiligheid|toegestaan": "nee"})
    assert response.status_code == 302, html(response)
    before = ask(agent, "veiligheid", "signalering", start - timedelta(days=1))
    assert (before.allowed, before.covenant_version) == (True, "2026-1")
    after = ask(agent, "veiligheid", "signalering", start)
    assert (after.allowed, after.reason, after.covenant_version) == (False, "covenant_forbids", "2026-2")
    entries = audit("content.read")
    assert [(e.outcome, e.covenant_version) for e in entries] == [("allowed", "2026-1"), ("denied", "2026-2")]
    assert entries[0].covenant_article == "art. 8" and entries[0].legal_basis == "wettelijke_taak"
    # until then the overview still shows 2026-1 in force, and 2026-2 as planned
    page = html(client.get(OVERVIEW))
    assert "— versie 2026-1" in page and "2026-2" in page


def test_allowing_a_rule_with_basis_step_and_article(region, officer):
    covenant, orgs = region
    client, _ = officer
    agent = make_user("deelnemer", org=orgs["politie"])
    response = submit(client, rules_url(covenant), fields={
        "type:politie|zorgen|toegestaan": "ja", "type:politie|zorgen|grondslag": "gerechtvaardigd_belang",
        "type:politie|zorgen|artikel": "art. 6 lid 5"})
    assert response.status_code == 302, html(response)
    decision = ask(agent, "zorgen", "signalering", today())
    assert (decision.allowed, decision.covenant_version, decision.article, decision.legal_basis) == (
        True, "2026-2", "art. 6 lid 5", "gerechtvaardigd_belang")
    assert len(rules_of(newest().id)) == len(rules_of(covenant.id)) + 1


def test_a_rule_for_one_organisation_overrides_its_type(region, officer):
    covenant, orgs = region
    client, _ = officer
    second_cjg = make_org("Tweede CJG", org_type="cjg")
    spec_url = parties_url(covenant)
    assert submit(client, spec_url, joining=str(second_cjg.id)).status_code == 302
    joined = newest()
    own = f"org:{orgs['cjg'].id}"
    url = rules_url(joined) + f"?ontvanger={orgs['cjg'].id}"
    form = page_form(client, url)
    assert form[f"{own}|betrokkenheid|toegestaan"] == "type"  # no rule of its own yet
    response = submit(client, url, fields={f"{own}|betrokkenheid|toegestaan": "nee",
                                           f"{own}|betrokkenheid|artikel": "art. 11"})
    assert response.status_code == 302, html(response)
    first, second = make_user("deelnemer", org=orgs["cjg"]), make_user("deelnemer", org=second_cjg)
    assert ask(first, "betrokkenheid", "signalering", today()).reason == "covenant_forbids"
    assert ask(second, "betrokkenheid", "signalering", today()).allowed
    # the own row now shows up by itself, and "Volgt type" removes the rule again
    latest = newest()
    assert f"{own}|betrokkenheid|toegestaan" in page_form(client, rules_url(latest))
    response = submit(client, rules_url(latest), fields={f"{own}|betrokkenheid|toegestaan": "type"})
    assert response.status_code == 302, html(response)
    assert rules_of(newest().id) == rules_of(joined.id)
    assert ask(first, "betrokkenheid", "signalering", today()).allowed


def test_a_row_for_an_organisation_that_is_no_party_is_not_found(region, officer):
    covenant, _ = region
    client, _ = officer
    outsider = make_org("Buitenstaander")
    assert client.get(rules_url(covenant) + f"?ontvanger={outsider.id}").status_code == 404
    assert client.get(rules_url(covenant, "onbekend")).status_code == 404


# --- parties ------------------------------------------------------------------------------------------

def test_a_party_leaves(region, officer):
    covenant, orgs = region
    client, _ = officer
    agent = make_user("deelnemer", org=orgs["ggz"])
    leaves = today() + timedelta(days=10)
    response = submit(client, parties_url(covenant), fields={f"vertrek|{orgs['ggz'].id}": leaves.isoformat()})
    assert response.status_code == 302, html(response)
    new = newest()
    party = db.session.scalar(select(CovenantParty).where(CovenantParty.covenant_id == new.id,
                                                          CovenantParty.organisation_id == orgs["ggz"].id))
    assert party.left_on == leaves
    old = db.session.scalar(select(CovenantParty).where(CovenantParty.covenant_id == covenant.id,
                                                        CovenantParty.organisation_id == orgs["ggz"].id))
    assert old.left_on is None
    assert rules_of(new.id) == rules_of(covenant.id)
    assert ask(agent, "betrokkenheid", "signalering", leaves - timedelta(days=1)).allowed
    gone = ask(agent, "betrokkenheid", "signalering", leaves)
    assert (gone.reason, gone.covenant_version) == ("not_a_party", "2026-2")
    assert "Partner ggz" in html(client.get(OVERVIEW))


def test_an_organisation_joins_with_its_type(region, officer):
    covenant, _ = region
    client, _ = officer
    newcomer = make_org("Politie Zuid", org_type="politie")
    agent = make_user("deelnemer", org=newcomer)
    assert not ask(agent, "veiligheid", "signalering", today()).allowed
    response = submit(client, parties_url(covenant), joining=str(newcomer.id))
    assert response.status_code == 302, html(response)
    party = db.session.scalar(select(CovenantParty).where(CovenantParty.covenant_id == newest().id,
                                                          CovenantParty.organisation_id == newcomer.id))
    assert (party.party_type, party.joined_on, party.left_on) == ("politie", today(), None)
    decision = ask(agent, "veiligheid", "signalering", today())
    assert decision.allowed and decision.covenant_version == "2026-2"


def test_a_party_cannot_leave_before_it_joined(region, officer):
    covenant, orgs = region
    client, _ = officer
    before = (count(CovenantVersion), count(AuditEntry))
    response = submit(client, parties_url(covenant), fields={
        f"vertrek|{orgs['ggz'].id}": (today() - timedelta(days=31)).isoformat()})
    assert response.status_code == 422
    assert "kan niet vertrekken vóór de dag waarop zij toetrad" in html(response)
    assert (count(CovenantVersion), count(AuditEntry)) == before


# --- refused input --------------------------------------------------------------------------------------

def _general_cases() -> list:
    return [
        pytest.param({"version": "2026-1"}, "Versie 2026-1 bestaat al", id="duplicate-version"),
        pytest.param({"valid_until": "past"}, "De einddatum ligt vóór de begindatum", id="until-before-from"),
        pytest.param({"valid_from": "past"}, "kan niet in het verleden ingaan", id="from-in-the-past"),
        pytest.param({"valid_from": "31-02-2026"}, "Ongeldige datum", id="bad-date"),
        pytest.param({"involvement_max_years": "twee"}, "Ongeldig getal", id="years-not-a-number"),
        pytest.param({"involvement_max_years": "11"}, "Kies 1 tot en met 10 jaar", id="years-too-many"),
        pytest.param({"involvement_max_years": "0"}, "Kies 1 tot en met 10 jaar", id="years-zero"),
        pytest.param({"involvement_age_limit": "31"}, "leeftijd van 12 tot en met 30", id="age-too-high"),
        pytest.param({"involvement_age_limit": "2.5"}, "Ongeldig getal", id="age-not-an-integer"),
        pytest.param({"version": "2026 2"}, "geen spaties", id="version-with-space"),
        pytest.param({"title": ""}, "Dit veld is verplicht", id="no-title"),
    ]


@pytest.mark.parametrize(("change", "message"), _general_cases())
def test_refused_general_data_writes_nothing(region, officer, change, message):
    covenant, _ = region
    client, _ = officer
    past = (today() - timedelta(days=1)).isoformat()
    change = {k: past if v == "past" else v for k, v in change.items()}
    before = (count(CovenantVersion), count(AuditEntry))
    response = submit(client, general_url(covenant), fields={"title": "Gewijzigde titel", **change})
    assert response.status_code == 422
    assert message in html(response)
    assert (count(CovenantVersion), count(AuditEntry)) == before


@pytest.mark.parametrize(("fields", "remove", "message"), [
    pytest.param({"type:politie|zorgen|toegestaan": "ja", "type:politie|zorgen|artikel": "art. 6"}, (),
                 "Kies een grondslag: delen is hier toegestaan.", id="allowed-without-basis"),
    pytest.param({"type:politie|zorgen|toegestaan": "ja", "type:politie|zorgen|grondslag": "toestemming"}, (),
                 "Noem het artikel.", id="allowed-without-article"),
    pytest.param({"type:onbekend|zorgen|toegestaan": "ja"}, (), "onbekende velden: type:onbekend|zorgen|toegestaan",
                 id="unknown-receiver"),
    pytest.param({"type:politie|onbekend|toegestaan": "ja"}, (), "onbekende velden", id="unknown-category"),
    pytest.param({"type:politie|zorgen|later": "contact"}, (), "onbekende velden", id="unknown-field-part"),
    pytest.param({"type:politie|veiligheid|stap": "later"}, (), "Ongeldige keuze", id="unknown-consent-step"),
    pytest.param({"type:politie|veiligheid|grondslag": "omdat_het_kan"}, (), "Ongeldige keuze",
                 id="unknown-legal-basis"),
    pytest.param({"type:politie|veiligheid|toegestaan": "type"}, (), "Ongeldige keuze", id="follow-type-for-a-type"),
    pytest.param({"type:politie|veiligheid|toegestaan": "nee"}, ("type:politie|zorgen|toegestaan",),
                 "onvolledig", id="partial-post"),
    pytest.param({}, (), "Er is niets gewijzigd ten opzichte van versie 2026-1", id="no-change"),
])
def test_refused_rule_changes_write_nothing(region, officer, fields, remove, message):
    covenant, _ = region
    client, _ = officer
    before = (count(CovenantVersion), count(CovenantRule), count(AuditEntry))
    response = submit(client, rules_url(covenant), remove=remove, fields=fields)
    assert response.status_code == 422
    assert message in html(response)
    assert (count(CovenantVersion), count(CovenantRule), count(AuditEntry)) == before


def test_missing_csrf_token_is_refused(region, officer):
    covenant, _ = region
    client, _ = officer
    response = submit(client, general_url(covenant), remove=("csrf_token",), title="Zonder token")
    assert response.status_code == 400
    assert "Het formulier is verlopen of ongeldig" in html(response)
    assert count(CovenantVersion) == 1


def test_a_change_made_meanwhile_is_not_overwritten(region, officer):
    covenant, _ = region
    client, _ = officer
    stale = page_form(client, rules_url(covenant))
    assert submit(client, general_url(covenant), title="Eerst deze wijziging").status_code == 302
    stale.update({"version": "2026-9", "type:politie|veiligheid|toegestaan": "nee"})
    response = client.post(rules_url(covenant), data=stale)
    assert response.status_code == 422
    assert "Intussen is er een andere nieuwe versie vastgesteld" in html(response)
    assert count(CovenantVersion) == 2


def test_a_planned_version_is_pointed_out(region, officer):
    covenant, _ = region
    client, _ = officer
    later = (today() + timedelta(days=20)).isoformat()
    assert submit(client, general_url(covenant), title="Gepland", valid_from=later).status_code == 302
    page = html(client.get(general_url(covenant)))
    assert "Let op: versie 2026-2 gaat in op" in page
    assert page_form(client, general_url(covenant))["version"] == "2026-3"


# --- who may, and escaping ---------------------------------------------------------------------------------

def privacy_urls(app, covenant: CovenantVersion) -> list[tuple[str, str]]:
    adapter = app.url_map.bind("localhost")
    # Ids of records that need not exist: the permission check comes before any lookup.
    missing = str(uuid.uuid4())
    values = {"covenant_id": covenant.id, "purpose": "signalering", "run_id": 1, "flag_id": 1,
              "request_id": missing, "person_id": missing, "family_id": missing}
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/privacy"):
            url = adapter.build(rule.endpoint, {k: values[k] for k in rule.arguments})
            found += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_privacy_url_list_is_complete(region, app):
    urls = privacy_urls(app, region[0])
    # covenant editor 8, dashboard and register 4, audit explorer 4, retention 5, requests
    # 6, review queue 3, subject access report 6: a new privacy page must be counted here on
    # purpose, so the 403 test below is known to reach it.
    assert len(urls) == 36 and {m for m, _ in urls} == {"GET", "POST"}


@pytest.mark.parametrize("role", [r for r in ROLES if r != "privacy"])
def test_other_roles_get_403_on_every_privacy_url(region, app, role):
    covenant, _ = region
    user = make_user(role, totp=role in app.config["TWO_FACTOR_ROLES"])
    client = app.test_client()
    logged_in(client, user)
    assert "Convenant</a>" not in html(client.get("/"))
    token = csrf_token(client, "/account/")
    before = (count(CovenantVersion), count(AuditEntry))
    for method, url in privacy_urls(app, covenant):
        data = {"csrf_token": token, "version": "overgenomen", "title": "Overgenomen"}
        response = client.open(url, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (method, url)
        assert "Geen toegang" in html(response), (method, url)
    assert (count(CovenantVersion), count(AuditEntry)) == before


def test_anonymous_visitors_are_sent_to_the_login(region, client):
    response = client.get(OVERVIEW)
    assert response.status_code == 302 and path_of(response) == "/inloggen"


def test_a_title_is_escaped(region, officer):
    covenant, _ = region
    client, _ = officer
    response = submit(client, general_url(covenant), title="<script>alert(1)</script> Convenant")
    assert response.status_code == 302, html(response)
    for url in (OVERVIEW, path_of(response), general_url(newest())):
        page = html(client.get(url))
        assert "&lt;script&gt;alert(1)&lt;/script&gt; Convenant" in page
        assert "<script>alert" not in page
