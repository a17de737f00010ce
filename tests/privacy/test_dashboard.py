"""The register of processing (AVG art. 30, issue 7 item 6): generated from the covenant in force,
listing every purpose and category and exactly the recipients its rules allow; its CSV download
is safe in a spreadsheet; without a covenant it says so in Dutch; only privacy officers see it."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from netwerk.db import db, utcnow
from netwerk.models import ROLES
from privacy.csvsafe import BOM, safe_cell, to_csv
from privacy.demo_covenant import demo_covenant
from privacy.operations import RuleSpec, create_covenant_version, spec_from_version
from privacy.register import CSV_HEADER, build_register
from tests.conftest import csrf_token
from tests.factories import CATEGORIES, PURPOSES, SYSTEM, allow, make_covenant, make_org, make_user
from tests.helpers import html, logged_in, path_of

REGISTER = "/privacy/register"
CSV_URL = "/privacy/register.csv"


def today() -> date:
    return utcnow().date()  # the day the views call "today"


@pytest.fixture
def officer(app):
    user = make_user("privacy", totp=True)
    client = app.test_client()
    logged_in(client, user)
    return client


@pytest.fixture
def region(app):
    """Two CJGs, a police force and a GGZ; rules by type, by organisation, and a refusal."""
    cjg1, cjg2 = make_org("CJG Noord", "cjg"), make_org("=CJG Zuid", "cjg")  # a name that looks like a formula
    politie, ggz = make_org("Politie Midden", "politie", "veiligheid"), make_org("GGZ Rijnland", "ggz")
    rules = [
        RuleSpec("signalering", "zorgen", "type:cjg", True, "art. 5.1", "toestemming", "delen_met_organisatie"),
        RuleSpec("signalering", "zorgen", f"org:{cjg2.id}", False, "art. 5.2"),  # refuses its type's rule
        RuleSpec("signalering", "betrokkenheid", "type:politie", True, "art. 4", "wettelijke_taak"),
        RuleSpec("signalering", "betrokkenheid", "type:cjg", True, "art. 4", "wettelijke_taak"),
        RuleSpec("strafrechtelijke_aanpak", "strafrechtelijk", f"org:{politie.id}", True, "art. 9",
                 "wettelijke_taak"),
        RuleSpec("strafrechtelijke_aanpak", "strafrechtelijk", "type:ggz", False, "art. 9.2"),
        RuleSpec("procesregie", "gezondheid", f"org:{ggz.id}", True, "art. 7", "toestemming", "plan_bespreken"),
        RuleSpec("procesregie", "plan", "type:ggz", True, "art. 6", "gerechtvaardigd_belang"),
    ]
    covenant = make_covenant(cjg1, cjg2, politie, ggz, rules=rules, version="2026-7",
                             valid_until=today() + timedelta(days=365))
    return covenant, {"cjg1": cjg1, "cjg2": cjg2, "politie": politie, "ggz": ggz}


def allowed_by_rules(covenant) -> set[tuple[str, str, str]]:
    """The reference: (purpose, category, receiver) of every rule that allows."""
    return {(r.purpose, r.category, r.receiver) for r in spec_from_version(covenant).rules if r.allowed}


# --- what the register says -------------------------------------------------------------------

def test_the_register_lists_every_purpose_category_and_exactly_the_allowed_recipients(region):
    covenant, _ = region
    register = build_register(today())
    assert register is not None and register.covenant.id == covenant.id
    assert [p.code for p in register.purposes] == list(PURPOSES)
    assert [p.label for p in register.purposes] == list(PURPOSES.values())
    assert [c[0] for c in register.categories] == list(CATEGORIES)
    listed = {(p.code, line.code, r.receiver) for p in register.purposes for line in p.categories
              for r in line.recipients}
    assert listed == allowed_by_rules(covenant)
    nazorg = next(p for p in register.purposes if p.code == "nazorg")
    assert nazorg.categories == () and nazorg.legal_bases == ()


def test_a_types_permission_names_its_parties_and_the_ones_refusing_on_their_own(region):
    register = build_register(today())
    signalering = next(p for p in register.purposes if p.code == "signalering")
    zorgen = next(line for line in signalering.categories if line.code == "zorgen")
    [cjgs] = zorgen.recipients
    assert cjgs.label == "Alle partijen van het type CJG"
    assert cjgs.members == ("CJG Noord",) and cjgs.excluded == ("=CJG Zuid",)
    assert (cjgs.legal_basis, cjgs.consent_step, cjgs.article) == ("Toestemming", "Delen met organisatie", "art. 5.1")
    assert signalering.legal_bases == ("Toestemming", "Wettelijke taak")
    straf = next(p for p in register.purposes if p.code == "strafrechtelijke_aanpak")
    [line] = straf.categories
    assert [r.label for r in line.recipients] == ["Politie Midden"]  # the GGZ refusal lists nobody
    assert line.kind == "Strafrechtelijk gegeven (AVG art. 10)"


def test_an_organisation_that_left_is_no_recipient_any_more(app):
    cjg = make_org("CJG West", "cjg")
    left = today() - timedelta(days=1)
    make_covenant(cjg, rules=[allow(cjg), allow(cjg, "plan", by_type=True)], left_on=left)
    register = build_register(today())
    listed = {(p.code, line.code, r.receiver, r.members) for p in register.purposes for line in p.categories
              for r in line.recipients}
    # its own rule is gone; its type's rule stands (for parties of that type yet to join)
    assert listed == {("signalering", "plan", "type:cjg", ())}
    assert [(c.name, c.left_on) for c in register.controllers] == [("CJG West", left)]


def test_retention_is_reported_as_not_in_the_covenant(region):
    register = build_register(today())
    assert register.retention == "niet vastgelegd in convenant 2026-7"


def test_the_page_shows_header_parties_purposes_categories_and_measures(region, officer, app):
    covenant, orgs = region
    page = html(officer.get(REGISTER))
    assert "versie" in page.lower() and "2026-7" in page
    assert covenant.valid_from.strftime("%d-%m-%Y") in page and covenant.valid_until.strftime("%d-%m-%Y") in page
    for label in PURPOSES.values():
        assert label in page
    for label, _, _ in CATEGORIES.values():
        assert label in page
    for org in orgs.values():
        assert org.name in page
    assert "Behalve: =CJG Zuid" in page
    assert "niet vastgelegd in convenant 2026-7" in page
    assert "geen verstrekking" in page  # nazorg
    # the covenant sets no involvement limits, so the installation's settings apply
    assert (f"hoogstens {app.config['INVOLVEMENT_MAX_YEARS']} jaar" in page
            and f"{app.config['INVOLVEMENT_AGE_LIMIT']} jaar wordt" in page)
    for role in app.config["TWO_FACTOR_ROLES"]:
        assert ROLES[role] in page
    assert "AES-256-GCM" in page and "hashketen" in page and "TLS" in page


def test_the_demo_covenant_register_renders(app, officer):
    orgs = [make_org(f"Partner {t}", org_type=t) for t in ("cjg", "politie", "ggz", "gemeente")]
    create_covenant_version(demo_covenant([(o.id, o.org_type) for o in orgs], today() - timedelta(days=3)), SYSTEM)
    db.session.commit()
    response = officer.get(REGISTER)
    assert response.status_code == 200 and "Strafrechtelijke aanpak (Veiligheidshuis)" in html(response)


# --- the CSV --------------------------------------------------------------------------------

def read_csv(body: str) -> list[list[str]]:
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.removeprefix(BOM)), delimiter=";"))


def test_the_csv_is_semicolon_separated_with_a_bom_and_one_row_per_recipient(region, officer):
    covenant, _ = region
    response = officer.get(CSV_URL)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="verwerkingsregister-2026-7.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response.get_data(as_text=True))
    assert rows[0] == list(CSV_HEADER)
    body = rows[1:]
    assert {r[0] for r in body} == {"2026-7"}
    assert {r[1] for r in body} - {""} == set(PURPOSES)
    named = {r[3] for r in body}
    assert all(label in named for label, _, _ in CATEGORIES.values())  # each category has a row
    recipients = [r for r in body if r[5] != "geen verstrekking toegestaan"]
    assert len(recipients) == len(allowed_by_rules(covenant))


def test_csv_cells_never_start_a_formula(region, officer):
    rows = read_csv(officer.get(CSV_URL).get_data(as_text=True))
    cells = [cell for row in rows for cell in row]
    assert "'=CJG Zuid" in cells  # the exclusion column of the CJGs' zorgen row
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]


@pytest.mark.parametrize(("value", "written"), [
    ("=1+1", "'=1+1"), ("+31 6 1234", "'+31 6 1234"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("  =1", "'  =1"), ("\uff1d1", "'\uff1d1"),
    ("gewoon", "gewoon"), ("a=b", "a=b"), (-5, "-5"), (2.5, "2.5"), (None, ""), (True, "ja"),
    (date(2026, 11, 23), "2026-11-23"),
])
def test_safe_cell(value, written):
    assert safe_cell(value) == written


def test_to_csv_quotes_separators_quotes_and_line_breaks():
    text = to_csv(["a", "b"], [["x;y", 'zei "ja"'], ["regel 1\nregel 2", "=kwaad"]])
    assert text.startswith(BOM + "a;b\r\n")
    assert read_csv(text) == [["a", "b"], ["x;y", 'zei "ja"'], ["regel 1\nregel 2", "'=kwaad"]]


# --- no covenant, and who may ----------------------------------------------------------------

def test_without_a_covenant_in_force_the_page_says_so(app, officer):
    make_covenant(make_org(), version="oud", valid_from=today() - timedelta(days=60),
                  valid_until=today() - timedelta(days=1))
    response = officer.get(REGISTER)
    assert response.status_code == 200
    assert "Er is geen convenant van kracht" in html(response)
    assert "Beveiligingsmaatregelen" in html(response)
    download = officer.get(CSV_URL)
    assert download.status_code == 302 and path_of(download) == REGISTER
    assert "geen register om te downloaden" in html(officer.get(REGISTER))


@pytest.mark.parametrize("role", ["beheerder", "deelnemer", "voorzitter", "bestuurder"])
def test_other_roles_get_403(region, app, role):
    user = make_user(role, totp=role in app.config["TWO_FACTOR_ROLES"])
    client = app.test_client()
    logged_in(client, user)
    csrf_token(client, "/account/")
    for url in (REGISTER, CSV_URL):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Geen toegang" in html(response)


def test_anonymous_visitors_are_sent_to_the_login(region, client):
    for url in (REGISTER, CSV_URL):
        response = client.get(url)
        assert response.status_code == 302 and path_of(response) == "/inloggen"
