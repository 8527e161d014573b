"""Deployments: deploy a project's verified app (run it here, or get a checked Docker or
Kubernetes artifact), follow its log, stop, start and redeploy it. A deployment that is
not yours is "not found"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse

from appbuilder.db.models import Deployment
from appbuilder.security.scopes import Scope
from appbuilder.services import deployments
from appbuilder.services.after_commit import after_commit
from appbuilder.services.auth import Principal
from appbuilder.services.deployments import logs
from appbuilder.web.deps import SessionDep, owner_filter, require, supervisor_of
from appbuilder.web.errors import AUTH_RESPONSES, CONFLICT, NOT_FOUND, QUOTA, merge
from appbuilder.web.log_follow import follow_log
from appbuilder.web.params import RowId
from appbuilder.web.schemas import DeploymentIn, DeploymentOut

router = APIRouter(prefix="/api", tags=["deployments"], responses=AUTH_RESPONSES)

Reader = Annotated[Principal, Depends(require(Scope.PROJECTS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.PROJECTS_WRITE))]
STARTS = merge(NOT_FOUND, CONFLICT, QUOTA)


def _started(request: Request, session: SessionDep, deployment: Deployment) -> DeploymentOut:
    """Carried out in the background once the request's transaction commits."""
    supervisor, deployment_id = supervisor_of(request), deployment.id
    after_commit(session, lambda: supervisor.submit(deployment_id))
    return DeploymentOut.model_validate(deployment)


@router.post(
    "/projects/{project_id}/deployments",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeploymentOut,
    responses=STARTS,
)
def deploy(
    project_id: RowId, body: DeploymentIn, principal: Writer, session: SessionDep, request: Request
) -> DeploymentOut:
    """Deploy the project's latest verified run (or `run_id`); poll the deployment (or
    follow its log) until it is SUCCEEDED or FAILED. 402 names the tier that allows the
    target or one more running app."""
    deployment = deployments.request(
        session,
        supervisor_of(request).ctx,
        principal.user,
        project_id,
        body.target,
        run_id=body.run_id,
    )
    return _started(request, session, deployment)


@router.get(
    "/projects/{project_id}/deployments", response_model=list[DeploymentOut], responses=NOT_FOUND
)
def list_deployments(
    project_id: RowId, principal: Reader, session: SessionDep
) -> list[DeploymentOut]:
    """A project's latest deployments, newest first."""
    rows = deployments.list_project_deployments(
        session, project_id, owner_id=owner_filter(principal)
    )
    return [DeploymentOut.model_validate(d) for d in rows]


@router.get("/deployments/{deployment_id}", response_model=DeploymentOut, responses=NOT_FOUND)
def get_deployment(deployment_id: RowId, principal: Reader, session: SessionDep) -> DeploymentOut:
    """One deployment with the end of its log."""
    found = deployments.get_deployment(session, deployment_id, owner_id=owner_filter(principal))
    return DeploymentOut.model_validate(found)


@router.get(
    "/deployments/{deployment_id}/logs",
    responses=merge(NOT_FOUND, {200: {"content": {"text/plain": {}}, "description": "log"}}),
    response_model=None,
)
def read_logs(
    deployment_id: RowId,
    principal: Reader,
    session: SessionDep,
    request: Request,
    lines: Annotated[int, Query(ge=1, le=logs.MAX_TAIL_LINES)] = 200,
    follow: Annotated[bool, Query(description="Stream new lines until it ends")] = False,
) -> PlainTextResponse | StreamingResponse:
    """The deployment's log (the platform's steps, then the app's output): its last
    `lines`, and with `follow=true` every new line as it is written (chunked), until the
    deployment ends or you disconnect."""
    found = deployments.get_deployment(session, deployment_id, owner_id=owner_filter(principal))
    path = supervisor_of(request).ctx.log_path(found)
    if not follow:
        return PlainTextResponse(logs.tail(path, lines))
    return follow_log(request, principal.user.id, path, deployment_id, lines)


@router.post("/deployments/{deployment_id}/stop", response_model=DeploymentOut, responses=STARTS)
def stop(deployment_id: RowId, principal: Writer, session: SessionDep) -> DeploymentOut:
    """Stop a running app (its data is kept); the project goes back to READY."""
    found = deployments.stop(session, deployment_id, owner_id=principal.user.id)
    return DeploymentOut.model_validate(found)


@router.post(
    "/deployments/{deployment_id}/start",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeploymentOut,
    responses=STARTS,
)
def start(
    deployment_id: RowId, principal: Writer, session: SessionDep, request: Request
) -> DeploymentOut:
    """Deploy the same run again (after a stop or a crash), as a new deployment."""
    ctx = supervisor_of(request).ctx
    found = deployments.again(session, ctx, principal.user, deployment_id, latest=False)
    return _started(request, session, found)


@router.post(
    "/deployments/{deployment_id}/redeploy",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeploymentOut,
    responses=STARTS,
)
def redeploy(
    deployment_id: RowId, principal: Writer, session: SessionDep, request: Request
) -> DeploymentOut:
    """Deploy the project's latest verified run to the same target; a running app is
    replaced only once the new version is healthy (same port, no refused request)."""
    ctx = supervisor_of(request).ctx
    found = deployments.again(session, ctx, principal.user, deployment_id, latest=True)
    return _started(request, session, found)


@router.get(
    "/deployments/{deployment_id}/artifact",
    responses=merge(NOT_FOUND, {200: {"content": {"application/zip": {}}, "description": "zip"}}),
    response_model=None,
)
def artifact(
    deployment_id: RowId, principal: Reader, session: SessionDep, request: Request
) -> FileResponse:
    """A docker or kubernetes deployment's checked artifact, as a zip."""
    found = deployments.get_deployment(session, deployment_id, owner_id=owner_filter(principal))
    path = supervisor_of(request).ctx.artifact_file(found)
    return FileResponse(path, media_type="application/zip", filename=f"{found.id}.zip")
