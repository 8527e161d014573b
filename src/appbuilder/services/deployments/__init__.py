"""Deployments: one interface (``targets.base.Target``), several targets, a Deployment row
per attempt and the project's status moved by the system (see ``commands``)."""

from appbuilder.services.deployments.commands import (
    DeployContext,
    again,
    carry_out,
    deploy_now,
    request,
    stop,
)
from appbuilder.services.deployments.queries import (
    get_deployment,
    is_running,
    list_project_deployments,
    live_of_project,
    runs_process,
)
from appbuilder.services.deployments.supervisor import Supervisor

__all__ = [
    "DeployContext",
    "Supervisor",
    "again",
    "carry_out",
    "deploy_now",
    "get_deployment",
    "is_running",
    "list_project_deployments",
    "live_of_project",
    "request",
    "runs_process",
    "stop",
]
