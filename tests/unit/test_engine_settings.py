"""The engine gets the pool settings it was configured with (no connection is made)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from appbuilder.db.session import make_engine
from appbuilder.settings import get_settings


def test_pool_settings_reach_the_postgresql_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UAB_DATABASE_URL", "postgresql://app@db.invalid/uab")
    for name, value in {
        "POOL_SIZE": "7",
        "MAX_OVERFLOW": "3",
        "POOL_TIMEOUT": "4.5",
        "POOL_RECYCLE": "600",
        "POOL_PRE_PING": "false",
        "CONNECT_TIMEOUT": "2",
    }.items():
        monkeypatch.setenv(f"UAB_DATABASE_{name}", value)
    engine = make_engine(get_settings().database)
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool._max_overflow, pool._timeout, pool._recycle) == (7, 3, 4.5, 600)
    assert pool._pre_ping is False
    seen: dict[str, Any] = {}

    class Stop(Exception):  # noqa: N818 - ends the connection attempt before any IO
        pass

    @event.listens_for(engine, "do_connect")
    def capture(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        seen.update(params)
        raise Stop

    with pytest.raises(Stop):
        engine.connect()
    assert seen["connect_timeout"] == 2
    assert engine.url.drivername == "postgresql+psycopg"
