"""The quarterly escalation report: the arithmetic (pure, no database), and the page with
its SVG chart and the CSV export (formula-safe) for an overleg's quarter; impossible
quarters and overleggen get a Dutch message; only chairs and managers see it."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from escalation import operations as esc_ops
from escalation.report import (
    Case,
    Quarter,
    QuarterError,
    bar_chart,
    parse_quarter,
    quarter_of,
    summarise,
)
from netwerk.db import db
from tests.escalation.conftest import TODAY, World, at
from tests.escalation.test_views import client_for
from tests.helpers import html

PAGE, CSV = "/opschaling/rapportage", "/opschaling/rapportage.csv"


def test_quarters_are_parsed_or_refused_in_dutch():
    today = date(2026, 11, 23)
    assert parse_quarter("2026-K4", today) == Quarter(2026, 4)
    assert parse_quarter(" 2025q1 ", today) == Quarter(2025, 1)
    assert parse_quarter("", today) == parse_quarter(None, today) == Quarter(2026, 4)
    assert Quarter(2026, 4).bounds() == (datetime(2026, 10, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert (Quarter(2026, 1).start, Quarter(2026, 1).end) == (date(2026, 1, 1), date(2026, 4, 1))
    assert quarter_of(date(2026, 6, 30)) == Quarter(2026, 2)
    for bad in ("2026-K5", "2026-K0", "1999-K1", "2101-K1", "K4-2026", "2026", "2026-K4; 1=1", "२०२६-K4"):
        with pytest.raises(QuarterError) as refused:
            parse_quarter(bad, today)
        assert refused.value.message.startswith("Geen bestaand kwartaal") and "2026-K4" in refused.value.message


def test_the_figures_of_a_quarter():
    t0 = datetime(2026, 10, 5, 9, tzinfo=UTC)
    cases = [
        Case("action_overdue", "opgelost", 1, t0, t0, t0 + timedelta(days=4)),
        Case("action_overdue", "afgeschaald", 2, t0, t0 + timedelta(days=1), t0 + timedelta(days=11)),
        Case("owner_silent", "opgeschaald", 0, t0, t0, None),
        Case(None, "afgewezen", 0, t0, None, t0 + timedelta(days=1)),  # a proposal turned down
        Case("owner_silent", "opgelost", 3, t0, t0, t0 + timedelta(days=30)),
    ]
    summary = summarise(Quarter(2026, 4), cases)
    assert (summary.proposed, summary.raised, summary.resolved, summary.open) == (5, 4, 3, 1)
    assert summary.per_rule == {"action_overdue": 2, "owner_silent": 2, "handmatig": 1}
    assert summary.per_level == {0: 1, 1: 1, 2: 1, 3: 1}
    assert summary.median_days == 10.0  # of 4, 10 and 30 days, counted from raising
    assert summarise(Quarter(2026, 4), []).median_days is None
    rows = summary.rows("Overleg")
    assert ["Overleg", "2026-K4", "mediane doorlooptijd (dagen)", "", 10.0] in rows
    assert ["Overleg", "2026-K4", "per regel", "Handmatig opgeschaald", 1] in rows


def test_the_chart_is_plain_svg_scaled_and_escaped():
    svg = bar_chart("Per <regel>", [("Actie over de datum", 4), ("<script>alert(1)</script>", 2), ("Niets", 0)])
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "<script>" not in svg
    assert "&lt;script&gt;" in svg and "<title>Per &lt;regel&gt;</title>" in svg
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', svg)]
    assert widths == [320, 160, 0]
    assert "style=" not in svg  # the CSP forbids inline styles


def test_the_report_page_and_its_csv(app, world: World):
    quarter = quarter_of(TODAY)
    start = quarter.start
    day = at(start + timedelta(days=1))
    # Last quarter: a proposal that was turned down; it does not count now.
    old = world.propose(now=at(start - timedelta(days=10)))
    esc_ops.dismiss(old, by=world.chair, note="Niet nodig gebleken.", now=at(start - timedelta(days=9)))
    first = world.raised(now=day, level=1)
    esc_ops.decide(first, by=world.team_leader, decision="Extra inzet van de wijkagent.", now=day)
    esc_ops.resolve(first, by=world.chair, note="Weer op gang.", now=day + timedelta(days=4))
    second = world.propose(rule_code="owner_silent", now=day)
    esc_ops.raise_escalation(second, by=world.chair, reason_category="mandaat", ask="Wie beslist hierover?",
                             level=2, now=day)
    esc_ops.deescalate(second, by=world.chair, note="Terug naar het netwerk.", now=day + timedelta(days=10))
    third = world.propose(rule_code="due_date_pushed", now=day)
    esc_ops.raise_escalation(third, by=world.chair, reason_category="wachtlijst", ask="Kan het sneller?", now=day)
    db.session.commit()

    chair = client_for(app, world.chair)
    page = chair.get(f"{PAGE}?overleg={world.overleg.id}&kwartaal={quarter.label}")
    text = html(page)
    assert page.status_code == 200 and text.count("<svg") == 2
    assert re.search(r"Vastgelopen zaken</dt><dd>3<", text) and re.search(r"Opgeschaald</dt><dd>3<", text)
    assert "7.0 dagen" in text and "Actie over de datum" in text and "Streefdatum steeds verschoven" in text
    assert world.family.pseudonym not in text  # figures, never a family
    previous = Quarter(start.year - 1, 4) if quarter.number == 1 else Quarter(start.year, quarter.number - 1)
    assert re.search(r"Vastgelopen zaken</dt><dd>1<", html(chair.get(f"{PAGE}?kwartaal={previous.label}")))

    # Bad input: a clear Dutch message, no figures, never a 500.
    for query, message in ((f"kwartaal={quarter.year}-K5", "Geen bestaand kwartaal"),
                           ("kwartaal=gisteren", "Geen bestaand kwartaal"),
                           ("overleg=00000000-0000-4000-8000-000000000000", "Kies een overleg uit de lijst."),
                           ("overleg=geen-id", "Kies een overleg uit de lijst.")):
        for url in (PAGE, CSV):
            answer = chair.get(f"{url}?{query}")
            assert answer.status_code == 400 and message in html(answer), (url, query)

    # The CSV: one figure a row, and a cell a spreadsheet would run is neutralised.
    world.overleg.name = '=HYPERLINK("http://evil.test","klik")'
    db.session.commit()
    export = chair.get(f"{CSV}?overleg={world.overleg.id}&kwartaal={quarter.label}")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["overleg", "kwartaal", "maatstaf", "onderdeel", "waarde"]
    assert all(r[0] == "'" + world.overleg.name for r in rows[1:])
    assert not any(cell.startswith(("=", "+", "@")) for r in rows for cell in r)
    figures = {(r[2], r[3]): r[4] for r in rows[1:]}
    assert figures[("vastgelopen zaken", "")] == "3" and figures[("mediane doorlooptijd (dagen)", "")] == "7.0"
    assert figures[("hoogste niveau", "Niveau 1")] == "1" and figures[("per regel", "Eigenaar stil sinds het vorige "
                                                                                    "overleg")] == "1"

    # Who may: chairs of the overleg, and managers (figures for the whole region).
    for user in (world.alderman, world.manager):
        assert f'<option value="{world.overleg.id}"' in html(client_for(app, user).get(PAGE))
    assert client_for(app, world.coordinator).get(PAGE).status_code == 403
    assert f'<option value="{world.overleg.id}"' in html(client_for(app, world.secretary).get(PAGE))
