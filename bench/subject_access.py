"""The subject access report (inzageoverzicht) and the explorer's export caps on millions of
audit entries (PostgreSQL).

Setup and bulk rows come from ``audit_explorer.py`` (same generator, same caveat: the bulk
rows BYPASS ``privacy.audit.record`` and are not a verifiable chain). Three of the 20 bench
organisations become Veilig Thuis (2) and police (1), so the report withholds names for
about 15% of its rows, as a real region's would.

Timed, after filling to N entries (default 5,000,000):

* the household whose number of disclosures (allowed ``content.read`` entries naming the
  household or a member) is closest to ``--disclosures`` (default 2,000), over R runs
  (default 15): ``build_report`` alone (fresh session), ``GET /privacy/inzage/gezin/<id>``
  (HTML preview, whole request: report, its audit entry, commit, rendering) and
  ``GET .../pdf`` (whole request, PDF built);
* the explorer's exports of the whole log (5M rows): CSV and PDF, both refused by their
  caps (``AUDIT_CSV_MAX_ROWS``, ``AUDIT_PDF_MAX_ROWS``) — time to the refusal and the
  process's peak memory; and, for scale, a streamed CSV of the last 6 days (~86k lines,
  under the cap) and the PDF export of the chosen household.

    .venv/bin/python bench/subject_access.py [--size 5000000] [--families 2000] [--runs 15] [--disclosures 2000]
"""

from __future__ import annotations

import argparse
import random
import resource
import uuid
from datetime import timedelta
from typing import Any

import _common as bench  # before the project imports: puts the project on sys.path
import audit_explorer as generator
from flask import Flask
from sqlalchemy import select, text

from netwerk.db import db
from netwerk.models import Organisation
from privacy import sar
from tests.conftest import FreshGClient
from tests.factories import make_user
from tests.helpers import logged_in

SHIELDED = {0: "veilig_thuis", 1: "veilig_thuis", 2: "politie"}  # bench organisation number -> type
COUNT_SQL = """
SELECT count(*) FROM audit_entry e
WHERE e.seq IN (SELECT seq FROM audit_subject WHERE subject = ANY(:subjects))
  AND e.action = 'content.read' AND e.outcome = 'allowed'
"""


def shield_some_organisations(app: Flask) -> None:
    with app.app_context():
        for n, org_type in SHIELDED.items():
            org = db.session.scalar(select(Organisation).where(Organisation.name == f"Bench-organisatie {n}"))
            org.org_type, org.domain = org_type, "veiligheid"
        db.session.commit()
        db.session.remove()


def choose_household(app: Flask, households: list[generator.Household], target: int) -> tuple[int, int]:
    """(index, disclosures) of the household closest to ``target`` disclosures, among every
    25th by busyness (household 0 is the busiest: the generator skews towards low numbers)."""
    best: tuple[int, int] | None = None
    with app.app_context():
        for i in range(0, len(households), 25):
            n = db.session.scalar(text(COUNT_SQL), {"subjects": households[i].subjects}) or 0
            if best is None or abs(n - target) < abs(best[1] - target):
                best = (i, n)
        db.session.remove()
    assert best is not None
    return best


def time_build(app: Flask, family_id: uuid.UUID) -> tuple[float, int, int]:
    with app.app_context():
        db.session.remove()
        start = bench.now()
        report = sar.build_report(sar.family_subject(family_id), sar.Period(), "Bench")
        seconds = bench.now() - start
        db.session.remove()
    return seconds, len(report.disclosures), report.withheld_rows


def time_get(client: Any, url: str, status: int = 200, **query: str) -> tuple[float, int]:
    start = bench.now()
    response = client.get(url, query_string=query)
    body = response.get_data()  # a streamed body is read to its end
    seconds = bench.now() - start
    assert response.status_code == status, (url, response.status_code)
    return seconds, len(body)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def summary_row(label: str, what: str, seconds: list[float]) -> list[str]:
    s = bench.Summary.of(seconds)
    return [label, what, str(len(seconds)), bench.ms(s.median), bench.ms(s.p95), bench.ms(s.maximum)]


