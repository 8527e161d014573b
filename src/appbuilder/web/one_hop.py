"""Hot read routes answered in one worker-thread round trip.

A route built from ``SessionDep``, ``require(...)`` and a sync endpoint hands work to a
worker thread four times a request: the principal, the endpoint, FastAPI's validation of
what the endpoint returned, and the commit. On the hot reads those round trips and the second
validation cost more server CPU than the queries (issue 16). A one-hop route is ``async``:
FastAPI still validates its parameters and documents its ``response_model``, and
:func:`answer` does the rest in a single thread: a session, the same authentication and
scope check as ``require`` (``deps.get_principal``'s ``auth.authenticate`` and
``deps.check_scope``), the route's service call, the response serialised to JSON once, and
the commit or rollback (``deps.finish``, which every request's session ends in). Errors
raised there reach the same handlers (web/errors.py) as those of any other route.

Authentication's ``last_used_at`` write stays in the request's own transaction on that
thread, as it is on the other routes: never a sync driver on the event loop, where waiting
for a row lock held by another request's transaction would stall every request.

The hottest reads (:func:`answer_reads`: ``/api/me``, ``/api/usage``, the project list and
page; :func:`read_as`: a live stream's check and first read, the file tree's reads before git) are
written as steps (``db.reads``): the credential's look-up and checks
(``auth.authenticate_steps``), the scope check, the route's statements and its JSON, once.
On PostgreSQL they run on the async driver on the event loop (``db.async_reads``: no
thread at all; a lock wait there is an ``await``, not a stall); on SQLite, or with
``UAB_DATABASE_ASYNC_READS=false``, the same steps run on a session in one worker thread.
Their routes are also dispatched ahead of FastAPI's router (``web.hot_routes``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import anyio
from fastapi import Request, Response
from pydantic import BaseModel, TypeAdapter
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.async_reads import AsyncReads
from appbuilder.db.reads import Steps, run_steps
from appbuilder.db.session import reading
from appbuilder.security.scopes import Scope
from appbuilder.services import auth
from appbuilder.services.auth import Principal
from appbuilder.web.deps import check_scope, db_place, finish

T = TypeVar("T")
#: the route's own part: its service call and its serialised answer
Work = Callable[[Session, Principal], T]
#: the same, as steps (``db.reads``): what the route reads for the principal, and its JSON
Reads = Callable[[Principal], Steps[bytes]]


async def answer_reads(
    request: Request, credential: str, reads: Reads, scope: Scope | None
) -> Response:
    """``reads``' JSON with status 200, for the principal ``credential`` authenticates
    (checked for ``scope`` when given): on the async pool when the app has one, else in one
    worker-thread round trip. The same steps either way."""
    body = await read_as(request, credential, reads, scope)
    return Response(content=body, media_type="application/json")


async def read_as(
    request: Request,
    credential: str,
    reads: Callable[[Principal], Steps[T]],
    scope: Scope | None,
) -> T:
    """What ``reads`` return for the principal ``credential`` authenticates (checked for
    ``scope`` when given), run as :func:`answer_reads` runs them (for a route that answers
    more than JSON: a stream, or files read from git once the project is found)."""

    def steps() -> Steps[T]:
        found = yield from auth.authenticate_steps(credential)
        if scope is not None:
            check_scope(found.principal, scope)
        result = yield from reads(found.principal)
        if found.touch is not None:  # last: a refused request records no use
            yield found.touch
        return result

    return await run_reads(request, steps, writes=True)


async def run_reads(request: Request, steps: Callable[[], Steps[T]], *, writes: bool) -> T:
    """What ``steps`` return, run on the app's async pool when it has one (PostgreSQL: on
    the event loop, no thread), else on a session in one worker-thread round trip. The one
    place that choice is made, for the hot routes and the live streams alike. ``writes``:
    the steps may write (a credential's due ``last_used_at``), so the thread path commits;
    without it the session is read-only (on SQLite it takes no write lock, so a stream's
    polls don't hold up the writers)."""
    pool: AsyncReads | None = request.app.state.async_reads
    if pool is not None:
        return await pool.run(steps)
    if writes:
        return await _in_a_session(request, lambda session: run_steps(session, steps()))
    async with db_place(request):  # a connection is sure to be free
        return await anyio.to_thread.run_sync(_read_only, request.app.state.sessions, steps)


def _read_only(factory: sessionmaker[Session], steps: Callable[[], Steps[T]]) -> T:
    with reading(factory) as reader:
        return run_steps(reader, steps())


async def answer(
    request: Request, credential: str, work: Work[bytes], scope: Scope | None
) -> Response:
    """``work``'s JSON with status 200, authenticated with ``credential`` (and checked for
    ``scope`` when given), all in one worker-thread round trip."""
    body = await in_one_hop(request, credential, work, scope)
    return Response(content=body, media_type="application/json")


async def in_one_hop(request: Request, credential: str, work: Work[T], scope: Scope | None) -> T:
    """What ``work`` returns, run as :func:`answer` runs it (for a route that answers
    something other than JSON, such as a stream once its run is found to be the caller's)."""

    def authorised(session: Session) -> T:
        principal = auth.authenticate(session, credential)
        if scope is not None:
            check_scope(principal, scope)
        return work(session, principal)

    return await _in_a_session(request, authorised)


async def _in_a_session(request: Request, job: Callable[[Session], T]) -> T:
    """``job`` on a session of its own in one worker-thread round trip, committed or rolled
    back (``deps.finish``) there too. The database place is taken on the event loop before
    the thread, like ``get_session`` does, so a request never holds a thread while it
    waits for a connection."""
    factory: sessionmaker[Session] = request.app.state.sessions
    async with db_place(request):
        return await anyio.to_thread.run_sync(_in_one_thread, factory, job)


def _in_one_thread(factory: sessionmaker[Session], job: Callable[[Session], T]) -> T:
    session = factory()
    try:
        result = job(session)
    except BaseException as exc:
        finish(session, exc)
        raise
    finish(session, None)
    return result


@cache
def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(model)


def to_json(value: BaseModel) -> bytes:
    """``value`` as FastAPI serialises a route's ``response_model`` (its fast path: pydantic
    straight to JSON bytes, by alias), without validating it again."""
    body: bytes = _adapter(type(value)).dump_json(value, by_alias=True)
    return body
