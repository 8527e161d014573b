"""A project's generated files in the browser: the tree of a run's version, one file
highlighted, the diff between two runs, and the zip. The same service as the API
(services/project_files): another user's project is not found, paths are checked there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from appbuilder.db.models import GenerationRun, Project
from appbuilder.rules import ID_PATTERN
from appbuilder.services import project_files
from appbuilder.services.auth import Principal
from appbuilder.web.deps import SessionDep, owner_filter
from appbuilder.web.ui.deps import UserDep, check_csrf, optional_principal
from appbuilder.web.ui.highlight import code_html, diff_html
from appbuilder.web.ui.render import render

router = APIRouter(
    prefix="/projects/{project_id}",
    include_in_schema=False,
    dependencies=[Depends(check_csrf), Depends(optional_principal)],
)
ProjectId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
#: characters of a diff shown on its page (about 1.7 MB of HTML); the rest is in the zips
MAX_SHOWN_DIFF = 1_000_000
RunId = Annotated[str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN)]


@dataclass
class Node:
    """A folder (children) or a file (size) of the tree, for the template's recursion."""

    name: str
    path: str
    size: int | None = None
    children: list[Node] = field(default_factory=list)


class Entry(Protocol):
    """A file of a version (the history's tree entry)."""

    @property
    def path(self) -> str: ...
    @property
    def size(self) -> int: ...


def build_tree(entries: list[Entry]) -> list[Node]:
    """Folders first, then files, each sorted by name."""
    root = Node("", "")
    folders: dict[str, Node] = {"": root}
    for entry in sorted(entries, key=lambda e: e.path):
        parent = root
        parts = entry.path.split("/")
        for depth in range(1, len(parts)):
            key = "/".join(parts[:depth])
            if key not in folders:
                folders[key] = Node(parts[depth - 1], key)
                parent.children.append(folders[key])
            parent = folders[key]
        parent.children.append(Node(parts[-1], entry.path, entry.size))
    for folder in folders.values():
        folder.children.sort(key=lambda n: (n.size is not None, n.name))
    return root.children


def _version(
    request: Request, session: SessionDep, principal: Principal, project_id: str, run: str | None
) -> project_files.Version:
    settings = request.app.state.settings
    return project_files.version(
        session, settings.projects_dir, project_id, run, owner_id=owner_filter(principal)
    )


def _versions(
    session: SessionDep, principal: Principal, project_id: str
) -> tuple[Project, list[GenerationRun]]:
    return project_files.completed_runs(session, project_id, owner_id=owner_filter(principal))


@router.get("/files")
def files_page(
    request: Request,
    project_id: ProjectId,
    principal: UserDep,
    session: SessionDep,
    run: RunId = None,
) -> Response:
    project, runs = _versions(session, principal, project_id)
    context: dict[str, object] = {"project": project, "runs": runs, "page_title": "Files"}
    if not runs:
        return render(request, "files.html", {**context, "version": None, "tree": []})
    found = _version(request, session, principal, project_id, run)
    tree = build_tree(list(project_files.tree(found)))
    return render(request, "files.html", {**context, "version": found, "tree": tree})


@router.get("/files/{path:path}")
def file_page(
    request: Request,
    project_id: ProjectId,
    path: Annotated[str, Path(min_length=1, max_length=1024)],
    principal: UserDep,
    session: SessionDep,
    run: RunId = None,
) -> Response:
    found = _version(request, session, principal, project_id, run)
    limit = request.app.state.settings.file_view_max_bytes
    blob = project_files.read(found, path, limit=limit)
    code = None
    if blob.content is not None and not blob.binary:
        code = code_html(blob.path, blob.content.decode("utf-8"))
    context = {
        "project": found.project,
        "version": found,
        "blob": blob,
        "code": code,
        "crumbs": _crumbs(blob.path),
        "page_title": blob.path,
    }
    return render(request, "file.html", context)


def _crumbs(path: str) -> list[str]:
    return path.split("/")


@router.get("/diff")
def diff_page(
    request: Request,
    project_id: ProjectId,
    principal: UserDep,
    session: SessionDep,
    from_run: Annotated[
        str | None, Query(alias="from", min_length=1, max_length=64, pattern=ID_PATTERN)
    ] = None,
    to_run: Annotated[
        str | None, Query(alias="to", min_length=1, max_length=64, pattern=ID_PATTERN)
    ] = None,
) -> Response:
    project, runs = _versions(session, principal, project_id)
    older = from_run or (runs[1].id if len(runs) > 1 else None)
    newer = to_run or (runs[0].id if runs else None)
    context: dict[str, object] = {
        "project": project,
        "runs": runs,
        "from_id": older,
        "to_id": newer,
        "page_title": "Compare runs",
    }
    if older is None or newer is None:
        return render(request, "diff.html", {**context, "diff": None, "changed": [], "cut": False})
    old = _version(request, session, principal, project_id, older)
    new = _version(request, session, principal, project_id, newer)
    text = project_files.diff(old, new)
    shown = text if len(text) <= MAX_SHOWN_DIFF else text[:MAX_SHOWN_DIFF].rsplit("\n", 1)[0]
    context.update(
        diff=diff_html(shown) if text else None,
        changed=changed_files(text),
        cut=len(shown) < len(text),
    )
    return render(request, "diff.html", context)


@dataclass(frozen=True)
class Changed:
    path: str
    added: int
    removed: int


def changed_files(diff: str) -> list[Changed]:
    """Each file of a unified git diff with its added and removed line counts."""
    changed: list[Changed] = []
    path, added, removed = None, 0, 0
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            if path is not None:
                changed.append(Changed(path, added, removed))
            path, added, removed = line.split(" b/", 1)[-1], 0, 0
        elif line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    if path is not None:
        changed.append(Changed(path, added, removed))
    return changed


@router.get("/download")
def download(
    request: Request,
    project_id: ProjectId,
    principal: UserDep,
    session: SessionDep,
    run: RunId = None,
) -> StreamingResponse:
    """The same zip as the API's download, for the browser's cookie session."""
    found = _version(request, session, principal, project_id, run)
    return StreamingResponse(
        project_files.archive(found),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{found.slug}.zip"'},
    )
