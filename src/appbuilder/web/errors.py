"""The one place where errors become HTTP responses, all in one JSON shape:
``{"error": {"code", "message", "details"}}``. Services know nothing of status codes."""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from appbuilder import errors
from appbuilder.logs import request_id_var
from appbuilder.web.observability import REQUEST_ID_HEADER

log = logging.getLogger(__name__)

#: status per error class; an error without an entry takes its nearest mapped ancestor's
#: (its MRO is walked), so a new subclass of NotFoundError is a 404 without being listed
STATUS_BY_ERROR: dict[type[errors.AppBuilderError], int] = {
    errors.AppBuilderError: 500,
    errors.ConfigurationError: 500,
    errors.MigrationError: 500,
    errors.DecryptionError: 500,
    errors.GenerationError: 500,
    errors.ValidationError: 422,
    errors.NotFoundError: 404,
    errors.ConflictError: 409,
    errors.RefusedError: 409,
    errors.RunCancelled: 409,
    errors.DeployFailed: 409,  # recorded on its Deployment row; a state, like a cancel
    errors.AuthenticationError: 401,
    errors.PermissionDeniedError: 403,
    errors.QuotaExceededError: 402,
    errors.RateLimitedError: 429,
    errors.ConcurrencyLimitError: 429,
    errors.TooManyStreamsError: 429,
    errors.DatabaseBusyError: 503,
    errors.DatabaseUnavailableError: 503,
    errors.PlannersBusyError: 503,
    errors.ExternalToolError: 502,
    errors.ModelNotConfiguredError: 503,
    errors.BillingNotConfiguredError: 503,
    errors.WebhookSignatureError: 400,
}
#: 5xx errors whose message is written for the caller (what failed and which setting or
#: account to check; never a secret, a provider's raw text or an internal address): shown
SHOWN_SERVER_ERRORS = (
    errors.DatabaseBusyError,
    errors.DatabaseUnavailableError,
    errors.PlannersBusyError,
    errors.ModelCallError,
    errors.ModelNotConfiguredError,
    errors.BillingNotConfiguredError,
    errors.PaymentProviderError,
    errors.PushFailedError,
)
#: errors that are ours to fix, not the client's: answered with a generic 500 message
SERVER_ERRORS = frozenset(
    {
        errors.ConfigurationError,
        errors.MigrationError,
        errors.DecryptionError,
        errors.GenerationError,
    }
)


def mapped_class(error_type: type[errors.AppBuilderError]) -> type[errors.AppBuilderError]:
    """The nearest class in ``error_type``'s MRO that has a status of its own."""
    return next(c for c in error_type.__mro__ if c in STATUS_BY_ERROR)


def status_for(error: errors.AppBuilderError) -> int:
    return STATUS_BY_ERROR[mapped_class(type(error))]


HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


