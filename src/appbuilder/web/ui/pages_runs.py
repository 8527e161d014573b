"""A project's page: its status, the run button, the live agent timeline of a run (each
step with tokens, cost, duration, status and error), cancel, run history, and the change
request box that shows the spec diff before anything is applied."""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import GenerationRun, Project
from appbuilder.enums import ACTIVE_RUN_STATUSES, AgentType
from appbuilder.errors import AppBuilderError, NotFoundError
from appbuilder.services import deployments, drafts, projects, runs
from appbuilder.services.auth import Principal
from appbuilder.services.pagination import PageRequest
from appbuilder.web.api.runs import event_stream
from appbuilder.web.deps import (
    SessionDep,
    SessionmakerDep,
    in_planning_thread,
    plan_in_request,
)
from appbuilder.web.errors import status_for
from appbuilder.web.ui.deps import UserDep, check_csrf, optional_principal
from appbuilder.web.ui.render import redirect, render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(check_csrf), Depends(optional_principal)]
)
FormText = Annotated[str, Form(max_length=20_000)]
#: runs listed in a project's history
HISTORY = 50
#: the change request's planned spec travels back in the form: at most this many characters
MAX_SPEC_CHARS = 200_000


def _timeline(session: Any, run: GenerationRun | None, owner: str) -> dict[str, Any]:
    """The run's steps with each agent's model cost beside it (the ledger's line)."""
    if run is None:
        return {"run": None, "steps": [], "costs": {}, "active": False}
    detail = runs.get_run_detail(session, run.id, owner_id=owner)
    costs: dict[AgentType, Any] = {line.agent: line for line in detail.ledger}
    return {
        "run": detail.run,
        "steps": detail.steps,
        "costs": costs,
        "active": detail.run.status in ACTIVE_RUN_STATUSES,
    }


def _project_context(
    session: Any, project: Project, principal: Principal, run_id: str | None
) -> dict[str, Any]:
    owner = principal.user.id
    history = runs.list_project_runs(
        session, project.id, PageRequest(limit=HISTORY), owner_id=owner
    )
    shown = runs.get_run(session, run_id, owner_id=owner) if run_id else None
    if shown is not None and shown.project_id != project.id:
        shown = None
    shown = shown or (history.items[0] if history.items else None)
    return {
        "project": project,
        "history": history.items,
        "has_spec": bool(drafts.saved_spec(session, project.id, owner_id=owner)),
        # the project is the user's (fetched with owner_id): its running app, if any
        "running_app": next(iter(deployments.live_of_project(session, project.id)), None),
        "page_title": project.name,
        **_timeline(session, shown, owner),
    }


def _run_of(session: Any, project_id: str, run_id: str, principal: Principal) -> GenerationRun:
    """The user's run of this project; another project's (or user's) run is not found."""
    run = runs.get_run(session, run_id, owner_id=principal.user.id)
    if run.project_id != project_id:
        raise NotFoundError("Run", run_id)
    return run


@router.get("/projects/{project_id}")
def project_page(
    request: Request,
    project_id: str,
    principal: UserDep,
    session: SessionDep,
    run: str | None = None,
) -> Response:
    project = projects.get_project(session, project_id, owner_id=principal.user.id)
    context = _project_context(session, project, principal, run)
    return render(request, "project.html", {**context, "change": None, "errors": {}})


@router.get("/projects/{project_id}/runs/{run_id}/timeline")
def timeline_fragment(
    request: Request, project_id: str, run_id: str, principal: UserDep, session: SessionDep
) -> Response:
    """The timeline alone, for app.js to swap in as the run's events arrive."""
    run = _run_of(session, project_id, run_id, principal)
    context = {"project_id": project_id, **_timeline(session, run, principal.user.id)}
    return render(request, "_timeline.html", context)


@router.get("/projects/{project_id}/runs/{run_id}/events")
def run_events(
    request: Request, project_id: str, run_id: str, principal: UserDep, session: SessionDep
) -> StreamingResponse:
    """The run's live events (the API's stream, with the browser's session cookie)."""
    _run_of(session, project_id, run_id, principal)
    last = request.headers.get("last-event-id", "")
    given = last.isascii() and last.isdigit() and int(last) <= runs.MAX_EVENT_SEQ
    return event_stream(request, run_id, int(last) if given else 0, principal.user.id)


