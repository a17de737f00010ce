"""Real chromium on the "that, not what" screens of the demo region: a police officer sees
the matches and their own note, the CJG's care notes only as whom to call; reporting an
involvement through the form; contrast of the new screens."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from netwerk.demo import DOMAIN
from tests.e2e.conftest import NetwerkServer, Tab
from tests.e2e.test_browser import CONTRAST_JS, log_in

POLITIE = f"politie.1@{DOMAIN}"
LEERPLICHT = f"leerplicht.2@{DOMAIN}"


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_police_sees_that_not_what(tab: Tab, netwerk_server: NetwerkServer, artifacts_dir: Path) -> None:
    page = tab.page
    log_in(page, POLITIE)
    page.wait_for_url(netwerk_server.url("/"))
    page.get_by_role("navigation", name="Hoofdmenu").get_by_role("link", name="Personen").click()
    page.get_by_role("link", name="D.V. (2010)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("D.V. (2010)")
    info = page.locator("#inhoud")
    expect(info.get_by_text("Aangehouden voor winkeldiefstal", exact=False)).to_be_visible()
    expect(info.get_by_text("Er is informatie bij CJG Alphen aan den Rijn", exact=False)).to_be_visible()
    assert "wachtlijst" not in page.content()  # the CJG's health note stays with the CJG
    page.screenshot(path=str(artifacts_dir / "person-politie.png"), full_page=True)
    checked = page.evaluate(CONTRAST_JS, "h1, h2, p, a, td, th, dt, dd, .withheld, .note-text, .tag")
    failing = [c for c in checked if c["text"] and c["ratio"] < 4.5]
    assert failing == [], f"below WCAG AA 4.5:1: {failing}"
    tab.assert_clean()


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_reporting_an_involvement_in_the_browser(tab: Tab, netwerk_server: NetwerkServer) -> None:
    page = tab.page
    log_in(page, LEERPLICHT)
    page.wait_for_url(netwerk_server.url("/"))
    page.goto("/betrokkenheid/melden")
    page.get_by_label("Voornaam").fill("Tim")
    page.get_by_label("Achternaam").fill("Browser")
    page.get_by_label("Geboortedatum").fill("2013-04-05")
    page.get_by_role("button", name="Betrokkenheid melden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("T.B. (2013)")
    expect(page.get_by_text("Betrokkenheid gemeld.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Leerplicht Rijnstreek")
    expect(row).to_be_visible()
    tab.assert_clean()
