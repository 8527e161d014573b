"""Blueprints render code as it ships: ruff finds nothing to fix before formatting.

Generation formats every tree with ruff, which would also sort imports and drop unused
ones; a blueprint relying on that is not what its reader gets. Formatting (line breaks,
quotes) is left to the formatter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from appbuilder.agents.base import AgentInput
from appbuilder.agents.orchestrator import default_agents, make_plan
from appbuilder.enums import ProjectTemplate
from appbuilder.generator.files import FileTree
from appbuilder.generator.writer import write_files
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.integration.generator.conftest import CUSTOM_SPEC


def rendered(template: ProjectTemplate) -> FileTree:
    """Every agent's files for ``template``, as rendered, before the formatting pass."""
    spec = build_spec(
        CUSTOM_SPEC if template is ProjectTemplate.CUSTOM else None, template=template
    )
    model = resolve(spec)
    plan = make_plan(model)
    agents = default_agents()
    files: dict[str, bytes] = {}
    for agent in plan.agents:
        files.update(agents[agent].run(AgentInput(spec, model, plan)).files)
    return files


@pytest.mark.parametrize("template", list(ProjectTemplate), ids=lambda t: t.value)
def test_ruff_has_nothing_to_fix_in_the_rendered_tree(
    template: ProjectTemplate, tmp_path: Path
) -> None:
    write_files(rendered(template), tmp_path)
    done = subprocess.run(
        # Import order is checked by the formatted tree's own lint; wrapping is formatting
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--no-cache",
            "--diff",
            "--extend-ignore",
            "I001",
            ".",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.stdout.strip() == "", done.stdout[-6000:]
