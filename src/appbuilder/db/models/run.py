"""Generation runs and their event log.

A run is one request to build a project: it groups the Generation rows of its steps, holds
the spec it builds, and carries the lease a worker holds while executing it. Its events are
the durable feed behind live progress: numbered per run, so a client that reconnects asks
for "everything after N" and gets exactly what it missed, from any process.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from appbuilder.db.base import Base
from appbuilder.db.models._columns import (
    ID_COLUMN_LENGTH,
    created_at_column,
    enum_type,
    id_column,
    owner_column,
)
from appbuilder.db.types import UTCDateTime, json_object
from appbuilder.enums import ProjectStatus, RunStatus

if TYPE_CHECKING:
    from appbuilder.db.models.generation import Generation

_ACTIVE = "status IN ('QUEUED', 'RUNNING')"


class GenerationRun(Base):
    __tablename__ = "generation_runs"
    __table_args__ = (
        Index("ix_generation_runs_project_id_created_at", "project_id", "created_at", "id"),
        Index("ix_generation_runs_user_id_created_at", "user_id", "created_at"),
        # The database itself refuses a second active run of one project, whatever races
        # between two requests: the second insert fails and becomes a 409.
        Index(
            "uq_generation_runs_one_active_per_project",
            "project_id",
            unique=True,
            postgresql_where=text(_ACTIVE),
            sqlite_where=text(_ACTIVE),
        ),
        # the in-process runner's "next run to claim"
        Index("ix_generation_runs_status_not_before", "status", "not_before"),
    )

    id: Mapped[str] = id_column()
    # indexed by the composite indexes above, whose leading columns they are
    project_id: Mapped[str] = owner_column("projects.id", index=False)
    user_id: Mapped[str] = owner_column("users.id", index=False)
    status: Mapped[RunStatus] = mapped_column(
        enum_type(RunStatus, "run_status"),
        default=RunStatus.QUEUED,
        server_default=RunStatus.QUEUED,
    )
    #: the project's status before the run, given back when the run is cancelled
    previous_status: Mapped[ProjectStatus] = mapped_column(
        enum_type(ProjectStatus, "project_status")
    )
    #: the effective spec (template preset with the user's spec laid over it), as JSON
    spec: Mapped[dict[str, Any]] = mapped_column(json_object())
    spec_hash: Mapped[str] = mapped_column(String(64))
    verify: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    #: executions started (a retry after a crash or a transient error adds one)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: the token of the execution that holds the run; writes of any other are refused
    claim: Mapped[str | None] = mapped_column(String(ID_COLUMN_LENGTH))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: not to be claimed before this time (backoff after a transient failure)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the procrastinate job carrying the run (PostgreSQL queue only)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    #: the number of the last event written; the next one takes this plus one
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))

    error_message: Mapped[str | None] = mapped_column(Text)
    #: FAILED because of the platform (the queue gave up, git failed), not the app: such a
    #: run is not charged against the monthly quota
    platform_failure: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    tree_hash: Mapped[str | None] = mapped_column(String(64))
    commit_sha: Mapped[str | None] = mapped_column(String(40))
    files_count: Mapped[int | None] = mapped_column(Integer)
    #: set on a rollback: the earlier run whose files this run made current again (no
    #: agent ran, so it is not charged against the quota)
    rollback_of: Mapped[str | None] = mapped_column(String(ID_COLUMN_LENGTH))

    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    generations: Mapped[list[Generation]] = relationship(
        back_populates="run", passive_deletes=True, lazy="raise"
    )

    @property
    def active(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)

    def __repr__(self) -> str:
        return f"GenerationRun(id={self.id!r}, status={self.status!s})"


class RunEvent(Base):
    __tablename__ = "run_events"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(
        String(ID_COLUMN_LENGTH), ForeignKey("generation_runs.id", ondelete="CASCADE")
    )
    #: 1, 2, 3... within the run: the SSE event id
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(json_object())
    created_at: Mapped[datetime] = created_at_column()
