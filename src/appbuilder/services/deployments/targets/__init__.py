"""Deploy targets behind one interface (``base.Target``): a new target is one class here
and one name in ``TARGETS``."""

from __future__ import annotations

from appbuilder.services.deployments.targets.base import Outcome, Release, Target
from appbuilder.services.deployments.targets.docker import DockerTarget, KubernetesTarget
from appbuilder.services.deployments.targets.local import LocalTarget

TARGETS: dict[str, type[Target]] = {
    "local": LocalTarget,
    "docker": DockerTarget,
    "kubernetes": KubernetesTarget,
}

__all__ = ["TARGETS", "Outcome", "Release", "Target"]
