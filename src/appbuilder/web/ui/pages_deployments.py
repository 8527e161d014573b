"""A project's deployments in the web UI: deploy to a target the plan allows, the live
status and preview link of the running app, stop / start / redeploy, the history, and a
deployment's page with its log (followed as it is written) and artifact download.

Everything goes through services/deployments, as the API does; a deployment of another
project, or of another user, is "not found"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response, StreamingResponse

from appbuilder.db.models import Deployment, Project
from appbuilder.enums import DeploymentStatus
from appbuilder.errors import AppBuilderError, NotFoundError
from appbuilder.services import deployments, projects, quotas
from appbuilder.services.after_commit import after_commit
from appbuilder.services.auth import Principal
from appbuilder.services.deployments import logs
from appbuilder.web.deps import SessionDep, supervisor_of
from appbuilder.web.errors import status_for
from appbuilder.web.log_follow import follow_log
from appbuilder.web.ui.deps import UserDep, check_csrf, optional_principal
from appbuilder.web.ui.render import redirect, render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(check_csrf), Depends(optional_principal)]
)
FormText = Annotated[str, Form(max_length=50)]
#: log lines on a deployment's page before following it
LOG_LINES = 200
TARGET_NOTES = {
    "local": "Runs here, on its own port, with its own database.",
    "docker": "A checked image context and compose file to download (and run where Docker is).",
    "kubernetes": "Checked manifests: Deployment, Service, migration Job, Secret references.",
}


def _targets(request: Request, principal: Principal) -> list[dict[str, Any]]:
    """Every target this server has; the ones the plan lacks name the plan that has them."""
    allowed = quotas.limits_for(principal.user).deploy_targets
    return [
        {
            "name": name,
            "note": TARGET_NOTES.get(name, ""),
            "allowed": name in allowed,
            "needs": None
            if name in allowed
            else quotas.lowest_tier_lifting("deploy_targets", name),
        }
        for name in supervisor_of(request).ctx.targets
    ]


def _context(
    request: Request, session: Any, project: Project, principal: Principal, **extra: Any
) -> dict[str, Any]:
    history = deployments.list_project_deployments(session, project.id, owner_id=principal.user.id)
    deploying = [d for d in history if d.status is DeploymentStatus.IN_PROGRESS]
    running = deployments.live_of_project(session, project.id)  # the project is the user's
    context: dict[str, Any] = {
        "project": project,
        "history": history,
        "current": next(iter(deploying or running), None),
        "targets": (targets := _targets(request, principal)),
        "chosen": next((t["name"] for t in targets if t["allowed"]), None),
        "alert": None,
        "page_title": f"Deployments · {project.name}",
    }
    return context | extra


def _deployment_of(
    session: Any, project_id: str, deployment_id: str, principal: Principal
) -> Deployment:
    found = deployments.get_deployment(session, deployment_id, owner_id=principal.user.id)
    if found.project_id != project_id:
        raise NotFoundError("Deployment", deployment_id)
    return found


def _refused(
    request: Request, session: Any, project_id: str, principal: Principal, exc: AppBuilderError
) -> Response:
    """The deployments page again with the reason (402 names the plan, 409 what to wait for)."""
    session.rollback()
    project = projects.get_project(session, project_id, owner_id=principal.user.id)
    context = _context(request, session, project, principal, alert=exc.message)
    return render(request, "deployments.html", context, status_for(exc))


def _submit(request: Request, session: Any, deployment: Deployment) -> None:
    """Carried out by the supervisor once this request's transaction commits."""
    supervisor, deployment_id = supervisor_of(request), deployment.id
    after_commit(session, lambda: supervisor.submit(deployment_id))


@router.get("/projects/{project_id}/deployments")
def deployments_page(
    request: Request, project_id: str, principal: UserDep, session: SessionDep
) -> Response:
    project = projects.get_project(session, project_id, owner_id=principal.user.id)
    return render(request, "deployments.html", _context(request, session, project, principal))


