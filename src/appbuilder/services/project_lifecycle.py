"""The project state machine: DRAFT → GENERATING → READY → DEPLOYING → DEPLOYED, any state
→ ERROR, and READY / ERROR / DEPLOYED → GENERATING to regenerate. A deployed project
deploys again (DEPLOYED / ERROR → DEPLOYING: a redeploy, or a restart after a crash) and
goes back to READY when its owner stops it.

Most statuses belong to the system: runs enter and leave GENERATING, a completed run sets
READY, failures set ERROR. Users may set by hand (PATCH) only what records a deployment
done outside (DEPLOYING, DEPLOYED), and see what they can do next as ``next_actions``.
"""

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
    S.DEPLOYED: frozenset({S.READY, S.GENERATING, S.DEPLOYING, S.ERROR}),
    S.ERROR: frozenset({S.GENERATING, S.DEPLOYING}),
}


#: the allowed next states in lifecycle order, for error messages and UIs
ALLOWED_NEXT: dict[ProjectStatus, tuple[ProjectStatus, ...]] = {
    status: tuple(s for s in ProjectStatus if s in targets)
    for status, targets in TRANSITIONS.items()
}


def allowed_next(status: ProjectStatus) -> list[ProjectStatus]:
    return list(ALLOWED_NEXT[status])


#: statuses a user may set by PATCH (deployments are recorded by hand until targets exist)
USER_SETTABLE = frozenset({S.DEPLOYING, S.DEPLOYED})
#: what a user can do next with a project in each status (the API's endpoints:
#: generate = POST /generate, cancel = POST /api/runs/{id}/cancel of its latest run,
#: download = GET /download; deployments are not offered until deploy targets exist)
NEXT_ACTIONS: dict[ProjectStatus, tuple[str, ...]] = {
    S.DRAFT: ("generate",),
    S.GENERATING: ("cancel",),
    S.READY: ("generate", "download", "deploy"),
    S.DEPLOYING: (),
    S.DEPLOYED: ("generate", "download", "redeploy", "stop"),
    S.ERROR: ("generate",),
}


def user_next_statuses(status: ProjectStatus) -> list[ProjectStatus]:
    """The statuses a user may move a project to next by hand: recording one deployment
    done outside (READY → DEPLOYING → DEPLOYED); redeploys and stops are the system's."""
    if status is S.DEPLOYED:
        return []
    return [s for s in ALLOWED_NEXT[status] if s in USER_SETTABLE]


def next_actions(status: ProjectStatus) -> list[str]:
    return list(NEXT_ACTIONS[status])


def check_user_status(project: Project, new: ProjectStatus) -> None:
    """A status change asked for by a user (PATCH): only a user-settable status, and only
    one the state machine allows next; the 409 says what the user can do instead."""
    allowed = user_next_statuses(project.status)
    if new in allowed:
        return
    owner = "" if new in USER_SETTABLE else f"{new.value} is set by the system, not by hand; "
    raise ConflictError(
        f"A {project.status.value} project cannot become {new.value}: {owner}"
        f"allowed next: {', '.join(s.value for s in allowed) or 'none by hand'}; "
        f"you can: {', '.join(next_actions(project.status)) or 'wait'}.",
        status=project.status.value,
        requested=new.value,
        allowed_next=[s.value for s in allowed],
        next_actions=next_actions(project.status),
    )


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
