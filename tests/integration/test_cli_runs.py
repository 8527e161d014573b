"""`uab runs list` and `uab runs show` as a user runs them: the console script in a real
subprocess."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine

from appbuilder.db.models import Generation, GenerationRun
from appbuilder.db.session import make_session_factory
from appbuilder.enums import AgentType, GenerationStatus, ProjectTemplate
from appbuilder.jobs.runner import EmbeddedDispatcher
from appbuilder.services import runs
from tests.factories import make_project, make_user
from tests.integration.test_cli import uab


def queued_run(engine: Engine, name: str) -> tuple[str, str]:
    """A project named ``name`` with one queued run (nothing executes it here)."""
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        user = make_user(session)
        project = make_project(session, user, template=ProjectTemplate.API, name=name)
        run = runs.start_run(session, EmbeddedDispatcher(), user, project.id, verify=False)
        return project.id, run.id


def test_runs_list_shows_status_times_and_project(engine: Engine) -> None:
    assert "No runs yet" in uab("runs", "list").stdout
    first_project, first = queued_run(engine, "Plant shop")
    _, second = queued_run(engine, "Book club")

    listed = uab("runs", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [i for i, line in enumerate(lines) if second in line] < [
        i for i, line in enumerate(lines) if first in line
    ]  # newest first
    row = next(line for line in lines if first in line)
    assert "QUEUED" in row
    assert f"Plant shop ({first_project})" in row

    only = uab("runs", "list", "--project", first_project).stdout
    assert first in only
    assert second not in only
    newest = uab("runs", "list", "--limit", "1").stdout
    assert second in newest
    assert first not in newest

    missing = uab("runs", "list", "--project", "nosuchproject")
    assert missing.returncode == 1
    assert "not found" in missing.stderr.lower()


def test_runs_show_prints_the_steps_and_the_model_calls_ledger(engine: Engine) -> None:
    _, run_id = queued_run(engine, "Plant shop")
    with make_session_factory(engine).begin() as session:
        run = session.get_one(GenerationRun, run_id)
        for tokens_in, tokens_out, cost in ((1000, 200, Decimal("0.0012")), (500, 100, None)):
            session.add(
                Generation(
                    run_id=run_id,
                    project_id=run.project_id,
                    user_id=run.user_id,
                    agent_type=AgentType.BACKEND,
                    model="gpt-4o-mini",
                    prompt="p",
                    response="r",
                    status=GenerationStatus.COMPLETED,
                    tokens_used=tokens_in + tokens_out,
                    input_tokens=tokens_in,
                    output_tokens=tokens_out,
                    cost_usd=cost,
                    duration_ms=40,
                )
            )
    shown = uab("runs", "show", run_id)
    assert shown.returncode == 0, shown.stderr
    assert f"Run {run_id}: QUEUED" in shown.stdout
    ledger = next(
        line for line in shown.stdout.splitlines() if "BACKEND" in line and "1500" in line
    )
    assert " 2 " in ledger  # calls
    assert "300" in ledger  # tokens out
    assert "unknown" in ledger  # one call's price is unknown: no sum is guessed
    assert "80" in ledger  # ms
    missing = uab("runs", "show", "nosuchrun")
    assert missing.returncode == 1
    assert "not found" in missing.stderr.lower()
