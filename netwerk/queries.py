"""Read queries for screens, each loading what its screen shows in a fixed number of
statements (no lazy loads in templates)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from netwerk.db import db
from netwerk.models import Organisation, OutboxMail, User


def organisations(include_inactive: bool = True) -> list[Organisation]:
    stmt = select(Organisation).order_by(func.lower(Organisation.name))
    if not include_inactive:
        stmt = stmt.where(Organisation.active.is_(True))
    return list(db.session.scalars(stmt))


def organisation_choices(include: object = None) -> list[SelectChoice]:
    """Active organisations for a select, plus ``include`` (a user's current one)."""
    orgs = [o for o in organisations() if o.active or o.id == include]
    return [SelectChoice(str(o.id), o.name) for o in orgs]


def users_with_organisation() -> list[User]:
    stmt = (select(User).options(selectinload(User.role_rows))
            .order_by(func.lower(User.name)))
    return list(db.session.scalars(stmt).unique())


def outbox(limit: int = 200) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.created_at.desc()).limit(limit)))
