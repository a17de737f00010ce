"""Factories for test data, built through the same operations the app uses."""

from __future__ import annotations

import itertools

import pyotp

from netwerk import operations as ops
from netwerk.db import db
from netwerk.models import Organisation, User
from netwerk.security import hash_password
from privacy.audit import Actor

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
SYSTEM = Actor.system("tests")


def make_org(name: str | None = None, org_type: str = "cjg", domain: str = "zorg") -> Organisation:
    org = ops.create_organisation(
        ops.OrganisationData(name=name or f"Organisatie {next(_counter)}", org_type=org_type, domain=domain),
        SYSTEM,
    )
    db.session.commit()
    return org


def make_user(*roles: str, org: Organisation | None = None, email: str | None = None,
              password: str = PASSWORD, totp: bool = False, name: str | None = None) -> User:
    """A ready-to-use account (no forced password change) with ``roles``."""
    org = org or make_org()
    n = next(_counter)
    user, _ = ops.create_user(
        ops.UserData(email=email or f"gebruiker{n}@example.test", name=name or f"Gebruiker {n}",
                     organisation_id=org.id, roles=set(roles or ("deelnemer",))),
        SYSTEM,
    )
    user.password_hash = hash_password(password)
    user.must_change_password = False
    if totp:
        user.totp_secret = pyotp.random_base32()
        user.totp_enabled = True
    db.session.commit()
    return user


def current_code(user: User, offset_steps: int = 0) -> str:
    totp = pyotp.TOTP(user.totp_secret)
    import time

    return totp.at(time.time() + 30 * offset_steps)
