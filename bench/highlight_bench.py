"""Highlighting cost of the web UI's file viewer and diff page (web/ui/highlight.py).

    python bench/highlight_bench.py

Python source (this repository's own, repeated to size) highlighted as a file, and a
unified diff of that size; median of 5 runs each, and the HTML it makes. The figures set
``MAX_HIGHLIGHTED_CHARS`` and ``MAX_HIGHLIGHTED_DIFF_CHARS``: past them, text is shown
plain (escaped, numbered lines).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from appbuilder.web.ui.highlight import (  # noqa: E402
    MAX_HIGHLIGHTED_CHARS,
    MAX_HIGHLIGHTED_DIFF_CHARS,
    code_html,
    diff_html,
)

SIZES = (
    5_000,
    20_000,
    MAX_HIGHLIGHTED_CHARS,
    MAX_HIGHLIGHTED_CHARS + 1,
    MAX_HIGHLIGHTED_DIFF_CHARS,
    MAX_HIGHLIGHTED_DIFF_CHARS + 1,
    1_000_000,
)


def _source() -> str:
    files = sorted((ROOT / "src" / "appbuilder" / "web").rglob("*.py"))
    return "".join(f.read_text() for f in files)


def _time(render: Callable[[str], str], text: str) -> tuple[float, int]:
    render(text)  # warm the lexer
    times: list[float] = []
    size = 0
    for _ in range(5):
        start = time.perf_counter()
        html = render(text)
        times.append(time.perf_counter() - start)
        size = len(html)
    return statistics.median(times) * 1000, size // 1024


def main() -> None:
    source = _source()
    diff_source = "".join(f"{'+-'[i % 2]}{line}\n" for i, line in enumerate(source.splitlines()))
    print("| characters | file ms | file HTML KiB | diff ms | diff HTML KiB |")
    print("|---:|---:|---:|---:|---:|")
    for size in SIZES:
        text = (source * (size // len(source) + 1))[:size]
        diff = (diff_source * (size // len(diff_source) + 1))[:size]
        file_ms, file_kib = _time(lambda t: code_html("module.py", t), text)
        diff_ms, diff_kib = _time(diff_html, diff)
        print(f"| {size:,} | {file_ms:.0f} | {file_kib} | {diff_ms:.0f} | {diff_kib} |")


if __name__ == "__main__":
    main()
