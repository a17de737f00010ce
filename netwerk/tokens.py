"""The only module that calls python-jose.

python-jose accepts a public key as an HMAC secret when ``algorithms`` is not pinned,
skips ``aud``/``exp`` checks when those claims are absent, and never checks that ``iat``
lies in the past. This wrapper pins one algorithm, requires every claim, checks ``iat``
itself, uses a dedicated 32-byte key from the key file and never touches JWE.
Revocation (by ``jti``) is checked by the caller against the ``api_token`` table.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from jose import JWTError, jwt

from netwerk.db import utcnow

ALGORITHM = "HS256"
ALGORITHMS = [ALGORITHM]
ISSUER = "netwerk"
AUDIENCE = "netwerk-api"
REQUIRED_CLAIMS = ("exp", "iat", "aud", "iss", "sub", "jti")
CLOCK_SKEW = timedelta(seconds=30)


class TokenError(Exception):
    """Any reason a token is not accepted; never tells the client which."""


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    subject: str
    issued_at: datetime
    expires_at: datetime


def _key() -> bytes:
    return current_app.extensions["netwerk.master_keys"].jwt


SESSION_TOKEN_LIMIT = timedelta(hours=8)


def issue(subject: str, lifetime: timedelta, limit: timedelta = SESSION_TOKEN_LIMIT) -> IssuedToken:
    """A signed token for ``subject``; its lifetime is capped at ``limit`` whatever the caller
    (or the configuration) asks. Personal tokens pass their own, longer limit."""
    now = utcnow().replace(microsecond=0)
    expires = now + min(lifetime, limit)
    jti = secrets.token_urlsafe(24)
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "sub": subject, "jti": jti,
        "iat": int(now.timestamp()), "exp": int(expires.timestamp()),
    }
    token = jwt.encode(claims, _key(), algorithm=ALGORITHM)
    return IssuedToken(token, jti, subject, now, expires)


def decode(token: str) -> dict:
    """Verify ``token`` and return its claims, or raise :class:`TokenError`."""
    if not token or len(token) > 4096:
        raise TokenError("missing or oversized token")
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise TokenError("unexpected algorithm")
        claims = jwt.decode(
            token, _key(), algorithms=ALGORITHMS, audience=AUDIENCE, issuer=ISSUER,
            options={f"require_{name}": True for name in REQUIRED_CLAIMS}
            | {"leeway": int(CLOCK_SKEW.total_seconds())},
        )
    except JWTError as exc:
        raise TokenError("invalid token") from exc
    iat = claims.get("iat")
    if not isinstance(iat, int) or iat > utcnow().timestamp() + CLOCK_SKEW.total_seconds():
        raise TokenError("token issued in the future")
    if not isinstance(claims.get("jti"), str) or not isinstance(claims.get("sub"), str):
        raise TokenError("malformed claims")
    return claims
