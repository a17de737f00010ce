"""Factories for test data, built through the same operations the app uses."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pyotp

from netwerk import operations as ops
from netwerk.db import db
from netwerk.models import Organisation, User
from netwerk.security import hash_password
from privacy.audit import Actor
from privacy.models import CovenantVersion
from privacy.operations import CovenantSpec, PartySpec, RuleSpec, create_covenant_version

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


PURPOSES = {"signalering": "Signalering", "procesregie": "Procesregie",
            "strafrechtelijke_aanpak": "Strafrechtelijke aanpak", "nazorg": "Nazorg"}
CATEGORIES = {"betrokkenheid": ("Betrokkenheid", False, False), "zorgen": ("Zorgen en hulpvraag", False, False),
              "gezondheid": ("Gezondheid", True, False), "strafrechtelijk": ("Strafrechtelijk", False, True),
              "school": ("School en leerplicht", False, False), "wonen": ("Wonen", False, False),
              "plan": ("Plan en acties", False, False)}


def make_covenant(*orgs: Organisation, rules: list[RuleSpec] | None = None, version: str | None = None,
                  valid_from: date | None = None, valid_until: date | None = None,
                  joined_on: date | None = None, left_on: date | None = None) -> CovenantVersion:
    """A covenant in force today with ``orgs`` as parties and ``rules`` (default: none)."""
    today = date.today()
    spec = CovenantSpec(
        version=version or f"test-{next(_counter)}", title="Testconvenant",
        valid_from=valid_from or today - timedelta(days=30), valid_until=valid_until,
        purposes=PURPOSES, categories=CATEGORIES,
        parties=[PartySpec(o.id, o.org_type, joined_on or today - timedelta(days=30), left_on) for o in orgs],
        rules=rules or [],
    )
    covenant = create_covenant_version(spec, SYSTEM)
    db.session.commit()
    return covenant


def allow(org: Organisation, category: str = "zorgen", purpose: str = "signalering",
          consent_step: str | None = None, by_type: bool = False) -> RuleSpec:
    receiver = f"type:{org.org_type}" if by_type else f"org:{org.id}"
    return RuleSpec(purpose, category, receiver, True, "art. 5", "wettelijke_taak", consent_step)


def current_code(user: User, offset_steps: int = 0) -> str:
    totp = pyotp.TOTP(user.totp_secret)
    import time

    return totp.at(time.time() + 30 * offset_steps)
