"""The hot reads on PostgreSQL's async pool (``db.async_reads``) answer exactly what the same
steps answer in a worker thread: byte for byte, refusals included; and a connection
PostgreSQL ended is replaced unseen (the read runs again once)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import Engine, text, update

from appbuilder.db.models import ApiKey, AuthSession, Project, User
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.enums import GenerationStatus, UserRole
from appbuilder.services import auth
from appbuilder.settings import Settings
from tests.factories import make_generation
from tests.integration.api.conftest import Account, Api, LiveServer
from tests.integration.api.test_lost_connections import terminate_the_servers_connections
from tests.integration.conftest import Backend


@pytest.fixture
def backend(postgresql_backend: Backend, request: pytest.FixtureRequest) -> Backend:
    """PostgreSQL only, not parametrised: SQLite has no async pool (and so no skipped twin)."""
    request.node.user_properties.append(("database", "postgresql"))
    return postgresql_backend


@pytest.fixture
def threaded(api_settings: Settings) -> Iterator[httpx.Client]:
    """A second server on the same database, its hot reads in a worker thread."""
    settings = api_settings.model_copy(update={"database_async_reads": False})
    with LiveServer(settings) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def _with_history(api: Api, engine: Engine, owner: Account) -> str:
    """Three projects; the first with a run and 5 generations (hostile text, a cost)."""
    ids = [
        api.project(owner, name=f"p{i}", template=t)["id"]
        for i, t in enumerate(("BLOG", "SAAS", "API"))
    ]
    run = api.post(f"/api/projects/{ids[0]}/generate", headers=owner.headers)
    assert run.status_code == 202, run.text
    with transaction(make_session_factory(engine)) as session:
        project = session.get(Project, ids[0])
        assert project is not None
        for i in range(5):
            make_generation(
                session,
                project,
                prompt=f'<script>\u202e{i}\U0001f600 "quoted" \\ ',
                status=GenerationStatus.COMPLETED,
                cost_usd=Decimal("0.000123"),
                tokens_used=2**31 - 1,
            )
    return ids[0]


def _same_on_both(
    api: Api, threaded: httpx.Client, asked: list[tuple[str, dict[str, str]]]
) -> list[int]:
    """Each request asked of both servers: the same status, bytes and content type; the
    statuses."""
    statuses = []
    for path, headers in asked:
        on_the_loop = api.get(path, headers=headers)
        in_a_thread = threaded.get(path, headers=headers)
        assert on_the_loop.status_code == in_a_thread.status_code, path
        assert on_the_loop.content == in_a_thread.content, path
        assert on_the_loop.headers["content-type"] == in_a_thread.headers["content-type"]
        statuses.append(on_the_loop.status_code)
    return statuses


def test_the_async_pool_answers_what_the_worker_thread_answers(
    api: Api, engine: Engine, threaded: httpx.Client
) -> None:
    owner, stranger = api.account(), api.account()
    admin = api.account(role=UserRole.ADMIN)
    project = _with_history(api, engine, owner)
    key = api.api_key(owner, "projects:read")
    history_only = api.api_key(owner, "generations:read")
    first = api.get("/api/projects?limit=1", headers=owner.headers).json()
    page_two = api.get(f"/api/projects/{project}?generations_limit=2", headers=owner.headers)
    generations_cursor = page_two.json()["generations"]["next_cursor"]
    assert first["next_cursor"]
    assert generations_cursor

    asked: list[tuple[str, dict[str, str]]] = [
        ("/api/me", owner.headers),
        ("/api/me", key.headers),
        ("/api/me", admin.headers),
        ("/api/usage", owner.headers),
        ("/api/usage", history_only.headers),
        ("/api/usage", stranger.headers),
        ("/api/projects", owner.headers),
        ("/api/projects?limit=1", owner.headers),
        (f"/api/projects?limit=1&cursor={first['next_cursor']}", owner.headers),
        ("/api/projects?status=DRAFT&template=SAAS", owner.headers),
        ("/api/projects?status=GENERATING", owner.headers),
        ("/api/projects?template=API&sort=created_at", owner.headers),
        ("/api/projects?sort=-updated_at&limit=2", key.headers),
        (f"/api/projects?sort=created_at&cursor={first['next_cursor']}", owner.headers),
        ("/api/projects?cursor=not-a-cursor", owner.headers),
        ("/api/projects?limit=0", owner.headers),
        ("/api/projects?sort=name", owner.headers),
        ("/api/projects", stranger.headers),
        ("/api/projects", history_only.headers),
        (f"/api/projects/{project}", owner.headers),
        (f"/api/projects/{project}?generations_limit=2", key.headers),
        (
            f"/api/projects/{project}?generations_limit=2&generations_cursor={generations_cursor}",
            owner.headers,
        ),
        (f"/api/projects/{project}", admin.headers),
        (f"/api/projects/{project}", stranger.headers),
        (f"/api/projects/{project}", history_only.headers),
        ("/api/projects/nosuchproject1", owner.headers),
        (f"/api/projects/{project}", {}),
        ("/api/me", {"Authorization": "Bearer uabs_not-a-session"}),
        ("/api/me", {"Authorization": "Bearer uab_bad"}),
        ("/api/me", {"Authorization": f"Bearer {key.token}x"}),
        ("/api/me", {"Authorization": "Bearer something-else"}),
    ]
    statuses = _same_on_both(api, threaded, asked)
    assert max(statuses) < 500


@pytest.mark.parametrize("route", ["/api/me", "/api/projects?limit=20"])
def test_a_connection_the_database_ended_is_replaced_unseen(
    api: Api, engine: Engine, api_settings: Settings, route: str
) -> None:
    """Without pre-ping: the read meets its dead connection, and runs again on a new one."""
    assert api_settings.database_pool_pre_ping  # the engine's; the async pool never pings
    owner = api.account()
    api.project(owner)
    for _ in range(3):
        assert api.get(route, headers=owner.headers).status_code == 200
    assert terminate_the_servers_connections(engine) >= 1

    codes = [api.get(route, headers=owner.headers).status_code for _ in range(5)]

    assert codes == [200] * 5


def test_a_credential_another_transaction_holds_is_read_without_waiting(
    api: Api, engine: Engine, threaded: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A log-out, a revocation or another request's touch holds the credential's row: the
    reads skip their ``last_used_at`` write (SKIP LOCKED) instead of queueing behind that
    transaction with the connections they hold, on the async pool and in a thread."""
    monkeypatch.setattr(auth, "TOUCH_INTERVAL", timedelta(0))  # every read writes
    owner = api.account()
    key = api.api_key(owner, "projects:read")
    with engine.connect() as holder, holder.begin():
        holder.execute(text("SELECT 1 FROM auth_sessions FOR UPDATE"))
        holder.execute(text("SELECT 1 FROM api_keys FOR UPDATE"))
        for client in (api.client, threaded):
            for credential in (owner, key):
                for path in ("/api/me", "/api/projects", "/api/usage"):
                    response = client.get(path, headers=credential.headers, timeout=5)
                    assert response.status_code == 200, (path, response.text)
        # and with the row free again, the write is made
        seen = holder.execute(text("SELECT max(last_used_at) FROM auth_sessions")).scalar()
    api.get("/api/me", headers=owner.headers)
    with engine.connect() as reader:
        later = reader.execute(text("SELECT max(last_used_at) FROM auth_sessions")).scalar()
    assert later is not None
    assert seen is None or later > seen


