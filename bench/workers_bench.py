"""`uab serve --workers 2` against one process, on PostgreSQL (load it with bench/load_data.py).

    python bench/workers_bench.py postgresql://postgres@127.0.0.1:5432/uab_bench

Starts `uab serve --workers N` as a user does (uvloop + httptools where installed,
production settings) for N = 1 and 2, and drives ``GET /api/projects?limit=20`` with wrk
(one thread, 16 connections); the runs alternate, which one goes first alternating too.
Reports per run requests per second, p50/p99 and the CPU time per request of all the
server's processes (the supervisor and its workers, from /proc), and the machine's load.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.api_bench import log_in, wrk  # noqa: E402
from bench.serving import SECRET, UAB, cpu_seconds, served  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PATH = "/api/projects?limit=20"
WORKERS = (1, 2)


def tree(pid: int) -> list[int]:
    """``pid`` and its children (uvicorn's workers and multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [pid, *(int(child) for child in children)]


def tree_cpu(pids: list[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def measured(port: int, pid: int, token: str) -> dict[str, float]:
    pids = tree(pid)
    before = tree_cpu(pids)
    figures = wrk(f"http://127.0.0.1:{port}{PATH}", token)
    if tree(pid) != pids:
        raise RuntimeError(f"a worker was replaced during the run: {pids} -> {tree(pid)}")
    figures["cpu_ms"] = (tree_cpu(pids) - before) * 1000 / figures["requests"]
    figures["load"] = os.getloadavg()[0]
    return figures


def main(database_url: str) -> None:
    env = {
        "UAB_ENV": "production",
        "UAB_SECRET_KEY": SECRET,
        "UAB_DATABASE_URL": f"{database_url}?sslmode=disable",
        "UAB_AUTH_MAX_FAILURES_PER_CLIENT": "1000000",
    }
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in WORKERS}
    for index in range(ROUNDS):
        order = WORKERS if index % 2 == 0 else WORKERS[::-1]
        for workers in order:
            command = [UAB, "serve", "--no-migrate", "--workers", str(workers)]
            with served(command, env, ready="/healthz") as (port, pid):
                token = log_in(f"http://127.0.0.1:{port}")
                wrk(f"http://127.0.0.1:{port}{PATH}", token)  # warm: both workers' pools
                figures = measured(port, pid, token)
            runs[workers].append(figures)
            print(f"round {index + 1}, {workers} worker(s): {figures['rps']:.0f} req/s, "
                  f"p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, "
                  f"CPU {figures['cpu_ms']:.2f} ms/request, load {figures['load']:.1f}",
                  flush=True)  # fmt: skip
    for workers, figures in runs.items():
        m = {key: statistics.median(f[key] for f in figures) for key in figures[0]}
        print(f"median, {workers} worker(s): {m['rps']:.0f} req/s, p50 {m['p50']:.1f} ms, "
              f"p99 {m['p99']:.1f} ms, CPU {m['cpu_ms']:.2f} ms/request")  # fmt: skip
    ratios = [two["rps"] / one["rps"] for one, two in zip(runs[1], runs[2], strict=True)]
    print("2 workers / 1, per round: " + ", ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/uab_bench")
