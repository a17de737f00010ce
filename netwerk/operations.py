"""Every state change of accounts, sessions, tokens and organisations.

An operation validates, changes the database, writes its audit entry and queues what must
happen after commit, and it only ``flush()``es: the request (or job) owns the transaction,
so a failure anywhere leaves nothing half-written. The acting user is always passed in.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from netwerk import tokens
from netwerk.db import db, utcnow
from netwerk.mail import queue_mail
from netwerk.models import (
    ORG_DOMAINS,
    ORG_TYPES,
    ROLES,
    ApiToken,
    LoginSession,
    Organisation,
    User,
    UserRole,
)
from netwerk.security import (
    check_password,
    dummy_check,
    hash_password,
    password_problems,
    temporary_password,
    verify_totp,
)
from privacy.audit import Actor, blind, record


class OperationError(Exception):
    """A refusal with a Dutch message for the user; nothing has been written."""

    def __init__(self, message: str, field: str | None = None, code: str = "ongeldig") -> None:
        super().__init__(message)
        self.message, self.field, self.code = message, field, code


def _user_subject(user: User) -> list[str]:
    return [blind("user", user.id)]


# --- login ----------------------------------------------------------------------------------

@dataclass
class LoginResult:
    user: User
    needs_second_factor: bool


# One answer, at one cost (a password hash), for an unknown e-mail, a wrong password and a
# locked account: otherwise the lock-out would tell anyone who has an account.
LOGIN_REFUSED = ("E-mailadres of wachtwoord klopt niet. Na te veel mislukte pogingen kunt u "
                 "een kwartier niet inloggen.")


def authenticate(email: str, password: str, actor: Actor) -> LoginResult:
    """Check e-mail and password, with lock-out after repeated failures.

    Unknown e-mail, wrong password and a locked account get the same message and cost the
    same hashing time (the locked account's real hash is not checked, so the lock is no
    password oracle); only the audit log records which it was.
    """
    email = (email or "").strip().lower()
    # FOR UPDATE: parallel attempts on one account queue here, so none of them overwrites
    # another's failure count (or, for the second factor, spends the same code twice).
    user = db.session.scalar(select(User).where(func.lower(User.email) == email).with_for_update(of=User))
    now = utcnow()
    if user is None:
        dummy_check(password)
        record("auth.login", actor=actor, outcome="failure", summary="login failed",
               meta={"reason": "unknown_email", "email": blind("email", email)})
        raise OperationError(LOGIN_REFUSED, code="inloggen_mislukt")
    if user.locked_until and user.locked_until > now:
        dummy_check(password)
        record("auth.login", actor=_as(actor, user), outcome="failure", summary="login refused: locked",
               subjects=_user_subject(user), meta={"reason": "locked"})
        raise OperationError(LOGIN_REFUSED, code="inloggen_mislukt")
    if not check_password(user.password_hash, password):
        _count_failure(user, now)
        record("auth.login", actor=_as(actor, user), outcome="failure", summary="login failed",
               subjects=_user_subject(user),
               meta={"reason": "bad_password", "failures": user.failed_logins})
        raise OperationError(LOGIN_REFUSED, code="inloggen_mislukt")
    if not user.active:
        record("auth.login", actor=_as(actor, user), outcome="failure", summary="login refused: inactive",
               subjects=_user_subject(user), meta={"reason": "inactive"})
        raise OperationError("Dit account is gedeactiveerd. Neem contact op met uw beheerder.",
                             code="gedeactiveerd")
    if not user.organisation.active:
        record("auth.login", actor=_as(actor, user), outcome="failure", summary="login refused: organisation inactive",
               subjects=_user_subject(user), meta={"reason": "organisation_inactive"})
        raise OperationError("Uw organisatie is niet actief in Netwerk. Neem contact op met uw beheerder.",
                             code="organisatie_inactief")
    if user.is_demo and not current_app.config["DEMO_MODE"]:
        # Demo accounts share a published password and skip two-factor: never outside the demo.
        record("auth.login", actor=_as(actor, user), outcome="failure", summary="login refused: demo account",
               subjects=_user_subject(user), meta={"reason": "demo_account"})
        raise OperationError("Demo-accounts werken alleen in de demo-omgeving.", code="demo_account")
    if not user.totp_enabled:
        # With a second factor the count is reset only once the code is right too;
        # otherwise starting the login again would reset the lock-out on code guessing.
        user.failed_logins = 0
    return LoginResult(user, needs_second_factor=user.totp_enabled)


def _count_failure(user: User, now: object) -> None:
    cfg = current_app.config
    user.failed_logins += 1
    if user.failed_logins >= cfg["LOGIN_MAX_FAILURES"]:
        user.locked_until = utcnow() + timedelta(minutes=cfg["LOGIN_LOCK_MINUTES"])
        user.failed_logins = 0


def _as(actor: Actor, user: User) -> Actor:
    """The request's actor, attributed to ``user`` (used before a session exists)."""
    return Actor(user_id=user.id, org_id=user.organisation_id, role=user.primary_role,
                 access_point=actor.access_point, ip=actor.ip, roles=user.roles)


