"""Generation runs: start one, follow it live, cancel it, read its steps."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from appbuilder.db.models import GenerationRun
from appbuilder.db.reads import Steps
from appbuilder.errors import DatabaseBusyError, DatabaseUnavailableError
from appbuilder.security.scopes import Scope
from appbuilder.services import runs
from appbuilder.services.auth import Principal
from appbuilder.services.pagination import DEFAULT_PAGE_SIZE, PageRequest
from appbuilder.services.runs.notices import FALLBACK_SECONDS, EventNotices
from appbuilder.web.deps import Bearer, SessionDep, owner_filter, require
from appbuilder.web.errors import (
    AUTH_RESPONSES,
    CONFLICT,
    NOT_FOUND,
    QUOTA,
    Responses,
    describe,
    merge,
)
from appbuilder.web.one_hop import answer, read_as, run_reads, to_json
from appbuilder.web.params import Cursor, Limit, RowId
from appbuilder.web.schemas import (
    GenerationOut,
    LedgerLineOut,
    Page,
    RunDetail,
    RunIn,
    RunOut,
)
from appbuilder.web.streams import StreamSlots

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["runs"], responses=AUTH_RESPONSES)

Starter = Annotated[Principal, Depends(require(Scope.GENERATIONS_WRITE))]
Id = RowId

#: how often the stream looks for new events (the worker may be another process)
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
#: a stream ends after this long (clients reconnect with Last-Event-ID and miss nothing)
MAX_STREAM_SECONDS = 3600.0
#: a stream's first line: how long a browser waits before it reconnects
RETRY = b"retry: 1000\n\n"
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
TOO_MANY: Responses = {429: describe("Too many runs at once for the plan; details name the limit")}


@router.post(
    "/projects/{project_id}/generate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunOut,
    responses=merge(NOT_FOUND, CONFLICT, QUOTA, TOO_MANY),
)
def start_generation(
    project_id: Id,
    principal: Starter,
    session: SessionDep,
    request: Request,
    body: RunIn = RunIn(),  # noqa: B008 - immutable pydantic default: no body means defaults
) -> RunOut:
    """Queue a run that builds the project (202 with the run). Follow it at
    `/api/runs/{id}/events`. 409 names the project's run already in progress."""
    run = runs.start_run(
        session,
        request.app.state.dispatcher,
        principal.user,
        project_id,
        spec=body.spec,
        verify=body.verify,
    )
    return RunOut.model_validate(run)  # the queue hears of it once the request commits


