"""Actions written in words become code a model writes inside the app's custom folders,
refused when it breaks the rules, proven by the app's own checks, replayed on resume."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from appbuilder.agents.lineup import agents_for
from appbuilder.agents.orchestrator import MemoryJournal, Orchestrator
from appbuilder.enums import AgentType
from appbuilder.errors import GenerationError, ModelNotConfiguredError
from appbuilder.services import builds
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.fake_llm import FakeLLM, tool
from tests.integration.llm.conftest import settings_for

CODE = Path(__file__).parent / "custom_code"
MODULE = (CODE / "task_actions.py.txt").read_text(encoding="utf-8")
TESTS = (CODE / "test_task_actions.py.txt").read_text(encoding="utf-8")
SPEC: dict[str, Any] = {
    "name": "Todo",
    "features": ["auth"],
    "entities": [
        {
            "name": "Task",
            "fields": [
                {"name": "title", "max_length": 200},
                {"name": "status", "type": "enum", "values": ["open", "done"], "default": "open"},
            ],
            "actions": [{"name": "complete", "description": "sets status to done; owner only"}],
        }
    ],
}


def code(module: str = MODULE, tests: str = TESTS, **extra: str) -> dict[str, Any]:
    files = {"app/custom/task_actions.py": module, "tests/custom/test_task_actions.py": tests}
    return {"files": [{"path": p, "content": c} for p, c in {**files, **extra}.items()]}


def test_an_action_in_words_becomes_a_verified_route_with_its_tests(llm: FakeLLM) -> None:
    llm.answer(tool(code(), input_tokens=3000, output_tokens=800))
    spec = build_spec(SPEC)
    result = builds.build(spec, resolve(spec), verify=True, timeout=300, llm=settings_for(llm))
    assert result.succeeded, result.verification and result.verification.failing_output
    assert result.files["app/custom/task_actions.py"].decode().startswith('"""Actions on tasks')
    main = result.files["app/main.py"].decode()
    assert "from app.custom import task_actions" in main
    assert "ROUTES.include_router(task_actions.router)" in main
    backend = next(r for r in result.records if r.agent is AgentType.BACKEND)
    assert backend.tokens_used == 3800
    assert "sets status to done; owner only" in backend.prompt
    sent = str(llm.requests[0]["messages"])
    assert "app/schemas/task.py" in sent  # the skeleton it builds on, not the whole app


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (code(module="import subprocess\n" + MODULE), "imports subprocess"),
        (
            code(module=MODULE.replace("row.status = ", "eval('1')\n    row.status = ")),
            "calls eval()",
        ),
        (code(module=MODULE + "\nfrom sqlalchemy import text\n"), "raw SQL"),
        (code(**{"app/main.py": "app = None\n"}), "not a file this agent may write"),
        ({"files": [{"path": "app/custom/task_actions.py", "content": MODULE}]}, "missing"),
        (code(module="def broken(:\n"), "syntax error"),
        # ruff's flake8-bandit rules catch what the bans do not list
        (
            code(
                module=MODULE + "\n\ndef _digest(data: bytes) -> str:\n    import hashlib\n\n"
                "    return hashlib.md5(data).hexdigest()\n"
            ),
            "S324",
        ),
        (
            code(
                module=MODULE + "\n\ndef _load(text: str) -> object:\n    import yaml\n\n"
                "    return yaml.load(text)\n"
            ),
            "S506",
        ),
        (code(module=MODULE + '\nHOST = "0.0.0.0"\n'), "S104"),
    ],
)
def test_code_that_breaks_the_rules_goes_back_and_the_fixed_code_is_kept(
    llm: FakeLLM, bad: dict[str, Any], reason: str
) -> None:
    llm.answer(tool(bad), tool(code()))
    spec = build_spec(SPEC)
    result = builds.build(spec, resolve(spec), verify=False, timeout=300, llm=settings_for(llm))
    assert result.files["app/custom/task_actions.py"].decode() == MODULE
    # the refused answer left no trace: main.py is the assembly step's, not the model's
    assert "ROUTES.include_router(task_actions.router)" in result.files["app/main.py"].decode()
    assert reason in str(llm.requests[1]["messages"])


