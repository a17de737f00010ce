"""The python-jose wrapper (netwerk/tokens.py): forged, malformed and out-of-date tokens are
all refused with TokenError, and no other module talks to jose directly.

Tokens are forged by hand (base64url + HMAC/RSA from the standard library and
cryptography), so the refusals do not depend on the library under test to build them.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import json
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Flask, current_app

from netwerk import tokens
from netwerk.db import utcnow

ROOT = Path(__file__).resolve().parents[2]
SCANNED_PACKAGES = ("netwerk", "privacy", "meetings", "escalation")
ALLOWED = {Path("netwerk/tokens.py")}


# --- forging ---------------------------------------------------------------------------------

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
    return b64(raw)


DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def forge(claims: object, key: bytes, alg: str = "HS256", header: object | None = None) -> str:
    header = {"alg": alg, "typ": "JWT"} if header is None else header
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(key, signing_input.encode(), DIGESTS[alg]).digest()
    return f"{signing_input}.{b64(signature)}"


def key() -> bytes:
    return current_app.extensions["netwerk.master_keys"].jwt


def good_claims(**changes: object) -> dict:
    now = int(utcnow().timestamp())
    claims = {"iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "sub": "3f1e8a0c-0000-4000-8000-000000000001",
              "jti": secrets.token_urlsafe(24), "iat": now - 5, "exp": now + 3600}
    claims.update(changes)
    return claims


def refused(token: str) -> None:
    with pytest.raises(tokens.TokenError):
        tokens.decode(token)


# --- the wrapper ---------------------------------------------------------------------------------

def test_issued_token_round_trips(app: Flask):
    issued = tokens.issue("user-1", timedelta(hours=2))
    claims = tokens.decode(issued.token)
    assert claims["sub"] == "user-1" and claims["jti"] == issued.jti
    assert claims["aud"] == tokens.AUDIENCE and claims["iss"] == tokens.ISSUER
    assert claims["exp"] - claims["iat"] == 2 * 3600
    header = json.loads(base64.urlsafe_b64decode(issued.token.split(".")[0] + "=="))
    assert header["alg"] == "HS256"


def test_issue_caps_lifetime_at_8_hours(app: Flask):
    issued = tokens.issue("user-1", timedelta(days=30))
    assert issued.expires_at - issued.issued_at == timedelta(hours=8)


def test_hand_forged_token_with_the_real_key_is_accepted(app: Flask):
    """The forger is right, so every refusal below is about the one thing each test changes."""
    claims = good_claims()
    assert tokens.decode(forge(claims, key()))["jti"] == claims["jti"]


def test_token_signed_with_another_key(app: Flask):
    refused(forge(good_claims(), secrets.token_bytes(32)))


def test_tampered_payload(app: Flask):
    token = forge(good_claims(sub="user-a"), key())
    header, _, signature = token.split(".")
    refused(f"{header}.{segment(good_claims(sub='user-b'))}.{signature}")


@pytest.mark.parametrize("signature", ["", "AAAA", "e30"])
def test_alg_none(app: Flask, signature: str):
    for alg in ("none", "None", "NONE"):
        refused(f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(good_claims())}.{signature}")


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_other_hmac_algorithms_with_the_right_key(app: Flask, alg: str):
    refused(forge(good_claims(), key(), alg=alg))


def test_hs256_signature_under_an_hs512_header(app: Flask):
    signing_input = f"{segment({'alg': 'HS512', 'typ': 'JWT'})}.{segment(good_claims())}"
    signature = hmac.new(key(), signing_input.encode(), hashlib.sha256).digest()
    refused(f"{signing_input}.{b64(signature)}")


def test_rs256_token(app: Flask):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signing_input = f"{segment({'alg': 'RS256', 'typ': 'JWT'})}.{segment(good_claims())}"
    signature = private.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    refused(f"{signing_input}.{b64(signature)}")
    # and an RS256 header over an HMAC made with our key (algorithm confusion)
    hmac_signature = hmac.new(key(), signing_input.encode(), hashlib.sha256).digest()
    refused(f"{signing_input}.{b64(hmac_signature)}")


@pytest.mark.parametrize("claim", ["exp", "iat", "aud", "iss", "sub", "jti"])
def test_missing_required_claim(app: Flask, claim: str):
    claims = good_claims()
    del claims[claim]
    refused(forge(claims, key()))


@pytest.mark.parametrize(("claim", "value"), [
    ("aud", "another-api"), ("aud", ["another-api"]), ("aud", ""), ("iss", "someone-else"), ("iss", ""),
    ("sub", 42), ("sub", None), ("jti", 42), ("jti", None), ("iat", "yesterday"), ("iat", 1.5),
    ("exp", "tomorrow"),
])
def test_wrong_claim_values(app: Flask, claim: str, value: object):
    refused(forge(good_claims(**{claim: value}), key()))


def test_iat_in_the_future(app: Flask):
    now = int(utcnow().timestamp())
    refused(forge(good_claims(iat=now + 300, exp=now + 3600), key()))


def test_expired(app: Flask):
    now = int(utcnow().timestamp())
    refused(forge(good_claims(iat=now - 7200, exp=now - 120), key()))


@pytest.mark.parametrize("token", [
    "", ".", "..", "...", "a.b.c", "a.b", "a.b.c.d.e", "e30.e30.", "e30.e30.e30", "é.é.é", "\x00.\x00.\x00",
    f"{segment(b'not json')}.{segment({'sub': 'x'})}.AAAA", f"{segment([1, 2])}.{segment({'sub': 'x'})}.AAAA",
    f"{segment({'alg': 'HS256'})}.{segment(b'not json')}.AAAA", "x" * 5000,
], ids=lambda t: repr(t[:20]))
def test_malformed_tokens(app: Flask, token: str):
    refused(token)


@pytest.mark.parametrize("payload", [[1, 2], "a string", 42, None])
def test_signed_non_object_payload(app: Flask, payload: object):
    refused(forge(payload, key()))


def test_jwe_shaped_token(app: Flask):
    refused(".".join(segment({"alg": "dir", "enc": "A256GCM"}) if i == 0 else b64(b"x" * 16) for i in range(5)))


def test_header_with_key_hints_is_not_trusted(app: Flask):
    attacker_key = secrets.token_bytes(32)
    header = {"alg": "HS256", "typ": "JWT", "kid": "../../dev/null", "jwk": {"kty": "oct", "k": b64(attacker_key)}}
    refused(forge(good_claims(), attacker_key, header=header))


# --- nobody else calls jose --------------------------------------------------------------------

JWT_CALL = re.compile(r"\b(?:jwt|jws|jwe)\s*\.\s*(?:decode|encode)\s*\(")
JOSE_STRING = re.compile(r"""["'](?:jose|jwt)(?:\.[\w.]+)?["']""")


def jose_uses(source: str) -> list[str]:
    """Every way ``source`` reaches python-jose (or another JWT library) directly."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in ("jose", "jwt")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("jose", "jwt"):
            found.append(f"from {node.module} import ...")
    found += [f"call {m.group(0)}" for m in JWT_CALL.finditer(source)]
    found += [f"dynamic import {m.group(0)}" for m in JOSE_STRING.finditer(source)
              if re.search(r"import_module|__import__", source)]
    return found


def test_scanner_finds_what_it_looks_for():
    assert jose_uses("from jose import jwt\n")
    assert jose_uses("import jose.jwt as j\n")
    assert jose_uses("from jose.jws import verify\n")
    assert jose_uses("import jwt\n")
    assert jose_uses("claims = jwt.decode(token, key)\n")
    assert jose_uses("token = jwt . encode(claims, key)\n")
    assert jose_uses("import importlib\nm = importlib.import_module('jose.jwt')\n")
    assert not jose_uses("import json\njson.loads('{}')\n# mentions jose in a comment\n")
    assert jose_uses((ROOT / "netwerk" / "tokens.py").read_text(encoding="utf-8"))


def test_only_netwerk_tokens_uses_jose():
    scanned, offenders = 0, {}
    for package in SCANNED_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT)
            scanned += 1
            uses = jose_uses(path.read_text(encoding="utf-8"))
            if uses and relative not in ALLOWED:
                offenders[str(relative)] = uses
    assert scanned >= 20, scanned
    assert offenders == {}, f"only netwerk/tokens.py may call python-jose: {offenders}"
