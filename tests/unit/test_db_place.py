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


def test_a_place_given_back_is_taken_again_without_a_timeout_and_never_counted_twice() -> None:
    """A planner gives its place back while the model thinks; taking it again waits for as
    long as it takes (what it did meanwhile must not end in 'busy, nothing saved'), and
    releasing it twice never grows the gate."""

    async def scenario() -> None:
        request = _request(1)
        gate: asyncio.Semaphore = request.app.state.db_gate
        async with db_place(request) as place:
            place.release()
            place.release()  # once only
            assert place.held is False
            async with db_place(request) as other:  # someone else is served meanwhile
                back = asyncio.create_task(place.take_back())
                await asyncio.sleep(0.2)  # past the pool timeout: still waiting, no 503
                assert not back.done()
                other.release()
                await back
            assert place.held is True
            assert gate.locked()  # one place, held by the planner again
        assert not gate.locked()

    asyncio.run(scenario())