def test_code_refused_on_every_try_fails_the_backend_step(llm: FakeLLM) -> None:
    bad = code(module="import os\n" + MODULE)
    llm.answer(tool(bad), tool(bad), tool(bad))
    spec = build_spec(SPEC)
    with pytest.raises(GenerationError, match="BACKEND agent failed"):
        builds.build(spec, resolve(spec), verify=False, timeout=300, llm=settings_for(llm))
    assert len(llm.requests) == 3  # bounded


def test_actions_without_a_model_say_which_setting_to_set() -> None:
    with pytest.raises(ModelNotConfiguredError, match="UAB_LLM_PROVIDER"):
        agents_for(build_spec(SPEC), None)


def test_a_resumed_build_replays_the_models_code_without_asking_again(llm: FakeLLM) -> None:
    llm.answer(tool(code()))
    spec = build_spec(SPEC)
    model = resolve(spec)
    journal = MemoryJournal()
    first = Orchestrator(agents_for(spec, settings_for(llm))).generate(
        spec, model, verify=False, journal=journal
    )
    journal.records.pop(AgentType.ORCHESTRATOR, None)  # as if the run died after its agents
    again = Orchestrator(agents_for(spec, settings_for(llm))).generate(
        spec, model, verify=False, journal=journal
    )
    assert len(llm.requests) == 1
    assert again.tree_hash == first.tree_hash


def failing_tests(expected: str) -> str:
    """The tests, promising a status the code does not set: the app's suite fails."""
    return TESTS.replace(
        'assert response.json()["status"] == "done"',
        f'assert response.json()["status"] == "{expected}"',
    )


def build_verified(llm: FakeLLM, **settings: Any) -> builds.GenerationResult:
    spec = build_spec(SPEC)
    config = replace(settings_for(llm), **settings)
    return builds.build(spec, resolve(spec), verify=True, timeout=300, llm=config)


def test_a_failing_check_goes_back_to_the_model_and_the_repair_is_verified(llm: FakeLLM) -> None:
    llm.answer(tool(code(tests=failing_tests("closed"))), tool(code()))
    result = build_verified(llm)
    assert result.succeeded
    assert len(llm.requests) == 2
    sent = str(llm.requests[1]["messages"])
    assert "checks failed on them" in sent
    assert "test_complete_marks_the_task_done" in sent
    backend = next(r for r in result.records if r.agent is AgentType.BACKEND)
    assert backend.tokens_used == 2 * (120 + 30)  # both calls counted
    assert "--- repair" in backend.prompt


def test_repairs_stop_after_their_number_with_the_last_failure_standing(llm: FakeLLM) -> None:
    promised = ("closed", "archived", "shelved")  # three different failures: never stuck
    llm.answer(*(tool(code(tests=failing_tests(status))) for status in promised))
    result = build_verified(llm, repair_attempts=2)
    assert not result.succeeded
    assert len(llm.requests) == 3  # the first answer and two repairs, never more
    assert result.verification is not None
    assert "shelved" in result.verification.failing_output
    assert result.repair_stopped == (
        "the model had 2 tries to fix its code (UAB_LLM_REPAIR_ATTEMPTS) and the app still fails"
    )


def test_repairs_stop_when_the_same_failure_comes_back(llm: FakeLLM) -> None:
    stuck = tool(code(tests=failing_tests("closed")))
    llm.answer(stuck, stuck, stuck)
    result = build_verified(llm)
    assert not result.succeeded
    assert len(llm.requests) == 2  # the repair changed nothing: no third try
    assert (result.repair_stopped or "").startswith("stuck: the model's fix failed the same way")
