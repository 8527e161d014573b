"""The landing page, sign-up, log-in and log-out: the API's account services behind a
cookie instead of a bearer token (the same password rules and log-in throttling)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from appbuilder.errors import AppBuilderError, AuthenticationError, RateLimitedError
from appbuilder.services import auth
from appbuilder.services.builds import template_summaries
from appbuilder.web.deps import SessionDep, SessionmakerDep, SettingsDep, client_ip
from appbuilder.web.schemas import RegisterIn
from appbuilder.web.ui.deps import (
    MaybePrincipal,
    UserDep,
    check_csrf,
    clear_session_cookie,
    optional_principal,
    set_session_cookie,
)
from appbuilder.web.ui.forms import FormInvalid, field_errors, parse
from appbuilder.web.ui.render import redirect, render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(check_csrf), Depends(optional_principal)]
)
FormText = Annotated[str, Form(max_length=10_000)]


def safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect."""
    if not target:
        return "/dashboard"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/dashboard"
    return target


@router.get("/")
def landing(request: Request) -> Response:
    templates = template_summaries()
    return render(request, "landing.html", {"templates": templates, "page_title": "Home"})


@router.get("/login")
def login_page(request: Request, principal: MaybePrincipal, next: str | None = None) -> Response:
    if principal is not None:
        return redirect(safe_next(next))
    return render(
        request,
        "login.html",
        {"next": safe_next(next), "errors": {}, "email": "", "page_title": "Log in"},
    )


@router.post("/login")
def login(
    request: Request,
    sessions: SessionmakerDep,
    settings: SettingsDep,
    email: FormText = "",
    password: FormText = "",
    next: FormText = "",
) -> Response:
    context = {"next": safe_next(next), "email": email, "page_title": "Log in"}
    try:
        _user, issued = auth.log_in(
            sessions,
            email=email,
            password=password,
            client_ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            settings=settings.auth,
        )
    except (AuthenticationError, RateLimitedError) as exc:
        status = 429 if isinstance(exc, RateLimitedError) else 401
        return render(request, "login.html", {**context, "errors": {"form": exc.message}}, status)
    response = redirect(safe_next(next), "You are logged in.")
    set_session_cookie(response, issued.token, settings)
    return response


@router.get("/signup")
def signup_page(request: Request, principal: MaybePrincipal, next: str | None = None) -> Response:
    if principal is not None:
        return redirect(safe_next(next))
    context = {"errors": {}, "email": "", "name": "", "next": safe_next(next)}
    return render(request, "signup.html", {**context, "page_title": "Sign up"})


@router.post("/signup")
def signup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: FormText = "",
    password: FormText = "",
    name: FormText = "",
    next: FormText = "",
) -> Response:
    context = {"email": email, "name": name, "next": safe_next(next), "page_title": "Sign up"}
    try:
        body = parse(RegisterIn, {"email": email, "password": password, "name": name or None})
        user = auth.register(session, email=body.email, password=body.password, name=body.name)
        issued = auth.issue_session(
            session,
            user,
            settings.auth,
            client_ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except FormInvalid as exc:
        return render(request, "signup.html", {**context, "errors": exc.errors}, 422)
    except AppBuilderError as exc:
        errors = field_errors(exc)
        return render(request, "signup.html", {**context, "errors": errors}, 422)
    response = redirect(safe_next(next), "Welcome! Your account is ready.")
    set_session_cookie(response, issued.token, settings)
    return response


@router.post("/logout")
def logout(principal: UserDep, session: SessionDep, settings: SettingsDep) -> Response:
    auth.log_out(session, principal)
    response = redirect("/", "You are logged out.")
    clear_session_cookie(response, settings)
    return response
