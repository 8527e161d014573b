"""The hot reads (web/one_hop.py) take one worker-thread round trip a request (none on
PostgreSQL for those on the async pool), refuse exactly as the other routes do, and keep
the once-a-minute ``last_used_at`` write from stalling the event loop even when every
request makes it on one row at once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.engine import URL

from appbuilder.db.models import ApiKey, User
from appbuilder.db.session import make_session_factory
from appbuilder.db.types import utcnow
from appbuilder.jobs.runner import EmbeddedDispatcher
from appbuilder.logs import request_id_var
from appbuilder.security.api_keys import parse_api_key
from appbuilder.services import auth, runs
from appbuilder.services.runs import events
from tests.integration.api.conftest import Account, Api

#: the hot reads that need projects:read (the others need only a credential)
PROJECT_READS = ("/api/projects?limit=20", "/api/projects/{id}")
HOT_READS = ("/api/me", "/api/usage", *PROJECT_READS)


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Worker-thread round trips per request id. Every hand-off (ours, FastAPI's and
    Starlette's) goes through ``anyio.to_thread.run_sync``; this counts them and runs them."""
    counted: Counter[str] = Counter()
    real: Callable[..., Awaitable[Any]] = anyio.to_thread.run_sync

    async def counting(*args: Any, **kwargs: Any) -> Any:
        counted[request_id_var.get()] += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    return counted


def _path(template: str, project_id: str) -> str:
    return template.format(id=project_id)


@pytest.mark.parametrize("route", HOT_READS)
def test_a_hot_read_takes_one_worker_thread_round_trip(
    api: Api, round_trips: Counter[str], route: str, database_url: URL
) -> None:
    owner = api.account()
    path = _path(route, api.project(owner)["id"])
    request_id = f"hop-{route.count('/')}-{len(route)}"

    response = api.get(path, headers={**owner.headers, "X-Request-ID": request_id})

    assert response.status_code == 200, response.text
    # written as steps (db.reads): on PostgreSQL answered on the event loop, no thread at all
    on_the_loop = database_url.get_backend_name() == "postgresql"
    assert round_trips[request_id] == (0 if on_the_loop else 1)
    # a route that still solves a principal and a session takes more: the count is real
    api.get("/api/keys", headers={**owner.headers, "X-Request-ID": "sync-route"})
    assert round_trips["sync-route"] > 1


def _same_refusal(one_hop: httpx.Response, other: httpx.Response, status: int) -> None:
    assert one_hop.status_code == other.status_code == status
    assert one_hop.json() == other.json()
    assert one_hop.headers.get("www-authenticate") == other.headers.get("www-authenticate")
    assert one_hop.headers["content-type"] == other.headers["content-type"]


@pytest.mark.parametrize(
    "credential", [None, "uabs_not-a-session", "uab_bad", "something-else"], ids=str
)
@pytest.mark.parametrize("route", HOT_READS)
def test_a_refused_credential_reads_as_on_every_other_route(
    api: Api, route: str, credential: str | None
) -> None:
    owner = api.account()
    headers = {} if credential is None else {"Authorization": f"Bearer {credential}"}
    path = _path(route, api.project(owner)["id"])
    _same_refusal(api.get(path, headers=headers), api.get("/api/keys", headers=headers), 401)


def test_a_missing_scope_reads_as_on_every_other_route(api: Api) -> None:
    owner = api.account()
    project = api.project(owner)["id"]
    key = api.api_key(owner, "generations:read")
    files = api.get(f"/api/projects/{project}/files", headers=key.headers)  # require(...)
    for route in PROJECT_READS:
        _same_refusal(api.get(_path(route, project), headers=key.headers), files, 403)
    assert files.json()["error"]["details"] == {"scope": "projects:read"}


def test_another_users_project_reads_as_on_every_other_route(api: Api) -> None:
    owner, stranger = api.account(), api.account()
    project = api.project(owner)["id"]
    patched = api.patch(f"/api/projects/{project}", json={"name": "x"}, headers=stranger.headers)
    detail = api.get(f"/api/projects/{project}", headers=stranger.headers)
    _same_refusal(detail, patched, 404)


