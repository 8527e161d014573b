"""Generation success rate, time and memory: every template plus N random valid specs.

Run from the repository root:  .venv/bin/python bench/generation_bench.py [--random 30]

For each app: generation time without verification (best of 3), verification time, the
generation's peak Python memory (tracemalloc) and the verification subprocesses' peak
RSS. Every app whose own checks fail is listed with its failing output.
"""

from __future__ import annotations

import argparse
import platform
import random
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.spec_factory import random_spec

from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.enums import ProjectTemplate
from appbuilder.generator.verify import verify_tree
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve


def measure(
    label: str, data: dict[str, object] | None, template: ProjectTemplate | None
) -> dict[str, object]:
    spec = build_spec(data, template=template)
    model = resolve(spec)
    orchestrator = Orchestrator()
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        result = orchestrator.generate(spec, model, verify=False)
        timings.append(time.perf_counter() - started)
    tracemalloc.start()
    orchestrator.generate(spec, model, verify=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    verification = verify_tree(result.files)
    child_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "label": label,
        "files": len(result.files),
        "generate_s": min(timings),
        "verify_s": verification.duration_ms / 1000,
        "tests": verification.tests_passed,
        "passed": verification.passed,
        "peak_mb": peak / 2**20,
        "child_rss_mb": child_rss_mb,
        "failure": "" if verification.passed else verification.failing_output[-3000:],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--random", type=int, default=30, help="random specs (seeds 0..N-1)")
    parser.add_argument(
        "--seeds", default="", help="only these random seeds, comma-separated (rerun failures)"
    )
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")] if args.seeds else range(args.random)
    rows = []
    for template in ProjectTemplate:
        data = (
            None if template is not ProjectTemplate.CUSTOM else random_spec(random.Random(10_000))
        )
        rows.append(measure(template.value, data, template))
        print(rows[-1]["label"], rows[-1]["passed"], f"{rows[-1]['generate_s']:.3f}s", flush=True)
    for seed in seeds:
        rows.append(measure(f"random seed {seed}", random_spec(random.Random(seed)), None))
        print(rows[-1]["label"], rows[-1]["passed"], f"{rows[-1]['generate_s']:.3f}s", flush=True)
    python = platform.python_version()
    print(f"\nmachine: {platform.machine()}, {platform.processor() or 'cpu'}, Python {python}")
    print("| app | files | generate (s) | verify (s) | tests | passed | gen peak (MiB) |")
    print("|---|---|---|---|---|---|---|")
    for row in rows[:5]:
        cells = [
            row["label"],
            row["files"],
            f"{row['generate_s']:.3f}",
            f"{row['verify_s']:.1f}",
            row["tests"],
            row["passed"],
            f"{row['peak_mb']:.1f}",
        ]
        print("| " + " | ".join(map(str, cells)) + " |")
    randoms = rows[5:]
    if randoms:

        def median(key: str) -> float:
            return statistics.median(float(r[key]) for r in randoms)  # type: ignore[arg-type]

        cells = [
            f"{len(randoms)} random specs (median)",
            median("files"),
            f"{median('generate_s'):.3f}",
            f"{median('verify_s'):.1f}",
            median("tests"),
            "-",
            f"{median('peak_mb'):.1f}",
        ]
        print("| " + " | ".join(map(str, cells)) + " |")
    passed = sum(1 for row in rows if row["passed"])
    print(f"\nsuccess rate: {passed}/{len(rows)} = {100 * passed / len(rows):.1f}%")
    print(f"verification subprocesses' peak RSS: {max(r['child_rss_mb'] for r in rows):.0f} MiB")
    for row in rows:
        if not row["passed"]:
            print(f"\nFAILED {row['label']}:\n{row['failure']}")


if __name__ == "__main__":
    main()
