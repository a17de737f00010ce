"""The privacy officer's audit explorer on millions of audit entries (PostgreSQL).

Setup: 20 organisations, 100 users and a covenant through the app's operations, F households
(default 2,000) of 2-6 persons each built as the operations build them (encrypted names,
blind indexes) but without their audit entries, and a logged-in privacy officer.

Then the log is filled to N entries (default 1,000,000 then 5,000,000) *server-side* with
one ``INSERT ... SELECT FROM generate_series`` per 250,000 rows, plus the matching
``audit_subject`` rows. These bulk rows BYPASS ``privacy.audit.record``: their hashes
only look like a chain (``prev_hash`` is the previous row's ``entry_hash``, but neither is
the SHA-256 of the content), so ``verify-audit`` fails on this database by design. The
explorer does not read hashes, so its timings are unaffected. While loading, the
secondary indexes of both tables are dropped and rebuilt afterwards (like ``pg_restore``).

Mix of the bulk rows: 45% plan reads about a household (the family and every member as
subjects; 85% allowed, 15% denied), 20% note reads about one member, 3% emergency
accesses, 7% other operations on a member, 20% logins, 5% system jobs. Households are
picked with a skew (``F * random()^1.5``): a few busy families, a long tail of quiet ones.

Timed, per size, over R (default 25) different households: the explorer query alone
(``matching_entries`` for the first page, fresh session), the whole page
``GET /privacy/audit?gezin=...`` through the Flask test client (filter choices, query,
names, its own audit entry and commit, rendering), and the CSV export of one household
(every line, streamed and read to the end).

    .venv/bin/python bench/audit_explorer.py [--sizes 1000000,5000000] [--families 2000] [--runs 25]
"""

from __future__ import annotations

import argparse
import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import _common as bench  # before the project imports: puts the project on sys.path
from flask import Flask
from sqlalchemy import text

from netwerk import operations as ops
from netwerk.db import db, utcnow
from netwerk.models import Family, FamilyMember, Organisation, Person
from netwerk.security import hash_password
from netwerk.validators import pseudonym
from privacy import explorer
from privacy.audit import Actor, audit_head, blind
from tests.conftest import FreshGClient
from tests.factories import make_covenant, make_user
from tests.helpers import logged_in

CHUNK = 250_000
SYSTEM = Actor.system("bench")
# The bench does not measure logins: cheap hashing keeps setup short (one hash is reused
# for every generated account anyway).
CHEAP_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8, "ARGON2_PARALLELISM": 1}


@dataclass
class Household:
    family_id: uuid.UUID
    subjects: list[str]  # family first, then members, as the explorer resolves them
    persons: list[str]


# --- setup through the app --------------------------------------------------------------------

def _household(n: int, rng: random.Random) -> tuple[Family, list[Person]]:
    """One household as ``register_person`` and ``compose_family`` build it (encrypted
    names, blind indexes), without their audit entries: the bulk rows stand in for those."""
    persons = []
    for m in range(rng.randint(2, 6)):
        born = date(1970 + rng.randrange(50), 1 + rng.randrange(12), 1 + rng.randrange(28))
        person = Person(id=uuid.uuid4(), pseudonym=pseudonym(f"Voornaam{m}", f"Achternaam{n}", born.year),
                        birth_year=born.year, birth_date_index=blind("birth_date", born.isoformat()))
        person.first_name, person.last_name = f"Voornaam{m}", f"Achternaam{n}"
        person.birth_date_iso = born.isoformat()
        persons.append(person)
    family = Family(id=uuid.uuid4(), pseudonym=f"Gezin {n}")
    family.members = [FamilyMember(person=p, relation="ouder" if i < 2 else "kind") for i, p in enumerate(persons)]
    return family, persons