def test_every_request_touching_one_credential_at_once_neither_deadlocks_nor_stalls(
    api: Api, base_url: str, database_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each request writes ``last_used_at`` of the same session row (interval 0): on
    PostgreSQL they queue on its row lock, each in its own worker thread and transaction,
    while the event loop goes on answering. SQLite has one write lock for the whole file: a
    writer still waiting for it after the busy timeout is told 503 database_busy, by design
    (test_busy_database), which 80 writers on a loaded machine can reach."""
    monkeypatch.setattr(auth, "TOUCH_INTERVAL", timedelta(0))
    owner: Account = api.account()
    project = api.project(owner)["id"]
    paths = [_path(route, project) for route in HOT_READS] * 20

    def get(path: str) -> int:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return client.get(path, headers=owner.headers).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = pool.map(get, paths)
        health = api.get("/healthz", timeout=10)
        answered = Counter(statuses)
    assert health.status_code == 200
    if database_url.get_backend_name() == "postgresql":
        assert answered == Counter({200: len(paths)})
    else:
        assert set(answered) <= {200, 503}, answered


@pytest.mark.parametrize(
    ("one_hop", "sync_route"),
    [
        ("/api/runs/{id}/events", "POST /api/runs/{id}/cancel"),
        ("/api/projects/{id}/files", "GET /api/projects/{id}/download"),
    ],
)
def test_the_stream_and_the_file_tree_refuse_as_the_other_routes_do_on_the_hot_path(
    api: Api, round_trips: Counter[str], one_hop: str, sync_route: str, database_url: URL
) -> None:
    """Their checks are steps (``db.reads``): on the async pool on PostgreSQL (no worker
    thread), else one round trip; the refusal is the other routes' own."""
    owner = api.account()
    missing = "nosuchrow123"
    refused = api.get(
        _path(one_hop, missing), headers={**owner.headers, "X-Request-ID": "hop-refused"}
    )
    method, _, route = sync_route.partition(" ")
    other = api.request(method, _path(route, missing), headers=owner.headers)
    _same_refusal(refused, other, 404)
    on_the_loop = database_url.get_backend_name() == "postgresql"
    assert round_trips["hop-refused"] == (0 if on_the_loop else 1)


#: the run and history reads (generations:read), by the project and the run they read
HISTORY_READS = (
    "/api/projects/{project}/runs",
    "/api/runs/{run}",
    "/api/projects/{project}/generations",
)


def test_the_run_and_history_reads_take_one_round_trip_and_refuse_as_before(
    api: Api, round_trips: Counter[str]
) -> None:
    owner, stranger = api.account(), api.account()
    project = api.project(owner)["id"]
    run = api.post(f"/api/projects/{project}/generate", headers=owner.headers).json()["id"]
    api.post(f"/api/runs/{run}/cancel", headers=owner.headers)
    reader_of_projects = api.api_key(owner, "projects:read")
    for route in HISTORY_READS:
        path = route.format(project=project, run=run)
        request_id = f"history-{route.count('/')}-{len(route)}"

        response = api.get(path, headers={**owner.headers, "X-Request-ID": request_id})

        assert response.status_code == 200, response.text
        assert round_trips[request_id] == 1
        assert api.get(path, headers=stranger.headers).status_code == 404
        assert api.get(path).status_code == 401
        refused = api.get(path, headers=reader_of_projects.headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["details"] == {"scope": "generations:read"}
    listed = api.get(f"/api/projects/{project}/runs", headers=owner.headers).json()
    assert [item["id"] for item in listed["items"]] == [run]
    assert api.get(f"/api/runs/{run}", headers=owner.headers).json()["id"] == run


def test_a_streams_reads_take_no_worker_thread_on_postgresql(
    api: Api, engine: Engine, round_trips: Counter[str], database_url: URL
) -> None:
    """A live stream checks its run once, then reads each batch of events it is woken
    for: all on the async pool on PostgreSQL (no thread), a thread each on SQLite."""
    owner = api.account()
    project = api.project(owner)
    with make_session_factory(engine).begin() as session:
        user = session.get_one(User, owner.id)
        run = runs.start_run(session, EmbeddedDispatcher(), user, project["id"], verify=False)
        run.not_before = utcnow() + timedelta(hours=1)  # stays queued: the stream stays open
        run_id = run.id
    headers = {**owner.headers, "X-Request-ID": "stream-reads"}
    request = api.client.build_request("GET", f"/api/runs/{run_id}/events", headers=headers)
    response = api.client.send(request, stream=True)
    try:
        lines = response.iter_lines()
        for said in ("first", "second", "third"):  # each wakes the stream for a read
            with make_session_factory(engine).begin() as session:
                events.append(session, run_id, "log", line=said)
            assert any(said in line for line in lines if line.startswith("data:"))
    finally:
        response.close()

    on_the_loop = database_url.get_backend_name() == "postgresql"
    if on_the_loop:
        assert round_trips["stream-reads"] == 0  # the run's check and every read on the pool
    else:
        assert round_trips["stream-reads"] >= 4  # the check, then a thread per read


def test_a_refused_hot_read_records_no_use_of_its_credential(
    api: Api, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The once-a-minute ``last_used_at`` write is a hot read's last statement: a request
    refused after authentication (a key without the scope, another user's project) leaves
    it as it was, on the async pool (autocommit) as in a worker thread (rolled back)."""
    monkeypatch.setattr(auth, "TOUCH_INTERVAL", timedelta(0))  # due on every request
    owner, stranger = api.account(), api.account()
    project = api.project(stranger)["id"]
    history_only = api.api_key(owner, "generations:read")
    readers = api.api_key(owner, "projects:read")

    def last_used(key: Account) -> object:
        with engine.connect() as connection:
            return connection.execute(
                select(ApiKey.last_used_at).where(ApiKey.prefix == _prefix(key.token))
            ).scalar_one()

    assert api.get("/api/projects", headers=history_only.headers).status_code == 403
    assert api.get(f"/api/projects/{project}", headers=readers.headers).status_code == 404
    assert last_used(history_only) is None
    assert last_used(readers) is None

    assert api.get("/api/me", headers=history_only.headers).status_code == 200
    assert api.get("/api/projects", headers=readers.headers).status_code == 200
    assert last_used(history_only) is not None
    assert last_used(readers) is not None


def _prefix(key: str) -> str:
    parsed = parse_api_key(key)
    assert parsed is not None
    return parsed.prefix
