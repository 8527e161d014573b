"""Runs executed by real `uab worker` processes: procrastinate on PostgreSQL, the embedded
queue on SQLite. A worker killed with SIGKILL mid-run is replaced, and the run resumes
(without asking a model again for a step it finished)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.agents.coder import MAX_OUTPUT_TOKENS
from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.db.models import Generation, GenerationRun, Project, RunEvent, User
from appbuilder.db.session import make_session_factory
from appbuilder.enums import ProjectTemplate, RunStatus
from appbuilder.generator.files import tree_hash
from appbuilder.generator.history import ProjectHistory
from appbuilder.jobs import setup
from appbuilder.jobs.queue import Queue
from appbuilder.services import runs
from appbuilder.services.call_rows import INTERRUPTED
from appbuilder.services.quotas import usage
from appbuilder.services.runs.claims import claim_run
from appbuilder.settings import get_settings
from appbuilder.spec.model import AppSpec
from appbuilder.spec.validation import resolve
from tests.factories import make_project, make_user
from tests.fake_llm import Answer, FakeLLM, fake_llm, tool
from tests.integration.llm.test_coder import MODULE, SPEC, code
from tests.servers import stop_process_group, wait_until

FINAL = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED)
UAB = str(Path(sys.executable).with_name("uab"))


@pytest.fixture
def fast_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers presume a silent peer dead after 3 s (production: 30 s)."""
    monkeypatch.setenv("UAB_RUN_LEASE_SECONDS", "3")
    monkeypatch.setenv("UAB_RUN_HEARTBEAT_SECONDS", "0.5")
    get_settings.cache_clear()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[int], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(concurrency: int = 1) -> subprocess.Popen[bytes]:
        with (tmp_path / f"worker-{len(started)}.log").open("wb") as log:
            process = subprocess.Popen(
                [UAB, "worker", "--concurrency", str(concurrency)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(process)
        return process

    yield start
    for process in started:
        stop_process_group(process)


def queue_run(
    sessions: sessionmaker[Session], template: ProjectTemplate, *, verify: bool
) -> tuple[str, str]:
    settings = get_settings()
    with sessions.begin() as session:
        user = make_user(session)
        project = make_project(session, user, template=template, name="Stock keeper")
        run = runs.start_run(
            session, setup.dispatcher(settings, None), user, project.id, verify=verify
        )
        return run.id, project.id


def run_row(sessions: sessionmaker[Session], run_id: str) -> GenerationRun:
    with sessions() as session:
        return session.get_one(GenerationRun, run_id)


def event_kinds(sessions: sessionmaker[Session], run_id: str) -> list[tuple[str, dict[str, str]]]:
    with sessions() as session:
        rows = session.execute(
            select(RunEvent.kind, RunEvent.data)
            .where(RunEvent.run_id == run_id)
            .order_by(RunEvent.seq)
        ).all()
    return [(kind, data) for kind, data in rows]


def steps(sessions: sessionmaker[Session], run_id: str) -> dict[str, Generation]:
    with sessions() as session:
        rows = session.scalars(select(Generation).where(Generation.run_id == run_id)).all()
    return {row.agent_type.value: row for row in rows}


@pytest.mark.usefixtures("fast_leases")
def test_a_killed_worker_s_run_resumes_on_another_with_an_identical_tree(
    sessions: sessionmaker[Session], workers: Callable[[int], subprocess.Popen[bytes]]
) -> None:
    first = workers(1)
    run_id, project_id = queue_run(sessions, ProjectTemplate.API, verify=True)

    def verifying() -> bool:
        return any(
            kind == "log" and data.get("line", "").startswith("Verifying")
            for kind, data in event_kinds(sessions, run_id)
        )

    wait_until(verifying)
    os.killpg(first.pid, signal.SIGKILL)  # mid-verification, no chance to clean up
    first.wait()
    before = steps(sessions, run_id)
    assert before.pop("ORCHESTRATOR").status.value == "RUNNING"
    assert {s.status.value for s in before.values()} == {"COMPLETED"}
    assert run_row(sessions, run_id).status is RunStatus.RUNNING

    workers(1)  # a new worker notices the dead one and resumes its run
    wait_until(lambda: run_row(sessions, run_id).status in FINAL)
    run = run_row(sessions, run_id)
    assert run.status is RunStatus.COMPLETED, run.error_message
    assert run.attempts == 2

    # no step completed twice: the agents' rows are untouched, each finished once
    after = steps(sessions, run_id)
    for agent, row in before.items():
        assert after[agent].completed_at == row.completed_at
        assert after[agent].response == row.response
    assert after["ORCHESTRATOR"].status.value == "COMPLETED"
    kinds = event_kinds(sessions, run_id)
    finished = Counter(data["agent"] for kind, data in kinds if kind == "step_finished")
    assert finished == Counter(dict.fromkeys(after, 1))  # once each
    assert [data.get("resumed") for kind, data in kinds if kind == "started"] == [False, True]
    assert [kind for kind, _ in kinds].count("finished") == 1

    # byte-identical to an uninterrupted run of the same spec, and that is what was committed
    spec = AppSpec.model_validate(run.spec)
    expected = Orchestrator().generate(spec, resolve(spec), verify=False)
    assert run.tree_hash == expected.tree_hash
    history = ProjectHistory(get_settings().projects_dir / project_id)
    assert run.commit_sha is not None
    committed = {
        entry.path: history.read(run.commit_sha, entry.path, limit=10**7).content or b""
        for entry in history.tree(run.commit_sha)
    }
    assert tree_hash(committed) == expected.tree_hash
    with sessions() as session:
        project = session.get_one(Project, project_id)
        assert project.status.value == "READY"
        assert project.generated_path == str(history.path)
    assert (history.path / "app" / "main.py").read_bytes() == expected.files["app/main.py"]


def test_workers_drain_the_queue_each_run_exactly_once(
    sessions: sessionmaker[Session],
    workers: Callable[[int], subprocess.Popen[bytes]],
    engine: Engine,
) -> None:
    queued = [queue_run(sessions, ProjectTemplate.BLOG, verify=False)[0] for _ in range(6)]
    workers(2)
    workers(2)
    wait_until(lambda: all(run_row(sessions, r).status in FINAL for r in queued))
    for run_id in queued:
        run = run_row(sessions, run_id)
        assert run.status is RunStatus.COMPLETED, run.error_message
        assert run.attempts == 1
        kinds = [kind for kind, _ in event_kinds(sessions, run_id)]
        assert kinds.count("started") == 1
        assert kinds.count("finished") == 1
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            jobs = connection.execute(
                text("SELECT status, count(*) FROM procrastinate_jobs GROUP BY status")
            ).all()
        assert dict(jobs) == {"succeeded": len(queued)}


def test_cancelling_a_queued_run_withdraws_its_job(pg_engine: Engine) -> None:
    """PostgreSQL only (procrastinate's job table): no worker runs, the job waits."""
    engine = pg_engine
    sessions = make_session_factory(engine)
    run_id, project_id = queue_run(sessions, ProjectTemplate.BLOG, verify=True)
    with sessions.begin() as session:
        run = runs.cancel_run(
            session, setup.dispatcher(get_settings(), None), run_id, owner_id=None
        )
        assert run.status is RunStatus.CANCELLED
    with engine.connect() as connection:
        status = connection.execute(text("SELECT status FROM procrastinate_jobs")).scalar_one()
    assert status == "cancelled"
    with sessions() as session:
        assert session.get_one(Project, project_id).status.value == "DRAFT"
    assert {s.status.value for s in steps(sessions, run_id).values()} == {"CANCELLED"}


def test_follow_from_the_command_line(sessions: sessionmaker[Session], engine: Engine) -> None:
    """`uab generate --project ID --follow` prints the run's events until it ends; on SQLite
    it executes the run itself, on PostgreSQL a worker does."""
    with sessions.begin() as session:
        user = make_user(session)
        project = make_project(session, user, template=ProjectTemplate.API, name="Ledger")
        project_id = project.id
    worker = None
    if engine.dialect.name == "postgresql":
        worker = subprocess.Popen([UAB, "worker"], start_new_session=True)
    try:
        done = subprocess.run(
            [UAB, "generate", "--project", project_id, "--follow", "--no-verify"],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    finally:
        if worker is not None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Run ")
    assert "queued" in lines[0]
    assert any("✓ database" in line for line in lines)
    assert "Run COMPLETED" in lines[-1]
    assert "project READY" in lines[-1]

    # watching it again replays it from the start; options of a local build are refused
    run_id = lines[0].split()[1]
    again = subprocess.run(
        [UAB, "runs", "follow", run_id], capture_output=True, text=True, timeout=60, check=False
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0].startswith("Queued:")
    assert "Run COMPLETED" in again.stdout
    clash = subprocess.run(
        [UAB, "generate", "--project", project_id, "--template", "blog", "-o", "out"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert clash.returncode == 2
    message = " ".join(re.sub("[│╭╮╰╯─]", " ", clash.stderr).split())
    assert "--template, --output can't be used with --project" in message


@pytest.mark.usefixtures("fast_leases")
def test_a_stopping_worker_releases_its_run_to_another(
    sessions: sessionmaker[Session],
    workers: Callable[[int], subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGTERM with no grace: the run goes back to the queue at once (its verification
    stopped) and another worker finishes it; nothing is done twice."""
    monkeypatch.setenv("UAB_RUN_SHUTDOWN_GRACE_SECONDS", "0")
    first = workers(1)
    run_id, _ = queue_run(sessions, ProjectTemplate.API, verify=True)
    wait_until(
        lambda: any(
            kind == "log" and data.get("line", "").startswith("Verifying")
            for kind, data in event_kinds(sessions, run_id)
        )
    )
    os.killpg(first.pid, signal.SIGTERM)
    assert first.wait(60) == 0
    lines = [data.get("line", "") for kind, data in event_kinds(sessions, run_id)]
    assert "Released by a stopping worker; will resume." in lines
    assert run_row(sessions, run_id).status is RunStatus.QUEUED

    workers(1)
    wait_until(lambda: run_row(sessions, run_id).status in FINAL)
    run = run_row(sessions, run_id)
    assert run.status is RunStatus.COMPLETED, run.error_message
    assert run.attempts == 2
    kinds = event_kinds(sessions, run_id)
    finished = Counter(data["agent"] for kind, data in kinds if kind == "step_finished")
    assert set(finished.values()) == {1}
    assert [kind for kind, _ in kinds].count("finished") == 1


def test_a_run_whose_job_ended_is_settled(pg_engine: Engine) -> None:
    """PostgreSQL: a job that ended without ending its run (retries exhausted while the
    database was down, or cancelled by hand) leaves no run stuck RUNNING."""
    sessions = make_session_factory(pg_engine)
    settings = get_settings()
    stuck, cancelled = (queue_run(sessions, ProjectTemplate.BLOG, verify=True)[0] for _ in range(2))
    for run_id in (stuck, cancelled):
        assert claim_run(sessions, run_id) is not None  # a worker took it...
    with pg_engine.begin() as connection:  # ...and its job ended anyway
        connection.execute(text("UPDATE procrastinate_jobs SET status = 'failed'"))

    queue = Queue(settings.database.url)
    with sessions.begin() as session:  # cancel sees the job ended: settles at once
        assert runs.cancel_run(session, queue, cancelled, owner_id=None).status is (
            RunStatus.CANCELLED
        )
    queue.context = setup.run_context(settings, sessions)
    assert queue.reconcile() == 1
    run = run_row(sessions, stuck)
    assert run.status is RunStatus.FAILED
    assert "job ended before the run did" in (run.error_message or "")
    with sessions() as session:
        assert session.get_one(Project, run.project_id).status.value == "ERROR"
    assert queue.reconcile() == 0


@pytest.fixture
def model_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLM]:
    """A scripted model on loopback that `uab worker` processes are pointed at."""
    with fake_llm() as server:
        for name, value in {
            "UAB_LLM_PROVIDER": "openai-compatible",
            "UAB_LLM_MODEL": "gpt-4o-mini",
            "UAB_LLM_BASE_URL": server.url,
            "UAB_LLM_API_KEY": "sk-test-0123456789abcdef",
        }.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield server


@pytest.mark.usefixtures("fast_leases")
def test_a_run_killed_after_the_models_step_resumes_without_asking_the_model_again(
    sessions: sessionmaker[Session],
    workers: Callable[[int], subprocess.Popen[bytes]],
    model_server: FakeLLM,
) -> None:
    model_server.answer(tool(code(), input_tokens=3000, output_tokens=800))
    first = workers(1)
    with sessions.begin() as session:
        user = make_user(session)
        project = make_project(session, user, template=ProjectTemplate.CUSTOM, name="Todo")
        dispatcher = setup.dispatcher(get_settings(), None)
        run_id = runs.start_run(session, dispatcher, user, project.id, spec=SPEC, verify=True).id

    def verifying() -> bool:
        return any(
            kind == "log" and data.get("line", "").startswith("Verifying")
            for kind, data in event_kinds(sessions, run_id)
        )

    wait_until(verifying)
    os.killpg(first.pid, signal.SIGKILL)  # the model's step is done, verification is not
    first.wait()
    assert steps(sessions, run_id)["BACKEND"].status.value == "COMPLETED"
    assert len(model_server.requests) == 1

    workers(1)
    wait_until(lambda: run_row(sessions, run_id).status in FINAL)
    run = run_row(sessions, run_id)
    assert run.status is RunStatus.COMPLETED, run.error_message
    assert run.attempts == 2
    assert len(model_server.requests) == 1  # the resumed run replayed the model's code
    with sessions() as session:
        detail = runs.get_run_detail(session, run_id, owner_id=None)
    assert [(line.agent.value, line.calls, line.tokens) for line in detail.ledger] == [
        ("BACKEND", 1, 3800)
    ]
    history = ProjectHistory(get_settings().projects_dir / project.id)
    assert run.commit_sha is not None
    kept = history.read(run.commit_sha, "app/custom/task_actions.py", limit=10**6).content
    assert kept == MODULE.encode()


def call_rows(sessions: sessionmaker[Session], run_id: str) -> list[Generation]:
    with sessions() as session:
        return list(
            session.scalars(
                select(Generation)
                .where(Generation.run_id == run_id, Generation.model.is_not(None))
                .order_by(Generation.created_at, Generation.id)
            )
        )


@pytest.mark.usefixtures("fast_leases")
def test_a_worker_killed_while_the_model_answers_leaves_the_call_counted_at_its_worst(
    sessions: sessionmaker[Session],
    workers: Callable[[int], subprocess.Popen[bytes]],
    model_server: FakeLLM,
) -> None:
    """The provider may bill a request whose answer never arrived: its row is written
    before the request is sent, and the resumed run closes it as interrupted, keeping the
    tokens it reserved as spent."""
    model_server.answer(
        Answer(tool_args=code(), delay=120),  # held until the worker is dead
        tool(code(), input_tokens=3000, output_tokens=800),
    )
    first = workers(1)
    with sessions.begin() as session:
        user = make_user(session)
        project = make_project(session, user, template=ProjectTemplate.CUSTOM, name="Todo")
        dispatcher = setup.dispatcher(get_settings(), None)
        run_id = runs.start_run(session, dispatcher, user, project.id, spec=SPEC, verify=False).id
    wait_until(lambda: len(model_server.requests) == 1)
    os.killpg(first.pid, signal.SIGKILL)  # the model is answering
    first.wait()
    [pending] = call_rows(sessions, run_id)
    assert (pending.status.value, pending.agent_type.value) == ("RUNNING", "BACKEND")
    assert pending.output_tokens == MAX_OUTPUT_TOKENS  # the most it may answer
    assert pending.tokens_used == pending.input_tokens + MAX_OUTPUT_TOKENS
    assert pending.input_tokens > len(pending.prompt) // 8  # what was sent, estimated
    assert "sets status to done; owner only" in pending.prompt
    with sessions() as session:  # the month's usage counts it already
        owner = session.get_one(User, pending.user_id)
        used = {line.limit: line.used for line in usage(session, owner).lines}
    assert used["tokens_per_month"] == pending.tokens_used

    workers(1)
    wait_until(lambda: run_row(sessions, run_id).status in FINAL)
    run = run_row(sessions, run_id)
    assert run.status is RunStatus.COMPLETED, run.error_message
    assert len(model_server.requests) == 2
    interrupted, answered = call_rows(sessions, run_id)
    assert interrupted.id == pending.id
    assert interrupted.status.value == "FAILED"
    assert interrupted.error_message == INTERRUPTED
    assert interrupted.tokens_used == pending.tokens_used  # kept as spent
    assert (answered.status.value, answered.tokens_used) == ("COMPLETED", 3800)
    with sessions() as session:
        detail = runs.get_run_detail(session, run_id, owner_id=None)
        owner = session.get_one(User, pending.user_id)
        used = {line.limit: line.used for line in usage(session, owner).lines}
    assert [(line.agent.value, line.calls, line.tokens) for line in detail.ledger] == [
        ("BACKEND", 2, pending.tokens_used + 3800)
    ]
    assert used["tokens_per_month"] == pending.tokens_used + 3800
