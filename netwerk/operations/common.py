"""What every operation module shares: the refusal type and the helpers that touch more
than one area (ending a user's access, naming a user as an audit subject)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from netwerk.db import db, utcnow
from netwerk.models import ApiToken, LoginSession, User
from privacy.audit import blind


class OperationError(Exception):
    """A refusal with a Dutch message for the user; nothing has been written."""

    def __init__(self, message: str, field: str | None = None, code: str = "ongeldig") -> None:
        super().__init__(message)
        self.message, self.field, self.code = message, field, code


def user_subject(user: User) -> list[str]:
    return [blind("user", user.id)]


def bump_version(obj: Any, expected: int) -> bool:
    """Optimistic concurrency for any row with ``id`` and ``version``: raise the version by
    one only if it is still ``expected``, in one conditional UPDATE, so of two concurrent
    writers exactly one passes. False (and ``obj`` refreshed to the winner's state) for the
    loser; the caller raises its own "changed meanwhile" refusal."""
    model = type(obj)
    done = db.session.execute(update(model).where(model.id == obj.id, model.version == expected)
                              .values(version=expected + 1).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        db.session.refresh(obj)
        return False
    obj.version = expected + 1
    return True



def end_all_access(user: User) -> int:
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
