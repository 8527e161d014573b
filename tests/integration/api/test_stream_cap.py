"""Live-progress streams one account may hold open at once: the next is 429 naming the
rule, another account is not affected, and a stream that ends or whose client goes away
gives its slot back."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine

from appbuilder.db.models import User
from appbuilder.db.session import make_session_factory
from appbuilder.db.types import utcnow
from appbuilder.jobs.runner import EmbeddedDispatcher
from appbuilder.services import runs
from appbuilder.settings import Settings
from tests.integration.api.conftest import Account, Api

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
