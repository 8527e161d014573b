"""Liveness and readiness for load balancers and orchestrators."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from appbuilder.db import migrate
from appbuilder.services import runs
from appbuilder.web.errors import ErrorResponse, error_body
from appbuilder.web.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
@router.head("/healthz", include_in_schema=False)  # load balancers often probe with HEAD
async def healthz() -> HealthOut:
    """The process is alive (touches nothing else)."""
    # async: answered on the event loop, never queued behind busy worker threads
    # (log-ins hashing passwords, for instance).
    return HealthOut(status="ok")


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ErrorResponse, "description": "Not ready, with the reason"}},
)
def readyz(request: Request) -> ReadyOut | JSONResponse:
    """The database is reachable and its schema is the one this code expects. `workers`
    counts the queue's workers with a recent heartbeat (procrastinate: `uab worker`
    processes; 0 means queued runs wait); on the embedded queue, this process's runner
    threads."""
    engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = migrate.current_revision(connection)
    except SQLAlchemyError as exc:
        reason = f"database unreachable: {type(exc).__name__}"
        return JSONResponse(error_body("not_ready", reason), status_code=503)
    expected = request.app.state.head_revision
    if current != expected:
        reason = (
            f"database schema is at {current or 'nothing'}, expected {expected}: "
            "run `uab db upgrade`"
        )
        return JSONResponse(error_body("not_ready", reason), status_code=503)
    try:
        workers = _workers(request)
    except SQLAlchemyError as exc:
        reason = f"database unreachable: {type(exc).__name__}"
        return JSONResponse(error_body("not_ready", reason), status_code=503)
    queue = "procrastinate" if request.app.state.settings.uses_procrastinate else "embedded"
    return ReadyOut(status="ready", revision=current, queue=queue, workers=workers)


def _workers(request: Request) -> int:
    alive = runs.workers_alive(request.app.state.settings, request.app.state.sessions)
    if alive is not None:
        return alive
    runner = request.app.state.runner
    return runner.threads if runner is not None else 0
