"""The journal of one execution: the run's Generation rows and event log, written only
while this execution still holds the run.

Every write first renews the lease (the claim token must still be the run's), so an
execution that lost the run to a retry can't overwrite it, and a cancel request is noticed
at the next write without a query of its own. The settle functions end the run through the
same check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.agents.base import Agent, StepRecord
from appbuilder.agents.orchestrator import GenerationResult
from appbuilder.db.models import Generation, GenerationRun, Project
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, GenerationStatus, ProjectStatus, RunStatus
from appbuilder.errors import RunCancelled
from appbuilder.services.repository_git import RemotePolicy
from appbuilder.services.runs import events
from appbuilder.services.runs.lifecycle import (
    ERROR_LIMIT,
    fail,
    finish,
    release,
    settle_cancelled,
)
from appbuilder.settings import LLMSettings


class LeaseLost(Exception):  # noqa: N818 - a state, not a failure
    """Another execution claimed this run (this one was presumed dead): stop writing."""


class Released(Exception):  # noqa: N818 - a state, not a failure
    """The process is shutting down: hand the run back to the queue at this step."""


@dataclass(frozen=True)
class RunContext:
    """What an execution needs from its process: the database and a few settings."""

    sessions: sessionmaker[Session]
    projects_dir: Path
    heartbeat_seconds: float = 2.0
    verify_timeout: float = 900.0
    #: a PostgreSQL server the verification also runs each app's suite on (None: SQLite only)
    verify_database_url: str | None = None
    #: the agents to run (default: the template agents, with a model writing the code of
    #: a spec's actions when ``llm`` is configured)
    agents: Mapping[AgentType, Agent] | None = None
    llm: LLMSettings | None = None
    #: the shared home of projects' histories (see ``services.repository_store``), so a
    #: run can resume on a worker whose data directory never saw the project
    project_store: str | None = None
    #: the operator's rules for remotes, checked again before a run's push (None: unchecked)
    remotes: RemotePolicy | None = None
    #: set when the process shuts down: runs are released at their next step boundary
    stopping: threading.Event = field(default_factory=threading.Event)


class DbJournal:
    """The orchestrator's journal, kept in the run's Generation rows and event log."""

    def __init__(self, ctx: RunContext, run_id: str, claim: str) -> None:
        self.ctx = ctx
        self.run_id = run_id
        self.claim = claim
        self.cancel = threading.Event()
        self.lost = threading.Event()
        with ctx.sessions() as session:
            rows = session.scalars(
                # the step rows; model calls have rows of their own (see ``ledger``)
                select(Generation).where(Generation.run_id == run_id, Generation.model.is_(None))
            ).all()
        self.rows = {row.agent_type: row.id for row in rows}
        self.done = {
            row.agent_type: StepRecord(
                row.agent_type,
                row.prompt,
                row.response,
                row.status,
                row.tokens_used,
                row.duration_ms or 0,
                row.error_message,
            )
            for row in rows
            if row.status is GenerationStatus.COMPLETED
        }

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """A transaction that first proves this execution still holds the run."""
        with self.ctx.sessions.begin() as session:
            self.renew(session)
            yield session

    def renew(self, session: Session) -> None:
        """Refresh the lease; note a cancel request; LeaseLost if another execution took
        the run. (Every write and every heartbeat goes through here, so checkpoints need
        no query of their own.)"""
        wanted = session.execute(
            update(GenerationRun)
            .where(GenerationRun.id == self.run_id, GenerationRun.claim == self.claim)
            .values(heartbeat_at=utcnow())
            .returning(GenerationRun.cancel_requested)
        ).scalar_one_or_none()
        if wanted is None:
            self.lost.set()
            self.cancel.set()  # a verification in progress stops
            raise LeaseLost
        if wanted:
            self.cancel.set()

    def completed(self, agent: AgentType) -> StepRecord | None:
        return self.done.get(agent)

    def started(self, agent: AgentType) -> None:
        with self.tx() as session:
            session.execute(
                update(Generation)
                .where(Generation.id == self.rows[agent])
                .values(status=GenerationStatus.RUNNING)
            )
            events.append(session, self.run_id, "step_started", agent=agent.value)

    def finished(self, record: StepRecord) -> None:
        with self.tx() as session:
            write_record(session, self.rows[record.agent], record)
            step_event(session, self.run_id, record)

    def log(self, line: str) -> None:
        with self.tx() as session:
            events.append(session, self.run_id, "log", line=line)

    def checkpoint(self) -> None:
        if self.lost.is_set():
            raise LeaseLost
        if self.ctx.stopping.is_set():
            raise Released
        if self.cancel.is_set():
            raise RunCancelled("The run was cancelled.")


def write_record(session: Session, generation_id: str, record: StepRecord) -> None:
    session.execute(
        update(Generation)
        .where(Generation.id == generation_id)
        .values(
            prompt=record.prompt,
            response=record.response,
            status=record.status,
            # a step's tokens are on its calls' rows (see ``ledger``): counted once
            tokens_used=0,
            duration_ms=record.duration_ms,
            error_message=record.error[-ERROR_LIMIT:] if record.error else None,
            completed_at=utcnow(),
        )
    )


def step_event(session: Session, run_id: str, record: StepRecord) -> None:
    events.append(
        session,
        run_id,
        "step_finished" if record.status is GenerationStatus.COMPLETED else "step_failed",
        agent=record.agent.value,
        status=record.status.value,
        duration_ms=record.duration_ms,
        tokens_used=record.tokens_used,
        error=record.error[-ERROR_LIMIT:] if record.error else None,
    )


def _orchestrator_row(session: Session, run_id: str) -> Generation:
    return session.scalars(
        select(Generation).where(
            Generation.run_id == run_id,
            Generation.agent_type == AgentType.ORCHESTRATOR,
            Generation.model.is_(None),
        )
    ).one()


def settle_completed(
    journal: DbJournal, result: GenerationResult, sha: str, folder: Path
) -> RunStatus:
    record = result.records[-1]
    with journal.tx() as session:
        write_record(session, _orchestrator_row(session, journal.run_id).id, record)
        step_event(session, journal.run_id, record)
        run = session.get_one(GenerationRun, journal.run_id)
        run.tree_hash = result.tree_hash
        run.commit_sha = sha
        run.files_count = len(result.files)
        project = session.get_one(Project, run.project_id)
        project.status = ProjectStatus.READY
        project.generated_path = str(folder)
        return finish(
            session,
            run,
            RunStatus.COMPLETED,
            commit=sha,
            tree_hash=result.tree_hash,
            files=len(result.files),
            verified=result.verification is not None,
        )


def settle_failed(
    journal: DbJournal,
    message: str,
    result: GenerationResult | None = None,
    *,
    ours: bool = False,
) -> RunStatus:
    """FAILED from inside the execution: the app's failure, or (``ours``) the platform's."""
    with journal.tx() as session:
        row = _orchestrator_row(session, journal.run_id)
        record = (
            result.records[-1]
            if result is not None
            else StepRecord.failed(AgentType.ORCHESTRATOR, row.prompt, message)
        )
        write_record(session, row.id, record)
        step_event(session, journal.run_id, record)
        return fail(session, session.get_one(GenerationRun, journal.run_id), message, ours=ours)


def settle_released(journal: DbJournal) -> RunStatus:
    with journal.tx() as session:
        return release(session, session.get_one(GenerationRun, journal.run_id))


def settle_cancelled_by(journal: DbJournal) -> RunStatus:
    with journal.tx() as session:
        return settle_cancelled(session, session.get_one(GenerationRun, journal.run_id))