def measure_report(app: Flask, client: Any, family_id: uuid.UUID, runs: int, label: str) -> list[list[str]]:
    builds, pages, pdfs, sizes = [], [], [], []
    rows = withheld = 0
    time_build(app, family_id)  # warm the pool and caches once
    for _ in range(runs):
        seconds, rows, withheld = time_build(app, family_id)
        builds.append(seconds)
        pages.append(time_get(client, f"/privacy/inzage/gezin/{family_id}")[0])
        seconds, size = time_get(client, f"/privacy/inzage/gezin/{family_id}/pdf")
        pdfs.append(seconds)
        sizes.append(size)
    label = f"{label}; household with {rows:,} disclosures ({withheld:,} names withheld)"
    return [
        summary_row(label, "build_report (query, names, labels)", builds),
        summary_row(label, "GET /privacy/inzage/gezin/<id> (HTML preview)", pages),
        summary_row(label, f"GET /privacy/inzage/gezin/<id>/pdf ({max(sizes) // 1024:,} KB)", pdfs),
    ]


def measure_exports(app: Flask, client: Any, family_id: uuid.UUID, label: str, size: int) -> list[list[str]]:
    rows: list[list[str]] = []
    before = peak_mb()
    for url, what in (("/privacy/audit.csv", "CSV"), ("/privacy/audit.pdf", "PDF")):
        seconds = [time_get(client, url, 422)[0] for _ in range(5)]
        rows.append(summary_row(label, f"{what} export of the whole log: refused (422)", seconds))
    with app.app_context():  # the bulk rows end weeks ago: their last 6 days (~86k rows)
        newest = db.session.scalar(text("SELECT occurred_at FROM audit_entry WHERE seq = :s"), {"s": size})
        db.session.remove()
    last_days = (newest - timedelta(days=5)).date().isoformat()
    seconds, body = time_get(client, "/privacy/audit.csv", van=last_days)
    rows.append(summary_row(label, f"CSV export, last 6 days, streamed ({body // 1024:,} KB)", [seconds]))
    pdf = [time_get(client, "/privacy/audit.pdf", gezin=str(family_id))[0] for _ in range(3)]
    rows.append(summary_row(label, "PDF export of the chosen household (explorer)", pdf))
    print(f"# peak memory of the bench process: {before:,.0f} MB before the exports, {peak_mb():,.0f} MB after")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=5_000_000, help="audit entries (default %(default)s)")
    parser.add_argument("--families", type=int, default=2000, help="households (default %(default)s)")
    parser.add_argument("--runs", type=int, default=15, help="timed reports (default %(default)s)")
    parser.add_argument("--disclosures", type=int, default=2000, help="wanted size of the report (default %(default)s)")
    args = parser.parse_args()
    rng = random.Random(11)
    rows: list[list[str]] = []
    print("# NOTE: bulk rows bypass privacy.audit.record and are NOT a verifiable chain (see audit_explorer.py).")
    with bench.workspace("sar") as dbs:
        database = dbs.new("postgresql")
        app = bench.migrated_app(database.instance, database.url, **generator.CHEAP_ARGON2)
        try:
            seconds, (households, users) = bench.time_call(lambda: generator._people(app, args.families, rng))
            shield_some_organisations(app)
            print(f"# setup: {len(households):,} households, {len(users)} users in {seconds:.0f} s", flush=True)
            with app.app_context():
                officer = make_user("privacy", totp=True, name="Petra Privacy",
                                    org=db.session.get(Organisation, users[5][1]))
                app.test_client_class = FreshGClient
                client = app.test_client()
                logged_in(client, officer)
                db.session.remove()
            print(f"# filling to {args.size:,} entries", flush=True)
            print(f"# filled in {generator.fill(app, households, users, args.size):.0f} s", flush=True)
            index, disclosures = choose_household(app, households, args.disclosures)
            family_id = households[index].family_id
            print(f"# chosen household #{index}: {disclosures:,} disclosures", flush=True)
            entries, index_rows = generator._counts(app)
            label = f"{entries:,} entries, {index_rows:,} index rows"
            rows += measure_report(app, client, family_id, args.runs, label)
            rows += measure_exports(app, client, family_id, label, args.size)
        finally:
            bench.dispose(app)
        bench.print_environment(dbs)
    bench.print_table(["log", "what", "runs", "median ms", "p95 ms", "max ms"], rows,
                      title="Subject access report and export caps (PostgreSQL; target: report < 2 s)")


if __name__ == "__main__":
    main()
