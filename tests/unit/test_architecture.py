"""The shape of ``src/appbuilder``, measured from its source: layers point down, modules stay
small, functions stay short.

Every module is parsed (no imports executed), and every ``import`` in it counts, at module
level or inside a function, so a late import cannot hide an edge. A failure prints the whole
package-by-package import matrix, so the edge that broke a rule is seen in its context.

Run ``python -m tests.unit.test_architecture`` (or ``scripts/code_metrics.py``) for the
figures: the import matrix, the modules over 400 lines and function lengths p50/p90/max.
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT_PACKAGE = "appbuilder"
#: templates of generated apps are data, not code of ours
SKIPPED_FOLDERS = ("blueprints",)

#: low -> high; a package may import its own layer and the layers below it, never above.
#: ``rules`` holds the input rules (ids, lengths, clean text) every layer checks alike;
#: ``logs`` the log format every process uses.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({ROOT_PACKAGE, "enums", "errors", "settings", "rules", "logs"}),
    frozenset({"security", "db", "llm"}),
    frozenset({"spec"}),
    frozenset({"generator", "stacks"}),
    frozenset({"agents"}),
    frozenset({"services"}),
    frozenset({"jobs"}),
    frozenset({"web", "cli", "__main__"}),
)
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}

#: the engine: reached by the web and the command line only through services
ENGINE = frozenset({"agents", "generator", "stacks", "jobs"})
#: what the command line may import: services, and what describes their inputs and outputs
#: or runs below them (db for sessions and the ``uab db`` commands, spec for ``uab spec``)
CLI_MAY_IMPORT = frozenset(
    {ROOT_PACKAGE, "enums", "errors", "settings", "rules", "logs", "security", "db", "spec"}
    | {"services"}
)
#: the public face of the queue: the one module of ``jobs`` a process's composition root
#: (``web.app``'s ``create_app``, ``uab worker``/``serve``) names to build the queue its
#: settings ask for; runs themselves are reached through services
QUEUE_SETUP = f"{ROOT_PACKAGE}.jobs.setup"
#: the only modules of higher packages the command line may name: ``uab serve`` builds the
#: web app with ``create_app`` (it serves it, never reaches into routes), and ``uab worker``
#: starts the queue through its setup module, not its internals
CLI_MAY_ALSO_IMPORT = frozenset({f"{ROOT_PACKAGE}.web.app", f"{ROOT_PACKAGE}.jobs", QUEUE_SETUP})
#: the web layer's composition root, the one web module that may build the queue
WEB_COMPOSITION_ROOT = f"{ROOT_PACKAGE}.web.app"

MAX_MODULE_LINES = 500
MAX_FUNCTION_P90 = 30
REPORTED_MODULE_LINES = 400


@dataclass(frozen=True)
class Edge:
    source: str  # dotted module name
    target: str
    line: int

    @property
    def packages(self) -> tuple[str, str]:
        return package_of(self.source), package_of(self.target)

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line})"


def package_of(module: str) -> str:
    """``appbuilder.web.api.runs`` -> ``web``; ``appbuilder.errors`` -> ``errors``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def module_files() -> dict[str, Path]:
    """Every Python module of the package by dotted name (``__init__`` names its package)."""
    found: dict[str, Path] = {}
    for path in sorted((SRC / ROOT_PACKAGE).rglob("*.py")):
        relative = path.relative_to(SRC).with_suffix("")
        if any(part in SKIPPED_FOLDERS for part in relative.parts):
            continue
        parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
        found[".".join(parts)] = path
    return found


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names, relative forms included."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _targets(module: str, is_package: bool, node: ast.AST, known: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = _resolve(module, is_package, node)
        for alias in node.names:  # ``from appbuilder import errors`` names a module
            yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def import_edges() -> list[Edge]:
    """Every import of one of our modules by another, wherever in the module it stands."""
    files = module_files()
    known = set(files)
    edges: set[Edge] = set()
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            for target in _targets(module, is_package, node, known):
                if target.split(".")[0] == ROOT_PACKAGE and target != ROOT_PACKAGE:
                    edges.add(Edge(module, target, getattr(node, "lineno", 0)))
    return sorted(edges, key=lambda e: (e.source, e.line, e.target))


def broken_rule(edge: Edge) -> str | None:
    """Why this edge may not exist, or None when it may."""
    source, target = edge.packages
    if source == target:
        return None
    if RANK.get(target, 0) > RANK.get(source, 0):
        return "upward"
    if edge.source == WEB_COMPOSITION_ROOT and edge.target == QUEUE_SETUP:
        return None
    if source == "web" and (target in ENGINE or target == "cli"):
        return "web reaches the engine or the CLI (go through services)"
    if source == "cli" and target not in CLI_MAY_IMPORT and edge.target not in CLI_MAY_ALSO_IMPORT:
        return "cli reaches past services"
    return None