def _crafted_cursor(moment: str) -> str:
    raw = json.dumps(["-created_at", moment, "abcdefghijklmnopqrstuvwxy"]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_refusals_and_odd_accounts_read_the_same_on_both(
    api: Api, engine: Engine, threaded: httpx.Client
) -> None:
    """Credentials ended every way, an admin's key, a subscriber past the grace of a failed
    payment, cursors crafted to overflow, and a bad cursor with a bad credential (401, not
    422: the credential is checked first)."""
    owner, admin, past_due, logged_out = (api.account() for _ in range(4))
    project = api.project(owner)["id"]
    with engine.begin() as connection:
        connection.execute(update(User).where(User.id == admin.id).values(role=UserRole.ADMIN))
        connection.execute(
            update(User)
            .where(User.id == past_due.id)
            .values(
                subscription_status="past_due",
                subscription_grace_ends_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
    admin_key = api.api_key(admin, "projects:read", "admin")
    reader_key = api.api_key(admin, "projects:read")  # an admin's key without the admin scope
    revoked, expired = api.api_key(owner, "projects:read"), api.api_key(owner, "projects:read")
    assert api.post("/api/auth/logout", headers=logged_out.headers).status_code == 204
    revoked_id = api.get("/api/keys", headers=owner.headers).json()[1]["id"]
    assert api.delete(f"/api/keys/{revoked_id}", headers=owner.headers).status_code == 204
    stale = api.account()
    with engine.begin() as connection:
        connection.execute(
            update(ApiKey)
            .where(ApiKey.prefix == expired.token.split("_")[1])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        connection.execute(
            update(AuthSession)
            .where(AuthSession.user_id == stale.id)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )

    asked: list[tuple[str, dict[str, str]]] = [
        (f"/api/projects/{project}", admin_key.headers),
        (f"/api/projects/{project}", reader_key.headers),
        ("/api/usage", past_due.headers),
        ("/api/me", past_due.headers),
        ("/api/me", logged_out.headers),
        ("/api/me", stale.headers),
        ("/api/projects", revoked.headers),
        ("/api/projects", expired.headers),
        (f"/api/projects?cursor={_crafted_cursor('0001-01-01T00:00:00+05:00')}", owner.headers),
        (f"/api/projects?cursor={_crafted_cursor('9999-12-31T23:59:59-05:00')}", owner.headers),
        (f"/api/projects?cursor={_crafted_cursor('2026-01-01T00:00:00+00:00')}", owner.headers),
        ("/api/projects?cursor=zz", {"Authorization": "Bearer uabs_nope"}),
        (f"/api/projects/{project}?generations_cursor=zz", {}),
    ]
    statuses = _same_on_both(api, threaded, asked)
    assert statuses == [200, 404, 200, 200, 401, 401, 401, 401, 422, 422, 200, 401, 401]
    assert api.get("/api/usage", headers=past_due.headers).json()["tier"] == "FREE"
