"""Request ids and structured logs.

Every request gets an id (the client's ``X-Request-ID`` if it is a sane one, else a new
one); it is echoed in the response and stamped on every log line written while the
request runs (``appbuilder.logs`` formats the lines).
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appbuilder.logs import request_id_var

REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = logging.getLogger("appbuilder.access")


class _Ids:
    """New request ids: 16 hex digits, a random prefix of the process and a count. An id
    ties a request's log lines together; it is no secret (a client may send its own), so
    it needs to be unique, not unpredictable: 16 random digits a request read the system's
    random source, about a hundredth of the server's CPU on ``/api/me`` (issue 16)."""

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)  # a forked worker: its own prefix

    def renew(self) -> None:
        self.prefix = secrets.token_hex(3)
        self.count = itertools.count(1)

    def next(self) -> str:
        return f"{self.prefix}{next(self.count) & 0xFF_FFFF_FFFF:010x}"


_IDS = _Ids()


def _request_id(scope: Scope) -> str:
    """The client's id when it is a sane one, else a new one."""
    incoming = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
    return incoming if _VALID_ID.match(incoming) else _IDS.next()


def _stamp(message: Message, request_id: str) -> None:
    """Put our request id header on a response start, replacing any the app set."""
    name = REQUEST_ID_HEADER.encode()
    headers = [h for h in message.get("headers", []) if h[0] != name]
    headers.append((name, request_id.encode()))
    message["headers"] = headers


def _log_access(scope: Scope, status: int, started: float) -> None:
    method, path = scope["method"], scope["path"]
    access_log.info(
        "%s %s %s",
        method,
        path,
        status,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            "client": (scope.get("client") or ("-",))[0],
        },
    )


class RequestIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): streaming responses and contextvars keep working."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                _stamp(message, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _log_access(scope, status, started)
