"""The account page: tier, this month's usage against the tier's limits, and the user's
own language model. The provider key goes through services/llm_settings (stored
encrypted); the page shows only its hint and never puts the key back in a form."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from appbuilder.errors import AppBuilderError
from appbuilder.services import llm_settings, quotas
from appbuilder.services.auth import Principal
from appbuilder.settings import LLMProvider
from appbuilder.web.deps import SessionDep, SettingsDep
from appbuilder.web.errors import status_for
from appbuilder.web.schemas import UserModelIn
from appbuilder.web.ui.deps import UserDep, check_csrf, optional_principal
from appbuilder.web.ui.forms import FormInvalid, field_errors, parse
from appbuilder.web.ui.render import redirect, render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(check_csrf), Depends(optional_principal)]
)
FormText = Annotated[str, Form(max_length=4096)]
LIMIT_LABELS = {
    "projects": "Projects",
    "generations_per_month": "Runs this month",
    "tokens_per_month": "Model tokens this month",
    "concurrent_generations": "Runs at once",
    "live_deployments": "Apps running at once",
}


def _context(session: SessionDep, principal: Principal, **extra: Any) -> dict[str, Any]:
    usage = quotas.usage(session, principal.user)
    model = llm_settings.view(principal.user)
    context: dict[str, Any] = {
        "usage": usage,
        "labels": LIMIT_LABELS,
        "model": model,
        "providers": list(LLMProvider),
        "form": {
            "provider": model.provider.value if model.provider else LLMProvider.OPENAI.value,
            "model": model.model or "",
            "base_url": model.base_url or "",
        },
        "errors": {},
        "page_title": "Account",
    }
    context.update(extra)
    return context


@router.get("/account")
def account_page(request: Request, principal: UserDep, session: SessionDep) -> Response:
    return render(request, "account.html", _context(session, principal))


@router.post("/account/llm")
def set_model(
    request: Request,
    principal: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    provider: FormText = "",
    model: FormText = "",
    base_url: FormText = "",
    api_key: FormText = "",
) -> Response:
    """An empty key field keeps the stored key (to change only the model)."""
    form = {"provider": provider, "model": model, "base_url": base_url}
    values = {"provider": provider, "model": model, "base_url": base_url or None}
    if api_key:
        values["api_key"] = api_key
    try:
        body = parse(UserModelIn, values)
        llm_settings.set_model(
            session,
            session.merge(principal.user),
            settings.llm,
            provider=body.provider,
            model=body.model,
            base_url=body.base_url,
            api_key=body.api_key.get_secret_value() if body.api_key else None,
        )
    except FormInvalid as exc:
        context = _context(session, principal, errors=exc.errors, form=form)
        return render(request, "account.html", context, 422)
    except AppBuilderError as exc:
        context = _context(session, principal, errors=field_errors(exc), form=form)
        return render(request, "account.html", context, status_for(exc))
    return redirect("/account", "Your model is saved; its key is stored encrypted.")


@router.post("/account/llm/clear")
def clear_model(principal: UserDep, session: SessionDep) -> Response:
    llm_settings.clear_model(session, session.merge(principal.user))
    return redirect("/account", "Your model and key are removed; the platform's model plans.")
