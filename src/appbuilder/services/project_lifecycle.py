"""The project state machine: DRAFT → GENERATING → READY → DEPLOYING → DEPLOYED, any state
→ ERROR, and READY / ERROR / DEPLOYED → GENERATING to regenerate."""

from __future__ import annotations

from appbuilder.db.models import Project
from appbuilder.db.types import utcnow
from appbuilder.enums import ProjectStatus
from appbuilder.errors import ConflictError

S = ProjectStatus
TRANSITIONS: dict[ProjectStatus, frozenset[ProjectStatus]] = {
    S.DRAFT: frozenset({S.GENERATING, S.ERROR}),
    S.GENERATING: frozenset({S.READY, S.ERROR}),
    S.READY: frozenset({S.DEPLOYING, S.GENERATING, S.ERROR}),
    S.DEPLOYING: frozenset({S.DEPLOYED, S.ERROR}),
    S.DEPLOYED: frozenset({S.GENERATING, S.ERROR}),
    S.ERROR: frozenset({S.GENERATING}),
}


#: the allowed next states in lifecycle order, for error messages and UIs
ALLOWED_NEXT: dict[ProjectStatus, tuple[ProjectStatus, ...]] = {
    status: tuple(s for s in ProjectStatus if s in targets)
    for status, targets in TRANSITIONS.items()
}


def allowed_next(status: ProjectStatus) -> list[ProjectStatus]:
    return list(ALLOWED_NEXT[status])


def change_status(project: Project, new: ProjectStatus) -> None:
    """Move along the state machine; setting the current status again changes nothing."""
    if new is project.status:
        return
    if new not in TRANSITIONS[project.status]:
        allowed = allowed_next(project.status)
        raise ConflictError(
            f"A {project.status.value} project cannot become {new.value}; "
            f"allowed next: {', '.join(s.value for s in allowed)}.",
            status=project.status.value,
            requested=new.value,
            allowed_next=[s.value for s in allowed],
        )
    project.status = new
    if new is ProjectStatus.DEPLOYED:
        project.deployed_at = utcnow()
