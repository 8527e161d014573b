"""The run pipeline in this process, on both databases: failures, release on shutdown, a
lost lease, and a run delivered twice."""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.agents.base import AgentInput, AgentOutput
from appbuilder.agents.orchestrator import default_agents
from appbuilder.db.models import Generation, GenerationRun, Project, RunEvent
from appbuilder.db.session import make_session_factory
from appbuilder.enums import AgentType, GenerationStatus, ProjectTemplate, RunStatus
from appbuilder.jobs import setup
from appbuilder.jobs.runner import EmbeddedDispatcher, InProcessRunner
from appbuilder.services import runs
from appbuilder.services.runs.claims import MAX_ATTEMPTS, reserve_next
from appbuilder.services.runs.execution import execute_run
from appbuilder.services.runs.journal import RunContext
from appbuilder.settings import get_settings
from tests.factories import make_project, make_user


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def queue(sessions: sessionmaker[Session], *, verify: bool = False) -> str:
    with sessions.begin() as session:
        user = make_user(session)
        project = make_project(session, user, template=ProjectTemplate.API, status="READY")
        return runs.start_run(session, EmbeddedDispatcher(), user, project.id, verify=verify).id


def context(sessions: sessionmaker[Session], **changes: Any) -> RunContext:
    base = setup.run_context(get_settings(), sessions)
    return dataclasses.replace(base, heartbeat_seconds=0.2, **changes)


class Broken:
    agent_type = AgentType.BACKEND

    def run(self, task: AgentInput) -> AgentOutput:  # noqa: ARG002 - the Agent interface
        raise RuntimeError("the model answered nonsense")


def test_a_failing_step_ends_the_run_failed_and_the_project_in_error(
    sessions: sessionmaker[Session],
) -> None:
    run_id = queue(sessions)
    agents = {**default_agents(), AgentType.BACKEND: Broken()}
    assert execute_run(context(sessions, agents=agents), run_id) is RunStatus.FAILED
    with sessions() as session:
        run = session.get_one(GenerationRun, run_id)
        assert run.status is RunStatus.FAILED
        assert "BACKEND agent failed: RuntimeError: the model answered nonsense" in (
            run.error_message or ""
        )
        assert not run.platform_failure  # the app's failure: charged like any run
        project = session.get_one(Project, run.project_id)
        assert project.status.value == "ERROR"
        steps = {
            g.agent_type.value: g
            for g in session.scalars(select(Generation).where(Generation.run_id == run_id))
        }
    assert steps["DATABASE"].status is GenerationStatus.COMPLETED
    assert steps["BACKEND"].status is GenerationStatus.FAILED
    assert "nonsense" in (steps["BACKEND"].error_message or "")
    assert steps["BACKEND"].completed_at is not None
    assert steps["ORCHESTRATOR"].status is GenerationStatus.FAILED
    assert steps["DEVOPS"].status is GenerationStatus.CANCELLED  # never ran
    # running it again does nothing: the job was delivered twice
    assert execute_run(context(sessions, agents=agents), run_id) is None


def test_a_stopping_process_releases_its_run_and_the_next_resumes_it(
    sessions: sessionmaker[Session],
) -> None:
    run_id = queue(sessions, verify=True)
    runner = InProcessRunner(context(sessions), threads=1, poll_seconds=0.1)
    runner.start()

    def verifying() -> bool:
        with sessions() as session:
            lines = session.scalars(
                select(RunEvent.data).where(RunEvent.run_id == run_id, RunEvent.kind == "log")
            ).all()
        return any(str(line.get("line", "")).startswith("Verifying") for line in lines)

    deadline = time.monotonic() + 60
    while not verifying():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert runner.stop(grace=0) is True  # released, not waited for
    with sessions() as session:
        run = session.get_one(GenerationRun, run_id)
        assert run.status is RunStatus.QUEUED
        assert run.claim is None
        orchestrator = session.scalar(
            select(Generation).where(
                Generation.run_id == run_id, Generation.agent_type == AgentType.ORCHESTRATOR
            )
        )
        assert orchestrator is not None
        assert orchestrator.status is GenerationStatus.PENDING
    # the next process takes it at once (no lease to wait for) and finishes it
    assert reserve_next(sessions, lease=30) == run_id
    assert execute_run(context(sessions), run_id) is RunStatus.COMPLETED


def test_an_execution_that_lost_its_run_stops_writing(sessions: sessionmaker[Session]) -> None:
    """A worker presumed dead (its lease taken over) must not overwrite the new owner."""
    run_id = queue(sessions)
    entered = threading.Event()
    release = threading.Event()

    class Slow:
        agent_type = AgentType.DATABASE

        def run(self, task: AgentInput) -> AgentOutput:
            entered.set()
            release.wait(30)
            return default_agents()[AgentType.DATABASE].run(task)

    agents = {**default_agents(), AgentType.DATABASE: Slow()}
    outcome: list[RunStatus | None] = []
    stale = threading.Thread(
        target=lambda: outcome.append(execute_run(context(sessions, agents=agents), run_id))
    )
    stale.start()
    assert entered.wait(30)
    with sessions.begin() as session:  # another execution takes the run over
        session.execute(
            update(GenerationRun).where(GenerationRun.id == run_id).values(claim="someone-else")
        )
    release.set()
    stale.join(30)
    assert outcome == [None]
    with sessions() as session:
        run = session.get_one(GenerationRun, run_id)
        assert run.claim == "someone-else"
        assert run.status is RunStatus.RUNNING
        database = session.scalar(
            select(Generation).where(
                Generation.run_id == run_id, Generation.agent_type == AgentType.DATABASE
            )
        )
        assert database is not None
        assert database.status is GenerationStatus.RUNNING  # the stale result was not written


def test_a_run_that_keeps_crashing_is_given_up(sessions: sessionmaker[Session]) -> None:
    run_id = queue(sessions)
    with sessions.begin() as session:
        session.execute(
            update(GenerationRun)
            .where(GenerationRun.id == run_id)
            .values(status=RunStatus.RUNNING, attempts=MAX_ATTEMPTS, claim="dead-worker")
        )
    assert execute_run(context(sessions), run_id) is None
    with sessions() as session:
        run = session.get_one(GenerationRun, run_id)
        assert run.status is RunStatus.FAILED
        assert run.error_message == f"Gave up after {MAX_ATTEMPTS} attempts."
        assert run.platform_failure  # ours: not charged against the monthly quota
        assert session.get_one(Project, run.project_id).status.value == "ERROR"


def test_the_database_refuses_a_second_active_run_of_a_project(
    sessions: sessionmaker[Session],
) -> None:
    """The last line of defence behind start_run's check (two racing requests)."""
    run_id = queue(sessions)
    with sessions() as session:
        first = session.get_one(GenerationRun, run_id)
        twin = GenerationRun(
            project_id=first.project_id,
            user_id=first.user_id,
            previous_status=first.previous_status,
            spec=first.spec,
            spec_hash=first.spec_hash,
        )
        session.add(twin)
        with pytest.raises(IntegrityError):
            session.flush()


def test_a_verification_that_times_out_says_so(sessions: sessionmaker[Session]) -> None:
    run_id = queue(sessions, verify=True)
    assert execute_run(context(sessions, verify_timeout=2), run_id) is RunStatus.FAILED
    with sessions() as session:
        run = session.get_one(GenerationRun, run_id)
    assert run.error_message is not None
    assert run.error_message.startswith("Verification failed: FAILED")
    assert "timed out after" in run.error_message