def _people(app: Flask, families: int, rng: random.Random) -> tuple[list[Household], list[tuple[Any, Any]]]:
    with app.app_context():
        orgs = [ops.create_organisation(ops.OrganisationData(name=f"Bench-organisatie {i}", org_type="cjg",
                                                             domain="zorg"), SYSTEM) for i in range(20)]
        shared_hash = hash_password("bench-only-password")
        users = []
        for i in range(100):
            user, _ = ops.create_user(ops.UserData(email=f"bench{i}@example.test", name=f"Medewerker {i}",
                                                   organisation_id=orgs[i % 20].id, roles={"deelnemer"}),
                                      SYSTEM, demo_password_hash=shared_hash)
            users.append((user.id, user.organisation_id))
        db.session.commit()
        make_covenant(*orgs)  # the purposes and categories the bulk rows use
        households = []
        for n in range(families):
            family, persons = _household(n, rng)
            db.session.add(family)
            members = sorted(blind("person", p.id) for p in persons)
            households.append(Household(family.id, [blind("family", family.id), *members], members))
            if n % 200 == 199:
                db.session.commit()
        db.session.commit()
        db.session.remove()
    return households, users


# --- bulk rows ----------------------------------------------------------------------------------

FILL_SQL = """
INSERT INTO audit_entry (seq, occurred_at, actor_user_id, actor_org_id, actor_role, on_behalf_of_user_id,
    access_point, ip, action, outcome, subject_ids, object_type, object_id, data_categories, purpose,
    covenant_version, covenant_article, legal_basis, summary, meta, prev_hash, entry_hash)
SELECT g.seq,
    CAST(:t0 AS timestamptz) + g.seq * interval '6 seconds',
    CASE WHEN r.k < 0.95 THEN u.user_id END,
    CASE WHEN r.k < 0.95 THEN u.org_id END,
    CASE WHEN r.k < 0.95 THEN 'deelnemer' END,
    NULL,
    CASE WHEN r.k < 0.95 THEN 'web' ELSE 'jobs' END,
    CASE WHEN r.k < 0.95 THEN '192.0.2.' || (1 + (g.seq % 250)) END,
    CASE WHEN r.k < 0.65 THEN 'content.read'
         WHEN r.k < 0.68 THEN 'content.emergency_access'
         WHEN r.k < 0.75 THEN (ARRAY['note.added', 'involvement.registered', 'plan.updated',
                                     'plan.goal_added'])[1 + floor(r.r3 * 4)::int]
         WHEN r.k < 0.95 THEN 'auth.login'
         ELSE 'involvement.expired' END,
    CASE WHEN r.k < 0.65 THEN CASE WHEN r.r2 < 0.85 THEN 'allowed' ELSE 'denied' END
         WHEN r.k < 0.68 THEN 'emergency'
         WHEN r.k >= 0.75 AND r.k < 0.95 AND r.r2 < 0.1 THEN 'failure'
         ELSE 'success' END,
    CASE WHEN r.k < 0.45 THEN to_jsonb(f.subjects)
         WHEN r.k < 0.75 THEN jsonb_build_array(f.persons[1 + floor(r.r3 * array_length(f.persons, 1))::int])
         ELSE '[]'::jsonb END,
    CASE WHEN r.k < 0.45 THEN 'plan' WHEN r.k < 0.65 THEN 'note' WHEN r.k < 0.68 THEN 'purpose_claim'
         WHEN r.k < 0.75 THEN 'person' END,
    CASE WHEN r.k < 0.75 THEN CAST(md5('o' || g.seq) AS uuid)::text END,
    CASE WHEN r.k < 0.65 THEN jsonb_build_array((ARRAY['plan', 'zorgen', 'gezondheid', 'school', 'wonen',
                                                       'betrokkenheid', 'strafrechtelijk'])[1 + floor(r.r4 * 7)::int])
         ELSE '[]'::jsonb END,
    CASE WHEN r.k < 0.68 THEN (ARRAY['signalering', 'procesregie', 'nazorg',
                                     'strafrechtelijke_aanpak'])[1 + floor(r.r5 * 4)::int] END,
    CASE WHEN r.k < 0.68 THEN '2026.1' END,
    CASE WHEN r.k < 0.65 AND r.r2 < 0.85 THEN 'art. ' || (5 + floor(r.r4 * 7)::int) END,
    CASE WHEN r.k < 0.65 AND r.r2 < 0.85 THEN (ARRAY['wettelijke_taak', 'toestemming',
                                                     'gerechtvaardigd_belang'])[1 + floor(r.r5 * 3)::int] END,
    CASE WHEN r.k < 0.65 THEN CASE WHEN r.r2 < 0.85 THEN 'content disclosed' ELSE 'content refused' END
         ELSE 'bench entry' END,
    CASE WHEN r.k < 0.65 THEN jsonb_build_object('reason', CASE WHEN r.r2 < 0.85 THEN 'covenant_rule'
                                                                ELSE 'covenant_forbids' END)
         ELSE '{}'::jsonb END,
    md5('p' || (g.seq - 1)) || md5('q' || (g.seq - 1)),
    md5('p' || g.seq) || md5('q' || g.seq)
FROM generate_series(CAST(:first AS bigint), CAST(:last AS bigint)) AS g(seq)
CROSS JOIN LATERAL (
    -- g.seq in the sub-select makes it correlated, so random() is drawn per row
    SELECT random() + 0 * g.seq AS k, random() AS r2, random() AS r3, random() AS r4, random() AS r5,
           1 + floor(:families * power(random(), 1.5))::int AS fam, 1 + floor(:users * random())::int AS usr
) AS r
JOIN bench_family f ON f.n = r.fam
JOIN bench_user u ON u.n = r.usr
"""
INDEX_SQL = ("INSERT INTO audit_subject (subject, seq) SELECT DISTINCT s.subject, e.seq FROM audit_entry e, "
             "jsonb_array_elements_text(e.subject_ids) AS s(subject) WHERE e.seq BETWEEN :first AND :last")


