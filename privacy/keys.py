"""The key file: the master secrets that must never live in the database.

One JSON file (mode 0600) holds a key-encryption key that wraps the data keys stored in
the database, the Ed25519 seed that signs audit checkpoints, the HMAC key that blinds
subject identifiers and the JWT signing key. The embedded default generates it under
``instance/``; production must be given one (``NETWERK_KEY_FILE``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from config import write_secret_file

KEY_NAMES = ("kek", "audit_signing", "blind_index", "jwt")


class KeyFileError(RuntimeError):
    pass


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def new_key_file_content() -> str:
    return json.dumps({name: _b64(secrets.token_bytes(32)) for name in KEY_NAMES}, indent=2)


def create_key_file(path: Path) -> None:
    write_secret_file(path, new_key_file_content())


@dataclass(frozen=True)
class MasterKeys:
    kek: bytes
    audit_signing: bytes
    blind_index: bytes
    jwt: bytes

    @property
    def signing_key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.audit_signing)

    @property
    def verify_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    @property
    def signing_fingerprint(self) -> str:
        raw = self.verify_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return "ed25519:" + hashlib.sha256(raw).hexdigest()[:32]


def load_master_keys(path: Path, create: bool) -> MasterKeys:
    """Read the key file; create it first when ``create`` (embedded mode only)."""
    if not path.exists():
        if not create:
            raise KeyFileError(f"key file {path} does not exist")
        with contextlib.suppress(FileExistsError):
            create_key_file(path)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise KeyFileError(f"key file {path} is readable by others; run chmod 600 {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        raw = {name: base64.urlsafe_b64decode(data[name]) for name in KEY_NAMES}
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyFileError(f"key file {path} is not a valid Netwerk key file") from exc
    if any(len(v) < 32 for v in raw.values()):
        raise KeyFileError(f"key file {path} holds a key shorter than 32 bytes")
    return MasterKeys(**{k: v[:32] for k, v in raw.items()})


if __name__ == "__main__":  # python -m privacy.keys PATH: works before any app can start
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m privacy.keys PATH")
    create_key_file(Path(sys.argv[1]))
    print(f"key file written to {sys.argv[1]} (mode 0600); keep a backup somewhere safe")