@router.get("/projects/{project_id}/runs", response_model=Page[RunOut], responses=NOT_FOUND)
async def list_runs(
    project_id: Id,
    request: Request,
    credential: Bearer,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response:
    """A project's runs, newest first."""

    def work(session: Session, principal: Principal) -> bytes:
        page = runs.list_project_runs(
            session,
            project_id,
            PageRequest(limit=limit, cursor=cursor),
            owner_id=owner_filter(principal),
        )
        return to_json(Page[RunOut].of(page))

    return await answer(request, credential, work, scope=Scope.GENERATIONS_READ)


@router.get("/runs/{run_id}", response_model=RunDetail, responses=NOT_FOUND)
async def get_run(run_id: Id, request: Request, credential: Bearer) -> Response:
    """A run with its steps (one Generation row per agent, in order), its model calls (a
    row each) and their per-agent ledger; `notice` says when no worker has taken it after
    `UAB_RUN_UNCLAIMED_WARNING_SECONDS`."""
    waiting = request.app.state.settings.run_unclaimed_warning_seconds

    def work(session: Session, principal: Principal) -> bytes:
        found = runs.get_run_detail(session, run_id, owner_id=owner_filter(principal))
        return to_json(
            RunDetail(
                **RunOut.model_validate(found.run).model_dump(),
                steps=[GenerationOut.model_validate(g) for g in found.steps],
                calls=[GenerationOut.model_validate(g) for g in found.calls],
                ledger=[LedgerLineOut.model_validate(line) for line in found.ledger],
                notice=runs.waiting_notice(found.run, waiting),
            )
        )

    return await answer(request, credential, work, scope=Scope.GENERATIONS_READ)


@router.post(
    "/runs/{run_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunOut,
    responses=merge(NOT_FOUND, CONFLICT),
)
def cancel_run(run_id: Id, principal: Starter, session: SessionDep, request: Request) -> RunOut:
    """Stop a run: a queued one ends CANCELLED now; a running one at its next step (its
    verification is killed). The project returns to its status from before the run."""
    run = runs.cancel_run(
        session, request.app.state.dispatcher, run_id, owner_id=owner_filter(principal)
    )
    return RunOut.model_validate(run)


def _frame(event: runs.EventOut) -> bytes:
    data = json.dumps(event.data, ensure_ascii=True, separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.kind}\ndata: {data}\n\n".encode()


@router.get(
    "/runs/{run_id}/events",
    responses=merge(
        NOT_FOUND,
        {200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
    ),
    response_model=None,
)
async def run_events(
    run_id: Id,
    request: Request,
    credential: Bearer,
    last_event_id: Annotated[int | None, Header(ge=0, le=runs.MAX_EVENT_SEQ)] = None,
    after: Annotated[int | None, Query(ge=0, le=runs.MAX_EVENT_SEQ)] = None,
) -> Response:
    """Live progress as Server-Sent Events (`queued`, `waiting`, `started`, `step_started`,
    `step_finished`, `step_failed`, `log`, `finished`), read from the database so it works
    whichever process runs the job. Reconnect with `Last-Event-ID` (or `?after=`) to get
    exactly what you missed. The stream ends after `finished`; a run that has finished is
    answered at once, whole (when its events after the one given fit one read: 500)."""
    start = last_event_id if last_event_id is not None else (after or 0)

    def first_read(principal: Principal) -> Steps[tuple[str, list[runs.EventOut], bool]]:
        yield from runs.check_run_steps(run_id, owner_id=owner_filter(principal))  # 404 first
        batch, ended = yield from runs.poll_events_steps(run_id, start)
        return principal.user.id, batch, ended

    user_id, batch, ended = await read_as(
        request, credential, first_read, scope=Scope.GENERATIONS_READ
    )
    frames, finished = _frames_of(batch)
    if finished or (ended and not batch):  # nothing more will come: one answer, not a stream
        return Response(RETRY + frames, media_type="text/event-stream", headers=STREAM_HEADERS)
    seen = batch[-1].seq if batch else start
    return event_stream(request, run_id, seen, user_id, sent=frames)


def event_stream(
    request: Request, run_id: str, start: int, user_id: str, *, sent: bytes = b""
) -> StreamingResponse:
    """The run's events after ``start`` as Server-Sent Events, polled from the database
    (the web UI's timeline streams the same; the caller has checked the run is theirs),
    after ``sent``, the frames of events up to ``start`` the caller has read already.
    429 when ``user_id`` holds the most streams one account may (``StreamSlots``)."""
    slots: StreamSlots = request.app.state.streams
    slot = slots.take(user_id)

    async def read(seen: int) -> tuple[list[runs.EventOut], bool]:
        return await run_reads(request, lambda: runs.poll_events_steps(run_id, seen), writes=False)

    return StreamingResponse(
        slots.counted(user_id, slot, _frames(request, run_id, read, start, sent)),
        media_type="text/event-stream",
        headers=STREAM_HEADERS,
    )


async def _frames(
    request: Request,
    run_id: str,
    read: Callable[[int], Awaitable[tuple[list[runs.EventOut], bool]]],
    start: int,
    sent: bytes,
) -> AsyncIterator[bytes]:
    """``sent``, then read, send, wait: for a notice of the run (PostgreSQL), else a poll
    interval. The first read is made once subscribed, so nothing after ``start`` is missed."""
    notices: EventNotices | None = request.app.state.notices
    woken = notices.subscribe(run_id) if notices is not None else None
    try:
        async for frame in _read_and_wait(request, read, start, sent, notices, woken):
            yield frame
    finally:
        if notices is not None and woken is not None:
            notices.unsubscribe(run_id, woken)


async def _read_and_wait(
    request: Request,
    read: Callable[[int], Awaitable[tuple[list[runs.EventOut], bool]]],
    seen: int,
    sent: bytes,
    notices: EventNotices | None,
    woken: asyncio.Event | None,
) -> AsyncIterator[bytes]:
    stopping = request.app.state.shutting_down
    ends = time.monotonic() + MAX_STREAM_SECONDS
    idle = _Idle(request, notices, woken)
    yield RETRY + sent
    while time.monotonic() < ends and not stopping.is_set():
        if woken is not None:
            woken.clear()  # before reading: a notice sent from here on is not missed
        try:
            batch, ended = await read(seen)
        except (DatabaseBusyError, DatabaseUnavailableError) as exc:
            # the answer has begun, so there is no status to give: the stream ends, and the
            # client's EventSource reconnects (``retry`` above) with its Last-Event-ID
            log.warning("a live stream ended: its read failed (%s)", exc)
            return
        idle.read_at = time.monotonic()
        frames, finished = _frames_of(batch)
        if frames:  # a read's frames in one write
            yield frames
            seen = batch[-1].seq
            idle.said_at = time.monotonic()
        if finished:
            return
        if batch:
            continue
        if ended:  # reconnected after the end: nothing more will come
            return
        async for comment in idle.until_worth_reading():
            yield comment
        if idle.gone:
            return


def _frames_of(batch: list[runs.EventOut]) -> tuple[bytes, bool]:
    """The batch's frames up to its ``finished`` event, and whether it had one."""
    frames = []
    for event in batch:
        frames.append(_frame(event))
        if event.kind == runs.FINISHED:
            return b"".join(frames), True
    return b"".join(frames), False


class _Idle:
    """A stream between reads: it waits for a notice of its run (PostgreSQL) or a poll
    interval, sending a keep-alive comment when quiet, and notices its client leave."""

    def __init__(
        self, request: Request, notices: EventNotices | None, woken: asyncio.Event | None
    ) -> None:
        self.request = request
        self.notices = notices
        self.woken = woken
        self.read_at = self.said_at = time.monotonic()
        self.gone = False

    async def until_worth_reading(self) -> AsyncIterator[bytes]:
        stopping = self.request.app.state.shutting_down
        while not stopping.is_set():
            if await self.request.is_disconnected():
                self.gone = True
                return
            polling = self.notices is None or self.woken is None or not self.notices.listening
            if polling:
                await asyncio.sleep(POLL_SECONDS)
            else:
                assert self.woken is not None  # noqa: S101 - for the type checker
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.woken.wait(), KEEPALIVE_SECONDS)
            if time.monotonic() - self.said_at >= KEEPALIVE_SECONDS:  # quiet: a comment
                self.said_at = time.monotonic()
                yield b": keep-alive\n\n"
            if polling or self.woken is None or self.woken.is_set():
                return
            if time.monotonic() - self.read_at >= FALLBACK_SECONDS:
                return


__all__ = ["GenerationRun", "router"]
