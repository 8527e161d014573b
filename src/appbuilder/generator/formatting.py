"""Formatting a generated tree with ruff, the formatter its own CI checks it with.

Blueprints aim for clean code, but names of any length flow into them; one ruff pass (sort
imports, drop imports a feature combination left unused, format) makes every tree pass
the generated app's own lint. It runs on a scratch copy and returns new bytes: the engine
stays a function from spec to files.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from appbuilder.errors import ExternalToolError
from appbuilder.generator.files import FileTree
from appbuilder.generator.writer import write_files

_FORMATTED_SUFFIXES = (".py",)


def _ruff(args: list[str], cwd: Path) -> None:
    command = [sys.executable, "-m", "ruff", *args, "--no-cache", "."]
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed arguments
        command, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip()
        raise ExternalToolError(f"ruff {args[0]} failed on the generated code:\n{output}")


def format_tree(files: FileTree) -> dict[str, bytes]:
    """Return ``files`` with every Python file import-sorted and formatted."""
    with tempfile.TemporaryDirectory(prefix="uab-format-") as scratch:
        root = Path(scratch)
        write_files(files, root)
        _ruff(["check", "--fix-only", "--select", "I,F401"], root)
        _ruff(["format"], root)
        return {
            path: (root / path).read_bytes() if path.endswith(_FORMATTED_SUFFIXES) else content
            for path, content in files.items()
        }
