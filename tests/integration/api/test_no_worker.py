"""PostgreSQL with no `uab worker` running: a queued run says that nobody has taken it,
`/readyz` counts no worker, and `uab serve` warns at start. (On SQLite the server runs
queued runs itself.)"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import URL

from appbuilder.settings import Settings
from tests.integration.api.conftest import Account, Api
from tests.integration.api.test_runs import start
from tests.integration.api.test_serve import serving
from tests.integration.conftest import Backend


@pytest.fixture
def backend(postgresql_backend: Backend, request: pytest.FixtureRequest) -> Backend:
    """PostgreSQL only, not parametrised: on SQLite the server runs queued runs itself, so
    there is always a worker (and no skipped SQLite twin)."""
    request.node.user_properties.append(("database", "postgresql"))
    return postgresql_backend


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"run_unclaimed_warning_seconds": 1.0})


def first_event(api: Api, owner: Account, run_id: str, kind: str) -> dict[str, Any]:
    """Read the live stream until an event of ``kind`` arrives; its data."""
    url = f"/api/runs/{run_id}/events"
    with api.stream("GET", url, headers=owner.headers, timeout=20) as response:
        current = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                current = line.removeprefix("event: ")
            elif line.startswith("data: ") and current == kind:
                data: dict[str, Any] = json.loads(line.removeprefix("data: "))
                return data
    raise AssertionError(f"the stream ended without a {kind} event")


def test_a_run_no_worker_takes_says_so(api: Api) -> None:
    ready = api.get("/readyz").json()
    assert (ready["queue"], ready["workers"]) == ("procrastinate", 0)
    owner = api.account()
    run = start(api, owner, api.project(owner)["id"], verify=False).json()
    assert api.get(f"/api/runs/{run['id']}", headers=owner.headers).json()["notice"] is None

    waiting = first_event(api, owner, run["id"], "waiting")
    assert "No worker has taken this run after 1 s" in waiting["line"]
    assert "no worker is running. Start one with `uab worker`" in waiting["line"]
    detail = api.get(f"/api/runs/{run['id']}", headers=owner.headers).json()
    assert detail["status"] == "QUEUED"
    assert detail["notice"] == "No worker has taken this run after 1 s."

    time.sleep(1.5)  # said once, however long it waits
    cancelled = api.post(f"/api/runs/{run['id']}/cancel", headers=owner.headers)
    assert cancelled.json()["status"] == "CANCELLED"
    events = api.get(f"/api/runs/{run['id']}/events", headers=owner.headers).text
    assert events.count("event: waiting") == 1


def test_serve_warns_at_start_when_no_worker_is_seen(database_url: URL) -> None:
    with serving(env={}) as (url, output):
        assert httpx.get(f"{url}/readyz").status_code == 200
    expected = database_url.get_backend_name() == "postgresql"
    assert ("No worker is running" in output[0]) is expected, output[0]