def import_matrix(edges: list[Edge]) -> str:
    """Package x package counts of module-to-module imports (row imports column)."""
    counts = Counter(edge.packages for edge in edges)
    packages = sorted({p for pair in counts for p in pair}, key=lambda p: (RANK.get(p, 0), p))
    width = max(len(p) for p in packages)
    header = " " * width + " | " + " ".join(f"{p[:5]:>5}" for p in packages)
    rows = [header, "-" * len(header)]
    for source in packages:
        cells = " ".join(f"{counts.get((source, t), 0) or '.':>5}" for t in packages)
        rows.append(f"{source:>{width}} | {cells}")
    return "\n".join(rows)


def module_lines() -> dict[str, int]:
    return {m: len(p.read_text("utf-8").splitlines()) for m, p in module_files().items()}


def function_lengths() -> dict[str, int]:
    """Lines per function and method (nested ones too), first line of ``def`` to last line."""
    lengths: dict[str, int] = {}
    for module, path in module_files().items():
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                end = node.end_lineno or node.lineno
                lengths[f"{module}:{node.lineno}:{node.name}"] = end - node.lineno + 1
    return lengths


def percentile(values: list[int], share: float) -> int:
    """Nearest-rank percentile: the smallest value at least ``share`` of all are <= to."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def report() -> str:
    """The figures for a closing note: import matrix, big modules, function lengths."""
    edges = import_edges()
    lines = module_lines()
    lengths = list(function_lengths().values())
    big = sorted(((n, m) for m, n in lines.items() if n > REPORTED_MODULE_LINES), reverse=True)
    return "\n".join(
        [
            "import matrix (row imports column; module-to-module edges):",
            import_matrix(edges),
            "",
            f"modules: {len(lines)}, lines: {sum(lines.values())}",
            f"modules over {REPORTED_MODULE_LINES} lines:",
            *(f"  {n:5} {m}" for n, m in big),
            f"functions: {len(lengths)}, length p50 {percentile(lengths, 0.5)}, "
            f"p90 {percentile(lengths, 0.9)}, max {max(lengths)}",
            "",
            "rule violations:",
            *(f"  {edge}: {why}" for edge in edges if (why := broken_rule(edge))),
        ]
    )


# --- the tests ----------------------------------------------------------------------------


def test_every_package_has_a_layer() -> None:
    packages = {package_of(module) for module in module_files()}
    assert packages <= set(RANK), f"add to LAYERS: {sorted(packages - set(RANK))}"


def test_imports_point_down() -> None:
    edges = import_edges()
    broken = [f"  {edge}: {why}" for edge in edges if (why := broken_rule(edge))]
    assert not broken, "imports that break the layering:\n" + "\n".join(
        [*broken, "", import_matrix(edges)]
    )


def test_the_walker_sees_late_and_relative_imports() -> None:
    source = "def f():\n    from appbuilder.jobs import pipeline\n\nfrom . import runs\n"
    tree = ast.parse(source)
    known = {"appbuilder.services.runs", "appbuilder.jobs.pipeline"}
    source_module = "appbuilder.services.x"
    found = [t for node in ast.walk(tree) for t in _targets(source_module, False, node, known)]
    assert sorted(found) == ["appbuilder.jobs.pipeline", "appbuilder.services.runs"]
    assert broken_rule(Edge("appbuilder.services.x", "appbuilder.jobs.pipeline", 2)) == "upward"
    assert broken_rule(Edge("appbuilder.jobs.x", "appbuilder.services.runs", 2)) is None
    assert broken_rule(Edge("appbuilder.cli.x", "appbuilder.agents.base", 1)) is not None
    assert broken_rule(Edge("appbuilder.cli.serve", "appbuilder.web.app", 1)) is None
    assert broken_rule(Edge("appbuilder.cli.x", "appbuilder.web.api.runs", 1)) is not None
    assert broken_rule(Edge("appbuilder.cli.x", "appbuilder.jobs", 1)) is None
    assert broken_rule(Edge("appbuilder.cli.x", "appbuilder.jobs.queue", 1)) is not None
    assert broken_rule(Edge("appbuilder.web.x", "appbuilder.cli.main", 1)) is not None
    assert broken_rule(Edge("appbuilder.web.x", "appbuilder.generator.files", 1)) is not None


def test_no_module_is_over_the_size_limit() -> None:
    over = {m: n for m, n in module_lines().items() if n > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines: {over}"


def test_functions_are_short() -> None:
    lengths = function_lengths()
    p90 = percentile(list(lengths.values()), 0.9)
    longest = sorted(lengths.items(), key=lambda item: -item[1])[:25]
    assert p90 <= MAX_FUNCTION_P90, f"function length p90 is {p90} (> {MAX_FUNCTION_P90}); " + (
        "longest:\n" + "\n".join(f"  {n:4} {name}" for name, n in longest)
    )


if __name__ == "__main__":
    print(report())
