"""A real HTTP server on loopback for every API test: uvicorn serving ``create_app()`` on a
fresh database (SQLite, and PostgreSQL when configured), driven by an httpx client."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, update
from sqlalchemy.engine import URL
from starlette.types import Receive, Scope, Send

from appbuilder.db.models import User
from appbuilder.enums import SubscriptionTier, UserRole
from appbuilder.settings import Settings
from appbuilder.web.app import create_app

PASSWORD = "correct-horse-42"
_emails = itertools.count(1)


class LiveServer:
    """``create_app()`` served by uvicorn in a thread; ``threads`` sizes the pool of worker
    threads its sync routes and dependencies run on (anyio's default: 40)."""

    def __init__(self, settings: Settings, *, threads: int | None = None) -> None:
        self.app = create_app(settings)
        self.threads = threads
        #: the server's worker-thread limiter, once it has started
        self.limiter: anyio.CapacityLimiter | None = None
        config = uvicorn.Config(
            self._serve,
            host="127.0.0.1",
            port=0,
            log_config=None,
            lifespan="on",
            interface="asgi3",  # a bound method: uvicorn would take it for ASGI 2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # on the server's event loop, before any request
            self.limiter = anyio.to_thread.current_default_thread_limiter()
            if self.threads is not None:
                self.limiter.total_tokens = self.threads
        await self.app(scope, receive, send)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@pytest.fixture
def api_settings(database_url: URL) -> Settings:
    """Settings of the server under test; tests may override fields before it starts.

    Runs started on SQLite execute in the server (the embedded queue); on PostgreSQL they
    wait for a worker, which these tests don't start (tests/integration/jobs do). On
    shutdown the server releases its runs at once instead of letting them finish."""
    return Settings(
        database_url=database_url.render_as_string(hide_password=False),
        run_heartbeat_seconds=0.5,
        run_shutdown_grace_seconds=0,
    )


@pytest.fixture
def live_server(api_settings: Settings) -> Iterator[tuple[LiveServer, str]]:
    server = LiveServer(api_settings)
    with server as url:
        yield server, url


@pytest.fixture
def base_url(live_server: tuple[LiveServer, str]) -> str:
    return live_server[1]


@pytest.fixture
def server_engine(live_server: tuple[LiveServer, str]) -> Engine:
    """The engine the server under test uses (to count the SQL it sends)."""
    engine: Engine = live_server[0].app.state.engine
    return engine


@dataclass
class Account:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """An httpx client plus the few steps almost every test takes."""

    def __init__(self, client: httpx.Client, engine: Engine) -> None:
        self.client = client
        self.engine = engine

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def account(
        self,
        *,
        tier: SubscriptionTier = SubscriptionTier.PRO,
        role: UserRole = UserRole.USER,
        email: str | None = None,
    ) -> Account:
        email = email or f"person{next(_emails)}@example.com"
        created = self.client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Test"}
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        if tier is not SubscriptionTier.FREE or role is not UserRole.USER:
            with self.engine.begin() as connection:  # set up what only a super admin could
                connection.execute(
                    update(User).where(User.id == user_id).values(subscription_tier=tier, role=role)
                )
        login = self.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        return Account(id=user_id, email=email, token=login.json()["token"])

    def api_key(self, owner: Account, *scopes: str) -> Account:
        made = self.client.post(
            "/api/keys", json={"name": "test key", "scopes": list(scopes)}, headers=owner.headers
        )
        assert made.status_code == 201, made.text
        return Account(id=owner.id, email=owner.email, token=made.json()["key"])

    def project(self, owner: Account, **fields: Any) -> dict[str, Any]:
        body = {"name": "My app", "template": "BLOG", **fields}
        made = self.client.post("/api/projects", json=body, headers=owner.headers)
        assert made.status_code == 201, made.text
        result: dict[str, Any] = made.json()
        return result


@pytest.fixture
def api(base_url: str, engine: Engine) -> Iterator[Api]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield Api(client, engine)
