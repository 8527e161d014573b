"""Every template generates an app that passes its own checks and test suite."""

from __future__ import annotations

import hashlib
import json

import pytest

from appbuilder.agents.orchestrator import GenerationResult
from appbuilder.enums import AgentType, GenerationStatus, ProjectTemplate
from appbuilder.generator.files import tree_hash
from tests.integration.generator.conftest import OncePerSession, generated_once

EXPECTED_AGENTS = {
    ProjectTemplate.BLOG: [["DATABASE"], ["BACKEND", "AUTH"], ["FRONTEND"], ["DEVOPS"]],
    ProjectTemplate.ECOMMERCE: [
        ["DATABASE"],
        ["BACKEND", "AUTH"],
        ["FRONTEND", "INTEGRATIONS"],
        ["DEVOPS"],
    ],
    ProjectTemplate.SAAS: [
        ["DATABASE"],
        ["BACKEND", "AUTH"],
        ["FRONTEND", "INTEGRATIONS"],
        ["DEVOPS"],
    ],
    ProjectTemplate.API: [["DATABASE"], ["BACKEND", "AUTH"], ["DEVOPS"]],
    ProjectTemplate.CUSTOM: [
        ["DATABASE"],
        ["BACKEND", "AUTH"],
        ["FRONTEND", "INTEGRATIONS"],
        ["DEVOPS"],
    ],
}


@pytest.fixture(scope="module", params=list(ProjectTemplate), ids=lambda t: t.value)
def generated(request: pytest.FixtureRequest, once: OncePerSession) -> GenerationResult:
    return generated_once(once, request.param)


def test_the_app_passes_its_own_checks_and_tests(generated: GenerationResult) -> None:
    verification = generated.verification
    assert verification is not None
    assert verification.passed, verification.failing_output
    assert [c.name for c in verification.checks] == ["compile", "lint", "format", "types", "tests"]
    assert verification.tests_passed >= 20
    assert verification.tests_failed == 0
    assert generated.succeeded


def test_the_plan_runs_only_the_agents_the_app_needs(generated: GenerationResult) -> None:
    stages = [[a.value for a in stage] for stage in generated.plan.stages]
    assert stages == EXPECTED_AGENTS[generated.model.template]


def test_every_step_is_recorded_like_a_generation_row(generated: GenerationResult) -> None:
    records = generated.records
    assert [r.agent for r in records][-1] is AgentType.ORCHESTRATOR
    assert {r.agent.value for r in records[:-1]} == {a.value for a in generated.plan.agents}
    for record in records:
        assert record.status is GenerationStatus.COMPLETED
        assert record.tokens_used == 0
        assert record.duration_ms >= 0
        assert record.error is None
        assert record.prompt
    summary = json.loads(records[-1].response)
    # agents write their files; the assembly step writes what they registered (app/main.py)
    written = [entry for r in records[:-1] for entry in json.loads(r.response)["files"]]
    written += summary["assembled"]
    assert {e["path"] for e in written} == set(generated.files)
    assert summary["tree_hash"] == generated.tree_hash == tree_hash(generated.files)
    assert summary["verification"]["passed"] is True


def test_the_tree_has_the_apps_own_two_commands_and_no_template_leftovers(
    generated: GenerationResult,
) -> None:
    files = generated.files
    assert {"README.md", "Makefile", "pyproject.toml", ".env.example", "app/main.py"} <= set(files)
    readme = files["README.md"].decode()
    assert "make run" in readme
    assert "make test" in readme
    for path, content in files.items():
        text = content.decode()
        markers = ("<<", ">>", "<%", "%>", "<#", "#>", "Undefined")
        for marker in markers:
            assert marker not in text, f"{marker!r} left in {path}"
    if generated.model.pages:
        assert "app/static/style.css" in files
    else:
        assert not any(p.startswith("app/templates/") for p in files)


def test_recorded_manifests_describe_the_written_files(generated: GenerationResult) -> None:
    recorded = {
        entry["path"]: entry
        for record in generated.records[:-1]
        for entry in json.loads(record.response)["files"]
    }
    # the files written from every agent's registrations are the orchestrator's record
    assembled = json.loads(generated.records[-1].response)["assembled"]
    assert not {entry["path"] for entry in assembled} & set(recorded)  # one owner each
    recorded |= {entry["path"]: entry for entry in assembled}
    unformatted = [path for path in generated.files if not path.endswith(".py")]
    assert unformatted  # READMEs, templates, CSS, config
    for path in unformatted:  # Python files are formatted after the agents ran
        content = generated.files[path]
        assert recorded[path]["sha256"] == hashlib.sha256(content).hexdigest(), path
        assert recorded[path]["size"] == len(content), path
