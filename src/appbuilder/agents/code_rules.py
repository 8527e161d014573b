"""What a model's code may not do, checked before it joins an app: untrusted output is
data until these rules and the app's own checks (lint, types, tests) accept it.

The rules read the syntax tree, so a banned call is found however it is spelled in the
source (aliases, attribute chains); a module that imports a banned module is refused even
if it never calls it. Code that passes them is also held to ruff's flake8-bandit rules
(``generator.security_lint``), which the gate runs again on the app.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping

from appbuilder.generator.security_lint import security_findings

#: modules that reach the process, the files or the network
BANNED_MODULES = frozenset(
    {"os", "subprocess", "shutil", "socket", "ctypes", "pickle", "marshal", "importlib",
     "sys", "multiprocessing", "threading", "signal", "urllib", "http", "requests", "httpx"}
)  # fmt: skip
#: builtins that run strings as code or touch files
BANNED_CALLS = frozenset({"eval", "exec", "compile", "__import__", "open", "input", "breakpoint"})
#: raw SQL: every query goes through the ORM
BANNED_ATTRIBUTES = frozenset({"exec_driver_sql"})
#: how SQLAlchemy's module is named where ``<name>.text(...)`` would be raw SQL
SQLALCHEMY_NAMES = frozenset({"sqlalchemy", "sa"})


def problems_in(
    files: Mapping[str, str], allowed: Iterable[str], optional: Iterable[str] = ()
) -> list[str]:
    """Every broken rule in ``files`` (path -> source), each naming its file and line;
    every ``allowed`` path must be there but the ``optional`` ones (also allowed)."""
    allowed, optional = set(allowed), set(optional)
    problems = [
        f"{path}: not a file this agent may write"
        for path in files
        if path not in allowed | optional
    ]
    problems += [f"{path}: missing" for path in sorted(allowed - set(files))]
    for path, source in files.items():
        if path in allowed | optional:
            found = _source_problems(source) or security_findings(path, source)
            problems += [f"{path}: {problem}" for problem in found]
    return problems


def _source_problems(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        return [f"line {error.lineno}: syntax error: {error.msg}"]
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        found += [f"line {line}: {problem}" for problem in _node_problems(node)]
    return found


def _node_problems(node: ast.AST) -> Iterable[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield from _import_problems(node)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in BANNED_CALLS:
            yield f"calls {node.func.id}(), which is not allowed"
    elif isinstance(node, ast.Attribute):
        raw_text = (
            node.attr == "text"
            and isinstance(node.value, ast.Name)
            and node.value.id in SQLALCHEMY_NAMES
        )
        if node.attr in BANNED_ATTRIBUTES or raw_text:
            yield f"uses .{node.attr}: raw SQL is not allowed, use the ORM"


def _import_problems(node: ast.Import | ast.ImportFrom) -> Iterable[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] in BANNED_MODULES:
                yield f"imports {alias.name}, which is not allowed"
        return
    module = (node.module or "").split(".")[0]
    if module in BANNED_MODULES:
        yield f"imports from {node.module}, which is not allowed"
    if module == "sqlalchemy" and any(a.name == "text" for a in node.names):
        yield "imports sqlalchemy.text: raw SQL is not allowed, use the ORM"
