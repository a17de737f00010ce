"""Field encryption at rest: AES-256-GCM with envelope keys and row-bound associated data.

A ciphertext is the text ``nw1:<key id>:<base64(nonce || ciphertext+tag)>``. The data key
with that id is stored in ``data_key`` wrapped (RFC 3394) by the key file's KEK. The
associated data is ``table|column|row id``, so a ciphertext copied into another row (or
column) fails to decrypt instead of silently showing one family's data in another's file.

Models declare the stored column with :class:`EncryptedText` and expose the plaintext with
the :class:`Encrypted` descriptor, which knows the row (the id is assigned at construction,
see ``netwerk.db.UUIDPrimaryKey``)::

    _totp_secret: Mapped[str | None] = mapped_column("totp_secret", EncryptedText())
    totp_secret = Encrypted()
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap, aes_key_wrap
from flask import current_app
from sqlalchemy import Text, func, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.types import TypeDecorator

from netwerk.db import db, on_commit, utcnow
from privacy.models import DataKey

PREFIX = "nw1"
ACTIVE_KEY_TTL_SECONDS = 30.0


class DecryptionError(Exception):
    """The ciphertext is corrupt, belongs to another row, or its key is unknown."""


class EncryptedText(TypeDecorator):
    """Column type for ciphertext. Refuses anything that is not already encrypted, so a
    code path that forgets the descriptor fails loudly instead of storing plaintext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        if value is not None and not value.startswith(PREFIX + ":"):
            raise ValueError("plaintext given to an encrypted column")
        return value


@dataclass(frozen=True)
class EncryptedField:
    model: type
    attribute: str  # mapped attribute holding the ciphertext
    column: str  # database column name, part of the associated data

    @property
    def table(self) -> str:
        return self.model.__tablename__  # type: ignore[attr-defined]


ENCRYPTED_FIELDS: list[EncryptedField] = []


def associated_data(table: str, column: str, row_id: object) -> bytes:
    return f"{table}|{column}|{row_id}".encode()


class Keyring:
    """Unwrapped data keys for one app; the active key id is re-read every few seconds so a
    rotation started elsewhere is picked up without a restart."""

    def __init__(self, kek: bytes) -> None:
        self._kek = kek
        self._keys: dict[int, bytes] = {}
        self._active: tuple[int, float] | None = None
        self._fresh: DataKey | None = None  # created in a transaction not yet committed
        self._lock = threading.Lock()

    def _forget_rolled_back_key(self) -> None:
        """A key created in a transaction (or savepoint) that was rolled back never existed:
        drop it from the caches, or later data would be sealed under a missing key."""
        fresh = self._fresh
        if fresh is not None and sa_inspect(fresh).transient:
            with self._lock:
                self._keys.pop(fresh.id, None)
                if self._active and self._active[0] == fresh.id:
                    self._active = None
                self._fresh = None

    def _unwrap(self, key: DataKey) -> bytes:
        raw = aes_key_unwrap(self._kek, key.wrapped)
        self._keys[key.id] = raw
        return raw

    def key(self, key_id: int) -> bytes:
        self._forget_rolled_back_key()
        with self._lock:
            if key_id in self._keys:
                return self._keys[key_id]
        row = db.session.get(DataKey, key_id)
        if row is None:
            raise DecryptionError(f"unknown data key {key_id}")
        with self._lock:
            return self._unwrap(row)

    def active_key_id(self) -> int:
        self._forget_rolled_back_key()
        now = time.monotonic()
        if self._active and now - self._active[1] < ACTIVE_KEY_TTL_SECONDS:
            return self._active[0]
        key_id = db.session.scalar(
            select(func.max(DataKey.id)).where(DataKey.state == "active")
        )
        if key_id is None:
            key_id = self.add_key().id
        self._active = (key_id, now)
        return key_id

    def add_key(self) -> DataKey:
        """Create a new active data key; older keys stay readable."""
        row = DataKey(wrapped=aes_key_wrap(self._kek, os.urandom(32)), state="active")
        db.session.add(row)
        db.session.flush()
        self._active = (row.id, time.monotonic())
        self._fresh = row
        on_commit(self._committed)
        return row

    def _committed(self) -> None:
        self._fresh = None

    def encrypt(self, plaintext: str, aad: bytes) -> str:
        key_id = self.active_key_id()
        nonce = os.urandom(12)
        sealed = AESGCM(self.key(key_id)).encrypt(nonce, plaintext.encode("utf-8"), aad)
        return f"{PREFIX}:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"

    def decrypt(self, token: str, aad: bytes) -> str:
        try:
            prefix, key_id, body = token.split(":", 2)
            if prefix != PREFIX:
                raise ValueError(prefix)
            raw = base64.urlsafe_b64decode(body)
            plain = AESGCM(self.key(int(key_id))).decrypt(raw[:12], raw[12:], aad)
        except (ValueError, InvalidTag) as exc:
            raise DecryptionError("ciphertext does not decrypt for this row") from exc
        return plain.decode("utf-8")


