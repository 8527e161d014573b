"""What pushing and sharing a project's history costs: a BLOG app's run commit pushed to a
bare repository (first push, then the next run's), a worker with an empty data directory
catching up from the project store, a no-op sync, and a rollback commit.

Run from the repository root:  .venv/bin/python bench/repository_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.enums import ProjectTemplate
from appbuilder.generator.history import ProjectHistory
from appbuilder.services.repository_git import Remote
from appbuilder.services.repository_store import push_to_store, sync_from_store
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve


def blog_files(extra_field: bool) -> dict[str, bytes]:
    data = (
        {"entities": [{"name": "Post", "fields": [{"name": "subtitle"}]}]} if extra_field else None
    )
    spec = build_spec(data, template=ProjectTemplate.BLOG)
    return Orchestrator().generate(spec, resolve(spec), verify=False).files


def timed(step: Callable[[], object]) -> float:
    start = time.perf_counter()
    step()
    return (time.perf_counter() - start) * 1000


def one_round(root: Path, versions: tuple[dict[str, bytes], dict[str, bytes]]) -> dict[str, float]:
    now = datetime.now(UTC)
    history = ProjectHistory(root / "a" / "proj1")
    history.commit(versions[0], "one", when=now, marker="Run: one", retry=False)
    remote = root / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)  # noqa: S607
    target = Remote(f"file://{remote}")
    figures = {"first push": timed(lambda: history.push(target.url, force=False, extra_env={}))}
    history.commit(versions[1], "two", when=now, marker="Run: two", retry=False)
    figures["next run's push"] = timed(lambda: history.push(target.url, force=False, extra_env={}))
    store = str(root / "store")
    figures["push to store (first)"] = timed(lambda: push_to_store(history, store, "proj1"))
    fresh = ProjectHistory(root / "b" / "proj1")
    figures["catch up from store (empty data dir)"] = timed(
        lambda: sync_from_store(fresh, store, "proj1")
    )
    figures["sync, already current"] = timed(lambda: sync_from_store(fresh, store, "proj1"))
    first = fresh.resolve(None)
    figures["rollback commit"] = timed(
        lambda: fresh.restore(f"{first}~1", "Roll back\n\nRun: three\n", when=now)
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    versions = (blog_files(False), blog_files(True))
    results: dict[str, list[float]] = {}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            for name, ms in one_round(Path(folder), versions).items():
                results.setdefault(name, []).append(ms)
    git = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True)  # noqa: S607
    print(f"BLOG app: {len(versions[0])} files; {platform.python_version()}; {git.stdout.strip()}")
    print(f"median of {rounds} rounds (min-max), ms")
    for name, values in results.items():
        print(
            f"  {name:40s} {statistics.median(values):7.1f}  ({min(values):.1f}-{max(values):.1f})"
        )


if __name__ == "__main__":
    main()
