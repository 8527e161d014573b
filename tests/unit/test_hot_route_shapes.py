"""A route is made a hot route (``web.hot_routes``) only when it has the shape whose
handling the hot route reproduces; any other shape is refused when the app is built, with
the reason, so a new kind of parameter is never silently read differently.

(No ``from __future__ import annotations``: the endpoints here are made inside the tests,
and FastAPI reads their annotations as objects.)"""

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.routing import APIRoute

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
        agent: Annotated[str | None, Header()] = None,
    ) -> Response:
        return Response()

    reason = _refusal(router)
    assert "one dependency must be the credential" in reason
    assert "headers, cookies or a body" in reason


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
        (list[str], Query(None), "a list parameter"),
        (int, Query(), "only optional query parameters"),
        (str, Query("x", validation_alias="other"), "a validation alias"),
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


def test_a_hot_endpoint_without_a_route_is_refused() -> None:
    router = APIRouter()

    async def unrouted(request: Request, credential: str = Depends(bearer)) -> Response:
        return Response()

    with pytest.raises(ValueError, match="no route for the hot endpoints"):
        install_hot_routes([], [unrouted], [router])
