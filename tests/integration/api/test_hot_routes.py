"""The hot reads dispatched ahead of FastAPI (``web.hot_routes``) answer exactly what
FastAPI's own handling of the same routes answers: byte for byte, status and every header
(but the request id and the date), for good requests and every kind of bad one a client can
send; and they are what serves those requests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from appbuilder.db.session import make_session_factory
from appbuilder.db.types import utcnow
from appbuilder.enums import UserRole
from appbuilder.generator.history import ProjectHistory
from appbuilder.settings import Settings
from appbuilder.web.hot_routes import HotRoute
from tests.factories import make_finished_run
from tests.integration.api.conftest import Account, Api, LiveServer

#: response headers that differ per request by design
PER_REQUEST = {"x-request-id", "date"}


@pytest.fixture
def framework(api_settings: Settings) -> Iterator[httpx.Client]:
    """A second server on the same database with no hot routes: FastAPI routes every
    request itself, as before them."""
    server = LiveServer(api_settings)
    routes = server.app.router.routes
    routes[:] = [route for route in routes if not isinstance(route, HotRoute)]
    with server as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


@pytest.fixture
def served_hot(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The path of each request a hot route served."""
    served: list[str] = []
    handle = HotRoute.handle

    async def counted(self: HotRoute, scope: Any, receive: Any, send: Any) -> None:
        served.append(scope["path"])
        await handle(self, scope, receive, send)

    monkeypatch.setattr(HotRoute, "handle", counted)
    return served


def _same(api: Api, framework: httpx.Client, method: str, path: str, **kw: Any) -> int:
    hot = api.request(method, path, **kw)
    routed = framework.request(method, path, **kw)
    where = f"{method} {path}"
    assert hot.status_code == routed.status_code, (where, hot.text, routed.text)
    assert hot.content == routed.content, where
    headers = {k: v for k, v in hot.headers.items() if k not in PER_REQUEST}
    theirs = {k: v for k, v in routed.headers.items() if k not in PER_REQUEST}
    if "location" in headers and "location" in theirs:  # absolute, each with its own port
        headers["location"] = headers["location"].removeprefix(str(api.base_url))
        theirs["location"] = theirs["location"].removeprefix(str(framework.base_url))
    assert headers == theirs, where
    return hot.status_code


def test_hot_routes_answer_what_fastapi_answers(
    api: Api, framework: httpx.Client, served_hot: list[str]
) -> None:
    owner, stranger = api.account(), api.account()
    admin = api.account(role=UserRole.ADMIN)
    project = api.project(owner, name="<b>\u202eé\U0001f600", template="SAAS")["id"]
    api.project(owner, name="second", template="API")
    key = api.api_key(owner, "projects:read")
    history_only = api.api_key(owner, "generations:read")
    cursor = api.get("/api/projects?limit=1", headers=owner.headers).json()["next_cursor"]
    assert cursor
    served_hot.clear()

    good = [
        "/api/me",
        "/api/usage",
        "/api/projects",
        "/api/projects?limit=1",
        f"/api/projects?limit=1&cursor={cursor}",
        "/api/projects?status=DRAFT&template=SAAS&sort=created_at",
        "/api/projects?limit=1&limit=2",  # the last of a repeated key, as FastAPI reads it
        "/api/projects?unknown=1&limit=2",
        f"/api/projects/{project}",
        f"/api/projects/{project}?generations_limit=1",
        "/api/me?anything=at-all",
    ]
    bad_values = [
        "/api/projects?limit=0",
        "/api/projects?limit=101",
        "/api/projects?limit=-1",
        "/api/projects?limit=abc",
        "/api/projects?limit=",
        "/api/projects?limit=1e3",
        "/api/projects?limit=%00",
        "/api/projects?limit=2&limit=x",
        "/api/projects?limit=99999999999999999999999999",
        "/api/projects?status=ready",
        "/api/projects?status=",
        "/api/projects?status=BOGUS&template=NOPE&sort=name&limit=0",  # four at once, in order
        "/api/projects?sort=",
        "/api/projects?cursor=",
        "/api/projects?cursor=%00",
        "/api/projects?cursor=not-a-cursor",
        "/api/projects?cursor=" + "A" * 5000,
        "/api/projects/nosuchproject1",
        "/api/projects/has%20space",
        "/api/projects/%00",
        "/api/projects/" + "a" * 300,
        "/api/projects/\u00e9t\u00e9",
        f"/api/projects/{project}?generations_limit=0",
        f"/api/projects/{project}?generations_cursor=junk",
        f"/api/projects/{project}?generations_limit=x&generations_cursor=" + "B" * 5000,
    ]
    for path in good + bad_values:
        for credential in (owner, key, admin, stranger, history_only):
            assert _same(api, framework, "GET", path, headers=credential.headers) < 500
    assert len(served_hot) == 5 * len(good + bad_values)  # each of them served by a hot route

    refused_credentials: list[dict[str, str]] = [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": f"bearer {owner.token}"},  # the scheme is case-insensitive
        {"Authorization": f"Bearer  {owner.token}"},
        {"Authorization": f"Bearer {owner.token}x"},
        {"Authorization": "Bearer uab_" + "k" * 4000},
        {"Authorization": "Bearer uabs_\x7f"},
    ]
    for path in ("/api/me", "/api/usage", "/api/projects?limit=0", f"/api/projects/{project}"):
        for headers in refused_credentials:
            assert _same(api, framework, "GET", path, headers=headers) < 500

    # what the hot routes leave to FastAPI's routes: other methods, HEAD, near-miss paths
    for method, path in [
        ("HEAD", "/api/me"),
        ("POST", "/api/me"),
        ("DELETE", "/api/projects"),
        ("PUT", f"/api/projects/{project}"),
        ("OPTIONS", "/api/usage"),
        ("GET", "/api/me/"),
        ("GET", "/api/projects/"),
        ("GET", f"/api/projects/{project}/"),
        ("GET", "/api//projects"),
        ("GET", "/API/ME"),
    ]:
        served_hot.clear()
        assert _same(api, framework, method, path, headers=owner.headers) < 500
        assert served_hot == []