def check_second_factor(user: User, code: str, actor: Actor) -> None:
    # Failed codes count towards the lock-out, so a lock must also stop a login that
    # already passed the password step; otherwise the code could be guessed on.
    if user.locked_until and user.locked_until > utcnow():
        record("auth.second_factor", actor=_as(actor, user), outcome="failure",
               summary="second factor refused: locked", subjects=_user_subject(user), meta={"reason": "locked"})
        raise OperationError(
            "Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. Probeer het later opnieuw.",
            field="code", code="geblokkeerd",
        )
    timecode = verify_totp(user.totp_secret or "", code, user.totp_last_timecode)
    if timecode is None:
        _count_failure(user, utcnow())
        record("auth.second_factor", actor=_as(actor, user), outcome="failure",
               summary="second factor failed", subjects=_user_subject(user))
        raise OperationError("De code klopt niet of is al gebruikt.", field="code")
    user.totp_last_timecode = timecode
    user.failed_logins = 0


def start_session(user: User, actor: Actor, two_factor_done: bool) -> LoginSession:
    row = LoginSession(id=secrets.token_urlsafe(32), user_id=user.id, ip=actor.ip,
                       two_factor_done=two_factor_done)
    db.session.add(row)
    user.last_login_at = utcnow()
    db.session.flush()
    record("auth.login", actor=_as(actor, user), summary="login succeeded", subjects=_user_subject(user),
           meta={"two_factor": two_factor_done})
    return row


def end_session(row: LoginSession, actor: Actor) -> None:
    if row.ended_at is None:
        row.ended_at = utcnow()
        record("auth.logout", actor=actor, summary="logout", object_type="login_session")


def _end_all_access(user: User) -> int:
    """End every browser session and revoke every API token of ``user`` at once."""
    now = utcnow()
    ended = db.session.execute(
        update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    ).rowcount
    revoked = db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    return ended + revoked


# --- own account ----------------------------------------------------------------------------

