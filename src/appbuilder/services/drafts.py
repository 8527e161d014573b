"""A project's spec while a person edits it before a run: checked by exactly the rules a
run is started with (``spec_for`` then ``resolve``), so the editor shows the messages the
API would answer with, and kept as the project's spec (``config.spec``) when planned."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from appbuilder.errors import SpecError
from appbuilder.services.projects import check_config, get_project
from appbuilder.services.runs.commands import spec_for
from appbuilder.spec.problems import Problem
from appbuilder.spec.validation import resolve


def saved_spec(session: Session, project_id: str, *, owner_id: str) -> dict[str, Any]:
    """The spec the project keeps (``config.spec``), or an empty one."""
    project = get_project(session, project_id, owner_id=owner_id)
    stored = project.config.get("spec") if isinstance(project.config, dict) else None
    return dict(stored) if isinstance(stored, dict) else {}


def check_draft(
    session: Session, project_id: str, data: dict[str, Any], *, owner_id: str
) -> list[Problem]:
    """Every problem a run of ``data`` would be refused for (empty: it would start)."""
    project = get_project(session, project_id, owner_id=owner_id)
    try:
        resolve(spec_for(project, data))
    except SpecError as error:
        return [Problem(path, rule, message) for path, rule, message in error.problems]
    return []


def keep_draft(session: Session, project_id: str, data: dict[str, Any], *, owner_id: str) -> None:
    """``data`` becomes the project's spec (a planned app, before its first run)."""
    project = get_project(session, project_id, owner_id=owner_id, for_update=True)
    config = dict(project.config) if isinstance(project.config, dict) else {}
    config["spec"] = data
    check_config(config)
    project.config = config