@router.post("/projects/{project_id}/run")
def start_run(
    request: Request,
    project_id: str,
    principal: UserDep,
    session: SessionDep,
    verify: FormText = "",
) -> Response:
    try:
        run = runs.start_run(
            session, request.app.state.dispatcher, principal.user, project_id, verify=bool(verify)
        )
    except AppBuilderError as exc:
        return _project_error(request, session, project_id, principal, exc)
    return redirect(f"/projects/{project_id}?run={run.id}", "Generation started.")


@router.post("/projects/{project_id}/runs/{run_id}/cancel")
def cancel_run(
    request: Request, project_id: str, run_id: str, principal: UserDep, session: SessionDep
) -> Response:
    try:
        runs.cancel_run(session, request.app.state.dispatcher, run_id, owner_id=principal.user.id)
    except AppBuilderError as exc:
        return _project_error(request, session, project_id, principal, exc)
    return redirect(f"/projects/{project_id}?run={run_id}", "Cancelling the run.")


def _project_error(
    request: Request,
    session: Any,
    project_id: str,
    principal: Principal,
    exc: AppBuilderError,
    *,
    change: dict[str, Any] | None = None,
) -> Response:
    """The project page again, with what was refused and why (a 402 names the tier)."""
    session.rollback()
    project = projects.get_project(session, project_id, owner_id=principal.user.id)
    context = _project_context(session, project, principal, None)
    context |= {"alert": exc.message, "change": change, "errors": {}}
    return render(request, "project.html", context, status_for(exc))


@router.post("/projects/{project_id}/change")
async def change_request(
    request: Request,
    project_id: str,
    principal: UserDep,
    session: SessionDep,
    sessions: SessionmakerDep,
    words: FormText = "",
) -> Response:
    """The model changes the project's spec as the words ask; the diff is shown, nothing
    is applied until the person accepts it. On a planning thread (see in_planning_thread)."""
    change = partial(_change, request, project_id, principal, session, sessions, words)
    return await in_planning_thread(request, change)


def _change(
    request: Request,
    project_id: str,
    principal: Principal,
    session: Session,
    sessions: sessionmaker[Session],
    words: str,
) -> Response:
    owner = principal.user.id
    if not words.strip():
        project = projects.get_project(session, project_id, owner_id=owner)
        context = _project_context(session, project, principal, None)
        errors = {"words": "Say what to change, e.g. “add a due date to tasks”."}
        return render(request, "project.html", {**context, "change": None, "errors": errors}, 422)
    try:
        outcome = plan_in_request(request, session, sessions, owner, project_id, words)
    except AppBuilderError as exc:
        return _project_error(request, session, project_id, principal, exc)
    result = outcome.result
    change = {
        "words": words,
        "diff": result.diff,
        "problems": result.problems,
        "spec_json": json.dumps(result.spec, separators=(",", ":")),
    }
    project = projects.get_project(session, project_id, owner_id=owner)
    context = _project_context(session, project, principal, None)
    return render(request, "project.html", {**context, "change": change, "errors": {}})


@router.post("/projects/{project_id}/change/apply")
def apply_change(
    request: Request,
    project_id: str,
    principal: UserDep,
    session: SessionDep,
    spec: Annotated[str, Form(max_length=MAX_SPEC_CHARS)] = "",
    verify: FormText = "",
) -> Response:
    try:
        data = json.loads(spec)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return redirect(f"/projects/{project_id}", "The change could not be read; ask again.")
    try:
        run = runs.start_run(
            session,
            request.app.state.dispatcher,
            principal.user,
            project_id,
            spec=data,
            verify=bool(verify),
        )
    except AppBuilderError as exc:
        return _project_error(request, session, project_id, principal, exc)
    return redirect(f"/projects/{project_id}?run={run.id}", "Change applied: generating.")