def _bench_tables(households: list[Household], users: list[tuple[Any, Any]]) -> None:
    db.session.execute(text("CREATE TABLE IF NOT EXISTS bench_family (n int PRIMARY KEY, subjects text[], "
                            "persons text[])"))
    db.session.execute(text("CREATE TABLE IF NOT EXISTS bench_user (n int PRIMARY KEY, user_id uuid, org_id uuid)"))
    db.session.execute(text("TRUNCATE bench_family, bench_user"))
    db.session.execute(text("INSERT INTO bench_family VALUES (:n, :subjects, :persons)"),
                       [{"n": i + 1, "subjects": sorted(h.subjects), "persons": h.persons}
                        for i, h in enumerate(households)])
    db.session.execute(text("INSERT INTO bench_user VALUES (:n, :u, :o)"),
                       [{"n": i + 1, "u": u, "o": o} for i, (u, o) in enumerate(users)])


def _secondary_indexes() -> list[tuple[str, str, str]]:
    """(table, name, statement to recreate) for everything but audit_entry's primary key."""
    rows = db.session.execute(text("""
        SELECT c.conrelid::regclass::text, c.conname,
               'ALTER TABLE ' || c.conrelid::regclass::text || ' ADD CONSTRAINT ' || c.conname || ' '
               || pg_get_constraintdef(c.oid)
        FROM pg_constraint c
        WHERE c.conrelid IN ('audit_entry'::regclass, 'audit_subject'::regclass) AND c.contype IN ('u', 'p', 'f')
          AND c.conname <> 'pk_audit_entry'
        ORDER BY c.contype DESC""")).all()
    indexes = db.session.execute(text("""
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE tablename IN ('audit_entry', 'audit_subject') AND indexname NOT IN (
            SELECT conname FROM pg_constraint WHERE conrelid IN ('audit_entry'::regclass, 'audit_subject'::regclass))
    """)).all()
    return [tuple(r) for r in rows] + [tuple(r) for r in indexes]  # type: ignore[misc]


