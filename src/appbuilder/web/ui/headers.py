"""Headers on every web-UI response: a Content-Security-Policy that allows no inline
script and no framing, and the browser cookie the CSRF token is bound to. The API (/api)
and its interactive docs keep their own headers."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from appbuilder.web.ui.deps import BROWSER_COOKIE

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
UI_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
NOT_UI = ("/api", "/docs", "/redoc", "/openapi.json", "/healthz", "/readyz")


def is_ui_path(path: str) -> bool:
    return not any(path == p or path.startswith(p + "/") for p in NOT_UI)


class UiHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_ui_path(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # a page that set its own policy (the billing pages: forms that go on to
                # Stripe) keeps it; two policies would both be enforced
                own = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in UI_HEADERS if n not in own]
                new_id = scope.get("state", {}).get("new_browser_id")
                if new_id:
                    headers.append((b"set-cookie", self._browser_cookie(new_id)))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _browser_cookie(self, value: str) -> bytes:
        flags = "; Path=/; HttpOnly; SameSite=Lax" + ("; Secure" if self.secure else "")
        return f"{BROWSER_COOKIE}={value}{flags}".encode()
