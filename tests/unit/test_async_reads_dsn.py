"""The hot reads' pool connects to the database the engine uses: the URL's own settings
kept, its session in UTC, and libpq's connection parameters (which asyncpg would send the
server as settings, and the server refuse) left to the engine."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from appbuilder.db.async_reads import dsn
from appbuilder.settings import Settings


def _dsn(url: str) -> str:
    return dsn(Settings(database_url=url).database)


def test_the_url_s_settings_are_kept_and_the_session_is_in_utc() -> None:
    made = make_url(
        _dsn(
            "postgresql+psycopg://app:s%40cret@db.example:6432/shop"
            "?sslmode=require&application_name=shop&options=-c%20statement_timeout%3D5000"
        )
    )
    assert made.drivername == "postgresql"
    assert (made.username, made.password, made.host, made.port) == (
        "app",
        "s@cret",
        "db.example",
        6432,
    )
    assert made.database == "shop"
    assert made.query["sslmode"] == "require"
    assert made.query["application_name"] == "shop"
    assert made.query["options"] == "-c statement_timeout=5000 -c TimeZone=UTC"


def test_libpq_s_own_parameters_are_left_to_the_engine() -> None:
    made = make_url(
        _dsn("postgresql://app@db/shop?connect_timeout=3&keepalives=1&gssencmode=disable")
    )
    assert dict(made.query) == {"options": "-c TimeZone=UTC"}


def test_several_hosts_are_one_list_as_asyncpg_reads_them() -> None:
    """SQLAlchemy's several-hosts form repeats ``host``; asyncpg would keep the last."""
    made = make_url(_dsn("postgresql://app@/shop?host=h1:5432&host=h2:5433"))
    assert made.query["host"] == "h1:5432,h2:5433"


def test_what_asyncpg_would_send_the_server_as_a_setting_is_left_out() -> None:
    made = make_url(
        _dsn("postgresql://app@db/shop?sslcrldir=/x&servicefile=/y&sslmode=verify-full")
    )
    assert dict(made.query) == {"sslmode": "verify-full", "options": "-c TimeZone=UTC"}