@router.post("/projects/{project_id}/deployments")
def deploy(
    request: Request,
    project_id: str,
    principal: UserDep,
    session: SessionDep,
    target: FormText = "local",
) -> Response:
    try:
        ctx = supervisor_of(request).ctx
        deployment = deployments.request(session, ctx, principal.user, project_id, target)
    except AppBuilderError as exc:
        return _refused(request, session, project_id, principal, exc)
    _submit(request, session, deployment)
    return redirect(
        f"/projects/{project_id}/deployments/{deployment.id}", f"Deploying to {target}."
    )


@router.post("/projects/{project_id}/deployments/{deployment_id}/{action}")
def act(
    request: Request,
    project_id: str,
    deployment_id: str,
    action: str,
    principal: UserDep,
    session: SessionDep,
) -> Response:
    """stop, start (the same version again) or redeploy (the latest verified run)."""
    if action not in ("stop", "start", "redeploy"):
        raise NotFoundError("Action", action)
    try:
        found = _deployment_of(session, project_id, deployment_id, principal)
        if action == "stop":
            deployments.stop(session, found.id, owner_id=principal.user.id)
            return redirect(f"/projects/{project_id}/deployments", "The app is stopped.")
        ctx = supervisor_of(request).ctx
        fresh = deployments.again(
            session, ctx, principal.user, found.id, latest=action == "redeploy"
        )
    except NotFoundError:
        raise
    except AppBuilderError as exc:
        return _refused(request, session, project_id, principal, exc)
    _submit(request, session, fresh)
    word = "Redeploying" if action == "redeploy" else "Starting"
    return redirect(f"/projects/{project_id}/deployments/{fresh.id}", f"{word} the app.")


def _deployment_context(
    session: Any, project_id: str, deployment_id: str, principal: Principal
) -> dict[str, Any]:
    found = _deployment_of(session, project_id, deployment_id, principal)
    project = projects.get_project(session, project_id, owner_id=principal.user.id)
    return {"project": project, "d": found, "live": deployments.is_running(found)}


@router.get("/projects/{project_id}/deployments/{deployment_id}")
def deployment_page(
    request: Request,
    project_id: str,
    deployment_id: str,
    principal: UserDep,
    session: SessionDep,
) -> Response:
    context = _deployment_context(session, project_id, deployment_id, principal)
    ctx = supervisor_of(request).ctx
    context |= {
        "log": logs.tail(ctx.log_path(context["d"]), LOG_LINES),
        "has_artifact": ctx.artifact_path(context["d"]).is_file(),
        "page_title": f"Deployment · {context['project'].name}",
    }
    return render(request, "deployment.html", context)


@router.get("/projects/{project_id}/deployments/{deployment_id}/status")
def status_fragment(
    request: Request,
    project_id: str,
    deployment_id: str,
    principal: UserDep,
    session: SessionDep,
) -> Response:
    """The status block alone, for app.js to poll while the deployment is in progress."""
    context = _deployment_context(session, project_id, deployment_id, principal)
    return render(request, "_deployment_status.html", context)


@router.get("/projects/{project_id}/deployments/{deployment_id}/log", response_model=None)
def deployment_log(
    request: Request,
    project_id: str,
    deployment_id: str,
    principal: UserDep,
    session: SessionDep,
    follow: Annotated[bool, Query()] = False,
) -> PlainTextResponse | StreamingResponse:
    """The log as text; with ``follow`` new lines stream (chunked) until it ends."""
    found = _deployment_of(session, project_id, deployment_id, principal)
    path = supervisor_of(request).ctx.log_path(found)
    if not follow:
        return PlainTextResponse(logs.tail(path, logs.MAX_TAIL_LINES))
    # the page's tail again, then what follows: app.js replaces the shown tail with this
    return follow_log(request, principal.user.id, path, found.id, LOG_LINES)


@router.get("/projects/{project_id}/deployments/{deployment_id}/artifact", response_model=None)
def deployment_artifact(
    request: Request,
    project_id: str,
    deployment_id: str,
    principal: UserDep,
    session: SessionDep,
) -> FileResponse:
    found = _deployment_of(session, project_id, deployment_id, principal)
    path = supervisor_of(request).ctx.artifact_file(found)
    return FileResponse(path, media_type="application/zip", filename=f"{found.id}.zip")
