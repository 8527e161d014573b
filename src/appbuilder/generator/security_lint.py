"""ruff's flake8-bandit rules (``S``) over code a model wrote (``app/custom/**``,
``tests/custom/**``): weak hashes, unsafe YAML, hard-coded binds and secrets, SQL built
from strings, requests without verification or timeouts, and more than our own AST bans
(``agents.code_rules``) list. The coder runs them on every answer (a finding goes back to
the model, like a ban), and the gate runs them again on the app it verifies.

Tests may ``assert``, hold made-up passwords and draw random values; app code may not.
The app's own ruff configuration is ignored (``--isolated``): these rules are ours.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache

from ruff.__main__ import find_ruff_bin  # type: ignore[import-untyped]  # ships no types

#: where a model's code lives in an app
CUSTOM_FOLDERS = ("app/custom", "tests/custom")
#: what tests may do that app code may not
TEST_EXCEPTIONS = ("S101", "S105", "S106", "S311")
#: ruff's arguments for the rules, after ``ruff check``
RUFF_SECURITY_ARGS = (
    "--no-cache",
    "--isolated",
    "--select",
    "S",
    "--config",
    f'lint.per-file-ignores = {{"tests/**" = {json.dumps(list(TEST_EXCEPTIONS))}}}',
)
#: the most a lint of one file may take
TIMEOUT_SECONDS = 60


@cache
def _ruff() -> str:
    """ruff's binary, run directly: through ``python -m ruff`` each answer's lint would
    also pay an interpreter's start."""
    return str(find_ruff_bin())


def is_custom(path: str) -> bool:
    return path.startswith(tuple(f"{folder}/" for folder in CUSTOM_FOLDERS))


def security_findings(path: str, source: str) -> list[str]:
    """Each finding in ``source`` (the file at ``path`` in the app): ``line N: S324 ...``."""
    done = subprocess.run(  # noqa: S603 - ruff's own binary and fixed arguments
        [_ruff(), "check", *RUFF_SECURITY_ARGS, "--output-format", "json",
         "--stdin-filename", path, "-"],
        input=source,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )  # fmt: skip
    try:
        found = json.loads(done.stdout or "[]")
    except ValueError:
        return [f"the security lint could not read it: {done.stderr.strip()[-300:]}"]
    return [
        f"line {item['location']['row']}: {item['code']} {item['message']}"
        for item in found
        if item.get("code")  # a syntax error has none; the syntax check reports it
    ]
