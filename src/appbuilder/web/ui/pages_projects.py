"""Starting a project: from words (the planner, when a model is configured) or from a
template card; the plan shown as an editable spec. Accepting it starts a run."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from appbuilder.enums import ProjectTemplate, SubscriptionTier
from appbuilder.errors import (
    AppBuilderError,
    ModelCallError,
    ModelNotConfiguredError,
    QuotaExceededError,
)
from appbuilder.llm.config import is_configured
from appbuilder.services import drafts, projects, quotas, runs
from appbuilder.services.auth import Principal
from appbuilder.services.builds import template_summaries
from appbuilder.settings import Settings
from appbuilder.web.deps import (
    SessionDep,
    SessionmakerDep,
    SettingsDep,
    in_planning_thread,
    plan_in_request,
)
from appbuilder.web.errors import status_for
from appbuilder.web.schemas import ProjectIn
from appbuilder.web.ui import spec_form
from appbuilder.web.ui.deps import UserDep, check_csrf, optional_principal
from appbuilder.web.ui.forms import FieldErrors, FormInvalid, field_errors, parse
from appbuilder.web.ui.render import redirect, render
from appbuilder.web.ui.spec_editor import editor_page

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(check_csrf), Depends(optional_principal)]
)
FormText = Annotated[str, Form(max_length=20_000)]
#: words of a description a project is named after when no name is given
NAME_WORDS = 6


def _template_needs(request: Request) -> dict[ProjectTemplate, str]:
    """Templates the user's plan does not include, with the lowest plan that does."""
    user = request.state.ui_user
    if user is None:
        return {}
    allowed = quotas.TIER_LIMITS[SubscriptionTier(user.tier)].templates
    needs = {}
    for template in ProjectTemplate:
        if template not in allowed:
            tier = quotas.lowest_tier_lifting("templates", template)
            needs[template] = tier.value if tier else "a higher"
    return needs


def _can_plan(request: Request, settings: Any) -> bool:
    """A model plans for this user: the platform's, or one of their own."""
    user = request.state.ui_user
    return is_configured(settings.llm) or bool(user is not None and user.own_model)


def _new_page(
    request: Request,
    settings: Any,
    *,
    errors: FieldErrors | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "templates": template_summaries(),
        "model_configured": _can_plan(request, settings),
        "template_needs": _template_needs(request),
        "errors": errors or {},
        "values": values or {"name": "", "description": ""},
        "page_title": "New project",
    }
    return render(request, "new_project.html", context, status)


@router.get("/projects/new")
def new_project(request: Request, _principal: UserDep, settings: SettingsDep) -> Response:
    return _new_page(request, settings)


def _name_from(description: str) -> str:
    words = description.split()[:NAME_WORDS]
    return " ".join(words)[:60].strip(" .,;:") or "My app"


@router.post("/projects/new")
async def describe_project(
    request: Request,
    principal: UserDep,
    session: SessionDep,
    sessions: SessionmakerDep,
    settings: SettingsDep,
    name: FormText = "",
    description: FormText = "",
) -> Response:
    """Words → a DRAFT project planned by the model, its plan kept for the editor. On a
    planning thread (see in_planning_thread)."""
    describe = partial(
        _describe, request, principal, session, sessions, settings, name, description
    )
    return await in_planning_thread(request, describe)


def _describe(
    request: Request,
    principal: Principal,
    session: Session,
    sessions: sessionmaker[Session],
    settings: Settings,
    name: str,
    description: str,
) -> Response:
    values = {"name": name, "description": description}
    if not description.strip():
        errors = {"description": "Describe the app in a sentence or two."}
        return _new_page(request, settings, errors=errors, values=values, status=422)
    try:
        body = parse(
            ProjectIn,
            {
                "name": name.strip() or _name_from(description),
                "description": description.strip(),
                "template": ProjectTemplate.CUSTOM,
            },
        )
        project = projects.create_project(
            session,
            principal.user,
            name=body.name,
            template=body.template,
            description=body.description,
        )
        outcome = plan_in_request(request, session, sessions, principal.user.id, project.id, None)
    except FormInvalid as exc:
        return _new_page(request, settings, errors=exc.errors, values=values, status=422)
    except (ModelNotConfiguredError, ModelCallError, QuotaExceededError) as exc:
        # refused before the model was asked: the project is not kept either (after a
        # failed call it is, as a DRAFT the person can plan again)
        session.rollback()
        status = 402 if isinstance(exc, QuotaExceededError) else 503
        if isinstance(exc, ModelCallError):
            status = 502
        return _new_page(
            request, settings, errors={"form": exc.message}, values=values, status=status
        )
    planned = outcome.result.spec
    drafts.keep_draft(session, project.id, planned, owner_id=principal.user.id)
    if not name.strip() and isinstance(planned.get("name"), str):  # the plan names the app
        _rename(session, project.id, planned["name"], principal.user.id)
    return redirect(f"/projects/{project.id}/plan", "Here is the plan. Edit it, then generate.")


