"""The credential schemes in the OpenAPI document.

``deps.bearer`` reads the ``Authorization`` header itself instead of depending on the two
``HTTPBearer`` schemes (see its docstring), so FastAPI no longer finds them in the routes'
dependencies. Here every operation that depends on it, however deep, gets the two
alternatives (``security: [{SessionToken: []}, {ApiKey: []}]``) and the document the two
schemes, exactly as FastAPI wrote them when they were dependencies (only public FastAPI
attributes: a router's routes, a route's dependant and ``openapi_extra``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.encoders import jsonable_encoder
from fastapi.routing import APIRoute

from appbuilder.web.deps import CREDENTIAL_SCHEMES, bearer


def _takes_credential(dependant: Dependant) -> bool:
    return any(d.call is bearer or _takes_credential(d) for d in dependant.dependencies)


def document_credentials(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Each route of ``routers`` that takes a credential documents the two schemes as its
    alternatives (through ``openapi_extra``, merged into its operation), and ``app``'s
    document defines them, as FastAPI wrote both when they were dependencies."""
    either: list[dict[str, list[str]]] = [{s.scheme_name: []} for s in CREDENTIAL_SCHEMES]
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and _takes_credential(route.dependant):
                route.openapi_extra = {**(route.openapi_extra or {}), "security": either}
    schemes = {
        scheme.scheme_name: jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
        for scheme in CREDENTIAL_SCHEMES
    }
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # made once and kept by FastAPI, so this only adds what is missing
        components = document.setdefault("components", {})
        components.setdefault("securitySchemes", {}).update(schemes)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
