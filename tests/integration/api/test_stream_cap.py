"""Live-progress streams: one account holds a bounded number open at once (the next is 429
naming the rule, another account is not affected, a stream that ends or whose client goes
away gives its slot back), and on PostgreSQL a stream is woken by a notice, not a poll."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from appbuilder.db.models import User
from appbuilder.db.session import make_session_factory
from appbuilder.db.types import utcnow
from appbuilder.errors import DatabaseBusyError
from appbuilder.jobs.runner import EmbeddedDispatcher
from appbuilder.services import runs
from appbuilder.services.runs import events
from appbuilder.settings import Settings
from appbuilder.web.api import runs as runs_api
from tests.integration.api.conftest import Account, Api, LiveServer

CAP = 2


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"max_streams_per_user": CAP})


def waiting_run(api: Api, engine: Engine, owner: Account) -> str:
    """A run that stays queued (no worker may take it yet): its stream stays open."""
    project = api.project(owner)
    with make_session_factory(engine).begin() as session:
        user = session.get_one(User, owner.id)
        run = runs.start_run(session, EmbeddedDispatcher(), user, project["id"], verify=False)
        run.not_before = utcnow() + timedelta(hours=1)
        return run.id


def opened(api: Api, owner: Account, run_id: str) -> httpx.Response:
    request = api.client.build_request("GET", f"/api/runs/{run_id}/events", headers=owner.headers)
    return api.client.send(request, stream=True)


def test_streams_per_account_are_capped_and_given_back(api: Api, engine: Engine) -> None:
    owner, other = api.account(), api.account()
    run_id = waiting_run(api, engine, owner)
    held = [opened(api, owner, run_id) for _ in range(CAP)]
    try:
        assert [response.status_code for response in held] == [200] * CAP
        refused = api.get(f"/api/runs/{run_id}/events", headers=owner.headers)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "too_many_streams"
        assert f"at most {CAP} at once" in error["message"]
        # another account's streams are its own
        theirs = waiting_run(api, engine, other)
        with api.client.stream(
            "GET", f"/api/runs/{theirs}/events", headers=other.headers
        ) as response:
            assert response.status_code == 200
    finally:
        held[0].close()  # the client goes away: its slot comes back
    deadline = time.monotonic() + 10
    while True:
        again = opened(api, owner, run_id)
        if again.status_code == 200 or time.monotonic() > deadline:
            break
        again.close()
        time.sleep(0.2)
    try:
        assert again.status_code == 200
    finally:
        again.close()
        held[1].close()


def test_a_stream_that_ends_gives_its_slot_back(api: Api, engine: Engine) -> None:
    owner = api.account()
    run_id = waiting_run(api, engine, owner)
    with make_session_factory(engine).begin() as session:  # the run is cancelled: it ends
        runs.cancel_run(session, EmbeddedDispatcher(), run_id, owner_id=owner.id)
    for _ in range(CAP + 2):  # each stream reads to `finished` and closes
        response = api.get(f"/api/runs/{run_id}/events", headers=owner.headers)
        assert response.status_code == 200
        assert "event: finished" in response.text


def test_a_finished_runs_events_come_whole_and_take_no_stream_slot(
    api: Api, engine: Engine
) -> None:
    """Nothing more will come of a finished run: its events are one answer (a length, no
    chunks), read in the same round trip as the run's check, even for an account holding
    every stream it may."""
    owner = api.account()
    live = waiting_run(api, engine, owner)
    ended = waiting_run(api, engine, owner)
    with make_session_factory(engine).begin() as session:
        runs.cancel_run(session, EmbeddedDispatcher(), ended, owner_id=owner.id)
    held = [opened(api, owner, live) for _ in range(CAP)]
    try:
        assert [response.status_code for response in held] == [200] * CAP
        assert api.get(f"/api/runs/{live}/events", headers=owner.headers).status_code == 429
        whole = api.get(f"/api/runs/{ended}/events", headers=owner.headers)
        assert whole.status_code == 200, whole.text
        assert whole.headers["content-length"] == str(len(whole.content))
        assert "transfer-encoding" not in whole.headers
        kinds = [line for line in whole.text.splitlines() if line.startswith("event:")]
        assert kinds[0] == "event: queued"
        assert kinds[-1] == "event: finished"
        last = whole.text.split("id: ")[-1].split("\n")[0]
        after = api.get(
            f"/api/runs/{ended}/events", headers={**owner.headers, "Last-Event-ID": last}
        )
        assert after.text == "retry: 1000\n\n"  # after the end: nothing more
    finally:
        for response in held:
            response.close()


def test_an_event_wakes_its_stream_without_polling(
    api: Api, engine: Engine, live_server: tuple[LiveServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a stream waits for a notice, not a poll: with the fallback read an
    hour away, an event written by another connection (a worker anywhere) still arrives.
    On SQLite the stream polls; the event arrives the same way."""
    monkeypatch.setattr(runs_api, "FALLBACK_SECONDS", 3600.0)
    monkeypatch.setattr(runs_api, "KEEPALIVE_SECONDS", 3600.0)
    notices = live_server[0].app.state.notices
    if notices is not None:  # PostgreSQL: only a notice can bring the event
        monkeypatch.setattr(runs_api, "POLL_SECONDS", 3600.0)
        deadline = time.monotonic() + 10
        while not notices.listening and time.monotonic() < deadline:
            time.sleep(0.05)
        assert notices.listening
    owner = api.account()
    run_id = waiting_run(api, engine, owner)
    response = opened(api, owner, run_id)
    try:
        lines = response.iter_lines()
        assert next(lines) == "retry: 1000"
        seen = list(itertools.takewhile(bool, itertools.dropwhile(lambda line: not line, lines)))
        assert "event: queued" in seen  # what the run said so far; the stream now waits
        with make_session_factory(engine).begin() as session:
            events.append(session, run_id, "log", line="from another process")
        for line in lines:
            if line.startswith("data:") and "from another process" in line:
                break
        else:
            pytest.fail(f"the stream ended without the event (saw {seen})")
    finally:
        response.close()


