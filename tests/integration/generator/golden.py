"""Golden trees: the reviewed output of each template, committed under tests/golden/.

Every file is stored with a ``.golden`` suffix, so the expected apps are neither collected
by pytest nor linted as this project's code. Lock files pin the versions installed where
the tree was generated; their versions are masked (``name==*``), so an upgrade of this
platform's environment changes no golden file. Update after a reviewed change with
``./scripts/update-golden`` (``python -m tests.integration.generator.golden``).
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from appbuilder.enums import ProjectTemplate
from appbuilder.generator.files import FileTree
from tests.integration.generator.conftest import generate

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
SUFFIX = ".golden"
_PIN = re.compile(rb"^([A-Za-z0-9._-]+)==\S+$", re.MULTILINE)


def masked(files: FileTree) -> dict[str, bytes]:
    """The tree as compared: lock files' versions replaced by ``*``."""
    return {
        path: _PIN.sub(rb"\1==*", content) if path.endswith(".lock") else content
        for path, content in files.items()
    }


def actual(template: ProjectTemplate) -> dict[str, bytes]:
    return masked(generate(template, verify=False).files)


def expected(template: ProjectTemplate) -> dict[str, bytes]:
    root = GOLDEN / template.value.lower()
    return {
        path.relative_to(root).as_posix().removesuffix(SUFFIX): path.read_bytes()
        for path in sorted(root.rglob(f"*{SUFFIX}"))
    }


def write(template: ProjectTemplate) -> None:
    root = GOLDEN / template.value.lower()
    shutil.rmtree(root, ignore_errors=True)
    for path, content in actual(template).items():
        target = root / f"{path}{SUFFIX}"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


if __name__ == "__main__":
    for template in ProjectTemplate:
        write(template)
        print(f"wrote {GOLDEN / template.value.lower()}", file=sys.stderr)
