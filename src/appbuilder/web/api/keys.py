"""API keys of the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from appbuilder.security.scopes import Scope
from appbuilder.services import api_keys
from appbuilder.services.auth import Principal
from appbuilder.web.deps import SessionDep, require
from appbuilder.web.errors import AUTH_RESPONSES, CONFLICT, NOT_FOUND
from appbuilder.web.params import RowId
from appbuilder.web.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut

router = APIRouter(prefix="/api/keys", tags=["api keys"], responses=AUTH_RESPONSES)
KeysPrincipal = Annotated[Principal, Depends(require(Scope.KEYS_MANAGE))]
KeyId = RowId


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated, responses=CONFLICT
)
def create_key(body: ApiKeyIn, principal: KeysPrincipal, session: SessionDep) -> ApiKeyCreated:
    """Make a key with the given scopes; the full key is in this response only."""
    key, full_key = api_keys.create_api_key(
        session,
        principal.user,
        name=body.name,
        scopes=body.scopes,
        expires_at=body.expires_at,
        granter_scopes=principal.scopes,
    )
    return ApiKeyCreated(key=full_key, api_key=ApiKeyOut.model_validate(key))


@router.get("", response_model=list[ApiKeyOut])
def list_keys(principal: KeysPrincipal, session: SessionDep) -> list[ApiKeyOut]:
    """Your keys, newest first, revoked ones included (never their secrets)."""
    return [ApiKeyOut.model_validate(k) for k in api_keys.list_api_keys(session, principal.user.id)]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def revoke_key(key_id: KeyId, principal: KeysPrincipal, session: SessionDep) -> None:
    """Revoke a key; requests with it fail from now on."""
    api_keys.revoke_api_key(session, key_id, owner_id=principal.user.id)
