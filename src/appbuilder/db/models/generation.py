"""Generations: one agent step of building a project, with what it was asked and answered."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from appbuilder.db.base import Base
from appbuilder.db.models._columns import (
    ID_COLUMN_LENGTH,
    created_at_column,
    enum_type,
    id_column,
    owner_column,
)
from appbuilder.db.types import UTCDateTime
from appbuilder.enums import AgentType, GenerationStatus

if TYPE_CHECKING:
    from appbuilder.db.models.project import Project
    from appbuilder.db.models.run import GenerationRun
    from appbuilder.db.models.user import User


class Generation(Base):
    __tablename__ = "generations"
    __table_args__ = (
        # The design document's generations.projectId and generations.userId indexes, each
        # extended by created_at: a project's history newest first (with keyset pagination),
        # a user's history and "generations this month" for quotas. A B-tree on (a, b) serves
        # look-ups on a alone, so separate single-column indexes would only compete and cost
        # writes.
        Index("ix_generations_project_id_created_at", "project_id", "created_at", "id"),
        # The ledger's reads before every model call (migration 0011): the month's tokens
        # from the index alone, and the owner's calls still RUNNING without walking their
        # whole history (on SQLite each row read steps over its prompt and answer).
        Index(
            "ix_generations_user_id_created_at_tokens_used", "user_id", "created_at", "tokens_used"
        ),
        Index("ix_generations_user_id_status_created_at", "user_id", "status", "created_at"),
    )

    id: Mapped[str] = id_column()
    # indexed by the two composite indexes above, whose leading columns they are
    project_id: Mapped[str] = owner_column("projects.id", index=False)
    user_id: Mapped[str] = owner_column("users.id", index=False)
    agent_type: Mapped[AgentType] = mapped_column(enum_type(AgentType, "agent_type"))
    prompt: Mapped[str] = mapped_column(Text)
    response: Mapped[str] = mapped_column(Text)
    status: Mapped[GenerationStatus] = mapped_column(
        enum_type(GenerationStatus, "generation_status"),
        default=GenerationStatus.PENDING,
        server_default=GenerationStatus.PENDING,
        index=True,
    )
    tokens_used: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)

    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the run this step belongs to (rows from before runs existed have none)
    run_id: Mapped[str | None] = mapped_column(
        String(ID_COLUMN_LENGTH), ForeignKey("generation_runs.id", ondelete="CASCADE"), index=True
    )
    #: the model that answered (``gpt-4o-mini``); None for template steps
    model: Mapped[str | None] = mapped_column(String(200))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    output_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: USD; None when the model's price is unknown (or no model was called)
    cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(14, 6))

    project: Mapped[Project] = relationship(back_populates="generations", lazy="raise")
    user: Mapped[User] = relationship(back_populates="generations", lazy="raise")
    run: Mapped[GenerationRun | None] = relationship(back_populates="generations", lazy="raise")

    def __repr__(self) -> str:
        return f"Generation(id={self.id!r}, agent={self.agent_type!s}, status={self.status!s})"
