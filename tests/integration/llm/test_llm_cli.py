"""``uab llm check``, ``uab plan`` and ``uab generate --prompt`` as a person runs them: the
console script in a subprocess, talking HTTP to the scripted model server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml
from sqlalchemy import Engine, select

from appbuilder.db.models import Generation, GenerationRun
from appbuilder.db.session import make_session_factory
from appbuilder.enums import AgentType, ProjectTemplate, RunStatus
from tests.factories import make_project, make_user
from tests.fake_llm import FakeLLM, text, tool
from tests.integration.llm.conftest import KEY
from tests.integration.llm.test_planner import TODO, TODO_WITH_PROBLEM

UAB = str(Path(sys.executable).with_name("uab"))


def uab(
    server: FakeLLM | None, *args: str, cwd: Path | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("UAB_LLM_")}
    if server is not None:
        env |= {
            "UAB_LLM_PROVIDER": "openai-compatible",
            "UAB_LLM_MODEL": "gpt-4o-mini",
            "UAB_LLM_BASE_URL": server.url,
            "UAB_LLM_API_KEY": KEY,
            "UAB_LLM_MAX_RETRIES": "0",
        }
    return subprocess.run(
        [UAB, *args],
        env={**env, "COLUMNS": "200", **extra},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_check_reports_the_model_its_latency_and_usage(llm: FakeLLM) -> None:
    llm.answer(text("OK", input_tokens=12, output_tokens=1))
    result = uab(llm, "llm", "check")
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "ok: openai-compatible:gpt-4o-mini answered 'OK' in" in out
    assert "12 tokens in, 1 out, $0.0000" in out
    assert KEY not in result.stdout + result.stderr
    assert llm.requests[0]["model"] == "gpt-4o-mini"


def test_without_a_model_the_commands_say_which_setting_to_set() -> None:
    for args in (("llm", "check"), ("plan", "a todo app"), ("generate", "--prompt", "todo")):
        result = uab(None, *args)
        assert result.returncode == 1
        assert "set UAB_LLM_PROVIDER" in result.stderr
        assert "Traceback" not in result.stderr


def test_plan_writes_a_spec_to_edit_and_generate_from(llm: FakeLLM, tmp_path: Path) -> None:
    llm.answer(tool(TODO))
    result = uab(
        llm, "plan", "a todo list app with tasks and due dates", "-o", "todo.yaml", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    spec = yaml.safe_load((tmp_path / "todo.yaml").read_text(encoding="utf-8"))
    assert spec["entities"][0]["name"] == "Task"
    assert "Planned to" in result.stderr
    assert "1 model call(s)" in result.stderr
    validated = uab(None, "spec", "validate", "todo.yaml", cwd=tmp_path)
    assert validated.returncode == 0, validated.stderr


def test_plan_to_stdout_lists_what_is_still_wrong(llm: FakeLLM, tmp_path: Path) -> None:
    llm.answer(*[tool(TODO_WITH_PROBLEM)] * 3)
    result = uab(llm, "plan", "todo app", cwd=tmp_path)
    assert result.returncode == 1
    assert yaml.safe_load(result.stdout)["name"] == "Todo list"
    problem = "problem entities.Task.fields.title: 'title' is declared twice. [duplicate]"
    assert problem in " ".join(result.stderr.split())


def test_generate_from_words_plans_then_builds(llm: FakeLLM, tmp_path: Path) -> None:
    llm.answer(tool(TODO, input_tokens=700, output_tokens=90))
    result = uab(
        llm, "generate", "--prompt", "a todo app", "--no-verify", "-o", "todo", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "todo" / "app" / "routers" / "task.py").is_file()
    # no account, no database: the build's own ledger says what its model calls spent
    out = " ".join(result.stdout.split())
    assert "Model calls (790 tokens):" in out
    assert "ORCHESTRATOR │ 1 │ 700 │ 90 │" in out


def test_generate_from_words_stops_at_its_budget_before_calling(
    llm: FakeLLM, tmp_path: Path
) -> None:
    llm.answer(tool(TODO))
    result = uab(
        llm,
        "generate",
        *("--prompt", "a todo app", "--no-verify", "-o", "todo", "--budget", "50"),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "The build's token budget of 50 spent: 0 used" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert llm.requests == []  # refused before anything was sent
    assert not (tmp_path / "todo").exists()
    # the same limit from the environment
    again = uab(llm, "generate", "--prompt", "todo", cwd=tmp_path, UAB_LLM_RUN_TOKEN_BUDGET="50")
    assert again.returncode == 1
    assert "token budget of 50 spent" in " ".join(again.stderr.split())
    assert llm.requests == []


def test_a_project_run_from_words_plans_then_queues_the_plan(llm: FakeLLM, engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        owner = make_user(session)
        project_id = make_project(session, owner, template=ProjectTemplate.CUSTOM, name="Todo").id
    llm.answer(tool(TODO, input_tokens=700))
    result = uab(
        llm,
        "generate",
        "--project",
        project_id,
        "--prompt",
        "a todo app",
        "--no-verify",
        "--follow",
        # the follower runs it itself (on PostgreSQL too): no worker to start here
        UAB_QUEUE="embedded",
    )
    assert result.returncode == 0, result.stderr
    with sessions() as session:
        rows = session.scalars(
            select(Generation).where(
                Generation.project_id == project_id, Generation.run_id.is_(None)
            )
        ).all()
        run = session.scalars(
            select(GenerationRun).where(GenerationRun.project_id == project_id)
        ).one()
    assert [(r.agent_type, r.input_tokens, r.model) for r in rows] == [
        (AgentType.ORCHESTRATOR, 700, "gpt-4o-mini")
    ]
    assert run.status is RunStatus.COMPLETED
    assert run.spec["entities"][0]["name"] == "Task"


def test_plan_for_a_project_prints_the_diff_and_yes_queues_it(llm: FakeLLM, engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        owner = make_user(session)
        project = make_project(session, owner, template=ProjectTemplate.CUSTOM, name="Todo")
        project.config = {"spec": TODO}
        project_id = project.id
    [task] = TODO["entities"]
    without_done = [f for f in task["fields"] if f["name"] != "done"]
    changed = {**TODO, "entities": [{**task, "fields": without_done}]}
    llm.answer(tool(changed))
    shown = uab(llm, "plan", "--project", project_id, "tasks are never done")
    assert shown.returncode == 0, shown.stderr
    assert "- field entities.Task.fields.done removed" in shown.stderr
    assert "(loses data)" in shown.stderr
    assert "drops stored data" in shown.stderr
    assert yaml.safe_load(shown.stdout)["entities"][0]["fields"] == without_done
    with sessions() as session:  # shown, not accepted
        assert session.scalars(select(GenerationRun)).all() == []

    llm.answer(tool(changed))
    accepted = uab(llm, "plan", "--project", project_id, "tasks are never done", "--yes")
    assert accepted.returncode == 0, accepted.stderr
    assert "queued for project" in accepted.stdout
    with sessions() as session:
        run = session.scalars(
            select(GenerationRun).where(GenerationRun.project_id == project_id)
        ).one()
    assert [f["name"] for f in run.spec["entities"][0]["fields"]] == ["title", "due_date"]

    refused = uab(llm, "plan", "tasks", "--yes")
    assert refused.returncode == 2
    assert "--project" in refused.stderr


def test_a_projects_model_is_picked_shown_and_used_by_its_plans(
    llm: FakeLLM, engine: Engine
) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        owner = make_user(session)
        project_id = make_project(session, owner, template=ProjectTemplate.CUSTOM, name="Todo").id
    picked = uab(None, "llm", "use", "--project", project_id, "llama3.1:8b")
    assert picked.returncode == 0, picked.stderr
    assert f"Project {project_id} uses llama3.1:8b." in picked.stdout
    assert "uses llama3.1:8b" in uab(None, "llm", "use", "--project", project_id).stdout
    llm.answer(tool(TODO))
    planned = uab(llm, "plan", "--project", project_id, "a todo app")
    assert planned.returncode == 0, planned.stderr
    assert llm.requests[0]["model"] == "llama3.1:8b"
    bad = uab(None, "llm", "use", "--project", project_id, "two words")
    assert bad.returncode == 1
    assert "llm_model must be" in bad.stderr
    back = uab(None, "llm", "use", "--project", project_id, "--default")
    assert "uses the provider's default model" in back.stdout
