"""Operations of signing in and of one's own account: login with lock-out, the second
factor, browser sessions, password and two-factor changes, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from netwerk import tokens
from netwerk.db import db, utcnow
from netwerk.models import TOKEN_SCOPES, ApiToken, LoginSession, User
from netwerk.operations.common import OperationError, user_subject
from netwerk.security import check_password, dummy_check, hash_password, password_problems, verify_totp
from privacy.audit import Actor, blind, record

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
               subjects=user_subject(user), meta={"reason": "locked"})
        raise OperationError(LOGIN_REFUSED, code="inloggen_mislukt")
    if not check_password(user.password_hash, password):
        _count_failure(user)
        record("auth.login", actor=_as(actor, user), outcome="failure", summary="login failed",
               subjects=user_subject(user),
               meta={"reason": "bad_password", "failures": user.failed_logins})
        raise OperationError(LOGIN_REFUSED, code="inloggen_mislukt")
    if not user.active:
        record("auth.login", actor=_as(actor, user), outcome="failure", summary="login refused: inactive",
               subjects=user_subject(user), meta={"reason": "inactive"})
        raise OperationError("Dit account is gedeactiveerd. Neem contact op met uw beheerder.",
                             code="gedeactiveerd")
    if not user.organisation.active:
        record("auth.login", actor=_as(actor, user), outcome="failure", summary="login refused: organisation inactive",
               subjects=user_subject(user), meta={"reason": "organisation_inactive"})
        raise OperationError("Uw organisatie is niet actief in Netwerk. Neem contact op met uw beheerder.",
                             code="organisatie_inactief")
    if user.is_demo and not current_app.config["DEMO_MODE"]:
        # Demo accounts share a published password and skip two-factor: never outside the demo.
        record("auth.login", actor=_as(actor, user), outcome="failure", summary="login refused: demo account",
               subjects=user_subject(user), meta={"reason": "demo_account"})
        raise OperationError("Demo-accounts werken alleen in de demo-omgeving.", code="demo_account")
    if not user.totp_enabled:
        # With a second factor the count is reset only once the code is right too;
        # otherwise starting the login again would reset the lock-out on code guessing.
        user.failed_logins = 0
    return LoginResult(user, needs_second_factor=user.totp_enabled)


def _count_failure(user: User) -> None:
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
               summary="second factor refused: locked", subjects=user_subject(user), meta={"reason": "locked"})
        raise OperationError(
            "Dit account is tijdelijk geblokkeerd na te veel mislukte pogingen. Probeer het later opnieuw.",
            field="code", code="geblokkeerd",
        )
    timecode = verify_totp(user.totp_secret or "", code, user.totp_last_timecode)
    if timecode is None:
        _count_failure(user)
        record("auth.second_factor", actor=_as(actor, user), outcome="failure",
               summary="second factor failed", subjects=user_subject(user))
        raise OperationError("De code klopt niet of is al gebruikt.", field="code")
    user.totp_last_timecode = timecode
    user.failed_logins = 0


def start_session(user: User, actor: Actor, two_factor_done: bool) -> LoginSession:
    row = LoginSession(id=secrets.token_urlsafe(32), user_id=user.id, ip=actor.ip,
                       two_factor_done=two_factor_done)
    db.session.add(row)
    user.last_login_at = utcnow()
    db.session.flush()
    record("auth.login", actor=_as(actor, user), summary="login succeeded", subjects=user_subject(user),
           meta={"two_factor": two_factor_done})
    return row


def end_session(row: LoginSession, actor: Actor) -> None:
    if row.ended_at is None:
        row.ended_at = utcnow()
        record("auth.logout", actor=actor, summary="logout", object_type="login_session")


# --- own account ----------------------------------------------------------------------------

def change_password(user: User, current: str, new: str, actor: Actor,
                    keep_session: LoginSession | None = None) -> None:
    if not check_password(user.password_hash, current):
        record("account.password_change", actor=actor, outcome="failure",
               summary="password change refused", subjects=user_subject(user))
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
    record("account.password_change", actor=actor, summary="password changed", subjects=user_subject(user))


def enable_two_factor(user: User, secret: str, code: str, actor: Actor,
                      login_session: LoginSession | None = None) -> None:
    """Turn on TOTP; the enrolment code also proves the second factor for this session."""
    timecode = verify_totp(secret, code, None)
    if timecode is None:
        raise OperationError("De code klopt niet. Controleer de tijd op uw telefoon en probeer het opnieuw.",
                             field="code")
    user.totp_secret = secret
    user.totp_enabled = True
    user.totp_last_timecode = timecode
    if login_session is not None:
        login_session.two_factor_done = True
    record("account.2fa_enabled", actor=actor, summary="two-factor enabled", subjects=user_subject(user))


def confirm_session_second_factor(user: User, code: str, login_session: LoginSession, actor: Actor) -> None:
    """A session that logged in before the user enrolled proves the second factor now."""
    check_second_factor(user, code, actor)
    login_session.two_factor_done = True
    record("auth.second_factor", actor=actor, summary="second factor confirmed for session",
           subjects=user_subject(user), object_type="login_session")


def disable_two_factor(user: User, password: str, actor: Actor, required: bool) -> None:
    if required:
        raise OperationError("Voor uw rol is tweestapsverificatie verplicht; u kunt deze niet uitzetten.")
    if not check_password(user.password_hash, password):
        raise OperationError("Het wachtwoord klopt niet.", field="password")
    user.totp_secret = None
    user.totp_enabled = False
    user.totp_last_timecode = None
    record("account.2fa_disabled", actor=actor, summary="two-factor disabled", subjects=user_subject(user))


# --- API tokens -----------------------------------------------------------------------------

def issue_api_token(user: User, actor: Actor) -> tokens.IssuedToken:
    hours = current_app.config["API_TOKEN_HOURS"]
    issued = tokens.issue(str(user.id), timedelta(hours=hours))
    db.session.add(ApiToken(jti=issued.jti, user_id=user.id, issued_at=issued.issued_at,
                            expires_at=issued.expires_at))
    record("auth.token_issued", actor=_as(actor, user), summary="api token issued",
           subjects=user_subject(user), object_type="api_token", meta={"expires_at": issued.expires_at.isoformat()})
    return issued


def revoke_api_token(token: ApiToken, actor: Actor) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record("auth.token_revoked", actor=actor, summary="api token revoked", object_type="api_token",
               object_id=token_reference(token), meta={"kind": token.kind})


def token_reference(token: ApiToken) -> str:
    """How the audit log names a token: a hash of its ``jti``, the same as the access point
    of the requests made with it, so a privacy officer can follow one token's uses."""
    return hashlib.sha256(token.jti.encode()).hexdigest()[:24]