def keyring() -> Keyring:
    return current_app.extensions["netwerk.keyring"]


class Encrypted:
    """Descriptor giving plaintext access to the ciphertext column ``_<name>``.

    ``as_json=True`` stores any JSON-serialisable value instead of text.
    """

    def __init__(self, as_json: bool = False) -> None:
        self.as_json = as_json

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.storage = "_" + name
        ENCRYPTED_FIELDS.append(EncryptedField(owner, self.storage, name))

    def _aad(self, obj: Any) -> bytes:
        if obj.id is None:
            raise RuntimeError(f"{type(obj).__name__} needs its id before encrypting")
        return associated_data(type(obj).__tablename__, self.name, obj.id)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        token = getattr(obj, self.storage)
        if token is None:
            return None
        plain = keyring().decrypt(token, self._aad(obj))
        return json.loads(plain) if self.as_json else plain

    def __set__(self, obj: Any, value: Any) -> None:
        if value is None:
            setattr(obj, self.storage, None)
            return
        plain = json.dumps(value, ensure_ascii=False) if self.as_json else str(value)
        setattr(obj, self.storage, keyring().encrypt(plain, self._aad(obj)))


@dataclass
class RotationReport:
    new_key_id: int
    reencrypted: int
    remaining: int


def reencrypt_batch(field: EncryptedField, key_id: int, batch_size: int) -> int:
    """Move one batch of ``field`` onto ``key_id``; returns how many rows changed.

    The update is compare-and-swap on the old ciphertext, so a row the app changed in the
    meantime is left alone (it was written with a current key anyway) rather than being
    overwritten with the value read a moment before.
    """
    ring = keyring()
    col = getattr(field.model, field.attribute)
    pk = field.model.id  # type: ignore[attr-defined]
    current = f"{PREFIX}:{key_id}:%"
    rows = db.session.execute(
        select(pk, col).where(col.is_not(None), col.not_like(current)).limit(batch_size)
    ).all()
    changed = 0
    for row_id, token in rows:
        aad = associated_data(field.table, field.column, row_id)
        fresh = ring.encrypt(ring.decrypt(token, aad), aad)
        result = db.session.execute(
            update(field.model).where(pk == row_id, col == token).values({field.attribute: fresh})
        )
        changed += result.rowcount
    db.session.commit()
    return changed


def rotate_data_key(batch_size: int = 500, add_key: bool = True) -> RotationReport:
    """Add a data key (unless resuming) and re-encrypt every encrypted column onto it in
    batches, one transaction per batch, while the app keeps running."""
    ring = keyring()
    if add_key:
        new = ring.add_key()
        db.session.execute(
            update(DataKey).where(DataKey.id != new.id, DataKey.state == "active")
            .values(state="retired", retired_at=utcnow())
        )
        db.session.commit()
        key_id = new.id
    else:
        key_id = ring.active_key_id()
    total = 0
    for field in ENCRYPTED_FIELDS:
        while (done := reencrypt_batch(field, key_id, batch_size)) > 0:
            total += done
    return RotationReport(key_id, total, count_not_on_key(key_id))


def count_not_on_key(key_id: int) -> int:
    remaining = 0
    for field in ENCRYPTED_FIELDS:
        col = getattr(field.model, field.attribute)
        remaining += db.session.scalar(
            select(func.count()).select_from(field.model)
            .where(col.is_not(None), col.not_like(f"{PREFIX}:{key_id}:%"))
        ) or 0
    return remaining