def _rename(session: Session, project_id: str, name: str, owner: str) -> None:
    """The planned app's name for the project; a name the rules refuse leaves it as it is."""
    try:
        with session.begin_nested():
            projects.update_project(
                session, project_id, projects.ProjectChanges(name=name), owner_id=owner
            )
    except AppBuilderError:
        return


@router.post("/projects/new/template")
def project_from_template(
    request: Request,
    principal: UserDep,
    session: SessionDep,
    settings: SettingsDep,
    template: FormText = "",
    name: FormText = "",
) -> Response:
    try:
        body = parse(
            ProjectIn, {"name": name.strip() or f"My {template.lower()} app", "template": template}
        )
        project = projects.create_project(
            session, principal.user, name=body.name, template=body.template
        )
    except FormInvalid as exc:
        return _new_page(request, settings, errors=exc.errors, status=422)
    except AppBuilderError as exc:
        status = 402 if isinstance(exc, QuotaExceededError) else 409
        return _new_page(
            request, settings, errors=field_errors(exc) | {"form": exc.message}, status=status
        )
    return redirect(f"/projects/{project.id}/plan", "Project created from the template.")


@router.get("/projects/{project_id}/plan")
def plan_page(
    request: Request, project_id: str, principal: UserDep, session: SessionDep
) -> Response:
    owner = principal.user.id
    project = projects.get_project(session, project_id, owner_id=owner)
    form = spec_form.from_spec(drafts.saved_spec(session, project_id, owner_id=owner))
    problems = drafts.check_draft(session, project_id, spec_form.to_spec(form), owner_id=owner)
    return editor_page(request, project, form, problems)


@dataclass(frozen=True)
class PlanEdit:
    """What one post of the editor asks: the rows, the button pressed, and for accept
    whether the generated app's own tests are to run."""

    form: spec_form.SpecForm
    action: str
    verify: bool
    alert: str | None = None


def _read_edit(posted: FormData) -> PlanEdit:
    action = str(posted.get("action", "check"))[:40]
    form = spec_form.from_post(posted)
    verify = posted.get("verify") is not None
    if action != "use_yaml":
        return PlanEdit(spec_form.apply(form, action), action, verify)
    try:
        yaml_form = spec_form.from_spec(spec_form.from_yaml(str(posted.get("yaml", ""))))
    except ValueError as exc:
        return PlanEdit(form, action, verify, alert=str(exc))
    return PlanEdit(yaml_form, action, verify)


@router.post("/projects/{project_id}/plan")
async def edit_plan(
    request: Request, project_id: str, principal: UserDep, session: SessionDep
) -> Response:
    """Every button of the editor posts the whole form: rows added or removed, the YAML
    taken instead, a check, or accept (a run starts)."""
    edit = _read_edit(await request.form())  # parsed once already, by the CSRF check
    return await run_in_threadpool(_apply_edit, request, project_id, principal, session, edit)


def _apply_edit(
    request: Request, project_id: str, principal: Principal, session: Session, edit: PlanEdit
) -> Response:
    owner = principal.user.id
    project = projects.get_project(session, project_id, owner_id=owner)
    spec = spec_form.to_spec(edit.form)
    problems = drafts.check_draft(session, project_id, spec, owner_id=owner)
    accept = edit.action == "generate"
    if edit.alert or not accept or problems:
        status = 422 if edit.alert or (accept and problems) else 200
        return editor_page(request, project, edit.form, problems, alert=edit.alert, status=status)
    try:
        run = runs.start_run(
            session,
            request.app.state.dispatcher,
            principal.user,
            project_id,
            spec=spec,
            verify=edit.verify,
        )
    except AppBuilderError as exc:
        return editor_page(
            request, project, edit.form, problems, alert=exc.message, status=status_for(exc)
        )
    return redirect(f"/projects/{project_id}?run={run.id}", "Generation started.")