def fill(app: Flask, households: list[Household], users: list[tuple[Any, Any]], target: int) -> float:
    """Bulk rows up to ``target`` entries in all; returns seconds (load plus index rebuild)."""
    with app.app_context():
        start = bench.now()
        _bench_tables(households, users)
        saved = _secondary_indexes()
        for table, name, statement in reversed(saved):  # foreign key before the keys it needs
            if "ADD CONSTRAINT" in statement:
                db.session.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
            else:
                db.session.execute(text(f"DROP INDEX {name}"))
        db.session.commit()
        first = audit_head()[0] + 1
        t0 = utcnow() - timedelta(days=400)
        for low in range(first, target + 1, CHUNK):
            high = min(low + CHUNK - 1, target)
            params = {"first": low, "last": high, "t0": t0, "families": len(households), "users": len(users)}
            db.session.execute(text(FILL_SQL), params)
            db.session.execute(text(INDEX_SQL), {"first": low, "last": high})
            db.session.commit()
            print(f"  ... {high:,} entries ({bench.now() - start:.0f} s)", flush=True)
        for _table, _name, statement in saved:
            db.session.execute(text(statement))
        db.session.commit()
        db.session.execute(text("ANALYZE audit_entry"))
        db.session.execute(text("ANALYZE audit_subject"))
        db.session.commit()
        db.session.remove()
        return bench.now() - start


# --- timing -------------------------------------------------------------------------------------

def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        entries = db.session.scalar(text("SELECT count(*) FROM audit_entry"))
        index = db.session.scalar(text("SELECT count(*) FROM audit_subject"))
        db.session.remove()
    return entries, index


def time_query(app: Flask, family_id: uuid.UUID, **extra: str) -> tuple[float, int]:
    with app.app_context():
        db.session.remove()
        start = bench.now()
        f = explorer.parse_filter({"gezin": str(family_id), **extra}, explorer.filter_choices())
        entries = explorer.matching_entries(f, explorer.PAGE_SIZE + 1)
        seconds = bench.now() - start
        db.session.remove()
    return seconds, len(entries)


def time_page(client: Any, family_id: uuid.UUID) -> float:
    start = bench.now()
    response = client.get("/privacy/audit", query_string={"gezin": str(family_id)})
    seconds = bench.now() - start
    assert response.status_code == 200, response.status_code
    return seconds


def time_csv(client: Any, family_id: uuid.UUID) -> tuple[float, int]:
    start = bench.now()
    response = client.get("/privacy/audit.csv", query_string={"gezin": str(family_id)})
    body = response.get_data()  # read the stream to its end
    seconds = bench.now() - start
    assert response.status_code == 200, response.status_code
    return seconds, body.count(b"\r\n") - 1


def family_sizes(app: Flask, households: list[Household], chosen: list[int]) -> list[int]:
    """How many entries each chosen household has (for the table, not timed)."""
    with app.app_context():
        sizes = [db.session.scalar(text("SELECT count(DISTINCT seq) FROM audit_subject WHERE subject = ANY(:s)"),
                                   {"s": households[i].subjects}) for i in chosen]
        db.session.remove()
    return sizes


