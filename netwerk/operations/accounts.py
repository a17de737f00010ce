"""Operations of the beheerder: organisations (ketenpartners) and user accounts with their
role grants. Never case content."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from netwerk.db import db
from netwerk.mail import queue_mail
from netwerk.models import ORG_DOMAINS, ORG_TYPES, ROLES, Organisation, User, UserRole
from netwerk.operations.common import OperationError, end_all_access, user_subject
from netwerk.security import hash_password, temporary_password
from privacy.audit import Actor, record

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
            end_all_access(user)
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
        record("user.roles_changed", actor=actor, summary="roles changed", subjects=user_subject(user),
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
    record("user.created", actor=actor, summary="user created", subjects=user_subject(user),
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
        record("user.updated", actor=actor, summary="user updated", subjects=user_subject(user),
               object_type="user", object_id=user.id, meta={"fields": changed})
    if "organisation_id" in changed:
        end_all_access(user)  # a move to another organisation changes what they may see
    _set_roles(user, data.roles, actor)
    return user


def reset_password(user: User, actor: Actor) -> str:
    """A beheerder sets a one-time password: all access ends, a change is forced."""
    initial = temporary_password()
    user.password_hash = hash_password(initial)
    user.must_change_password = True
    user.failed_logins, user.locked_until = 0, None
    end_all_access(user)
    record("user.password_reset", actor=actor, summary="password reset by beheerder",
           subjects=user_subject(user), object_type="user", object_id=user.id)
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
        end_all_access(user)
        queue_mail("account_deactivated", user.email, user.name, "/")
    record("user.activated" if active else "user.deactivated", actor=actor,
           summary="user activated" if active else "user deactivated",
           subjects=user_subject(user), object_type="user", object_id=user.id)
