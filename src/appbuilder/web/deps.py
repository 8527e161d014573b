"""Dependencies routes declare: a database session per request (committed before the
response is sent, rolled back on any error), the calling principal, scope checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.errors import (
    AppBuilderError,
    AuthenticationError,
    DatabaseBusyError,
    PermissionDeniedError,
)
from appbuilder.security.scopes import Scope
from appbuilder.services import auth
from appbuilder.services.auth import Principal
from appbuilder.services.deployments import Supervisor
from appbuilder.settings import Settings

session_token_scheme = HTTPBearer(
    scheme_name="SessionToken",
    bearerFormat="uabs_…",
    description="A session token from POST /api/auth/login: `Authorization: Bearer uabs_…`.",
    auto_error=False,
)
api_key_scheme = HTTPBearer(
    scheme_name="ApiKey",
    bearerFormat="uab_<prefix>_<secret>",
    description="An API key from POST /api/keys: `Authorization: Bearer uab_<prefix>_<secret>`.",
    auto_error=False,
)


# Dependencies that do no IO are async: they run on the event loop instead of taking a
# worker-thread round trip each (measured: a sizeable share of a request's cost).


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_sessionmaker(request: Request) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = request.app.state.sessions
    return factory


def supervisor_of(request: Request) -> Supervisor:
    """The server's deployment supervisor (one per process, made at start-up)."""
    supervisor: Supervisor = request.app.state.deployments
    return supervisor


def finish(session: Session, error: BaseException | None) -> None:
    """Commit a request's work, or roll it back if it failed (an error that records what led
    to it, ``keep_writes``, commits); then close the session. Every request's session ends
    here, however the route runs."""
    keep = error is None or (isinstance(error, AppBuilderError) and error.keep_writes)
    try:
        if keep:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for the request: made on the event loop (no IO until the first query),
    committed (or rolled back on any error) and closed in one worker-thread round trip.

    A request holds its connection from its first query until it is finished, across
    several worker-thread round trips. So that a burst can never leave every worker thread
    waiting for a connection held by a request that waits for a thread (until the pool's
    timeout: 500s), a request takes a place at ``app.state.db_gate`` (as many places as
    the pool has connections) on the event loop before its session exists, and finishing
    runs on threads of its own (``app.state.finishing``)."""
    factory: sessionmaker[Session] = request.app.state.sessions
    finishing: anyio.CapacityLimiter = request.app.state.finishing
    async with db_place(request):
        session = factory()
        try:
            yield session
        except BaseException as exc:
            await anyio.to_thread.run_sync(finish, session, exc, limiter=finishing)
            raise
        await anyio.to_thread.run_sync(finish, session, None, limiter=finishing)


@asynccontextmanager
async def db_place(request: Request) -> AsyncIterator[None]:
    """One of the places at ``app.state.db_gate``, waited for as long as the pool would
    wait for a connection; then 503 database_busy with Retry-After."""
    gate: asyncio.Semaphore = request.app.state.db_gate
    settings: Settings = request.app.state.settings
    try:
        async with asyncio.timeout(settings.database.pool_timeout):
            await gate.acquire()
    except TimeoutError:
        raise DatabaseBusyError(
            "The server is busy with other requests; nothing was saved. Try again in a moment.",
            retry_after=1,
        ) from None
    try:
        yield
    finally:
        gate.release()


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionmakerDep = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
# scope="function": the commit happens before the response goes out, so a client never
# sees success for a write that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(session_token_scheme)]
KeyCredentials = Annotated[HTTPAuthorizationCredentials | None, Security(api_key_scheme)]


async def bearer(session_token: BearerCredentials, api_key: KeyCredentials) -> str:
    """The credential the request carries, read on the event loop: a request without one is
    refused before it takes a database place or a worker thread."""
    credentials = session_token or api_key
    if credentials is None:
        raise AuthenticationError(
            "Missing credentials: send `Authorization: Bearer <session token or API key>`."
        )
    return credentials.credentials


Bearer = Annotated[str, Depends(bearer)]


def get_principal(credential: Bearer, session: SessionDep) -> Principal:
    return auth.authenticate(session, credential)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def check_scope(principal: Principal, scope: Scope) -> Principal:
    """``principal`` if its credential carries ``scope``; 403 naming the scope otherwise."""
    if not principal.has(scope):
        raise PermissionDeniedError(
            f"This needs the {scope.value!r} scope, which this credential does not have.",
            scope=scope.value,
        )
    return principal


def require(scope: Scope) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: PrincipalDep) -> Principal:
        return check_scope(principal, scope)

    return check


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def owner_filter(principal: Principal) -> str | None:
    """Rows an admin may read of anyone's; everyone else reads only their own."""
    return None if principal.has(Scope.ADMIN) else principal.user.id
