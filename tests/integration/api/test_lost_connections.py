"""PostgreSQL ends the server's connections (a restart, a failover, an operator's
pg_terminate_backend): the next requests get correct answers, at worst one 503 with
Retry-After, never a 500, whether the pool pings connections before use or not."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, text

from appbuilder.settings import Settings
from tests.integration.api.conftest import Api
from tests.integration.conftest import Backend


@pytest.fixture
def backend(postgresql_backend: Backend, request: pytest.FixtureRequest) -> Backend:
    """PostgreSQL only, not parametrised: SQLite has no server to end connections (and so
    no skipped SQLite twin)."""
    request.node.user_properties.append(("database", "postgresql"))
    return postgresql_backend


def terminate_the_servers_connections(engine: Engine) -> int:
    """Every other backend on the test's own database: the server's pooled connections
    and its listener (the test's engine uses this one)."""
    with engine.connect() as connection:
        ended = connection.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    return int(ended)


@pytest.fixture(params=[False, True], ids=["no-pre-ping", "pre-ping"])
def pre_ping(request: pytest.FixtureRequest, api_settings: Settings) -> bool:
    api_settings.database_pool_pre_ping = request.param
    return bool(request.param)


# routes on the engine's pool (the hot reads' async pool: test_async_reads.py)
@pytest.mark.parametrize("route", ["/api/keys", "/api/me/llm"])
def test_requests_after_the_database_ended_the_connections(
    pre_ping: bool, api: Api, engine: Engine, route: str
) -> None:
    owner = api.account()
    api.project(owner)
    api.api_key(owner, "projects:read")  # so that every answer has the caller's data
    for _ in range(3):  # the pool holds connections now
        assert api.get(route, headers=owner.headers).status_code == 200
    assert terminate_the_servers_connections(engine) >= 1

    statuses = [api.get(route, headers=owner.headers) for _ in range(5)]

    codes = [response.status_code for response in statuses]
    assert 500 not in codes
    if pre_ping:
        assert codes == [200] * 5
    else:  # the first request meets a dead connection (before the 503 handler: a 500)
        assert codes in ([200] * 5, [503] + [200] * 4)
    for response in statuses:
        if response.status_code == 503:
            assert response.headers["retry-after"] == "1"
            assert response.json()["error"]["code"] == "database_unavailable"
        else:
            assert response.json()  # a correct answer: JSON of the caller's data
    assert api.get("/api/me", headers=owner.headers).json()["email"] == owner.email


@pytest.fixture
def quick_pool(api_settings: Settings) -> Settings:
    """The pools wait 1 s, not 30, for a connection that cannot come."""
    api_settings.database_pool_timeout = 1
    api_settings.database_connect_timeout = 1
    return api_settings


def test_a_database_that_refuses_connections_is_a_503_on_every_path(
    quick_pool: Settings, api: Api, engine: Engine
) -> None:
    """PostgreSQL down or refusing connections (a restart, maintenance): the engine's routes
    and the hot reads' async pool answer 503 database_unavailable with Retry-After (the
    engine's gave a 500), and answer again once it takes connections."""
    owner = api.account()
    name = engine.url.database
    operator = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with operator.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        for route in ("/api/keys", "/api/me", "/api/projects"):
            refused = api.get(route, headers=owner.headers)
            assert refused.status_code == 503, (route, refused.text)
            assert refused.json()["error"]["code"] == "database_unavailable", route
            assert refused.headers["retry-after"] == "1"
    finally:
        with operator.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        operator.dispose()
        engine.dispose()  # its connections were ended too
    # the hot reads' pool makes a connection when a read needs one: the first read after
    # PostgreSQL takes connections again has one, on either pool
    for route in ("/api/keys", "/api/me"):
        assert api.get(route, headers=owner.headers).status_code == 200
