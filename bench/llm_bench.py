"""Model calls: the platform's overhead per call, and how much context each call sends.

Run from the repository root:  .venv/bin/python bench/llm_bench.py [--calls 300]

Overhead: a scripted OpenAI-compatible server on loopback (tests/fake_llm.py) answers at
once; each planning call goes through our whole path (settings -> model choice -> a fresh
pydantic-ai agent and SDK client -> HTTP -> answer checked by our spec rules -> call
record with tokens and cost). The floor is a bare httpx POST of the same request body to
the same server, so the overhead is ours plus the SDKs', without the network or a model.

Context: the bytes of each planning request (instructions, the AppSpec tool schema, the
words, and for a change request the current spec) for the five templates and a 15-entity
spec, as tokens estimated at 4 bytes each (tiktoken's encodings need a download, which
this machine cannot make; the provider's own count is in every Generation row).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr
from tests.fake_llm import FakeLLM, fake_llm, text, tool

from appbuilder.enums import ProjectTemplate
from appbuilder.services import planning
from appbuilder.settings import LLMProvider, LLMSettings
from appbuilder.spec.loading import build_spec

TODO = {
    "name": "Todo list",
    "entities": [
        {"name": "Task", "fields": [{"name": "title"}, {"name": "done", "type": "boolean"}]}
    ],
}
BYTES_PER_TOKEN = 4


def settings(server: FakeLLM) -> LLMSettings:
    return LLMSettings(
        LLMProvider.OPENAI_COMPATIBLE, "gpt-4o-mini", server.url, SecretStr("k"), 30.0, 0, None, 3
    )


def big_spec() -> dict[str, Any]:
    """15 entities of 6 fields, each linked to the one before: a large app's spec."""
    entities = []
    for n in range(15):
        fields = [
            {"name": f"field_{k}", "type": kind}
            for k, kind in enumerate(["string", "text", "integer", "decimal", "boolean", "date"])
        ]
        relations = [{"name": "previous", "target": f"Thing{n - 1}"}] if n else []
        entities.append({"name": f"Thing{n}", "fields": fields, "relations": relations})
    return {"name": "Large app", "entities": entities}


def overhead(server: FakeLLM, calls: int) -> tuple[list[float], list[float], list[float]]:
    ours, plain, floor = [], [], []
    config = settings(server)
    for _ in range(calls):
        server.answer(tool(TODO))
        started = time.perf_counter()
        planning.plan("a todo app", config)
        ours.append((time.perf_counter() - started) * 1000)
        server.answer(text("OK"))
        started = time.perf_counter()
        planning.check_model(config)
        plain.append((time.perf_counter() - started) * 1000)
    body = next(r for r in reversed(server.requests) if "tools" in r)  # a plan request
    with httpx.Client() as client:
        for _ in range(calls):
            server.answer(tool(TODO))
            started = time.perf_counter()
            client.post(f"{server.url}/chat/completions", json=body).raise_for_status()
            floor.append((time.perf_counter() - started) * 1000)
    return ours, plain, floor


def context(server: FakeLLM) -> list[tuple[str, int]]:
    sizes = []
    config = settings(server)
    for template in ProjectTemplate:
        server.answer(
            tool({"name": "App"} | ({} if template is not ProjectTemplate.CUSTOM else TODO))
        )
        planning.plan("an app like the template, with one more thing", config, template=template)
        sizes.append((f"plan {template.value}", len(json.dumps(server.requests[-1]))))
    current = build_spec(big_spec())
    server.answer(tool(big_spec()))
    planning.plan("add a due date to every thing", config, current=current)
    sizes.append(("change request, 15 entities", len(json.dumps(server.requests[-1]))))
    return sizes


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with fake_llm() as server:
        # one call first: imports, the price data and the JSON schema are built once
        server.answer(tool(TODO))
        planning.plan("warm up", settings(server))
        ours, plain, floor = overhead(server, args.calls)
        sizes = context(server)
    print(f"Python {platform.python_version()}, {platform.machine()}, {args.calls} calls")
    print("| path | p50 ms | p90 ms | p99 ms |")
    print("|---|---:|---:|---:|")
    rows = (
        ("plan call: AppSpec tool, answer checked (ours)", ours),
        ("text call: uab llm check (ours)", plain),
        ("bare httpx POST of the plan request (floor)", floor),
    )
    for name, values in rows:
        print(
            f"| {name} | {statistics.median(values):.2f} | {percentile(values, 90):.2f} | "
            f"{percentile(values, 99):.2f} |"
        )
    for name, values in rows[:2]:
        print(
            f"overhead p50, {name}: {statistics.median(values) - statistics.median(floor):.2f} ms"
        )
    print("| request | bytes | ~tokens |")
    print("|---|---:|---:|")
    for name, size in sizes:
        print(f"| {name} | {size} | {size // BYTES_PER_TOKEN} |")


if __name__ == "__main__":
    main()
