"""Who is browsing: the session cookie, turned into a Principal by the same service the
API uses for bearer tokens (services/auth), and the CSRF token every form carries.

The CSRF token is an HMAC, under the platform's secret key, of a random per-browser value
(its own cookie) and the session token: it changes at log-in and log-out, and a page on
another site can neither read it nor forge it."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from appbuilder.errors import AuthenticationError
from appbuilder.services import auth
from appbuilder.services.auth import Principal
from appbuilder.settings import Environment, Settings
from appbuilder.web.deps import SessionDep

SESSION_COOKIE = "uab_session"
BROWSER_COOKIE = "uab_browser"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class LayoutUser:
    """What the page layout shows of the signed-in user, copied from the row: an error page
    renders after the request's session is rolled back and closed, when the row can't load."""

    id: str
    email: str
    name: str | None
    role: str
    tier: str
    #: the user set a model of their own (planning works without the platform's)
    own_model: bool

    @classmethod
    def of(cls, principal: Principal) -> LayoutUser:
        user = principal.user
        own = bool(user.llm_provider and user.llm_model)
        return cls(
            user.id, user.email, user.name, user.role.value, user.subscription_tier.value, own
        )


class LoginRequired(Exception):  # noqa: N818 - a signal to redirect, not a failure
    """Raised by pages that need a signed-in user; answered with a redirect to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRefused(Exception):  # noqa: N818 - answered with the styled 403
    """A form post without the token of this browser's session."""


def secure_cookies(settings: Settings) -> bool:
    return settings.env is Environment.PRODUCTION


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.auth.session_ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure_cookies(settings),
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(settings)
    )


def browser_id(request: Request) -> str:
    """This browser's random value; a new one is made (and set by the middleware) if absent."""
    existing = request.cookies.get(BROWSER_COOKIE)
    if existing and 16 <= len(existing) <= 64:
        return existing
    if not getattr(request.state, "new_browser_id", None):
        request.state.new_browser_id = secrets.token_urlsafe(24)
    value: str = request.state.new_browser_id
    return value


def csrf_key(settings: Settings) -> bytes:
    """The CSRF tokens' own key, derived from the platform's secret (read once at start)."""
    secret = settings.secret_key_value().encode()
    return hmac.new(secret, b"appbuilder web ui csrf", hashlib.sha256).digest()


def csrf_token(request: Request) -> str:
    key: bytes = request.app.state.csrf_key
    session_token = request.cookies.get(SESSION_COOKIE, "")
    message = f"{browser_id(request)}|{session_token}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    """The signed-in user, or None (an expired or logged-out cookie is just no user)."""
    token = request.cookies.get(SESSION_COOKIE)
    principal = None
    if token and token.startswith(auth.SESSION_TOKEN_PREFIX):
        try:
            principal = auth.authenticate(session, token)
        except AuthenticationError:
            principal = None
    request.state.ui_user = LayoutUser.of(principal) if principal else None
    request.state.csrf_token = csrf_token(request)
    return principal


MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]


def required_principal(request: Request, principal: MaybePrincipal) -> Principal:
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return principal


UserDep = Annotated[Principal, Depends(required_principal)]


async def check_csrf(request: Request) -> None:
    """Every POST carries the token, as a form field or (from app.js) a header."""
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    expected = csrf_token(request)
    if not sent or not hmac.compare_digest(sent, expected):
        raise CsrfRefused
