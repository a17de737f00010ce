"""The review queue's flag computation (privacy.review) on a large audit log (PostgreSQL).

Setup: N audit entries (default 1,000,000) written *server-side* with one
``INSERT ... SELECT FROM generate_series`` per 250,000 rows, one entry every 0.5 s, by 100
users: 60% plan reads of one of 2,000 households, 5% reads under an emergency claim, 1%
emergency claims, 10% refused reads, 24% logins. The rows BYPASS ``privacy.audit.record``
(their hashes are not a chain; the rules do not read hashes).

Timed: the job's first run over the whole log (``compute``: batches of 20,000 entries,
committed once), then R (default 10) tails of T entries (default 5,000, the queue page's
on-the-fly cap) each computed by ``run_locked`` as the page does.

    .venv/bin/python bench/review_flags.py [--entries 1000000] [--tail 5000] [--runs 10]
"""

from __future__ import annotations

import argparse

import _common as bench  # before the project imports: puts the project on sys.path
from flask import Flask
from sqlalchemy import func, select, text

from netwerk.db import db
from privacy import review
from privacy.models import ReviewFlag

CHUNK = 250_000
FILL = """
INSERT INTO audit_entry (seq, occurred_at, actor_user_id, actor_org_id, actor_role, action, outcome, subject_ids,
                         data_categories, purpose, summary, meta, prev_hash, entry_hash)
SELECT g, TIMESTAMPTZ '2026-01-05 08:00:00+00' + g * INTERVAL '0.5 second',
       md5('user' || (g % 100))::uuid, md5('org' || (g % 100 % 20))::uuid, 'deelnemer',
       CASE WHEN r < 76 THEN (CASE WHEN r = 65 THEN 'content.emergency_access' ELSE 'content.read' END)
            ELSE 'auth.login' END,
       CASE WHEN r < 65 THEN 'allowed' WHEN r = 65 THEN 'emergency' WHEN r < 76 THEN 'denied' ELSE 'success' END,
       CASE WHEN r < 76 THEN jsonb_build_array('family:' || ((g * 7907) % 2000)) ELSE '[]'::jsonb END,
       '["zorgen"]'::jsonb, 'procesregie', 'bench',
       CASE WHEN r < 60 THEN '{"reason": "covenant_rule", "context": "plan"}'::jsonb
            WHEN r < 65 THEN '{"reason": "covenant_rule", "context": "noodtoegang"}'::jsonb
            WHEN r BETWEEN 66 AND 75 THEN '{"reason": "covenant_forbids", "context": "match"}'::jsonb
            ELSE '{}'::jsonb END,
       md5((g - 1)::text) || md5((g - 1)::text), md5(g::text) || md5(g::text)
FROM (SELECT g, (g * 7919) % 100 AS r FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g) AS s
"""


def fill(app: Flask, first: int, last: int) -> None:
    with app.app_context():
        for lo in range(first, last + 1, CHUNK):
            db.session.execute(text(FILL), {"lo": lo, "hi": min(last, lo + CHUNK - 1)})
        db.session.commit()
        db.session.execute(text("ANALYZE audit_entry"))
        db.session.commit()
        db.session.remove()


def first_run(app: Flask) -> tuple[float, review.RunResult, int]:
    with app.app_context():
        seconds, result = bench.time_call(review.run_locked)
        flags = db.session.scalar(select(func.count()).select_from(ReviewFlag)) or 0
        db.session.remove()
    return seconds, result, flags


def tail_run(app: Flask, head: int, tail: int) -> tuple[float, review.RunResult]:
    fill(app, head + 1, head + tail)
    with app.app_context():
        seconds, result = bench.time_call(lambda: review.run_locked(limit=tail))
        db.session.remove()
    return seconds, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--tail", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with bench.workspace("review") as dbs:
        database = dbs.new("postgresql")
        app = bench.migrated_app(database.instance, database.url)
        try:
            fill_s, _ = bench.time_call(lambda: fill(app, 1, args.entries))
            seconds, result, flags = first_run(app)
            assert result.state == "ok" and result.processed_to == args.entries, result
            print(f"filled {args.entries:,} entries in {fill_s:.1f} s; first run: {flags:,} flags "
                  f"({result.created:,} created, {result.extended:,} extended)")
            head, tails = args.entries, []
            for _ in range(args.runs):
                took, tail_result = tail_run(app, head, args.tail)
                assert tail_result.state == "ok", tail_result
                head += args.tail
                tails.append(took)
        finally:
            bench.dispose(app)
        bench.print_environment(dbs)
    s = bench.Summary.of(tails)
    bench.print_table(["run", "entries", "seconds", "entries/s", "median ms", "p95 ms"], [
        ["first run (job)", f"{args.entries:,}", f"{seconds:.1f}", bench.rate(args.entries, seconds), "-", "-"],
        [f"tail x{args.runs} (page)", f"{args.tail:,}", f"{s.median:.2f}", bench.rate(args.tail, s.median),
         bench.ms(s.median), bench.ms(s.p95)],
    ], title="review flags: compute from the cursor (PostgreSQL)")


if __name__ == "__main__":
    main()
