"""API benchmark on PostgreSQL (load it first with bench/load_data.py).

    python bench/api_bench.py postgresql://postgres@127.0.0.1:5432/uab_bench

Measures, with wrk on loopback, requests per second and p50/p99 latency of
``GET /api/projects?limit=20`` and ``GET /api/projects/{id}`` (with 50 generations) on our
server, and of the same SQL on bare Starlette (bench/bare_app.py); then the p99 of
``/healthz`` while 20 log-ins run at once. Each server is one uvicorn process; wrk uses one
thread, so on a 2-core machine each side has a core.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, wait_until_up  # noqa: E402

UAB = str(Path(sys.executable).with_name("uab"))
SECRET = "bench-secret-key-kZ3x9-Qw7Lp2Rt8Vb4Nm6Yc1Hd5Jf0Gs"  # noqa: S105 - benchmark only
DURATION = os.environ.get("BENCH_DURATION", "15s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "16")


@contextmanager
def server(command: list[str], env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(
            url, process, path="/api/projects", timeout=30
        )  # the bare app has no /healthz
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def wrk(url: str, token: str, connections: str = CONNECTIONS) -> dict[str, float]:
    output = subprocess.run(
        [shutil.which("wrk") or "wrk", "-t1", f"-c{connections}", f"-d{DURATION}", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses\n{output}")
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def log_in(url: str) -> str:
    response = httpx.post(
        f"{url}/api/auth/login",
        json={"email": "user1@bench.example.com", "password": "bench-password-1"},
        timeout=30,
    )
    response.raise_for_status()
    token: str = response.json()["token"]
    return token


def healthz_under_logins(url: str, token: str) -> dict[str, float]:
    stop = threading.Event()
    logins = 0

    def keep_logging_in(n: int) -> None:
        nonlocal logins
        with httpx.Client(timeout=60) as client:
            while not stop.is_set():
                client.post(
                    f"{url}/api/auth/login",
                    json={"email": f"user{n}@bench.example.com", "password": "bench-password-1"},
                )
                logins += 1

    threads = [threading.Thread(target=keep_logging_in, args=(n,)) for n in range(100, 120)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    try:
        figures = wrk(f"{url}/healthz", token, connections="4")
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    figures["logins"] = logins
    return figures


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def main(database_url: str) -> None:
    """Both servers run side by side; their runs alternate, ROUNDS times, and the median of
    each figure is reported: this VM's speed drifts by a third from minute to minute, and
    alternating keeps that drift out of the comparison."""
    ours_env = {
        "UAB_ENV": "production",
        "UAB_SECRET_KEY": SECRET,
        "UAB_DATABASE_URL": f"{database_url}?sslmode=disable",
        "UAB_AUTH_MAX_FAILURES_PER_CLIENT": "1000000",
    }
    bare_env = {
        "BENCH_DATABASE_URL": database_url.replace("postgresql://", "postgresql+psycopg://")
    }
    bare = [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--no-access-log"]
    runs: dict[str, list[dict[str, float]]] = {}
    with server([UAB, "serve", "--no-migrate"], ours_env) as ours, server(bare, bare_env) as floor:
        token = log_in(ours)
        targets = {
            "ours list": f"{ours}/api/projects?limit=20",
            "bare list": f"{floor}/api/projects?limit=20",
            "ours detail": f"{ours}/api/projects/p1?generations_limit=50",
            "bare detail": f"{floor}/api/projects/p1",
        }
        for _ in range(ROUNDS):
            for name, url in targets.items():
                runs.setdefault(name, []).append(wrk(url, token))
        runs["healthz, 20 log-ins running"] = [healthz_under_logins(ours, token)]
    results = {
        name: {key: statistics.median(run[key] for run in figures) for key in figures[0]}
        for name, figures in runs.items()
    }
    print(f"{'run (median of ' + str(ROUNDS) + ')':32} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, figures in results.items():
        print(f"{name:32} {figures['rps']:9.0f} {figures['p50']:8.2f} {figures['p99']:8.2f}")
    for kind in ("list", "detail"):
        ratios = [
            o["rps"] / b["rps"]
            for o, b in zip(runs[f"ours {kind}"], runs[f"bare {kind}"], strict=True)
        ]
        print(f"{kind}: ours / bare throughput per round = "
              f"{', '.join(f'{r:.2f}' for r in ratios)} (goal >= 0.50)")  # fmt: skip
    logins = results["healthz, 20 log-ins running"]["logins"]
    print(f"log-ins completed during the healthz run: {logins:.0f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/uab_bench")