def change_password(user: User, current: str, new: str, actor: Actor,
                    keep_session: LoginSession | None = None) -> None:
    if not check_password(user.password_hash, current):
        record("account.password_change", actor=actor, outcome="failure",
               summary="password change refused", subjects=_user_subject(user))
        raise OperationError("Het huidige wachtwoord klopt niet.", field="current_password")
    problems = password_problems(new, user.email, user.name)
    if check_password(user.password_hash, new):
        problems.append("Kies een ander wachtwoord dan het huidige.")
    if problems:
        raise OperationError(" ".join(problems), field="new_password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    # Other sessions may belong to whoever knew the old password: end them.
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None),
               LoginSession.id != (keep_session.id if keep_session else ""))
        .values(ended_at=utcnow())
    )
    # So may API tokens: one fetched with the old password must not outlive it.
    db.session.execute(
        update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    record("account.password_change", actor=actor, summary="password changed", subjects=_user_subject(user))


def enable_two_factor(user: User, secret: str, code: str, actor: Actor) -> None:
    timecode = verify_totp(secret, code, None)
    if timecode is None:
        raise OperationError("De code klopt niet. Controleer de tijd op uw telefoon en probeer het opnieuw.",
                             field="code")
    user.totp_secret = secret
    user.totp_enabled = True
    user.totp_last_timecode = timecode
    record("account.2fa_enabled", actor=actor, summary="two-factor enabled", subjects=_user_subject(user))


def disable_two_factor(user: User, password: str, actor: Actor, required: bool) -> None:
    if required:
        raise OperationError("Voor uw rol is tweestapsverificatie verplicht; u kunt deze niet uitzetten.")
    if not check_password(user.password_hash, password):
        raise OperationError("Het wachtwoord klopt niet.", field="password")
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_timecode = None
    record("account.2fa_disabled", actor=actor, summary="two-factor disabled", subjects=_user_subject(user))


# --- API tokens -----------------------------------------------------------------------------

def issue_api_token(user: User, actor: Actor) -> tokens.IssuedToken:
    hours = current_app.config["API_TOKEN_HOURS"]
    issued = tokens.issue(str(user.id), timedelta(hours=hours))
    db.session.add(ApiToken(jti=issued.jti, user_id=user.id, issued_at=issued.issued_at,
                            expires_at=issued.expires_at))
    record("auth.token_issued", actor=_as(actor, user), summary="api token issued",
           subjects=_user_subject(user), object_type="api_token", meta={"expires_at": issued.expires_at.isoformat()})
    return issued


def revoke_api_token(token: ApiToken, actor: Actor) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record("auth.token_revoked", actor=actor, summary="api token revoked", object_type="api_token")


# --- organisations --------------------------------------------------------------------------

@dataclass
class OrganisationData:
    name: str
    org_type: str
    domain: str
    email: str | None = None
    phone: str | None = None
    address: str | None = None


def _check_org(data: OrganisationData, existing: Organisation | None) -> None:
    if data.org_type not in ORG_TYPES:
        raise OperationError("Kies een bestaand type organisatie.", field="org_type")
    if data.domain not in ORG_DOMAINS:
        raise OperationError("Kies een bestaand domein.", field="domain")
    clash = db.session.scalar(select(Organisation).where(func.lower(Organisation.name) == data.name.lower()))
    if clash is not None and clash is not existing:
        raise OperationError("Er bestaat al een organisatie met deze naam.", field="name")


def create_organisation(data: OrganisationData, actor: Actor) -> Organisation:
    _check_org(data, None)
    org = Organisation(**data.__dict__)
    db.session.add(org)
    db.session.flush()
    record("organisation.created", actor=actor, summary="organisation created",
           object_type="organisation", object_id=org.id, meta={"org_type": org.org_type})
    return org


def update_organisation(org: Organisation, data: OrganisationData, actor: Actor) -> Organisation:
    _check_org(data, org)
    changed = sorted(k for k, v in data.__dict__.items() if getattr(org, k) != v)
    for key, value in data.__dict__.items():
        setattr(org, key, value)
    if changed:
        record("organisation.updated", actor=actor, summary="organisation updated",
               object_type="organisation", object_id=org.id, meta={"fields": changed})
    return org


def set_organisation_active(org: Organisation, active: bool, actor: Actor) -> None:
    """Deactivation ends the sessions and API tokens of everyone in the organisation."""
    if not active and actor.org_id == org.id:
        raise OperationError("U kunt uw eigen organisatie niet deactiveren.")
    if org.active == active:
        return
    org.active = active
    if not active:
        for user in db.session.scalars(select(User).where(User.organisation_id == org.id)):
            _end_all_access(user)
    record("organisation.activated" if active else "organisation.deactivated", actor=actor,
           summary="organisation activated" if active else "organisation deactivated",
           object_type="organisation", object_id=org.id)


# --- user accounts (beheerder) --------------------------------------------------------------

@dataclass
class UserData:
    email: str
    name: str
    organisation_id: uuid.UUID
    roles: set[str]
    phone: str | None = None


def _check_user(data: UserData, existing: User | None) -> Organisation:
    unknown = data.roles - set(ROLES)
    if unknown or not data.roles:
        raise OperationError("Kies minstens één bestaande rol.", field="roles")
    org = db.session.get(Organisation, data.organisation_id)
    if org is None:
        raise OperationError("Kies een bestaande organisatie.", field="organisation_id")
    if not org.active and (existing is None or existing.organisation_id != org.id):
        raise OperationError("Deze organisatie is niet actief.", field="organisation_id")
    clash = db.session.scalar(select(User).where(func.lower(User.email) == data.email.lower()))
    if clash is not None and clash is not existing:
        raise OperationError("Er bestaat al een account met dit e-mailadres.", field="email")
    return org


def _set_roles(user: User, roles: set[str], actor: Actor) -> None:
    current = user.roles
    for row in [r for r in user.role_rows if r.role not in roles]:
        user.role_rows.remove(row)
    for role in sorted(roles - current):
        user.role_rows.append(UserRole(role=role))
    if roles != current:
        record("user.roles_changed", actor=actor, summary="roles changed", subjects=_user_subject(user),
               object_type="user", object_id=user.id,
               meta={"granted": sorted(roles - current), "revoked": sorted(current - roles)})


def create_user(data: UserData, actor: Actor, demo_password_hash: str | None = None) -> tuple[User, str]:
    """Create an account; returns it with its one-time password (shown once).

    ``demo_password_hash`` makes a demo account with the documented demo password (hashed
    once by the caller: argon2 per account would make the demo take seconds).
    """
    _check_user(data, None)
    demo = demo_password_hash is not None
    initial = "" if demo else temporary_password()
    user = User(email=data.email.lower(), name=data.name, phone=data.phone,
                organisation_id=data.organisation_id,
                password_hash=demo_password_hash if demo else hash_password(initial),
                must_change_password=not demo, is_demo=demo)
    db.session.add(user)
    db.session.flush()
    record("user.created", actor=actor, summary="user created", subjects=_user_subject(user),
           object_type="user", object_id=user.id, meta={"organisation_id": str(data.organisation_id)})
    _set_roles(user, data.roles, actor)
    if not demo:
        queue_mail("account_created", user.email, user.name, "/inloggen", dedupe_key=f"created:{user.id}")
    return user, initial


def update_user(user: User, data: UserData, actor: Actor) -> User:
    _check_user(data, user)
    if actor.user_id == user.id and data.roles != user.roles:
        # Four eyes: a beheerder could otherwise grant themselves the privacy officer's
        # audit access or a content role; another beheerder has to do it, on the record.
        raise OperationError("U kunt uw eigen rollen niet wijzigen.", field="roles")
    changed = sorted(
        k for k, v in (("email", data.email.lower()), ("name", data.name), ("phone", data.phone),
                       ("organisation_id", data.organisation_id)) if getattr(user, k) != v
    )
    user.email, user.name, user.phone = data.email.lower(), data.name, data.phone
    user.organisation_id = data.organisation_id
    if changed:
        record("user.updated", actor=actor, summary="user updated", subjects=_user_subject(user),
               object_type="user", object_id=user.id, meta={"fields": changed})
    if "organisation_id" in changed:
        _end_all_access(user)  # a move to another organisation changes what they may see
    _set_roles(user, data.roles, actor)
    return user


def reset_password(user: User, actor: Actor) -> str:
    """A beheerder sets a one-time password: all access ends, a change is forced."""
    initial = temporary_password()
    user.password_hash = hash_password(initial)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    _end_all_access(user)
    record("user.password_reset", actor=actor, summary="password reset by beheerder",
           subjects=_user_subject(user), object_type="user", object_id=user.id)
    queue_mail("password_reset", user.email, user.name, "/inloggen")
    return initial


def set_user_active(user: User, active: bool, actor: Actor) -> None:
    """Deactivation ends the user's sessions and API tokens immediately."""
    if actor.user_id == user.id and not active:
        raise OperationError("U kunt uw eigen account niet deactiveren.")
    if user.active == active:
        return
    user.active = active
    if not active:
        _end_all_access(user)
        queue_mail("account_deactivated", user.email, user.name, "/")
    record("user.activated" if active else "user.deactivated", actor=actor,
           summary="user activated" if active else "user deactivated",
           subjects=_user_subject(user), object_type="user", object_id=user.id)
