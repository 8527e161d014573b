"""A project's generated files: the tree, one file, a zip, a diff between two runs."""

from __future__ import annotations

import functools
from typing import Annotated

import anyio
import pydantic_core
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from sqlalchemy.orm import Session

from appbuilder.db.reads import Steps
from appbuilder.rules import ID_PATTERN
from appbuilder.security.scopes import Scope
from appbuilder.services import project_files
from appbuilder.services.auth import Principal
from appbuilder.web.deps import Bearer, SessionDep, owner_filter, require
from appbuilder.web.errors import AUTH_RESPONSES, NOT_FOUND, Responses, describe, merge
from appbuilder.web.one_hop import read_as
from appbuilder.web.schemas import FileContentOut, FileTreeOut

router = APIRouter(prefix="/api/projects/{project_id}", tags=["files"], responses=AUTH_RESPONSES)

Reader = Annotated[Principal, Depends(require(Scope.PROJECTS_READ))]
ProjectId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
RunId = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        pattern=ID_PATTERN,
        description="A completed run of this project (default: the latest).",
    ),
]
BAD_PATH: Responses = {422: describe("The path is not a safe relative path; details name the rule")}


def _version(
    request: Request, session: Session, project_id: str, run: str | None, principal: Principal
) -> project_files.Version:
    return project_files.version(
        session,
        request.app.state.settings.projects_dir,
        project_id,
        run,
        owner_id=owner_filter(principal),
        store=request.app.state.settings.project_store or None,
    )


@router.get("/files", response_model=FileTreeOut, responses=NOT_FOUND)
async def list_files(
    project_id: ProjectId,
    request: Request,
    credential: Bearer,
    run: RunId = None,
) -> Response:
    """Every file of the project as a run left it, with sizes."""
    settings = request.app.state.settings

    def reads(principal: Principal) -> Steps[project_files.RecordedCommit]:
        owner_id = owner_filter(principal)
        return project_files.recorded_commit_steps(project_id, run, owner_id=owner_id)

    found = await read_as(request, credential, reads, scope=Scope.PROJECTS_READ)
    listed = functools.partial(
        project_files.recorded_tree,
        settings.projects_dir,
        found,
        store=settings.project_store or None,
    )
    entries = await anyio.to_thread.run_sync(listed)
    # FileTreeOut's JSON built from plain values: 0.07 ms for 120 files, 0.34 through models
    files = [{"path": entry.path, "size": entry.size} for entry in entries]
    body = pydantic_core.to_json({"commit": found.commit, "files": files})
    return Response(content=body, media_type="application/json")


@router.get(
    "/files/{path:path}", response_model=FileContentOut, responses=merge(NOT_FOUND, BAD_PATH)
)
def read_file(
    project_id: ProjectId,
    path: Annotated[str, Path(min_length=1, max_length=1024)],
    principal: Reader,
    session: SessionDep,
    request: Request,
    run: RunId = None,
) -> FileContentOut:
    """One file's text. Binary files and files over the view limit come without content
    (`binary` / `too_large` say which); `/download` has every byte."""
    found = _version(request, session, project_id, run, principal)
    blob = project_files.read(found, path, limit=request.app.state.settings.file_view_max_bytes)
    binary = blob.binary
    return FileContentOut(
        path=blob.path,
        commit=found.commit,
        size=blob.size,
        binary=binary,
        too_large=blob.content is None,
        content=None if binary or blob.content is None else blob.content.decode("utf-8"),
    )


@router.get(
    "/download",
    responses=merge(NOT_FOUND, {200: {"content": {"application/zip": {}}, "description": "zip"}}),
    response_model=None,
)
def download(
    project_id: ProjectId,
    principal: Reader,
    session: SessionDep,
    request: Request,
    run: RunId = None,
) -> StreamingResponse:
    """The project's files as a zip named after the app's slug, with one folder of that
    name inside, streamed (default: the latest completed run)."""
    found = _version(request, session, project_id, run, principal)
    name = f"{found.slug}.zip"
    return StreamingResponse(
        project_files.archive(found),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/diff",
    responses=merge(NOT_FOUND, {200: {"content": {"text/x-diff": {}}, "description": "diff"}}),
    response_model=None,
)
def diff(
    project_id: ProjectId,
    principal: Reader,
    session: SessionDep,
    request: Request,
    from_run: Annotated[str, Query(alias="from", min_length=1, max_length=64, pattern=ID_PATTERN)],
    to_run: Annotated[
        str | None, Query(alias="to", min_length=1, max_length=64, pattern=ID_PATTERN)
    ] = None,
) -> PlainTextResponse:
    """A unified diff from one completed run's files to another's (default: the latest)."""
    old = _version(request, session, project_id, from_run, principal)
    new = _version(request, session, project_id, to_run, principal)
    return PlainTextResponse(project_files.diff(old, new), media_type="text/x-diff")
