"""The Jinja2 environment of the web UI and the one function pages render through, so
every page gets the signed-in user, the CSRF token and the flash message the same way."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from appbuilder.enums import ProjectTemplate

TEMPLATES = Path(__file__).parent / "templates"
#: how the templates are named on pages
TEMPLATE_NAMES = {
    ProjectTemplate.SAAS: "SaaS",
    ProjectTemplate.ECOMMERCE: "E-commerce",
    ProjectTemplate.BLOG: "Blog",
    ProjectTemplate.API: "API",
    ProjectTemplate.CUSTOM: "Custom",
}
FLASH_COOKIE = "uab_flash"
#: how long a flash message waits for the next page (it is read once)
FLASH_SECONDS = 60


@cache
def environment() -> Environment:
    """Autoescaping on for every template: every user-supplied string renders inert."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["tokens"] = _tokens
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.globals["template_names"] = TEMPLATE_NAMES
    return env


def _money(value: object) -> str:
    """Dollars to the cent; model calls cost fractions of a cent, so those show four places."""
    if value is None:
        return "—"
    amount = float(str(value))
    return f"${amount:,.2f}" if amount == 0 or amount >= 0.01 else f"${amount:,.4f}"


def _tokens(value: object) -> str:
    return "—" if value is None else f"{int(str(value)):,}"


def _when(value: Any) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _day(value: Any) -> str:
    """``3 November 2026`` (strftime's ``%-d`` is not portable: glibc only)."""
    return "—" if value is None else f"{value.day} {value.strftime('%B %Y')}"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """A page: its context plus what the layout needs (user, CSRF token, flash)."""
    flash = request.cookies.get(FLASH_COOKIE)
    values: dict[str, Any] = {
        "request": request,
        "user": getattr(request.state, "ui_user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "flash": unquote(flash)[:300] if flash else None,
        "page_title": "",
        # a plan limit refused what the person asked for: the layout offers the plans
        "limit_reached": status == 402,
    }
    values.update(context or {})
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    """303 See Other after a form post (the browser follows with GET), with a flash message
    for the next page when given."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, quote(flash), max_age=FLASH_SECONDS, httponly=True, samesite="lax"
        )
    return response


def no_content() -> Response:
    return Response(status_code=204)