def test_the_openapi_document_still_has_the_hot_routes(api: Api, framework: httpx.Client) -> None:
    """The FastAPI routes stay behind the hot ones: they document each operation."""
    document = api.get("/openapi.json").json()
    assert document == framework.get("/openapi.json").json()
    for path in (
        "/api/me",
        "/api/usage",
        "/api/projects",
        "/api/projects/{project_id}",
        "/api/runs/{run_id}/events",
        "/api/projects/{project_id}/files",
    ):
        assert "get" in document["paths"][path]
        assert document["paths"][path]["get"]["security"]


def _finished_run(api: Api, settings: Settings, owner: Account, project: str) -> str:
    """A run as a worker leaves one: committed files, its events through ``finished``."""
    history = ProjectHistory(settings.projects_dir / project)
    files = {"README.md": b"# Notes\n", "app/main.py": b"print('hi')\n", "docs/v1.0+b@x.md": b"x"}
    commit = history.commit(files, "Generated", when=utcnow(), marker="m", retry=False)
    said: list[tuple[str, dict[str, Any]]] = [
        ("started", {"attempt": 1}),
        ("log", {"line": '<b>\u202e\U0001f600 "quoted"\n'}),
    ]
    with make_session_factory(api.engine).begin() as session:
        return make_finished_run(session, project, owner.id, commit, said)


def test_the_stream_and_the_file_tree_answer_what_fastapi_answers(
    api: Api, api_settings: Settings, framework: httpx.Client, served_hot: list[str]
) -> None:
    """A finished run's stream (answered whole) and the file tree, by a hot route, for good
    requests and every kind of bad one."""
    owner, stranger = api.account(), api.account()
    admin = api.account(role=UserRole.ADMIN)
    project = api.project(owner)["id"]
    run = _finished_run(api, api_settings, owner, project)
    projects_only = api.api_key(owner, "projects:read")
    history_only = api.api_key(owner, "generations:read")
    served_hot.clear()

    stream = f"/api/runs/{run}/events"
    tree = f"/api/projects/{project}/files"
    requests: list[tuple[str, dict[str, str]]] = [
        (stream, {}),
        (f"{stream}?after=1", {}),
        (f"{stream}?after=3", {}),  # after the end: nothing more
        (f"{stream}?after=2147483648", {}),
        (stream, {"Last-Event-ID": "2"}),
        (f"{stream}?after=1", {"Last-Event-ID": "0"}),  # the header wins
        (f"{stream}?after=-1", {}),
        (f"{stream}?after=abc", {}),
        (f"{stream}?after=1e3", {}),
        (f"{stream}?after=%00", {}),
        (f"{stream}?after=", {}),
        (f"{stream}?after=2147483649", {}),
        (f"{stream}?after=1&after=x", {}),
        (stream, {"Last-Event-ID": "x"}),
        (stream, {"Last-Event-ID": "-1"}),
        (stream, {"Last-Event-ID": ""}),
        (stream, {"Last-Event-ID": "9" * 40}),
        ("/api/runs/nosuchrun1/events", {}),
        ("/api/runs/" + "a" * 300 + "/events", {}),
        ("/api/runs/\u00e9t\u00e9/events", {}),
        ("/api/runs/%00/events", {}),
        (tree, {}),
        (f"{tree}?run={run}", {}),
        (f"{tree}?run=", {}),
        (f"{tree}?run=%00", {}),
        (f"{tree}?run=nosuchrun1", {}),
        (f"{tree}?run=" + "r" * 300, {}),
        (f"{tree}?run=\u00e9t\u00e9", {}),
        ("/api/projects/nosuchproject1/files", {}),
        ("/api/projects/" + "p" * 300 + "/files", {}),
    ]
    statuses = set()
    for path, extra in requests:
        for credential in (owner, admin, stranger, projects_only, history_only):
            headers = {**credential.headers, **extra}
            statuses.add(_same(api, framework, "GET", path, headers=headers))
    assert max(statuses) < 500
    assert {200, 403, 404, 422} <= statuses
    assert len(served_hot) == 5 * len(requests)  # each of them served by a hot route

    # past the largest event number: the rule named, on every database (PostgreSQL's
    # integer would refuse it; SQLite's would not)
    for params, extra in (({"after": 2**31}, {}), ({}, {"Last-Event-ID": str(2**31)})):
        refused = api.get(stream, params=params, headers={**owner.headers, **extra})
        assert refused.status_code == 422, refused.text
        field = refused.json()["error"]["details"]["fields"][0]
        assert field["path"] in {"query.after", "header.last-event-id"}
        assert "2147483647" in field["message"]

    whole = api.get(stream, headers=owner.headers)
    assert whole.headers["content-type"].startswith("text/event-stream")
    assert whole.headers["cache-control"] == "no-store"
    assert [line for line in whole.text.splitlines() if line.startswith("event:")] == [
        "event: started",
        "event: log",
        "event: finished",
    ]
    listed = api.get(tree, headers=owner.headers).json()
    assert sorted(f["path"] for f in listed["files"]) == [
        "README.md",
        "app/main.py",
        "docs/v1.0+b@x.md",
    ]
    assert {f["path"]: f["size"] for f in listed["files"]}["README.md"] == len(b"# Notes\n")