# Personal tokens: made in the profile (never through the API: a token cannot mint tokens),
# named, scoped, and valid for at most PERSONAL_TOKEN_MAX_DAYS.
PERSONAL_TOKEN_DAYS = (7, 30, 90, 180, 365)


def personal_token_days() -> tuple[int, ...]:
    limit = current_app.config["PERSONAL_TOKEN_MAX_DAYS"]
    return tuple(d for d in PERSONAL_TOKEN_DAYS if d <= limit) or (limit,)


def active_personal_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.kind == "persoonlijk",
                               ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow())
        .order_by(ApiToken.issued_at.desc())))


def create_personal_token(user: User, *, name: str, scopes: list[str], days: int, password: str,
                          actor: Actor) -> tokens.IssuedToken:
    """Issue a named token with ``scopes`` for ``days``; the current password confirms that
    the person at the keyboard owns the session (a borrowed session must not mint tokens)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 80 or any(ord(ch) < 32 for ch in name):
        raise OperationError("Geef het token een naam van 1 tot 80 tekens.", field="name")
    if not scopes or set(scopes) - set(TOKEN_SCOPES):
        raise OperationError("Kies waartoe het token toegang geeft.", field="scopes")
    if days not in personal_token_days():
        raise OperationError("Kies een geldigheidsduur uit de lijst.", field="days")
    if not check_password(user.password_hash, password):
        record("auth.token_issued", actor=actor, outcome="failure", summary="personal token refused: password",
               subjects=user_subject(user), object_type="api_token")
        raise OperationError("Het wachtwoord klopt niet.", field="password")
    if len(active_personal_tokens(user)) >= current_app.config["PERSONAL_TOKEN_MAX_ACTIVE"]:
        raise OperationError("U heeft het maximale aantal tokens. Trek eerst een token in dat u niet meer "
                             "gebruikt.", field="name")
    lifetime = timedelta(days=days)
    issued = tokens.issue(str(user.id), lifetime, limit=lifetime)
    ordered = " ".join(s for s in TOKEN_SCOPES if s in scopes)
    token = ApiToken(jti=issued.jti, user_id=user.id, issued_at=issued.issued_at, expires_at=issued.expires_at,
                     kind="persoonlijk", name=name, scopes=ordered)
    db.session.add(token)
    record("auth.token_issued", actor=actor, summary="personal api token issued", subjects=user_subject(user),
           object_type="api_token", object_id=token_reference(token),
           meta={"kind": "persoonlijk", "scopes": ordered, "expires_at": issued.expires_at.isoformat()})
    return issued


def note_token_use(token: ApiToken, actor: Actor, *, method: str, route: str, scope: str | None,
                   allowed: bool) -> None:
    """Every request made with a token is audited (and stamps its last use), whether or not
    its scope allowed the request; ``route`` is the URL rule, without ids or query."""
    token.last_used_at = utcnow()
    record("auth.token_used", actor=actor, outcome="success" if allowed else "denied",
           summary="api token used" if allowed else "api token used outside its scope",
           object_type="api_token", object_id=token_reference(token),
           meta={"kind": token.kind, "method": method, "route": route, "scope": scope})