def test_a_quiet_stream_sends_keep_alive_comments(
    api: Api, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proxies close a silent connection: a stream with nothing to say sends a comment."""
    monkeypatch.setattr(runs_api, "KEEPALIVE_SECONDS", 0.3)
    owner = api.account()
    run_id = waiting_run(api, engine, owner)
    response = opened(api, owner, run_id)
    try:
        comments = (line for line in response.iter_lines() if line.startswith(":"))
        assert next(comments) == ": keep-alive"
        assert next(comments) == ": keep-alive"
    finally:
        response.close()


def test_a_stream_whose_read_fails_ends_cleanly(
    api: Api, engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A read the database cannot serve (no connection in time, lost twice, the server
    stopping) after the answer has begun ends the stream as a stream ends, for the
    client's EventSource to reconnect with its Last-Event-ID; not a broken connection and
    an "Exception in ASGI application"."""
    monkeypatch.setattr(runs_api, "POLL_SECONDS", 0.05)
    monkeypatch.setattr(runs_api, "FALLBACK_SECONDS", 0.05)
    owner = api.account()
    run_id = waiting_run(api, engine, owner)
    reads = itertools.count()
    real_steps = runs.poll_events_steps  # both paths (async pool, thread) read these

    def busy_after_the_first(read: Callable[..., Any]) -> Callable[..., Any]:
        def reading(*args: Any) -> Any:
            if next(reads) >= 1:
                raise DatabaseBusyError("No connection came free in time.", retry_after=1)
            return read(*args)

        return reading

    monkeypatch.setattr(runs, "poll_events_steps", busy_after_the_first(real_steps))
    response = opened(api, owner, run_id)
    try:
        lines = list(response.iter_lines())  # to its end: no protocol error on the way
    finally:
        response.close()

    assert lines[0] == "retry: 1000"
    assert "event: queued" in lines
    assert next(reads) >= 2  # the first read answered, the second failed
    assert "Exception in ASGI application" not in caplog.text
    assert "a live stream ended: its read failed" in caplog.text
