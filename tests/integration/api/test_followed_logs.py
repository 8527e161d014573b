"""Following a deployment's log costs the server a task, not a worker thread: more followers
than the server has threads wait between reads without one while other requests are
answered, and each follower ends when its deployment ends (with its last lines), when its
client leaves (its stream slot comes back) or when the server shuts down.

The deployment here is a row IN_PROGRESS and a log file the test writes to: what a
follower reads is the same whatever writes it (tests/integration/api/test_deployments.py
follows a real app's log)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, update

from appbuilder.db.models import Deployment
from appbuilder.db.session import make_session_factory
from appbuilder.enums import DeploymentStatus
from appbuilder.settings import Settings
from tests.integration.api.conftest import Account, Api, LiveServer
from tests.servers import wait_until

#: worker threads of the server under test, and more followers than that
THREADS = 2
FOLLOWERS = 3 * THREADS
CAP = FOLLOWERS


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"max_streams_per_user": CAP})


@pytest.fixture
def live_server(api_settings: Settings) -> Iterator[tuple[LiveServer, str]]:
    server = LiveServer(api_settings, threads=THREADS)
    with server as url:
        yield server, url


@dataclass
class Followed:
    """A deployment being carried out: its row and the log file it writes."""

    id: str
    project_id: str
    log: Path
    engine: Engine

    def write(self, text: str) -> None:
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(text)

    def end(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                update(Deployment)
                .where(Deployment.id == self.id)
                .values(status=DeploymentStatus.CANCELLED)
            )


@pytest.fixture
def owner(api: Api) -> Account:
    return api.account()


@pytest.fixture
def deployment(
    api: Api, owner: Account, engine: Engine, live_server: tuple[LiveServer, str]
) -> Followed:
    project = api.project(owner)
    with make_session_factory(engine).begin() as session:
        row = Deployment(
            project_id=project["id"], target="docker", status=DeploymentStatus.IN_PROGRESS
        )
        session.add(row)
        session.flush()
        log = live_server[0].app.state.deployments.ctx.log_path(row)
    log.parent.mkdir(parents=True, exist_ok=True)
    followed = Followed(row.id, project["id"], log, engine)
    followed.write("[deploy] started\n")
    return followed


def follow(api: Api, owner: Account, deployment: Followed, *, page: bool = False) -> httpx.Response:
    """The API's follow, or with ``page`` the web UI's (its session cookie)."""
    if page:
        path = f"/projects/{deployment.project_id}/deployments/{deployment.id}/log"
        params, headers = {"follow": "true"}, {"cookie": f"uab_session={owner.token}"}
    else:
        path = f"/api/deployments/{deployment.id}/logs"
        params, headers = {"follow": "true", "lines": "5"}, owner.headers
    request = api.client.build_request("GET", path, params=params, headers=headers)
    return api.client.send(request, stream=True)


def upto(texts: Iterator[str], end: str) -> str:
    """What a stream says until ``end`` (a chunk may arrive in pieces)."""
    said = ""
    while not said.endswith(end):
        said += next(texts)
    return said


def test_followers_hold_no_worker_thread_and_end_with_their_deployment(
    api: Api, owner: Account, deployment: Followed, live_server: tuple[LiveServer, str]
) -> None:
    server = live_server[0]
    followers = [
        follow(api, owner, deployment, page=number % 2 == 1) for number in range(FOLLOWERS)
    ]  # the API's and the web UI's alike
    try:
        chunks = [response.iter_text() for response in followers]
        assert [response.status_code for response in followers] == [200] * FOLLOWERS
        assert [upto(texts, "\n") for texts in chunks] == ["[deploy] started\n"] * FOLLOWERS

        # every follower waits for the log to grow: the server's threads stay free
        assert server.limiter is not None
        assert server.limiter.total_tokens == THREADS
        busy = []
        for _ in range(100):
            busy.append(server.limiter.borrowed_tokens)
            time.sleep(0.01)
        # a thread only for a read or a check: all free most of the time (a follower that
        # slept on a thread kept every one of them taken, every time)
        assert busy.count(0) > len(busy) / 4, busy
        # and requests that need a thread are answered meanwhile
        for _ in range(10):
            shown = api.get(f"/api/deployments/{deployment.id}", headers=owner.headers)
            assert shown.status_code == 200
            assert shown.json()["status"] == "IN_PROGRESS"

        deployment.write("caf\u00e9 is open\n")
        assert [upto(texts, "\n") for texts in chunks] == ["caf\u00e9 is open\n"] * FOLLOWERS

        deployment.write("[deploy] Stopped\n")  # last words, then it ends
        deployment.end()
        ended_at = time.monotonic()
        rest = ["".join(texts) for texts in chunks]  # each stream ends by itself
        took = time.monotonic() - ended_at
        assert rest == ["[deploy] Stopped\n"] * FOLLOWERS
        assert took < 5, took
    finally:
        for response in followers:
            response.close()
    # an ended deployment's follow is its tail, at once; the slots were given back
    again = [follow(api, owner, deployment) for _ in range(CAP)]
    try:
        assert [response.status_code for response in again] == [200] * CAP
        assert [response.read().decode() for response in again] == [
            "[deploy] started\ncaf\u00e9 is open\n[deploy] Stopped\n"
        ] * CAP
    finally:
        for response in again:
            response.close()


def test_a_stranger_cannot_follow_the_log(api: Api, deployment: Followed) -> None:
    stranger = api.account()
    for page in (False, True):
        hidden = follow(api, stranger, deployment, page=page)
        hidden.read()
        assert hidden.status_code == 404, page


def test_a_follower_ends_when_its_client_leaves_or_the_server_stops(
    api: Api, owner: Account, deployment: Followed, live_server: tuple[LiveServer, str]
) -> None:
    server = live_server[0]
    followers = [follow(api, owner, deployment) for _ in range(CAP)]
    try:
        assert [response.status_code for response in followers] == [200] * CAP
        refused = follow(api, owner, deployment)
        assert refused.status_code == 429
        refused.close()
        followers[0].close()  # its client leaves: the slot comes back

        def slot_free() -> bool:
            response = follow(api, owner, deployment)
            if response.status_code == 429:
                response.close()
                return False
            followers[0] = response
            return True

        wait_until(slot_free, timeout=10, poll=0.05)

        server.app.state.shutting_down.set()  # what `uab serve` does on the first signal
        stopping_at = time.monotonic()
        for response in followers:
            assert "[deploy] started\n" in response.read().decode()  # and it ended
        assert time.monotonic() - stopping_at < 5
    finally:
        for response in followers:
            response.close()
