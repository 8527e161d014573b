"""Dependencies routes declare: a database session per request (committed before the
response is sent, rolled back on any error), the calling principal, scope checks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.errors import (
    AppBuilderError,
    AuthenticationError,
    DatabaseBusyError,
    PermissionDeniedError,
    PlannersBusyError,
)
from appbuilder.security.scopes import Scope
from appbuilder.services import auth
from appbuilder.services.auth import Principal
from appbuilder.services.deployments import Supervisor
from appbuilder.services.project_plans import ProjectPlan, plan_project
from appbuilder.settings import Settings

T = TypeVar("T")

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
    async with db_place(request) as place:
        request.state.db_place = place
        session = factory()
        try:
            yield session
        except BaseException as exc:
            await anyio.to_thread.run_sync(finish, session, exc, limiter=finishing)
            raise
        await anyio.to_thread.run_sync(finish, session, None, limiter=finishing)


class DbPlace:
    """A request's place at ``app.state.db_gate``. A route that waits long without the
    database (a model thinking) gives it back meanwhile (``without_db_place``)."""

    def __init__(self, gate: asyncio.Semaphore, timeout: float) -> None:
        self._gate = gate
        self._timeout = timeout
        self.held = False

    async def take(self) -> None:
        """Wait as long as the pool would wait for a connection; then 503 database_busy
        with Retry-After."""
        if self.held:
            return
        try:
            async with asyncio.timeout(self._timeout):
                await self._gate.acquire()
        except TimeoutError:
            raise DatabaseBusyError(
                "The server is busy with other requests; nothing was saved. Try again in a moment.",
                retry_after=1,
            ) from None
        self.held = True

    async def take_back(self) -> None:
        """Taken again after it was given back, however long that waits: the request holds
        no connection meanwhile (nothing can wait on it), and what it did since (a paid
        model call) must not end in a 503 that says nothing was saved."""
        if not self.held:
            await self._gate.acquire()
            self.held = True

    def release(self) -> None:
        """Given back (once, however often called: the gate never grows)."""
        if self.held:
            self.held = False
            self._gate.release()


@asynccontextmanager
async def db_place(request: Request) -> AsyncIterator[DbPlace]:
    """One of the places at ``app.state.db_gate`` (see ``DbPlace.take``), for the block."""
    settings: Settings = request.app.state.settings
    place = DbPlace(request.app.state.db_gate, settings.database_pool_timeout)
    await place.take()
    try:
        yield place
    finally:
        place.release()


def _place_of(request: Request) -> DbPlace | None:
    place: DbPlace | None = getattr(request.state, "db_place", None)
    return place


@contextmanager
def without_db_place(request: Request) -> Iterator[None]:
    """For a sync route (it runs in a worker thread) whose session's transaction has ended:
    its place at the gate is given back while the block runs, and taken again after.
    Planning waits minutes for a model; holding the place meanwhile let a few planners
    keep every other request from the database (503 database_busy). What the block writes
    meanwhile goes through ``gated_transaction``."""
    place = _place_of(request)
    if place is None:
        yield
        return
    anyio.from_thread.run_sync(place.release)
    try:
        yield
    finally:
        anyio.from_thread.run(place.take_back)


def gated_transaction(
    request: Request, sessions: sessionmaker[Session]
) -> Callable[[], AbstractContextManager[Session]]:
    """Short transactions of a route that gave its place back (``without_db_place``), each
    holding the place again while it runs: the pool has a connection per place, so without
    one a burst of other requests could leave it none (a model call's ledger row failing
    after the model was paid)."""

    @contextmanager
    def transaction() -> Iterator[Session]:
        place = _place_of(request)
        if place is not None:
            anyio.from_thread.run(place.take_back)
        try:
            with sessions.begin() as session:
                yield session
        finally:
            if place is not None:
                anyio.from_thread.run_sync(place.release)

    return transaction


def plan_in_request(  # noqa: PLR0917 - plan_project's arguments, and the request
    request: Request,
    session: Session,
    sessions: sessionmaker[Session],
    user_id: str,
    project_id: str,
    words: str | None,
    *,
    model: str | None = None,
) -> ProjectPlan:
    """``plan_project`` from a route on a planning thread (``in_planning_thread``): its
    place at the gate given back while the model thinks, and the model calls' ledger
    rows written with the place held again (``without_db_place``, ``gated_transaction``)."""
    settings: Settings = request.app.state.settings
    return plan_project(
        session,
        sessions,
        user_id,
        project_id,
        words,
        settings.llm,
        model=model,
        idle=without_db_place(request),
        tx=gated_transaction(request, sessions),
    )


async def in_planning_thread(request: Request, call: Callable[[], T]) -> T:
    """Run ``call`` (a route's planning, which waits minutes for a model) on one of the
    threads kept for planning (``app.state.planning``), not anyio's shared ones: planners
    at once can then never hold every thread the other sync routes need. All taken: 503
    planners_busy with Retry-After, at once (waiting would hold a database place)."""
    limiter: anyio.CapacityLimiter = request.app.state.planning
    if limiter.available_tokens < 1:
        raise PlannersBusyError(
            "This server is already planning as many apps at once as it does "
            f"({int(limiter.total_tokens)}); nothing was asked or saved. Try again in a minute.",
            retry_after=30,
        )
    return await anyio.to_thread.run_sync(call, limiter=limiter)


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionmakerDep = Annotated[sessionmaker[Session], Depends(get_sessionmaker)]
# scope="function": the commit happens before the response goes out, so a client never
# sees success for a write that then failed to commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
#: how the routes that take a credential are documented (``web.openapi``): either scheme
CREDENTIAL_SCHEMES = (session_token_scheme, api_key_scheme)


async def bearer(request: Request) -> str:
    """The credential the request carries, read on the event loop: a request without one is
    refused before it takes a database place or a worker thread.

    One dependency that reads the header itself, as ``HTTPBearer`` does: both schemes are
    the same ``Authorization: Bearer`` header, and solving them as two sub-dependencies of
    this one cost ~0.05 ms a request (``bench/me_design.py``), a tenth of what the whole
    route would cost on the async floor. ``web.openapi`` documents both schemes on every
    route that depends on this."""
    scheme, credentials = get_authorization_scheme_param(request.headers.get("authorization"))
    if not credentials or scheme.lower() != "bearer":
        raise AuthenticationError(
            "Missing credentials: send `Authorization: Bearer <session token or API key>`."
        )
    return credentials


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
