"""Issue 3, "must hold": markers planted in notes of every covenant category by one
organisation (CJG Alphen aan den Rijn) reach no other demo user through any page, API
answer, mail, log line or audit entry unless the covenant allows it for a purpose that
user has — and every appearance has the audit entry of the read that disclosed it.

The scenario (``tests/leak/scenario.py``) has a match with and without consent, a
household match, a safety flag, an ended involvement, a withdrawn consent and two
emergency-access claims, so some markers legitimately appear: each crawl must find exactly
the markers the covenant gives that user (so the test cannot pass by showing nothing).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from netwerk.api import ENDPOINTS
from netwerk.demo import DOMAIN, demo_accounts
from netwerk.models import User
from tests.leak.harness import NEVER_PROBED, Report, expected_markers, run
from tests.leak.scenario import PLANTER_ORG, by_local, markers_of

ACCOUNTS = [a.email.removesuffix(f"@{DOMAIN}") for a in demo_accounts()]
PLANTERS = [a.email.removesuffix(f"@{DOMAIN}") for a in demo_accounts() if a.organisation == PLANTER_ORG]
OTHERS = [a for a in ACCOUNTS if a not in PLANTERS]
# The API shows content when it has a notes endpoint; then its crawl must find what the
# pages find.
API_READS_CONTENT = any(ep.method == "get" and ep.path.endswith("/notes") for ep in ENDPOINTS)


def assert_sees_exactly(report: Report, user: User, expected: set[str]) -> None:
    channels = ["html", "api"] if API_READS_CONTENT else ["html"]
    for name in channels:
        seen = report.seen(user, name)
        assert seen == expected, (
            f"{name}: missing {len(expected - seen)} marker(s) the covenant allows (the walk did not reach "
            f"them: {sorted(expected - seen)[:5]}), unexpected {sorted(seen - expected)[:5]}")


@pytest.mark.parametrize("account", OTHERS)
def test_no_marker_reaches_a_user_the_covenant_does_not_allow(region, account):
    app, scenario = region
    user = by_local(account)
    report = run(app, scenario, [user])
    report.assert_clean()
    assert_sees_exactly(report, user, expected_markers(scenario, user))


@pytest.mark.parametrize("account", PLANTERS)
def test_the_planting_organisation_sees_all_its_markers_on_every_route(region, account):
    app, scenario = region
    user = by_local(account)
    report = run(app, scenario, [user])
    report.assert_clean()
    assert_sees_exactly(report, user, set(scenario.markers))
    # The walk answered every GET route of the app, pages and API (and, by assert_clean,
    # was never logged out on the way): nothing is left unprobed.
    adapter = app.url_map.bind("netwerk.test")
    reached = set()
    for where in report.answers[user.email]:
        try:
            reached.add(adapter.match(urlsplit(where.split(":", 1)[1]).path, method="GET")[0])
        except (HTTPException, RequestRedirect):
            continue
    routes = {r.endpoint for r in app.url_map.iter_rules() if "GET" in (r.methods or ())}
    assert routes - reached - {"static", *NEVER_PROBED} == set()


# Who sees which of the planted categories, person by person, as the demo covenant reads
# (betrokkenheid and contactgegevens go to every party for every purpose).
THAT = {"betrokkenheid", "contactgegevens"}
SCENARIO = {
    # signalering (client match): zorgen with consent; noodtoegang procesregie: plan with
    # consent, gezondheid with consent for GGZ; Bas through the family match GGZ-Amira/Leerplicht-Bas
    "ggz.1": {"amira": THAT | {"zorgen", "plan", "gezondheid"}, "bas": THAT | {"zorgen"}},
    "ggz.2": {"amira": THAT | {"zorgen"}, "bas": THAT | {"zorgen"}},  # no claim of their own
    # Dirk's consent for gezamenlijk gesprek was withdrawn; the nazorg claim gives nothing more
    "jongerenwerk.1": {"amira": THAT | {"zorgen"}, "bas": THAT | {"zorgen"}, "dirk": THAT},
    "jongerenwerk.2": {"amira": THAT | {"zorgen"}, "bas": THAT | {"zorgen"}, "dirk": THAT},
    "veiligthuis.1": {"amira": THAT | {"zorgen", "veiligheid"}, "bas": THAT | {"zorgen", "veiligheid"}},
    "leerplicht.1": {"amira": THAT | {"school"}, "bas": THAT | {"school"}},  # never Carmen (safety flag)
    "politie.1": {"dirk": THAT | {"veiligheid"}},
    "raad.1": {},  # involvement ended
    "reclassering.1": {}, "zat.1": {}, "alphen.1": {},  # never involved
    "beheerder": {}, "privacy": {}, "voorzitter": {}, "bestuurder": {},
}


@pytest.mark.parametrize("account", sorted(SCENARIO))
def test_the_scenario_gives_each_user_what_the_covenant_says(region, account):
    """The oracle the crawls are held to, spelled out by hand for the interesting users."""
    _, scenario = region
    want = set().union(*(markers_of(scenario, person, *cats) for person, cats in SCENARIO[account].items()))
    assert expected_markers(scenario, by_local(account)) == want


def test_opening_the_code_page_does_not_log_a_user_out(region):
    app, scenario = region
    client = scenario.login(app, by_local("zat.1"))
    client.get("/inloggen/code")
    assert client.get("/").status_code == 200
