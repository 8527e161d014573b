"""A project's git remote (set it, push to it) and rolling back to an earlier run."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, ConfigDict, Field

from appbuilder.db.models import Project
from appbuilder.rules import ID_PATTERN
from appbuilder.security.scopes import Scope
from appbuilder.services import projects, repository
from appbuilder.services.auth import Principal
from appbuilder.services.repository_git import MAX_TOKEN_LENGTH, MAX_URL_LENGTH, shown_url
from appbuilder.web.deps import SessionDep, SessionmakerDep, owner_filter, require
from appbuilder.web.errors import AUTH_RESPONSES, CONFLICT, NOT_FOUND, Responses, describe, merge
from appbuilder.web.params import RowId
from appbuilder.web.schemas import RunOut

router = APIRouter(
    prefix="/api/projects/{project_id}", tags=["repository"], responses=AUTH_RESPONSES
)

Reader = Annotated[Principal, Depends(require(Scope.PROJECTS_READ))]
Writer = Annotated[Principal, Depends(require(Scope.PROJECTS_WRITE))]
PUSH_ERRORS: Responses = merge(
    NOT_FOUND,
    {409: describe("No remote set, or the remote diverged (nothing was overwritten)")},
    {502: describe("The remote could not be reached or refused the credentials")},
)


class RepositoryIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"url": "https://github.com/ada/shop.git", "token": "ghp_…"}]
        },
    )
    #: https://, ssh://, user@host:path or file://; null removes the remote
    url: str | None = Field(max_length=MAX_URL_LENGTH)
    #: for https remotes; stored encrypted, never shown back. Omitted: the current one is
    #: kept while the URL stays the same
    token: str | None = Field(default=None, max_length=MAX_TOKEN_LENGTH)


class RepositoryOut(BaseModel):
    url: str | None
    has_token: bool
    pushed_sha: str | None
    pushed_at: datetime | None
    #: why the last push failed (null once one succeeds)
    error: str | None


class PushIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"force": False}]})
    #: replace the remote's branch even when it has commits this project lacks
    force: bool = False


class PushOut(BaseModel):
    sha: str
    url: str


class RollbackIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"run_id": "k3v9x0c2m8q1w7e5r4t6y2u0i"}]}
    )
    #: the completed run whose files become the current version again
    run_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)


class RollbackOut(BaseModel):
    run: RunOut
    #: what the push to the project's remote did (null: no remote)
    push: str | None
    redeploy: str | None = Field(
        default=None,
        description="The running app's deployment, still on the version before the rollback: "
        "POST /api/deployments/{id}/redeploy runs the rolled-back files (null: nothing runs)",
    )


def repository_out(project: Project) -> RepositoryOut:
    return RepositoryOut(
        url=shown_url(project.repository_url) if project.repository_url else None,
        has_token=project.repository_token is not None,
        pushed_sha=project.repository_pushed_sha,
        pushed_at=project.repository_pushed_at,
        error=project.repository_error,
    )


@router.get("/repository", response_model=RepositoryOut, responses=NOT_FOUND)
def get_repository(project_id: RowId, principal: Reader, session: SessionDep) -> RepositoryOut:
    """The project's remote and how its last push went (the token is never shown)."""
    project = projects.get_project(session, project_id, owner_id=owner_filter(principal))
    return repository_out(project)


@router.put("/repository", response_model=RepositoryOut, responses=NOT_FOUND)
def set_repository(
    project_id: RowId, body: RepositoryIn, principal: Writer, session: SessionDep, request: Request
) -> RepositoryOut:
    """Set the remote every completed run is pushed to (null URL: none)."""
    project = repository.set_remote(
        session,
        project_id,
        owner_id=principal.user.id,
        url=body.url,
        token=body.token,
        policy=repository.remote_policy(request.app.state.settings),
    )
    return repository_out(project)


@router.post("/repository/push", response_model=PushOut, responses=PUSH_ERRORS)
def push(
    project_id: RowId,
    principal: Writer,
    session: SessionDep,
    sessions: SessionmakerDep,
    request: Request,
    body: PushIn = PushIn(),  # noqa: B008 - immutable pydantic default: no body, no force
) -> PushOut:
    """Push the project's history now; a diverged remote is refused unless `force`."""
    done = repository.push_project(
        session,
        sessions,
        repository.places(request.app.state.settings),
        project_id,
        owner_id=principal.user.id,
        force=body.force,
    )
    return PushOut(sha=done.sha, url=done.url)


@router.post(
    "/rollback",
    status_code=status.HTTP_201_CREATED,
    response_model=RollbackOut,
    responses=merge(NOT_FOUND, CONFLICT),
)
def rollback(
    project_id: RowId,
    body: RollbackIn,
    principal: Writer,
    session: SessionDep,
    sessions: SessionmakerDep,
    request: Request,
) -> RollbackOut:
    """Make an earlier completed run's files current again (a new commit and run; the
    history is kept); pushed when the project has a remote."""
    done = repository.rollback(
        session,
        sessions,
        repository.places(request.app.state.settings),
        project_id,
        body.run_id,
        owner_id=principal.user.id,
    )
    return RollbackOut(run=RunOut.model_validate(done.run), push=done.push, redeploy=done.running)
