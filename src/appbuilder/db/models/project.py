"""Projects: one application a user is building, from draft to deployed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from appbuilder.db.base import Base
from appbuilder.db.models._columns import (
    created_at_column,
    enum_type,
    id_column,
    owner_column,
    updated_at_column,
)
from appbuilder.db.types import EncryptedText, UTCDateTime, json_object, string_list
from appbuilder.enums import ProjectStatus, ProjectTemplate

if TYPE_CHECKING:
    from appbuilder.db.models.deployment import Deployment
    from appbuilder.db.models.generation import Generation
    from appbuilder.db.models.user import User


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        # The design document's projects.userId index, extended for "a user's latest projects" and
        # keyset pagination: one index serves both, where two would compete and cost writes.
        Index("ix_projects_user_id_created_at", "user_id", "created_at", "id"),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(Text)
    template: Mapped[ProjectTemplate] = mapped_column(
        enum_type(ProjectTemplate, "project_template")
    )
    status: Mapped[ProjectStatus] = mapped_column(
        enum_type(ProjectStatus, "project_status"),
        default=ProjectStatus.DRAFT,
        server_default=ProjectStatus.DRAFT,
        index=True,
    )
    # Assign a new dict or list to change these: in-place edits are not tracked. (Mutation
    # tracking wrapped every loaded row and cost ~3 ms per listed page; we never need it.)
    config: Mapped[dict[str, Any]] = mapped_column(json_object())
    features: Mapped[list[str]] = mapped_column(string_list(), default=list)
    generated_path: Mapped[str | None] = mapped_column(Text)
    #: the git remote every completed run is pushed to (never with credentials in it)
    repository_url: Mapped[str | None] = mapped_column(String(2048))
    deployment_url: Mapped[str | None] = mapped_column(String(2048))
    # The model this project's plans and runs call, at its owner's (or the platform's)
    # provider; NULL: that provider's default.
    llm_model: Mapped[str | None] = mapped_column(String(200))
    #: the https token for ``repository_url``, encrypted at rest; never shown back
    repository_token: Mapped[str | None] = mapped_column(EncryptedText())
    #: the last commit the remote accepted, and when
    repository_pushed_sha: Mapped[str | None] = mapped_column(String(40))
    repository_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: why the last push failed (cleared by the next push that succeeds)
    repository_error: Mapped[str | None] = mapped_column(Text)

    # indexed by ix_projects_user_id_created_at, whose leading column it is
    user_id: Mapped[str] = owner_column("users.id", index=False)
    user: Mapped[User] = relationship(back_populates="projects", lazy="raise")

    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    generations: Mapped[list[Generation]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )
    deployments: Mapped[list[Deployment]] = relationship(
        back_populates="project", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )

    def __repr__(self) -> str:
        return f"Project(id={self.id!r}, name={self.name!r}, status={self.status!s})"
