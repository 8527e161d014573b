"""Deployments: each attempt to put a project's generated code somewhere it runs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Index, String, Text, text
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
    #: where it went, e.g. "docker", "fly", "render": the deploy issue fills the list
    target: Mapped[str] = mapped_column(String(50))
    url: Mapped[str | None] = mapped_column(String(2048))
    #: what was deployed: a git commit sha or an artifact reference
    ref: Mapped[str | None] = mapped_column(String(255))
    log: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    project: Mapped[Project] = relationship(back_populates="deployments", lazy="raise")

    def __repr__(self) -> str:
        return f"Deployment(id={self.id!r}, target={self.target!r}, status={self.status!s})"
