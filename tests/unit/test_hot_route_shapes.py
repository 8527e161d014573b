"""A route is made a hot route (``web.hot_routes``) only when it has the shape whose
handling the hot route reproduces; any other shape is refused when the app is built, with
the reason, so a new kind of parameter is never silently read differently.

(No ``from __future__ import annotations``: the endpoints here are made inside the tests,
and FastAPI reads their annotations as objects.)"""

from collections.abc import Callable
from typing import Annotated

import pytest
from fastapi import APIRouter, Cookie, Depends, FastAPI, Header, Query, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from appbuilder.settings import Settings
from appbuilder.web.app import create_app
from appbuilder.web.deps import Bearer, bearer
from appbuilder.web.hot_routes import HotRoute, install_hot_routes


def _route(router: APIRouter) -> APIRoute:
    route = router.routes[-1]
    assert isinstance(route, APIRoute)
    return route


def test_the_hot_reads_shape_is_taken() -> None:
    router = APIRouter()

    @router.get("/things/{thing_id}")
    async def read(
        thing_id: str, request: Request, credential: Bearer, limit: int = 20, q: str | None = None
    ) -> Response:
        return Response()

    hot = HotRoute(_route(router))
    assert hot.path == "/things/{thing_id}"


def test_an_optional_header_is_taken_and_a_required_one_refused() -> None:
    """The live stream's ``Last-Event-ID``: read by the name FastAPI reads it by."""
    router = APIRouter()

    @router.get("/stream")
    async def stream(
        request: Request,
        credential: Bearer,
        last_event_id: Annotated[int | None, Header(ge=0)] = None,
    ) -> Response:
        return Response()

    assert HotRoute(_route(router)).path == "/stream"

    @router.get("/signed")
    async def signed(
        request: Request, credential: Bearer, x_signature: Annotated[str, Header()]
    ) -> Response:
        return Response()

    with pytest.raises(ValueError, match="only optional query and header parameters"):
        HotRoute(_route(router))


def _refusal(router: APIRouter) -> str:
    with pytest.raises(ValueError, match="cannot be a hot route") as refused:
        HotRoute(_route(router))
    return str(refused.value)


def test_other_methods_and_sync_endpoints_are_refused() -> None:
    router = APIRouter()

    @router.post("/a")
    def write(request: Request, credential: Bearer) -> Response:
        return Response()

    reason = _refusal(router)
    assert "not GET alone" in reason
    assert "not async" in reason


def test_other_dependencies_and_parameter_kinds_are_refused() -> None:
    router = APIRouter()

    async def extra() -> int:
        return 1

    @router.get("/b")
    async def read(
        request: Request,
        credential: Bearer,
        other: Annotated[int, Depends(extra)],
        session: Annotated[str | None, Cookie()] = None,
    ) -> Response:
        return Response()

    reason = _refusal(router)
    assert "one dependency must be the credential" in reason
    assert "cookies or a body" in reason


def test_a_route_without_the_request_or_the_credential_is_refused() -> None:
    router = APIRouter()

    @router.get("/c")
    async def read() -> Response:
        return Response()

    reason = _refusal(router)
    assert "does not take the Request" in reason
    assert "credential" in reason


@pytest.mark.parametrize(
    ("annotation", "default", "reason"),
    [
        (list[str], Query(None), "a list or JSON parameter"),
        (int, Query(), "only optional query and header parameters"),
        (str, Query("x", validation_alias="other"), "its aliases"),
    ],
    ids=["list", "required", "validation-alias"],
)
def test_query_parameters_read_otherwise_are_refused(
    annotation: object, default: object, reason: str
) -> None:
    router = APIRouter()

    async def read(
        request: Request,
        credential: Bearer,
        value: annotation = default,  # type: ignore[valid-type]
    ) -> Response:
        return Response()

    router.add_api_route("/d", read, methods=["GET"])
    with pytest.raises(ValueError, match=reason):
        HotRoute(_route(router))


class _Filters(BaseModel):
    a: int = 0


async def _audit() -> None:
    return None


@pytest.mark.parametrize(
    ("annotation", "reason"),
    [
        (list[str] | None, "a list or JSON parameter"),
        (_Filters | None, "a parameter model"),
    ],
    ids=["optional-list", "optional-model"],
)
def test_optional_lists_and_models_are_refused(annotation: object, reason: str) -> None:
    """FastAPI reads ``?tags=a&tags=b`` into an optional list and a model from its fields:
    the hot route would read neither."""
    router = APIRouter()

    async def read(
        request: Request,
        credential: Bearer,
        value: Annotated[annotation, Query()] = None,  # type: ignore[valid-type]
    ) -> Response:
        return Response()

    router.add_api_route("/e", read, methods=["GET"])
    with pytest.raises(ValueError, match=reason):
        HotRoute(_route(router))


def _hot_app(**include: object) -> tuple[FastAPI, Callable[..., object]]:
    router = APIRouter()

    @router.get("/f")
    async def read(request: Request, credential: Bearer) -> Response:
        return Response()

    app = FastAPI(dependencies=include.pop("app_dependencies", None))  # type: ignore[arg-type]
    app.include_router(router, **include)  # type: ignore[arg-type]
    return app, read


def test_dependencies_the_app_or_its_include_adds_are_refused() -> None:
    app, read = _hot_app(app_dependencies=[Depends(_audit)])
    with pytest.raises(ValueError, match="dependencies of its own"):
        install_hot_routes(app, [read])
    app, read = _hot_app(dependencies=[Depends(_audit)])
    with pytest.raises(ValueError, match="included with dependencies"):
        install_hot_routes(app, [read])
    app, read = _hot_app()
    install_hot_routes(app, [read])
    assert isinstance(app.router.routes[0], HotRoute)


def test_a_hot_endpoint_without_a_route_is_refused() -> None:
    app, _ = _hot_app()

    async def unrouted(request: Request, credential: str = Depends(bearer)) -> Response:
        return Response()

    with pytest.raises(ValueError, match="no route for the hot endpoints"):
        install_hot_routes(app, [unrouted])


def test_names_still_resolve_to_their_urls() -> None:
    """A hot route is first in the routes, so every name lookup walks past it: to the
    FastAPI route behind it for its own name, to theirs for the others."""
    app = create_app(Settings(database_url="sqlite://"))
    assert isinstance(app.router.routes[0], HotRoute)
    assert app.url_path_for("me") == "/api/me"
    assert app.url_path_for("get_project", project_id="p1") == "/api/projects/p1"
    assert app.url_path_for("static", path="app.css") == "/static/app.css"
