"""API keys in the browser: make one (its secret shown on that page only, with a copy
button), list them, revoke one. The API's request model checks the form and the API's
service makes the key, so the rules (scopes within the role, a future expiry, at most 50
active keys) are the same."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from appbuilder.db.types import utcnow
from appbuilder.errors import AppBuilderError
from appbuilder.security.scopes import ROLE_SCOPES, Scope
from appbuilder.services import api_keys
from appbuilder.services.auth import Principal
from appbuilder.web.deps import SessionDep
from appbuilder.web.errors import status_for
from appbuilder.web.params import RowId
from appbuilder.web.schemas import ApiKeyIn
from appbuilder.web.ui.deps import UserDep, check_csrf, optional_principal
from appbuilder.web.ui.forms import FormInvalid, field_errors, parse
from appbuilder.web.ui.render import redirect, render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(check_csrf), Depends(optional_principal)]
)
#: the lifetimes offered (days; "" never expires)
LIFETIMES = (("", "Never"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year"))
SCOPE_HELP = {
    Scope.PROJECTS_READ: "read projects and their files",
    Scope.PROJECTS_WRITE: "create, change and delete projects",
    Scope.GENERATIONS_READ: "read runs and agent steps",
    Scope.GENERATIONS_WRITE: "start and cancel runs",
    Scope.KEYS_MANAGE: "manage API keys and your model key",
    Scope.ADMIN: "administer the platform",
}


def _page(session: SessionDep, principal: Principal, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "keys": api_keys.list_api_keys(session, principal.user.id),
        "scopes": [(s, SCOPE_HELP[s]) for s in Scope if s in ROLE_SCOPES[principal.user.role]],
        "lifetimes": LIFETIMES,
        "errors": {},
        "form": {"name": "", "scopes": [Scope.PROJECTS_READ.value], "expires": ""},
        "created_key": None,
        "now": utcnow(),
        "page_title": "API keys",
    }
    context.update(extra)
    return context


@router.get("/keys")
def keys_page(request: Request, principal: UserDep, session: SessionDep) -> Response:
    return render(request, "keys.html", _page(session, principal))


@router.post("/keys")
def create_key(
    request: Request,
    principal: UserDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=1000)] = "",
    scopes: Annotated[list[str] | None, Form(max_length=20)] = None,
    expires: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    form = {"name": name, "scopes": scopes or [], "expires": expires}
    try:
        expires_at = _expiry(expires)
        body = parse(ApiKeyIn, {"name": name, "scopes": scopes or [], "expires_at": expires_at})
        key, full_key = api_keys.create_api_key(
            session,
            principal.user,
            name=body.name,
            scopes=body.scopes,
            expires_at=body.expires_at,
            granter_scopes=principal.scopes,
        )
    except FormInvalid as exc:
        context = _page(session, principal, errors=_named(exc.errors), form=form)
        return render(request, "keys.html", context, 422)
    except AppBuilderError as exc:
        context = _page(session, principal, errors=field_errors(exc), form=form)
        return render(request, "keys.html", context, status_for(exc))
    context = _page(session, principal, created_key=full_key, created=key)
    response = render(request, "keys.html", context, 201)
    response.headers["cache-control"] = "no-store"  # the secret must not stay in a cache
    return response


def _expiry(choice: str) -> datetime | None:
    if choice not in dict(LIFETIMES):
        raise FormInvalid({"expires": "Choose one of the lifetimes offered."})
    return utcnow() + timedelta(days=int(choice)) if choice else None


def _named(errors: dict[str, str]) -> dict[str, str]:
    """``scopes.0`` (a bad scope value) is shown beside the scopes."""
    return {name.split(".")[0]: message for name, message in reversed(errors.items())}


@router.post("/keys/{key_id}/revoke")
def revoke_key(key_id: RowId, principal: UserDep, session: SessionDep) -> Response:
    key = api_keys.revoke_api_key(session, key_id, owner_id=principal.user.id)
    return redirect("/keys", f"Key “{key.name}” is revoked; requests with it now fail.")
