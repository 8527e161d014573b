"""A request waits for one of the database places at most as long as the pool would wait
for a connection; then it is a 503 database_busy that saved nothing, not a queue without end."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from appbuilder.errors import DatabaseBusyError
from appbuilder.settings import Settings
from appbuilder.web.deps import db_place


def _request(places: int) -> Any:
    state = SimpleNamespace(
        db_gate=asyncio.Semaphore(places), settings=Settings(database_pool_timeout=0.05)
    )
    return SimpleNamespace(app=SimpleNamespace(state=state))


def test_past_the_pool_timeout_a_request_is_told_the_database_is_busy() -> None:
    async def scenario() -> None:
        request = _request(1)
        async with db_place(request):
            with pytest.raises(DatabaseBusyError) as refused:
                async with db_place(request):
                    pass  # pragma: no cover - never entered
            assert refused.value.retry_after == 1
        async with db_place(request):  # the place came back
            pass

    asyncio.run(scenario())
