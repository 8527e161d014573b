"""Deployments: each attempt to put a project's generated code somewhere it runs.

Status of a row: PENDING (recorded), IN_PROGRESS (installing, migrating, starting),
SUCCEEDED (running and healthy, or for an artifact target: the artifact is ready),
FAILED (did not start, or crashed later: ``log`` holds the tail of its output),
CANCELLED (stopped by its owner, or superseded by a newer deployment of the project).
A local deployment's process is found again after a platform restart by ``pid``,
``port`` and ``process_started`` (the kernel's start time of that pid: a reused pid
does not match).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from appbuilder.db.base import Base
from appbuilder.db.models._columns import created_at_column, enum_type, id_column, owner_column
from appbuilder.db.types import UTCDateTime
from appbuilder.enums import DeploymentStatus

if TYPE_CHECKING:
    from appbuilder.db.models.project import Project


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_project_id_created_at", "project_id", "created_at"),)

    id: Mapped[str] = id_column()
    project_id: Mapped[str] = owner_column("projects.id", index=False)
    status: Mapped[DeploymentStatus] = mapped_column(
        enum_type(DeploymentStatus, "deployment_status"),
        default=DeploymentStatus.PENDING,
        server_default=DeploymentStatus.PENDING,
        index=True,
    )
    #: where it went: "local", "docker", "kubernetes" (services/deployments/targets)
    target: Mapped[str] = mapped_column(String(50))
    #: the completed, verified run whose commit this deploys
    run_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("generation_runs.id", ondelete="SET NULL")
    )
    url: Mapped[str | None] = mapped_column(String(2048))
    #: what was deployed: a git commit sha or an artifact reference
    ref: Mapped[str | None] = mapped_column(String(255))
    log: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    #: local target: the app's process, its public port and its private health port
    pid: Mapped[int | None] = mapped_column(Integer)
    process_started: Mapped[int | None] = mapped_column(BigInteger)
    port: Mapped[int | None] = mapped_column(Integer)
    health_port: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
    #: when it became healthy (or its artifact was ready)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: when it ended: failed, crashed, stopped or superseded
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    project: Mapped[Project] = relationship(back_populates="deployments", lazy="raise")

    def __repr__(self) -> str:
        return f"Deployment(id={self.id!r}, target={self.target!r}, status={self.status!s})"
