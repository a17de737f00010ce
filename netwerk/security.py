"""Passwords (argon2id) and TOTP second factors."""

from __future__ import annotations

import base64
import io
import os
import secrets
import string
from datetime import UTC, datetime

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

TOTP_ISSUER = "Netwerk"
MIN_PASSWORD_LENGTH = 12


def _hasher() -> PasswordHasher:
    ext = current_app.extensions
    if "netwerk.hasher" not in ext:
        cfg = current_app.config
        ext["netwerk.hasher"] = PasswordHasher(
            time_cost=cfg["ARGON2_TIME_COST"],
            memory_cost=cfg["ARGON2_MEMORY_COST"],
            parallelism=cfg["ARGON2_PARALLELISM"],
        )
    return ext["netwerk.hasher"]


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def check_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash of a random password, verified when the e-mail is unknown so a login for a
# non-existent account costs the same time as one for a real account.
def dummy_check(password: str) -> None:
    ext = current_app.extensions
    if "netwerk.dummy_hash" not in ext:
        ext["netwerk.dummy_hash"] = hash_password(secrets.token_urlsafe(16))
    check_password(ext["netwerk.dummy_hash"], password)


def password_problems(password: str, email: str = "", name: str = "") -> list[str]:
    """Dutch reasons why a new password is not acceptable (empty when fine)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Het wachtwoord moet minstens {MIN_PASSWORD_LENGTH} tekens lang zijn.")
    if len(password) > 256:
        problems.append("Het wachtwoord mag hoogstens 256 tekens lang zijn.")
    lowered = password.lower()
    for part in [email.split("@")[0], *name.split()]:
        if len(part) >= 4 and part.lower() in lowered:
            problems.append("Het wachtwoord mag uw naam of e-mailadres niet bevatten.")
            break
    if len(set(password)) < 5:
        problems.append("Het wachtwoord bestaat uit te weinig verschillende tekens.")
    return problems


def temporary_password() -> str:
    """A one-time password for a new or reset account; the user must change it."""
    alphabet = string.ascii_letters + string.digits
    return "-".join("".join(secrets.choice(alphabet) for _ in range(5)) for _ in range(4))


# --- TOTP ---------------------------------------------------------------------------------

def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def qr_svg(uri: str) -> str:
    """The enrolment QR code as inline SVG: no external service, no image request."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, xmldecl=False, svgns=True,
                                    title="QR-code voor uw authenticator-app")
    return out.getvalue().decode("utf-8")


def verify_totp(secret: str, code: str, last_timecode: int | None) -> int | None:
    """Return the timecode the code belongs to, or None.

    One step of clock drift either way is accepted; a code whose timecode is not newer
    than the last one used is refused, so an intercepted code cannot be replayed.
    """
    code = (code or "").strip().replace(" ", "")
    # isascii: str.isdigit() also accepts e.g. Arabic-Indic digits, which compare_digest rejects
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(datetime.now(UTC))
    for timecode in (now, now - 1, now + 1):
        if last_timecode is not None and timecode <= last_timecode:
            continue
        if secrets.compare_digest(totp.generate_otp(timecode), code):
            return timecode
    return None


# --- sealed values for the session cookie ----------------------------------------------------
# Flask signs its session cookie but does not encrypt it. A value that must not be readable
# from a copy of the cookie is sealed with AES-GCM under a key derived from the key file,
# with ``binding`` (e.g. user and login session) as associated data.

def _session_cipher() -> AESGCM:
    ext = current_app.extensions
    if "netwerk.session_cipher" not in ext:
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"netwerk session seal v1")
        ext["netwerk.session_cipher"] = AESGCM(hkdf.derive(ext["netwerk.master_keys"].kek))
    return ext["netwerk.session_cipher"]


def seal(value: str, binding: str) -> str:
    nonce = os.urandom(12)
    sealed = _session_cipher().encrypt(nonce, value.encode("utf-8"), binding.encode("utf-8"))
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_sealed(token: object, binding: str) -> str | None:
    """The value :func:`seal` sealed with the same ``binding``, or None for anything else."""
    if not isinstance(token, str) or not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
        return _session_cipher().decrypt(raw[:12], raw[12:], binding.encode("utf-8")).decode("utf-8")
    except (ValueError, InvalidTag):  # bad base64 and bad UTF-8 are ValueErrors too
        return None