def measure(app: Flask, client: Any, households: list[Household], runs: int, rng: random.Random) -> list[list[str]]:
    chosen = rng.sample(range(len(households)), runs)
    time_query(app, households[chosen[0]].family_id)  # warm the connection pool and caches once
    queries, pages, csvs, lines, denied = [], [], [], [], []
    for i in chosen:
        family_id = households[i].family_id
        queries.append(time_query(app, family_id)[0])
        pages.append(time_page(client, family_id))
        denied.append(time_query(app, family_id, uitkomst="geweigerd", doel="nazorg")[0])
    for i in chosen[:5]:
        seconds, n = time_csv(client, households[i].family_id)
        csvs.append(seconds)
        lines.append(n)
    busiest = [time_query(app, households[0].family_id)[0] for _ in range(5)]
    sizes = family_sizes(app, households, chosen)
    top = family_sizes(app, households, [0])[0]
    entries, index = _counts(app)
    q, p, c, d = bench.Summary.of(queries), bench.Summary.of(pages), bench.Summary.of(csvs), bench.Summary.of(denied)
    label = f"{entries:,} entries, {index:,} index rows; family sizes {min(sizes):,}-{max(sizes):,} entries"
    return [
        [label, "explorer query (first page)", len(queries), bench.ms(q.median), bench.ms(q.p95), bench.ms(q.maximum)],
        [label, "explorer query + uitkomst=geweigerd, doel=nazorg", len(denied), bench.ms(d.median),
         bench.ms(d.p95), bench.ms(d.maximum)],
        [label, "GET /privacy/audit?gezin=", len(pages), bench.ms(p.median), bench.ms(p.p95), bench.ms(p.maximum)],
        [label, f"GET /privacy/audit.csv?gezin= ({min(lines):,}-{max(lines):,} lines)", len(csvs),
         bench.ms(c.median), bench.ms(c.p95), bench.ms(c.maximum)],
        [label, f"explorer query, busiest household ({top:,} entries)", len(busiest),
         bench.ms(bench.Summary.of(busiest).median), bench.ms(bench.Summary.of(busiest).p95),
         bench.ms(max(busiest))],
    ]


def explain(app: Flask, family_id: uuid.UUID) -> None:
    """Print the plan once, so a regression to a full scan is visible in the output."""
    with app.app_context():
        f = explorer.parse_filter({"gezin": str(family_id), "uitkomst": "geweigerd"}, explorer.filter_choices())
        stmt = db.select(explorer.AuditEntry).where(explorer.AuditEntry.seq.in_(explorer._subject_seqs(f, 51)))
        compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {compiled}")).scalars().all()
        print("\n".join(["# plan of the explorer query (busiest household, uitkomst=geweigerd):", *plan[:40]]))
        db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,5000000", help="log sizes to measure at (default %(default)s)")
    parser.add_argument("--families", type=int, default=2000, help="households (default %(default)s)")
    parser.add_argument("--runs", type=int, default=25, help="households timed per size (default %(default)s)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rng = random.Random(7)
    rows: list[list[str]] = []
    print("# NOTE: bulk rows bypass privacy.audit.record and are NOT a verifiable chain (see the docstring).")
    with bench.workspace("explorer") as dbs:
        database = dbs.new("postgresql")
        app = bench.migrated_app(database.instance, database.url, **CHEAP_ARGON2)
        try:
            seconds, (households, users) = bench.time_call(lambda: _people(app, args.families, rng))
            print(f"# setup: {len(households):,} households, {len(users)} users in {seconds:.0f} s")
            with app.app_context():
                officer = make_user("privacy", totp=True, name="Petra Privacy",
                                    org=db.session.get(Organisation, users[0][1]))
                app.test_client_class = FreshGClient  # one app context, a fresh `g` per request
                client = app.test_client()
                logged_in(client, officer)
                db.session.remove()
            for size in sizes:
                print(f"# filling to {size:,} entries", flush=True)
                fill_seconds = fill(app, households, users, size)
                print(f"# filled in {fill_seconds:.0f} s (load, index rebuild, analyze)", flush=True)
                rows += measure(app, client, households, args.runs, rng)
                explain(app, households[0].family_id)
        finally:
            bench.dispose(app)
        bench.print_environment(dbs)
    bench.print_table(["log", "what", "runs", "median ms", "p95 ms", "max ms"], rows,
                      title="Audit explorer filtered by household (PostgreSQL; target: median < 300 ms)")


if __name__ == "__main__":
    main()
