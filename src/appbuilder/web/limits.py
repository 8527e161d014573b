"""A request body size limit, enforced before the body is parsed: by Content-Length when it
is declared, and by counting bytes as they arrive when it is not (chunked uploads)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLargeError(Exception):
    pass


class _Exchange:
    """One request's receive/send, counting body bytes. Once the limit is passed, whatever
    the app answers (frameworks may turn our exception into their own 400) is replaced by
    a single 413."""

    def __init__(self, receive: Receive, send: Send, max_bytes: int) -> None:
        self._receive = receive
        self._send = send
        self.max_bytes = max_bytes
        self.received = 0
        self.too_large = False
        self.refused = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.max_bytes:
                self.too_large = True
                raise BodyTooLargeError
        return message

    async def send(self, message: Message) -> None:
        if self.too_large:
            await self.refuse()
        else:
            await self._send(message)

    async def refuse(self) -> None:
        if self.refused:
            return
        self.refused = True
        body = json.dumps(
            {
                "error": {
                    "code": "payload_too_large",
                    "message": f"Request body is larger than {self.max_bytes} bytes.",
                    "details": {"max_bytes": self.max_bytes},
                }
            }
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await self._send({"type": "http.response.start", "status": 413, "headers": headers})
        await self._send({"type": "http.response.body", "body": body})


class BodySizeLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(receive, send, self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await exchange.refuse()
            return
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except BodyTooLargeError:
            await exchange.refuse()
