"""Errors on web-UI paths as styled pages; /api keeps its JSON errors. The page shows the
same message the API would (the one translation of errors to statuses is web/errors)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from appbuilder import errors
from appbuilder.logs import request_id_var
from appbuilder.web.errors import (
    DATABASE_BUSY,
    SERVER_ERRORS,
    SHOWN_SERVER_ERRORS,
    is_database_locked,
    status_for,
)
from appbuilder.web.ui.deps import CsrfRefused, LoginRequired
from appbuilder.web.ui.headers import UI_HEADERS, is_ui_path
from appbuilder.web.ui.render import redirect, render

log = logging.getLogger(__name__)
Handler = Callable[[Request, Exception], Awaitable[Response]]

TITLES = {
    400: "Bad request",
    401: "Please log in",
    402: "Plan limit reached",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed here",
    409: "Not possible right now",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong",
    502: "A service we rely on failed",
    503: "Not available right now",
}


def wants_html(request: Request) -> bool:
    """Browsers ask for HTML; a client that asks only for JSON gets the API's error body."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "*/*" in accept or not accept


def error_page(request: Request, status: int, message: str, detail: str | None = None) -> Response:
    title = TITLES.get(status, "Error")
    context = {"status": status, "title": title, "message": message, "detail": detail}
    return render(request, "error.html", {**context, "page_title": title}, status=status)


def _app_error_message(exc: errors.AppBuilderError) -> tuple[int, str]:
    status = status_for(exc)
    if status >= 500 and (type(exc) in SERVER_ERRORS or not isinstance(exc, SHOWN_SERVER_ERRORS)):
        log.error("%s: %s", exc.code, exc.message)
        return status, "The server could not complete this request."
    return status, exc.message


def install_ui_error_pages(app: FastAPI) -> None:
    """Wrap the JSON handlers: UI paths get pages, everything else what it got before."""
    json_handlers: dict[type[Exception], Handler] = {
        kind: app.exception_handlers[kind]  # type: ignore[misc]
        for kind in (
            errors.AppBuilderError,
            StarletteHTTPException,
            RequestValidationError,
            OperationalError,
            Exception,
        )
    }

    def wrap(kind: type[Exception], page: Callable[[Request, Exception], Response]) -> None:
        original = json_handlers[kind]

        async def handler(request: Request, exc: Exception) -> Response:
            if is_ui_path(request.url.path) and wants_html(request):
                return page(request, exc)
            return await original(request, exc)

        app.add_exception_handler(kind, handler)

    wrap(errors.AppBuilderError, _app_page)
    wrap(StarletteHTTPException, _http_page)
    wrap(RequestValidationError, _invalid_page)
    wrap(OperationalError, _busy_page)
    wrap(Exception, _unexpected_page)
    app.add_exception_handler(LoginRequired, _login_redirect)
    app.add_exception_handler(CsrfRefused, _csrf_page)


def _app_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.AppBuilderError)  # noqa: S101 - registered for this type
    status, message = _app_error_message(exc)
    return error_page(request, status, message)


def _http_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type
    if exc.status_code == 404:
        return error_page(request, 404, "There is no page at this address.")
    message = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
    return error_page(request, exc.status_code, message)


def _invalid_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
    return error_page(request, 422, f"The request is not valid: {fields}.")


def _busy_page(request: Request, exc: Exception) -> Response:
    """The embedded database locked past its busy timeout: the API's 503, as a page."""
    if not is_database_locked(exc):
        return _unexpected_page(request, exc)
    response = error_page(request, 503, DATABASE_BUSY)
    response.headers["Retry-After"] = "1"
    for name, value in UI_HEADERS:  # outside every middleware, as for a 500
        response.headers[name.decode()] = value.decode()
    return response


def _unexpected_page(request: Request, exc: Exception) -> Response:
    request_id = request_id_var.get()
    log.exception("unhandled error", exc_info=exc)
    message = f"Something went wrong on our side; quote request id {request_id} when reporting it."
    response = error_page(request, 500, message)
    # this handler runs outside every middleware: the UI's headers are added here
    for name, value in UI_HEADERS:
        response.headers[name.decode()] = value.decode()
    return response


async def _login_redirect(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, LoginRequired)  # noqa: S101 - registered for this type
    from urllib.parse import quote  # noqa: PLC0415 - only this path needs it

    return redirect(f"/login?next={quote(exc.next_url, safe='/')}")


async def _csrf_page(request: Request, _: Exception) -> Response:
    message = (
        "This form was refused because its security token is missing or out of date. "
        "Go back, reload the page and try again."
    )
    return error_page(request, 403, message)
