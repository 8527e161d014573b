"""Projects, their generations and deployments. A project that is not yours is "not found"
(never "forbidden"), so ids of other users' rows do not leak."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from sqlalchemy.orm import Session

from appbuilder.db.models import Project
from appbuilder.db.reads import Steps
from appbuilder.enums import ProjectStatus, ProjectTemplate
from appbuilder.security.scopes import Scope
from appbuilder.services import history, projects
from appbuilder.services.auth import Principal
from appbuilder.services.pagination import DEFAULT_PAGE_SIZE, PageRequest
from appbuilder.web.deps import Bearer, SessionDep, owner_filter, require
from appbuilder.web.errors import AUTH_RESPONSES, CONFLICT, NOT_FOUND, QUOTA, merge
from appbuilder.web.one_hop import answer, answer_reads, to_json
from appbuilder.web.params import Cursor, Limit, RowId
from appbuilder.web.schemas import (
    GenerationOut,
    OwnerOut,
    Page,
    ProjectDetail,
    ProjectIn,
    ProjectOut,
    ProjectPatch,
    RunOut,
    fields_of,
)

router = APIRouter(prefix="/api", tags=["projects"], responses=AUTH_RESPONSES)

Writer = Annotated[Principal, Depends(require(Scope.PROJECTS_WRITE))]
HistoryReader = Annotated[Principal, Depends(require(Scope.GENERATIONS_READ))]
ProjectId = RowId
Sort = Literal["-created_at", "created_at", "-updated_at", "updated_at"]


def project_out(project: Project) -> ProjectOut:
    return ProjectOut.model_validate(project)


@router.post(
    "/projects",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectOut,
    responses=QUOTA,
)
def create_project(body: ProjectIn, principal: Writer, session: SessionDep) -> ProjectOut:
    """Start a project from a template, within your tier's quota."""
    project = projects.create_project(
        session,
        principal.user,
        name=body.name,
        template=body.template,
        description=body.description,
        config=body.config,
        features=body.features,
        llm_model=body.llm_model,
    )
    return project_out(project)


@router.get("/projects", response_model=Page[ProjectOut])
async def list_projects(
    request: Request,
    credential: Bearer,
    status_filter: Annotated[ProjectStatus | None, Query(alias="status")] = None,
    template: ProjectTemplate | None = None,
    sort: Sort = "-created_at",
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response:
    """Your projects, filtered and sorted; follow `next_cursor` for the next page."""

    def reads(principal: Principal) -> Steps[bytes]:
        page_request = PageRequest(limit=limit, cursor=cursor)  # checked once authenticated
        page = yield from projects.user_projects_steps(
            principal.user.id, page_request, status=status_filter, template=template, sort=sort
        )
        return to_json(Page[ProjectOut].of(page))

    return await answer_reads(request, credential, reads, scope=Scope.PROJECTS_READ)


@router.get("/projects/{project_id}", response_model=ProjectDetail, responses=NOT_FOUND)
async def get_project(
    project_id: ProjectId,
    request: Request,
    credential: Bearer,
    generations_limit: Limit = 50,
    generations_cursor: Cursor = None,
) -> Response:
    """A project with its owner and a page of its generations, newest first."""

    def reads(principal: Principal) -> Steps[bytes]:
        page_request = PageRequest(limit=generations_limit, cursor=generations_cursor)
        found = yield from projects.project_page_steps(
            project_id, page_request, owner_id=owner_filter(principal)
        )
        return to_json(project_detail(found))

    return await answer_reads(request, credential, reads, scope=Scope.PROJECTS_READ)


def project_detail(found: projects.ProjectWithGenerationPage) -> ProjectDetail:
    """Each part validated once (the project, its newest run and its generations from their
    rows' columns as dicts), then assembled without re-validating."""
    return ProjectDetail.model_construct(
        **dict(ProjectOut.model_validate(fields_of(found.project))),
        user=OwnerOut(id=found.owner.id, email=found.owner.email, name=found.owner.name),
        generations=Page[GenerationOut].of(found.generations),
        latest_run=None
        if found.latest_run is None
        else RunOut.model_validate(fields_of(found.latest_run)),
    )


@router.patch(
    "/projects/{project_id}",
    response_model=ProjectOut,
    responses=merge(NOT_FOUND, CONFLICT, QUOTA),
)
def update_project(
    project_id: ProjectId, body: ProjectPatch, principal: Writer, session: SessionDep
) -> ProjectOut:
    """Change fields; a status change must follow the lifecycle (409 names the allowed ones).
    GENERATING is not set by hand: POST /generate starts a run, and the run ends it."""
    project = projects.update_project(
        session,
        project_id,
        projects.ProjectChanges(**body.model_dump(exclude_unset=True)),
        owner_id=principal.user.id,
    )
    return project_out(project)


@router.delete(
    "/projects/{project_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=merge(NOT_FOUND, CONFLICT),
)
def delete_project(
    project_id: ProjectId, principal: Writer, session: SessionDep, request: Request
) -> None:
    """Delete a project with its history and generated files (refused while it generates
    or deploys)."""
    projects.delete_project(
        session,
        project_id,
        owner_id=principal.user.id,
        projects_dir=request.app.state.settings.projects_dir,
        store=request.app.state.settings.project_store or None,
    )


@router.get(
    "/projects/{project_id}/generations", response_model=Page[GenerationOut], responses=NOT_FOUND
)
async def list_generations(
    project_id: ProjectId,
    request: Request,
    credential: Bearer,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> Response:
    """A project's agent steps, newest first."""

    def work(session: Session, principal: Principal) -> bytes:
        page = projects.list_project_generations(
            session,
            project_id,
            PageRequest(limit=limit, cursor=cursor),
            owner_id=owner_filter(principal),
        )
        return to_json(Page[GenerationOut].of(page))

    return await answer(request, credential, work, scope=Scope.GENERATIONS_READ)


@router.get("/generations/{generation_id}", response_model=GenerationOut, responses=NOT_FOUND)
def get_generation(
    generation_id: RowId,
    principal: HistoryReader,
    session: SessionDep,
) -> GenerationOut:
    """One agent step with its prompt and response."""
    generation = history.get_generation(session, generation_id, owner_id=owner_filter(principal))
    return GenerationOut.model_validate(generation)
