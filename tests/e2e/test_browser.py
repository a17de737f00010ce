"""Real chromium against the real server: login, keyboard use, roles in the navigation, logout.

Fixtures (``netwerk_server``, ``tab``, ``artifacts_dir``) are in ``tests/e2e/conftest.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from netwerk.demo import DEFAULT_DEMO_PASSWORD, DOMAIN, ORGANISATIONS
from tests.e2e.conftest import NetwerkServer, Tab

VOORZITTER = f"voorzitter@{DOMAIN}"
BEHEERDER = f"beheerder@{DOMAIN}"
SECRETARIS = f"secretaris@{DOMAIN}"


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def log_in(page: Page, email: str, password: str = DEFAULT_DEMO_PASSWORD) -> None:
    page.goto("/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()


def main_nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Hoofdmenu")


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_voorzitter_logs_in_and_sees_dashboard(tab: Tab, netwerk_server: NetwerkServer,
                                               artifacts_dir: Path) -> None:
    page = tab.page
    log_in(page, VOORZITTER)
    page.wait_for_url(netwerk_server.url("/"))

    expect(page).to_have_title("Overzicht · Netwerk")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, Victor Voorzitter")
    facts = page.locator("dl.facts")
    expect(facts.get_by_text("Veiligheidshuis Hollands Midden", exact=False)).to_be_visible()
    expect(facts.get_by_text("Voorzitter", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "nl")

    shot = artifacts_dir / "dashboard-voorzitter.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 5_000

    tab.assert_clean()
    assert netwerk_server.url("/static/netwerk.css") in tab.requests  # the stylesheet loaded (CSP allows it)


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_login_page_keyboard_order_and_focus_outline(tab: Tab) -> None:
    page = tab.page
    page.goto("/inloggen")

    def focused() -> dict:
        return page.evaluate("""() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const box = el.getBoundingClientRect();
            return {tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || el.value || '').trim(),
                    href: el.getAttribute('href'), outlineStyle: style.outlineStyle,
                    outlineWidth: parseFloat(style.outlineWidth), left: box.left, top: box.top,
                    width: box.width, height: box.height};
        }""")

    expected = [
        ("a", "Naar de inhoud"),  # skip link first
        ("a", "Netwerk"),  # the brand link in the header (the only thing between skip link and form)
        ("input", "email"),
        ("input", "password"),
        ("input", "submit"),
    ]
    seen = []
    for tag, what in expected:
        page.keyboard.press("Tab")
        el = focused()
        seen.append(el)
        assert el["tag"] == tag, f"Tab #{len(seen)} focused {el}, expected {tag} {what}"
        if tag == "a":
            assert el["text"] == what
        elif what == "submit":
            assert el["text"] == "Inloggen"
        else:
            assert el["id"] == what
        assert el["outlineStyle"] != "none" and el["outlineWidth"] > 0, f"no visible focus outline on {el}"

    skip = seen[0]
    assert skip["href"] == "#inhoud"
    assert skip["left"] >= 0 and skip["top"] >= 0 and skip["width"] > 0, "focused skip link is off-screen"

    # The skip link works: Enter moves focus to <main>, and the next Tab lands in the form.
    page.reload()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "inhoud"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "email"

    tab.assert_clean()


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_wrong_password_shows_dutch_error(tab: Tab) -> None:
    page = tab.page
    log_in(page, SECRETARIS, "dit-is-niet-het-wachtwoord")

    alert = page.locator(".error-summary[role=alert]")
    expect(alert).to_contain_text("E-mailadres of wachtwoord klopt niet.")
    assert path_of(page) == "/inloggen"
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    expect(page.get_by_label("E-mailadres")).to_have_value(SECRETARIS)  # kept: retype only the password
    expect(page.get_by_label("Wachtwoord")).to_have_value("")
    assert tab.foreign_requests() == []


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_navigation_depends_on_role(tab: Tab, browser: object, netwerk_server: NetwerkServer) -> None:
    page = tab.page
    log_in(page, BEHEERDER)
    page.wait_for_url(netwerk_server.url("/"))
    expect(main_nav(page).get_by_role("link", name="Gebruikers")).to_be_visible()
    main_nav(page).get_by_role("link", name="Organisaties").click()
    page.wait_for_url(netwerk_server.url("/beheer/organisaties"))

    expect(page.get_by_role("heading", level=1)).to_have_text("Organisaties")
    expect(main_nav(page).get_by_role("link", name="Organisaties")).to_have_attribute("aria-current", "page")
    table = page.get_by_role("table", name="Ketenpartners in deze regio")
    for name, *_ in ORGANISATIONS:
        expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
    tab.assert_clean()

    # The voorzitter, in a context of its own, gets neither admin link.
    context = browser.new_context(base_url=netwerk_server.base_url)  # type: ignore[attr-defined]
    try:
        other = context.new_page()
        log_in(other, VOORZITTER)
        other.wait_for_url(netwerk_server.url("/"))
        nav = main_nav(other)
        expect(nav.get_by_role("link", name="Overzicht")).to_be_visible()
        expect(nav.get_by_role("link", name="Mijn account")).to_be_visible()
        expect(nav.get_by_role("link", name=re.compile("Organisaties|Gebruikers"))).to_have_count(0)
        expect(other.get_by_role("link", name=re.compile("Organisaties|Gebruikers"))).to_have_count(0)
        response = other.goto("/beheer/organisaties")
        assert response is not None and response.status == 403
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_logout_returns_to_login_and_locks_dashboard(tab: Tab, netwerk_server: NetwerkServer) -> None:
    page = tab.page
    log_in(page, VOORZITTER)
    page.wait_for_url(netwerk_server.url("/"))

    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_url(netwerk_server.url("/inloggen"))
    expect(page.get_by_role("status")).to_have_text("U bent uitgelogd.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    expect(page.get_by_role("button", name="Uitloggen")).to_have_count(0)

    # Back in history: the dashboard was never cached (no-store), the server sends us to log in.
    page.go_back()
    page.wait_for_load_state()
    assert path_of(page) == "/inloggen"
    expect(page.get_by_text("Welkom,")).to_have_count(0)

    page.goto("/")
    assert path_of(page) == "/inloggen"
    expect(page.get_by_role("heading", level=1)).to_have_text("Inloggen")
    expect(page.get_by_text("Log in om verder te gaan.")).to_be_visible()
    tab.assert_clean()


# Relative luminance and contrast ratio as WCAG 2.x defines them, computed in the page
# from the colours the browser actually applies (walking up to the first opaque background).
CONTRAST_JS = """(selector) => {
    const parse = (c) => c.match(/[\\d.]+/g).map(Number);
    const lum = ([r, g, b]) => {
        const ch = [r, g, b].map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
    };
    const background = (el) => {
        for (; el; el = el.parentElement) {
            const c = parse(getComputedStyle(el).backgroundColor);
            if (c.length < 4 || c[3] > 0) return c;
        }
        return [255, 255, 255];
    };
    return [...document.querySelectorAll(selector)].filter(el => el.offsetParent !== null).map(el => {
        const fg = lum(parse(getComputedStyle(el).color)), bg = lum(background(el));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        return {text: (el.innerText || el.value || '').trim().slice(0, 40), ratio: Math.round(ratio * 100) / 100};
    });
}"""


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_text_meets_wcag_aa_contrast(tab: Tab) -> None:
    page = tab.page
    selector = "h1, h2, p, a, button, input[type=submit], label, td, th, dt, dd, legend, footer, .error, .hint"
    log_in(page, f"onbekend@{DOMAIN}", "fout")  # the login page with its error styles
    checked = page.evaluate(CONTRAST_JS, selector)
    log_in(page, BEHEERDER)
    for url in ("/", "/beheer/organisaties", "/beheer/gebruikers/nieuw", "/account/wachtwoord"):
        page.goto(url)
        checked += page.evaluate(CONTRAST_JS, selector)
    assert len(checked) > 30
    failing = [c for c in checked if c["text"] and c["ratio"] < 4.5]
    assert failing == [], f"below WCAG AA 4.5:1: {failing}"
