"""Login latency through the Flask test client, with the production argon2 parameters.

Each sample is a fresh client: GET /inloggen (for the CSRF token, not timed), then the
timed POST /inloggen. Three kinds are interleaved so drift hits them equally:

* ok            - right e-mail and password (302 to the dashboard, session row, audit entry)
* wrong-password - known e-mail, wrong password (422, failure count, audit entry)
* unknown-email  - e-mail without an account (422, dummy argon2 check, audit entry)

The two failures must cost about the same, or the form reveals who has an account.
Interleaving also keeps the failure count of the account below the lock-out limit, so the
default LOGIN_MAX_FAILURES applies and no attempt takes the (hash-free) "locked" path.

    .venv/bin/python bench/login_latency.py [-n 50] [--warmup 3] [--backends sqlite]
"""

from __future__ import annotations

import argparse
import re

import _common as bench  # first: puts the project on sys.path
from flask import Flask

from config import Config
from netwerk.db import db
from netwerk.models import User
from netwerk.security import check_password
from tests.factories import make_org, make_user

PASSWORD = "Vier-lange-woorden-als-wachtwoord"
EMAIL = "bench.gebruiker@example.org"
FAILED_MESSAGE = "E-mailadres of wachtwoord klopt niet."
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')

KINDS: dict[str, tuple[str, str, int]] = {  # kind -> (e-mail, password, expected status)
    "ok": (EMAIL, PASSWORD, 302),
    "wrong-password": (EMAIL, PASSWORD + "x", 422),
    "unknown-email": ("niemand.bekend@example.org", PASSWORD, 422),
}


def one_login(app: Flask, kind: str) -> float:
    email, password, expected = KINDS[kind]
    client = app.test_client()
    page = client.get("/inloggen")
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on /inloggen (status {page.status_code})"
    data = {"csrf_token": match.group(1) or match.group(2), "email": email, "password": password}
    seconds, response = bench.time_call(lambda: client.post("/inloggen", data=data))
    assert response.status_code == expected, f"{kind}: status {response.status_code}, expected {expected}"
    if expected == 422:
        assert FAILED_MESSAGE in response.get_data(as_text=True), f"{kind}: not the generic failure message"
    return seconds


def check_argon2_parameters(app: Flask) -> None:
    defaults = Config()
    wanted = (defaults.ARGON2_TIME_COST, defaults.ARGON2_MEMORY_COST, defaults.ARGON2_PARALLELISM)
    actual = tuple(app.config[k] for k in ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM"))
    assert actual == wanted, f"argon2 parameters {actual} are not the config defaults {wanted}"
    print(f"# argon2id time_cost={actual[0]} memory_cost={actual[1]} KiB parallelism={actual[2]} "
          "(config defaults)")


def run(app: Flask, backend: str, n: int, warmup: int) -> None:
    with app.app_context():
        check_argon2_parameters(app)
        org = make_org("Bench organisatie")
        user = make_user("deelnemer", org=org, email=EMAIL, password=PASSWORD, name="Bench Gebruiker")
        stored_hash = user.password_hash
        assert stored_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored_hash[:40]
        db.session.remove()

    samples: dict[str, list[float]] = {kind: [] for kind in KINDS}
    order = list(KINDS)
    for i in range(warmup + n):
        rotated = order[i % len(order):] + order[:i % len(order)]
        for kind in rotated:
            seconds = one_login(app, kind)
            if i >= warmup:
                samples[kind].append(seconds)

    with app.app_context():
        def verify() -> bool:
            return check_password(stored_hash, PASSWORD)

        assert verify()
        samples["argon2 verify only"] = [bench.time_call(verify)[0] for _ in range(n)]
        user = db.session.scalar(db.select(User).where(User.email == EMAIL))
        assert user is not None and user.locked_until is None, "the account got locked during the run"
        db.session.remove()

    rows = []
    for kind, values in samples.items():
        s = bench.Summary.of(values)
        rows.append([kind, s.n, bench.ms(s.median), bench.ms(s.p95), bench.ms(s.mean),
                     bench.ms(s.minimum), bench.ms(s.maximum)])
    bench.print_table(["POST /inloggen", "n", "median ms", "p95 ms", "mean ms", "min ms", "max ms"], rows,
                      title=f"Login latency on {backend} ({warmup} warm-up rounds not counted)")
    wrong = bench.Summary.of(samples["wrong-password"]).median
    unknown = bench.Summary.of(samples["unknown-email"]).median
    diff = unknown - wrong
    print(f"unknown-email minus wrong-password (medians): {diff * 1000:+.2f} ms "
          f"({diff / wrong * 100:+.1f}% of wrong-password)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50, help="timed logins of each kind (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default %(default)s)")
    bench.backends_arg(parser, default=("sqlite",))
    args = parser.parse_args()
    with bench.workspace("login") as dbs:
        for backend in bench.parse_backends(args.backends):
            database = dbs.new(backend)
            app = bench.migrated_app(database.instance, database.url)
            try:
                run(app, backend, args.n, args.warmup)
            finally:
                bench.dispose(app)
        bench.print_environment(dbs)


if __name__ == "__main__":
    main()
