"""Encryption at rest: the database holds only ciphertext; a wrong key fails loudly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select, text

from appbuilder.db.types import EncryptedText
from appbuilder.errors import DecryptionError
from appbuilder.settings import _load_or_create_secret_key, get_settings

SECRET = "sk_live_51HxYzSuperSecretStripeKey"

probe = Table(
    "encryption_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("token", EncryptedText()),
)


@pytest.fixture
def probe_table(engine: Engine) -> Iterator[Table]:
    probe.create(engine)
    yield probe
    probe.drop(engine)


def _set_key(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("UAB_SECRET_KEY", key)
    get_settings.cache_clear()


def test_only_ciphertext_reaches_the_database(
    engine: Engine, probe_table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_key(monkeypatch, "first-key-" + "x" * 40)
    with engine.begin() as connection:
        connection.execute(insert(probe_table).values(id=1, token=SECRET))
        connection.execute(insert(probe_table).values(id=2, token=None))
    with engine.connect() as connection:
        raw = connection.execute(text("SELECT token FROM encryption_probe WHERE id = 1")).scalar()
        assert isinstance(raw, str)
        assert SECRET not in raw
        assert "sk_live" not in raw
        assert raw.startswith("gAAAA")  # a Fernet token
        values = dict(connection.execute(select(probe_table.c.id, probe_table.c.token)).all())
    assert values == {1: SECRET, 2: None}


def test_reading_with_another_key_raises(
    engine: Engine, probe_table: Table, monkeypatch: pytest.MonkeyPatch
) -> None:
    _set_key(monkeypatch, "first-key-" + "x" * 40)
    with engine.begin() as connection:
        connection.execute(insert(probe_table).values(id=1, token=SECRET))
    _set_key(monkeypatch, "second-key-" + "y" * 40)
    with engine.connect() as connection, pytest.raises(DecryptionError, match="UAB_SECRET_KEY"):
        connection.execute(select(probe_table.c.token)).all()


def test_the_generated_development_key_is_kept_between_processes(
    engine: Engine, probe_table: Table
) -> None:
    """Without UAB_SECRET_KEY (development), the key generated in the data directory is
    reused, so data written by one run can be read by the next."""
    with engine.begin() as connection:
        connection.execute(insert(probe_table).values(id=1, token=SECRET))
    get_settings.cache_clear()
    _load_or_create_secret_key.cache_clear()  # as a new process would: read from the file
    with engine.connect() as connection:
        assert connection.execute(select(probe_table.c.token)).scalar() == SECRET
