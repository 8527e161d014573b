"""The hot reads dispatched straight to their endpoints, ahead of FastAPI's per-request work.

Why (issue 16): once the hot reads' queries ran on the async driver (``db.async_reads``),
what was left between ``/api/me`` and the async floor was mostly the framework around the
endpoint: FastAPI's router matched each request three times through its included routers,
solved the route's dependencies through its general machinery (sub-dependency cache, exit
stacks, a sub-response, telemetry), and only then called the endpoint. Together about
0.3 ms of server CPU a request, as much as the floor spends on the whole request.

A :class:`HotRoute` is built from a route FastAPI already has, and only for the simple
shape every hot read has: ``GET``, an ``async`` endpoint taking the ``Request``, the
credential (``deps.bearer``) and path, optional query or optional header parameters, and
answering a ``Response`` (the live run stream's is a stream).
Put first in the app's routes, it matches the route's own path pattern and method, and
runs what FastAPI would run, in FastAPI's order: the credential first, then each
parameter validated by the field FastAPI made from its declaration in the endpoint's
signature, read as ``request_params_to_args`` reads it (errors raised as the same
``RequestValidationError``), then the endpoint. The FastAPI route stays where it was: it
documents the operation in OpenAPI and answers what the hot route leaves to it (``HEAD``,
other methods). Errors reach the app's handlers as from any route (the exception
middleware is outside the router). A route of another shape is refused when the app is
built, so a new parameter kind cannot be silently skipped.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from fastapi import FastAPI
from fastapi._compat import ModelField, field_annotation_is_sequence
from fastapi.dependencies.utils import _get_param_aliases, _get_param_model, _is_json_field
from fastapi.exceptions import RequestValidationError
from fastapi.params import Param, ParamTypes
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.datastructures import URLPath
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from appbuilder.web.deps import bearer


class HotRoute(BaseRoute):
    """``route`` answered without FastAPI's general request handler (see the module)."""

    def __init__(self, route: APIRoute) -> None:
        dependant = route.dependant
        problems = _unsupported(route)
        if problems:
            raise ValueError(f"{route.path} cannot be a hot route: {'; '.join(problems)}")
        self.route = route
        self.name = route.name
        self.path = route.path
        self.path_format = route.path_format  # what the router reports (telemetry)
        self._regex = route.path_regex
        self._convertors = route.param_convertors
        self._path_params = [_Param.of(field) for field in dependant.path_params]
        self._query_params = [_Param.of(field) for field in dependant.query_params]
        self._header_params = [_Param.of(field) for field in dependant.header_params]
        self._request_name: str = dependant.request_param_name or ""
        self._credential_name: str = dependant.dependencies[0].name or ""
        self._endpoint = route.endpoint

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] != "GET":
            return Match.NONE, {}
        if scope["app"].dependency_overrides:  # FastAPI's route applies them (tests)
            return Match.NONE, {}
        found = self._regex.match(get_route_path(scope))
        if found is None:
            return Match.NONE, {}
        given = {k: self._convertors[k].convert(v) for k, v in found.groupdict().items()}
        path_params = {**scope.get("path_params", {}), **given}
        return Match.FULL, {
            "endpoint": self._endpoint,
            "path_params": path_params,
            "route": self.route,
        }

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Not here: the FastAPI route behind this one answers for the name (and every
        other route's lookup walks past this one)."""
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        arguments: dict[str, Any] = {
            self._request_name: request,
            self._credential_name: await bearer(request),
        }
        errors: list[Any] = []
        for param in self._path_params:
            errors += param.read(request.path_params, arguments)
        if self._query_params:
            query = request.query_params
            for param in self._query_params:
                errors += param.read(query, arguments)
        if self._header_params:
            headers = request.headers
            for param in self._header_params:
                errors += param.read(headers, arguments)
        if errors:
            raise RequestValidationError(errors)
        response = await self._endpoint(**arguments)
        await response(scope, receive, send)


@dataclass(frozen=True, slots=True)
class _Param:
    """A scalar path, query or header parameter read as FastAPI's
    ``request_params_to_args`` reads one (the given value, or the default when absent,
    validated by the field), with its name, alias and default looked up once instead of on
    every request (46 µs a request for the list's five). A header's alias is the name
    FastAPI reads it by (``last_event_id`` as ``last-event-id``)."""

    field: ModelField
    alias: str
    loc: tuple[str, str]
    default: Any
    validate_default: bool

    @classmethod
    def of(cls, field: ModelField) -> _Param:
        info = field.field_info
        assert isinstance(info, Param)  # noqa: S101 - FastAPI's query and path fields are
        # what FastAPI reads otherwise, by FastAPI's own tests of a field
        if field_annotation_is_sequence(info.annotation) or _is_json_field(field):
            raise ValueError(f"{field.name}: a list or JSON parameter is read differently")
        if _get_param_model(field) is not None:
            raise ValueError(f"{field.name}: a parameter model is read differently")
        if _get_param_aliases(field) != [(field.alias, field.alias)]:
            raise ValueError(f"{field.name}: its aliases are read differently")
        if info.in_ is ParamTypes.path:  # always given: the path matched
            pass
        elif info.in_ not in (ParamTypes.query, ParamTypes.header) or info.is_required():
            raise ValueError(
                f"{field.name}: only optional query and header parameters are read here"
            )
        elif not isinstance(field.default, _IMMUTABLE):
            raise ValueError(f"{field.name}: its default would be shared between requests")
        return cls(
            field=field,
            alias=field.alias,
            loc=(info.in_.value, field.alias),
            default=field.default,
            validate_default=bool(info.validate_default),
        )

    def read(self, given: Mapping[str, Any], values: dict[str, Any]) -> list[Any]:
        """Put the parameter's value in ``values`` under its name; its errors, if any."""
        value = given.get(self.alias)
        if value is None:
            if not self.validate_default:
                values[self.field.name] = self.default
                return []
            value = self.default
        checked, errors = self.field.validate(value, values, loc=self.loc)
        if errors:
            return list(errors)
        values[self.field.name] = checked
        return []


_IMMUTABLE = (type(None), str, int, float, bool, Enum)


def _unsupported(route: APIRoute) -> list[str]:
    """What in ``route`` a hot route would not do as FastAPI does (nothing: it can be one)."""
    dependant = route.dependant
    problems = []
    if route.methods != {"GET"}:
        problems.append(f"methods {sorted(route.methods or ())}, not GET alone")
    if not inspect.iscoroutinefunction(route.endpoint):
        problems.append("its endpoint is not async")
    if [d.call for d in dependant.dependencies] != [bearer]:
        problems.append("its one dependency must be the credential (deps.bearer)")
    if dependant.request_param_name is None:
        problems.append("its endpoint does not take the Request")
    if dependant.cookie_params or dependant.body_params:
        problems.append("it reads cookies or a body")
    for name in (
        "response_param_name",
        "background_tasks_param_name",
        "websocket_param_name",
        "http_connection_param_name",
        "security_scopes_param_name",
    ):
        if getattr(dependant, name, None) is not None:
            problems.append(f"its endpoint takes {name.removesuffix('_param_name')}")
    return problems


def install_hot_routes(app: FastAPI, endpoints: Sequence[Callable[..., Any]]) -> None:
    """Put a :class:`HotRoute` for the route of each of ``endpoints`` ahead of every other
    route of ``app``. Refused (at start) where FastAPI would add dependencies the hot route
    would not run: the app's own, or those given when a router was included."""
    if app.router.dependencies:
        raise ValueError("the app has dependencies of its own: no hot routes")
    found: dict[Callable[..., Any], APIRoute] = {}
    for entry in app.router.routes:
        included = getattr(entry, "original_router", None)  # FastAPI's include_router
        for route in included.routes if included is not None else [entry]:
            if isinstance(route, APIRoute) and route.endpoint in endpoints:
                if included is not None and entry.include_context.dependencies:  # type: ignore[attr-defined]
                    raise ValueError(f"{route.path} was included with dependencies: not hot")
                found[route.endpoint] = route
    missing = [endpoint.__name__ for endpoint in endpoints if endpoint not in found]
    if missing:
        raise ValueError(f"no route for the hot endpoints {missing}")
    app.router.routes[:0] = [HotRoute(found[endpoint]) for endpoint in endpoints]
