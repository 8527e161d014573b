from __future__ import annotations

from pathlib import Path

import pytest

from appbuilder.errors import ConfigurationError
from appbuilder.settings import Environment, Settings, get_settings

STRONG_KEY = "kZ3x9-Qw7Lp2Rt8Vb4Nm6Yc1Hd5Jf0Gs"


def test_default_database_is_sqlite_in_the_data_dir(isolated_environment: Path) -> None:
    url = get_settings().database.url
    assert url.get_backend_name() == "sqlite"
    assert url.database == str(isolated_environment / "appbuilder.db")


def test_plain_postgresql_url_uses_psycopg3() -> None:
    settings = Settings(database_url="postgresql://app@db:5432/uab")
    assert settings.database.url.drivername == "postgresql+psycopg"


def test_unsupported_database_is_refused_with_the_supported_list() -> None:
    settings = Settings(database_url="mysql://root@localhost/uab")
    with pytest.raises(ConfigurationError, match="supported databases are sqlite and postgresql"):
        _ = settings.database


def test_invalid_pool_size_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_DATABASE_POOL_SIZE", "lots")
    with pytest.raises(ConfigurationError, match="UAB_DATABASE_POOL_SIZE"):
        get_settings()


def test_pool_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_DATABASE_POOL_SIZE", "17")
    monkeypatch.setenv("UAB_DATABASE_MAX_OVERFLOW", "3")
    monkeypatch.setenv("UAB_DATABASE_POOL_PRE_PING", "false")
    database = get_settings().database
    assert (database.pool_size, database.max_overflow, database.pool_pre_ping) == (17, 3, False)


def test_production_refuses_to_start_without_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_ENV", "production")
    with pytest.raises(ConfigurationError, match="UAB_SECRET_KEY is required in production"):
        get_settings()


@pytest.mark.parametrize("weak", ["changeme", "short-key", " " * 40, "ab" * 20])
def test_production_refuses_a_weak_secret_key(monkeypatch: pytest.MonkeyPatch, weak: str) -> None:
    monkeypatch.setenv("UAB_ENV", "production")
    monkeypatch.setenv("UAB_SECRET_KEY", weak)
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        get_settings()


def test_production_refuses_postgresql_without_sslmode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_ENV", "production")
    monkeypatch.setenv("UAB_SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("UAB_DATABASE_URL", "postgresql+psycopg://app@db/uab")
    with pytest.raises(ConfigurationError, match="sslmode"):
        get_settings()


@pytest.mark.parametrize("mode", ["require", "verify-full", "disable"])
def test_production_accepts_an_explicit_sslmode(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("UAB_ENV", "production")
    monkeypatch.setenv("UAB_SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("UAB_DATABASE_URL", f"postgresql+psycopg://app@db/uab?sslmode={mode}")
    settings = get_settings()
    assert settings.env is Environment.PRODUCTION
    assert settings.secret_key_value() == STRONG_KEY


def test_development_accepts_postgresql_without_sslmode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_ENV", "development")
    monkeypatch.setenv("UAB_DATABASE_URL", "postgresql://app@localhost/uab")
    assert get_settings().database.url.host == "localhost"


def test_secret_key_is_never_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_SECRET_KEY", STRONG_KEY)
    assert STRONG_KEY not in repr(get_settings())


def test_data_dir_expands_the_home_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("UAB_DATA_DIR", "~/uab-data")
    settings = get_settings()
    assert settings.data_dir == tmp_path / "uab-data"
    assert settings.database.url.database == str(tmp_path / "uab-data" / "appbuilder.db")


def test_stripe_prices_come_from_json_and_bad_ones_name_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UAB_STRIPE_SECRET_KEY", "sk_test_x")
    monkeypatch.setenv("UAB_STRIPE_PRICES", '{"PRO": {"month": "price_1", "year": "price_2"}}')
    monkeypatch.setenv("UAB_BILLING_RETURN_URL", "https://builder.example.com/")
    billing = get_settings().billing
    assert billing.configured
    assert billing.prices == {"PRO": {"month": "price_1", "year": "price_2"}}
    assert billing.return_url == "https://builder.example.com"
    for bad in ('{"FREE": {"month": "p"}}', '{"PRO": {"week": "p"}}', "not json"):
        monkeypatch.setenv("UAB_STRIPE_PRICES", bad)
        get_settings.cache_clear()
        with pytest.raises(ConfigurationError, match="UAB_STRIPE_PRICES"):
            get_settings()


def test_billing_is_not_configured_without_a_secret_key() -> None:
    assert not get_settings().billing.configured
    assert not Settings(stripe_secret_key="").billing.configured
