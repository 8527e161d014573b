"""Your own language model: provider, model and key (stored encrypted, shown as a hint)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from appbuilder.security.scopes import Scope
from appbuilder.services import llm_settings
from appbuilder.services.auth import Principal
from appbuilder.web.deps import SessionDep, SettingsDep, require
from appbuilder.web.errors import AUTH_RESPONSES
from appbuilder.web.schemas import UserModelIn, UserModelOut

router = APIRouter(prefix="/api", tags=["accounts"], responses=AUTH_RESPONSES)

#: a stored provider key is a credential: managed with the scope that manages API keys
Manager = Annotated[Principal, Depends(require(Scope.KEYS_MANAGE))]


def _out(model: llm_settings.UserModel) -> UserModelOut:
    return UserModelOut(
        provider=model.provider,
        model=model.model,
        base_url=model.base_url,
        key_hint=model.key_hint,
        configured=model.configured,
    )


@router.get("/me/llm", response_model=UserModelOut)
def get_model(principal: Manager) -> UserModelOut:
    """Your model settings; the key only as a hint (`sk-…cdef`). Not configured: the
    platform's model plans your projects."""
    return _out(llm_settings.view(principal.user))


@router.put("/me/llm", response_model=UserModelOut)
def set_model(
    body: UserModelIn, principal: Manager, session: SessionDep, settings: SettingsDep
) -> UserModelOut:
    """Plan your projects with your own model and key. The key is stored encrypted, never
    shown again, never logged, and sent only to that provider; leave it out to keep the
    stored one. `base_url` only names a server the operator allows."""
    stored = llm_settings.set_model(
        session,
        session.merge(principal.user),
        settings.llm,
        provider=body.provider,
        model=body.model,
        base_url=body.base_url,
        api_key=body.api_key.get_secret_value() if body.api_key else None,
    )
    return _out(stored)


@router.delete("/me/llm", status_code=status.HTTP_204_NO_CONTENT)
def clear_model(principal: Manager, session: SessionDep) -> None:
    """Forget your model and key; the platform's model plans your projects again."""
    llm_settings.clear_model(session, session.merge(principal.user))