class ErrorInfo(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str = Field(examples=["Project 'ck1...' was not found."])
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorInfo


Responses = dict[int | str, dict[str, Any]]


def describe(text: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": text}


#: documented on every route, so clients (and schemathesis) know these shapes
COMMON_RESPONSES: Responses = {
    400: describe("Malformed request"),
    413: describe("Request body too large"),
    422: describe("Validation failed; details.fields names each bad field"),
}
AUTH_RESPONSES: Responses = {
    401: describe("Missing, invalid, expired or revoked credentials"),
    403: describe("The credential lacks a scope or role this needs"),
}
NOT_FOUND: Responses = {404: describe("No such row, or not yours")}
CONFLICT: Responses = {409: describe("Conflicts with the current state")}
QUOTA: Responses = {402: describe("A tier quota is reached; details name the limit")}
RATE_LIMITED: Responses = {429: describe("Too many attempts; see Retry-After")}


def merge(*parts: Responses) -> Responses:
    merged: Responses = {}
    for part in parts:
        merged.update(part)
    return merged


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


class AsciiJSONResponse(JSONResponse):
    """Errors may quote what the client sent; escaping to ASCII means even text that is not
    valid Unicode (unpaired surrogates) renders, instead of failing inside the handler."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return AsciiJSONResponse(body, status_code=status, headers=headers)


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.AppBuilderError)  # noqa: S101 - registered for this type
    status = status_for(exc)
    details = dict(exc.details)
    if isinstance(exc, errors.SpecError):  # every problem of the request's spec at once
        details = {
            "fields": [
                {"path": f"spec.{path}", "type": rule, "message": message}
                for path, rule, message in exc.problems
            ]
        }
    elif isinstance(exc, errors.ValidationError):
        details = {"fields": [{"path": exc.field, "type": exc.rule, "message": exc.message}]}
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if status >= 500:
        log.error("%s: %s", exc.code, exc.message)
        if not isinstance(exc, SHOWN_SERVER_ERRORS):
            message = "The server could not complete this request."
            return _json(status, error_body(exc.code, message))
    return _json(status, error_body(exc.code, exc.message, details), headers)


#: the problems one 422 lists: a body of thousands of unknown keys is not answered with
#: thousands of entries (half a megabyte for 5,000)
MAX_FIELDS = 50


def _field_path(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # noqa: S101 - registered for this type
    problems = exc.errors()
    fields = [
        {"path": _field_path(tuple(err["loc"])), "type": err["type"], "message": err["msg"]}
        for err in problems[:MAX_FIELDS]
    ]
    names = ", ".join(f["path"] for f in fields[:5])
    more = (
        f" ({len(problems)} problems, the first {MAX_FIELDS} listed)"
        if len(problems) > MAX_FIELDS
        else ""
    )
    message = f"Request is not valid: {names}{more}."
    broken = next((err for err in exc.errors() if err["type"] == "json_invalid"), None)
    if broken is not None:
        reason = broken.get("ctx", {}).get("error", "malformed")
        message = f"Request body is not valid JSON ({reason}, at character {broken['loc'][-1]})."
    return _json(422, error_body("validation_error", message, {"fields": fields}))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for this type
    code = HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return _json(exc.status_code, error_body(code, message), dict(exc.headers or {}))


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    """Values the database itself refuses (a NUL character, a number out of range) are the
    client's to fix: a 422, not a 500."""
    log.info("database refused a value: %s", type(getattr(exc, "orig", exc)).__name__)
    return _json(
        422,
        error_body(
            "validation_error",
            "A value was refused by the database (for example a NUL character or a number "
            "out of range).",
            {"fields": []},
        ),
    )


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    """A uniqueness or reference rule the services did not catch first (e.g. a race)."""
    log.info("integrity error: %s", type(getattr(exc, "orig", exc)).__name__)
    return _json(409, error_body("conflict", "The change conflicts with existing data."))


async def _unencodable(_: Request, exc: Exception) -> JSONResponse:
    """Backstop for text that is not valid Unicode reaching the database driver."""
    log.info("unencodable client text: %s", type(exc).__name__)
    return _json(
        422,
        error_body(
            "validation_error",
            "Text must be valid Unicode (no unpaired surrogates).",
            {"fields": []},
        ),
    )


async def _operational_error(request: Request, exc: Exception) -> JSONResponse:
    """No connection could be made (PostgreSQL down, restarting, refusing connections), or
    the embedded database (SQLite) stayed locked by other writers past its busy timeout:
    either way the request changed nothing. 503 with Retry-After, so clients back off and
    try again; anything else is any driver error's."""
    if getattr(exc, "statement", "") is None:  # raised connecting, before any statement
        log.warning("the database cannot be reached: %s", type(getattr(exc, "orig", exc)).__name__)
        body = error_body("database_unavailable", DATABASE_UNREACHABLE)
        return _json(503, body, {"Retry-After": "1"})
    if not is_database_locked(exc):
        return await _database_error(request, exc)
    return _json(503, error_body("database_busy", DATABASE_BUSY), {"Retry-After": "1"})


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A driver error none of the handlers above takes: a lost connection, or unexpected."""
    if getattr(exc, "connection_invalidated", False):
        return _lost_connection(exc)
    return await _unexpected(request, exc)


def _lost_connection(exc: Exception) -> JSONResponse:
    """PostgreSQL ended the connection the request was on (a restart, a failover, an
    operator). SQLAlchemy has then marked every connection the pool held before as stale,
    so the next requests open new ones: 503 with Retry-After, and the client's retry works.
    (With ``UAB_DATABASE_POOL_PRE_PING`` a dead pooled connection is found before use, and
    only a connection lost in the middle of a request ends here.)"""
    log.warning("a database connection was lost: %s", type(getattr(exc, "orig", exc)).__name__)
    return _json(503, error_body("database_unavailable", DATABASE_LOST), {"Retry-After": "1"})


#: what a person is told when the connection to the database was lost during the request
DATABASE_LOST = (
    "The connection to the database was lost during your request. Try again in a moment; "
    "if you were saving something, check whether it was saved first."
)


#: what a person is told when no connection to the database could be made
DATABASE_UNREACHABLE = (
    "The database cannot be reached right now; nothing was changed. Try again in a moment."
)


#: what a person is told when the embedded database stayed locked
DATABASE_BUSY = (
    "The database is busy with other requests; your change was not saved. Try again in a moment."
)


def is_database_locked(exc: Exception) -> bool:
    """SQLite locked by other writers past its busy timeout (logged: the server is loaded)."""
    locked = "database is locked" in str(getattr(exc, "orig", exc))
    if locked:
        log.warning("the database was locked past its busy timeout")
    return locked


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    request_id = request_id_var.get()
    log.exception("unhandled error", exc_info=exc)
    return _json(
        500,
        error_body(
            "internal_error",
            f"Something went wrong on our side; quote request id {request_id} when reporting it.",
        ),
        {REQUEST_ID_HEADER: request_id},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.AppBuilderError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    # the hot reads' driver (db.async_reads): the server's class 22 (data exceptions)
    app.add_exception_handler(asyncpg.exceptions.DataError, _data_error)
    app.add_exception_handler(UnicodeEncodeError, _unencodable)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)
