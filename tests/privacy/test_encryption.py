"""Field encryption: round trip, row binding, no plaintext at rest, key rotation."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select, text

from netwerk import operations as ops
from netwerk.db import db, on_commit
from netwerk.models import Person, User
from privacy.encryption import ENCRYPTED_FIELDS, DecryptionError, Encrypted, Keyring, keyring, rotate_data_key
from privacy.models import DataKey
from tests.factories import SYSTEM, make_user

SECRET = "JBSWY3DPEHPK3PXP"


def _raw(user_id: uuid.UUID) -> str:
    return db.session.execute(
        text("SELECT totp_secret FROM user_account WHERE id = :id"),
        {"id": user_id.hex if db.session.get_bind().dialect.name == "sqlite" else user_id},
    ).scalar_one()


def test_round_trip_and_no_plaintext_at_rest(app):
    user = make_user()
    user.totp_secret = SECRET
    db.session.commit()
    raw = _raw(user.id)
    assert raw.startswith("nw1:")
    assert SECRET not in raw
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == SECRET


def test_same_plaintext_gives_different_ciphertexts(app):
    a, b = make_user(), make_user()
    a.totp_secret = b.totp_secret = SECRET
    db.session.commit()
    assert _raw(a.id) != _raw(b.id)


def test_ciphertext_moved_to_another_row_fails_to_decrypt(app):
    victim, other = make_user(), make_user()
    victim.totp_secret = SECRET
    other.totp_secret = "ANOTHERSECRETXYZ"
    db.session.commit()
    stolen = _raw(victim.id)
    db.session.execute(text("UPDATE user_account SET totp_secret = :ct WHERE email = :email"),
                       {"ct": stolen, "email": other.email})
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(DecryptionError):
        _ = db.session.get(User, other.id).totp_secret


def test_tampered_ciphertext_fails(app):
    user = make_user()
    user.totp_secret = SECRET
    db.session.commit()
    raw = _raw(user.id)
    flipped = raw[:-3] + ("A" if raw[-3] != "A" else "B") + raw[-2:]
    user._totp_secret = flipped
    db.session.commit()
    with pytest.raises(DecryptionError):
        _ = user.totp_secret


def test_plaintext_cannot_reach_an_encrypted_column(app):
    user = make_user()
    user._totp_secret = "plain text"
    with pytest.raises(Exception, match="plaintext"):
        db.session.commit()
    db.session.rollback()


def test_rotation_reencrypts_in_batches_and_keeps_old_keys_readable(app):
    users = [make_user() for _ in range(7)]
    for n, user in enumerate(users):
        user.totp_secret = f"SECRET{n:02d}AAAAAAAAAA"
    db.session.commit()
    old_key = keyring().active_key_id()
    report = rotate_data_key(batch_size=3)
    assert report.new_key_id != old_key
    assert report.reencrypted == 7
    assert report.remaining == 0
    for n, user in enumerate(users):
        assert _raw(user.id).startswith(f"nw1:{report.new_key_id}:")
        db.session.expire(user)
        assert user.totp_secret == f"SECRET{n:02d}AAAAAAAAAA"
    states = dict(db.session.execute(select(DataKey.id, DataKey.state)).all())
    assert states[old_key] == "retired" and states[report.new_key_id] == "active"


def test_rows_written_with_an_old_key_stay_readable_during_rotation(app):
    """A process that has not yet seen the new key keeps writing with the old one; the
    value stays readable, and a resumed rotation moves it."""
    user = make_user()
    user.totp_secret = SECRET
    db.session.commit()
    old_token = _raw(user.id)
    report = rotate_data_key(batch_size=10)
    user._totp_secret = old_token  # as a stale process would have written it
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == SECRET
    resumed = rotate_data_key(add_key=False)
    assert resumed.new_key_id == report.new_key_id
    assert resumed.remaining == 0


def test_rotate_key_cli(app):
    user = make_user()
    user.totp_secret = SECRET
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["privacy", "rotate-key", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "0 nog op een oudere sleutel" in result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret == SECRET


class _Sealed:
    """A stand-in row: the descriptor needs only a table name, an id and the storage slot."""

    __tablename__ = "sealed_test"
    payload = Encrypted(as_json=True)

    def __init__(self) -> None:
        self.id = uuid.uuid4()
        self._payload = None


# Not a mapped model: keep it out of the rotation registry the descriptor added it to.
ENCRYPTED_FIELDS[:] = [f for f in ENCRYPTED_FIELDS if f.model is not _Sealed]


def test_json_values_round_trip_and_bind_to_their_row(app):
    row, other = _Sealed(), _Sealed()
    value = {"categorie": "zorgen", "items": [1, 2.5, None, "é"], "ok": True}
    row.payload = value
    assert row._payload.startswith("nw1:") and "zorgen" not in row._payload
    assert row.payload == value
    other._payload = row._payload
    with pytest.raises(DecryptionError):
        _ = other.payload


def test_a_first_key_created_in_a_rolled_back_savepoint_is_forgotten(app):
    """The first data key is made on first use. If that use is rolled back (a refused
    report runs in a savepoint), data written afterwards must not be sealed under the
    vanished key: a fresh keyring (as after a restart) must still read it."""
    original = app.extensions["netwerk.keyring"]
    kek = app.extensions["netwerk.master_keys"].kek
    db.session.execute(text("DELETE FROM data_key"))  # a fresh test database holds no encrypted data yet
    app.extensions["netwerk.keyring"] = Keyring(kek)
    try:
        with pytest.raises(RuntimeError), db.session.begin_nested():
            ops.register_person(ops.PersonData("Eerste", "Sleutel", date(2010, 1, 1)), SYSTEM, date.today())
            raise RuntimeError("refused")
        assert db.session.scalar(select(DataKey.id).limit(1)) is None
        person = ops.register_person(ops.PersonData("Tweede", "Sleutel", date(2010, 1, 2)), SYSTEM, date.today())
        db.session.commit()
        app.extensions["netwerk.keyring"] = Keyring(kek)
        db.session.expire_all()
        assert db.session.get(Person, person.id).first_name == "Tweede"
    finally:
        app.extensions["netwerk.keyring"] = original


def test_after_commit_work_registered_in_a_rolled_back_savepoint_is_dropped(app):
    ran = []
    on_commit(lambda: ran.append("outer"))
    with pytest.raises(RuntimeError), db.session.begin_nested():
        on_commit(lambda: ran.append("inner"))
        raise RuntimeError("refused")
    with db.session.begin_nested():
        on_commit(lambda: ran.append("kept savepoint"))
    db.session.commit()
    assert ran == ["outer", "kept savepoint"]
