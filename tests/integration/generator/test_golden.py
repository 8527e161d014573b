"""Each template's app is exactly its reviewed golden tree (tests/golden/<template>/).

A difference means a blueprint or an agent changed what users get: review the diff, then
run ``./scripts/update-golden`` and commit the new golden files with the change.
"""

from __future__ import annotations

import difflib

import pytest

from appbuilder.enums import ProjectTemplate
from tests.integration.generator.golden import actual, expected


@pytest.mark.parametrize("template", list(ProjectTemplate), ids=lambda t: t.value)
def test_the_generated_tree_matches_its_golden_tree(template: ProjectTemplate) -> None:
    want, got = expected(template), actual(template)
    assert sorted(got) == sorted(want), "files added or removed: run ./scripts/update-golden"
    changed = [path for path in want if want[path] != got[path]]
    diff = "".join(
        line
        for path in changed[:3]
        for line in difflib.unified_diff(
            want[path].decode().splitlines(keepends=True),
            got[path].decode().splitlines(keepends=True),
            f"golden/{path}",
            path,
        )
    )
    assert not changed, f"{len(changed)} files differ from golden; first diffs:\n{diff[:6000]}"
