"""A deployment's log followed over HTTP, for the API and the web UI alike.

The loop is the services' (``logs.follow_deployment``, the command line's too); the server
adds what only it has: its database gate around each "still running?" check (as the
live-progress stream's reads take it), and a pause that ends when the client has gone
or the server is shutting down. The stream counts against the account's streams."""

from __future__ import annotations

from pathlib import Path

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.services.deployments import logs
from appbuilder.web.deps import db_place
from appbuilder.web.streams import counted


def follow_log(
    request: Request,
    user_id: str,
    path: Path,
    deployment_id: str,
    lines: int,
) -> StreamingResponse:
    """The log's last ``lines``, then each new chunk until the deployment ends (the caller
    has checked it is ``user_id``'s); 429 when the account holds all its streams."""

    async def pause(seconds: float) -> bool:
        stopping = request.app.state.shutting_down
        if stopping.is_set() or await request.is_disconnected():
            return False
        await anyio.sleep(seconds)
        return not stopping.is_set()

    sessions: sessionmaker[Session] = request.app.state.sessions
    stream = logs.follow_deployment(
        sessions, path, deployment_id, lines, place=lambda: db_place(request), pause=pause
    )
    return StreamingResponse(
        counted(request, user_id, stream), media_type="text/plain; charset=utf-8"
    )
