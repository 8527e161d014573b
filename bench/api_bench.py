"""API benchmark on PostgreSQL (load it first with bench/load_data.py).

    python bench/api_bench.py postgresql://postgres@127.0.0.1:5432/uab_bench

Measures, with wrk on loopback, requests per second, p50/p99 latency and the server's CPU
time per request (from /proc) of ``GET /api/me``, ``GET /api/usage``,
``GET /api/projects?limit=20`` and ``GET /api/projects/{id}`` (with 50 generations) on
three servers running the same SQL: ours, bare Starlette on our driver (bench/bare_app.py)
and the floor, asyncpg with prepared statements (bench/async_floor.py); and of a finished
run's event stream (``GET /api/runs/r1/events``, 31 events) and the file tree
(``GET /api/projects/p1/files``, 120 files: the same SQL, then the same ``git ls-tree``)
on ours and the floor; each on asyncio + h11 and on uvloop + httptools. Then
the p99 of our ``/healthz`` while 20 log-ins run at once. Each server is one process; wrk
uses one thread, so on a 2-core machine each side has a core.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import bench_repo  # noqa: E402
from bench.serving import SECRET, cpu_seconds, served  # noqa: E402

DURATION = os.environ.get("BENCH_DURATION", "15s")
CONNECTIONS = os.environ.get("BENCH_CONNECTIONS", "16")


@dataclass
class Server:
    url: str
    pid: int


@contextmanager
def server(command: list[str], env: dict[str, str]) -> Iterator[Server]:
    # any answer will do (401 here): the reference servers have no /healthz
    with served(command, env, ready="/api/projects") as (port, pid):
        yield Server(f"http://127.0.0.1:{port}", pid)


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
        "requests": float(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
    }


def measured(target: Server, path: str, token: str) -> dict[str, float]:
    """One wrk run, with the server's CPU time per request over it."""
    before = cpu_seconds(target.pid)
    figures = wrk(target.url + path, token)
    figures["cpu_ms"] = (cpu_seconds(target.pid) - before) * 1000 / figures["requests"]
    return figures


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
#: the event loop and HTTP parser each server runs on (uvicorn's --loop and --http)
SETUPS = {"asyncio+h11": ("asyncio", "h11"), "uvloop+httptools": ("uvloop", "httptools")}
ROUTES = {
    "me": "/api/me",
    "usage": "/api/usage",
    "list": "/api/projects?limit=20",
    "detail": "/api/projects/p1?generations_limit=50",
    "events": "/api/runs/r1/events",
    "tree": "/api/projects/p1/files",
}
SERVERS = ("ours", "bare", "floor")
#: the routes bare_app.py serves (it reproduces the first design; the stream and the tree
#: came after it, and are measured against the floor only)
BARE_ROUTES = ("me", "usage", "list", "detail")
# a part of the bench (say ``BENCH_ROUTES=me BENCH_SETUPS=uvloop+httptools``), for a quick look
if os.environ.get("BENCH_ROUTES"):
    ROUTES = {name: ROUTES[name] for name in os.environ["BENCH_ROUTES"].split(",")}
if os.environ.get("BENCH_SETUPS"):
    SETUPS = {name: SETUPS[name] for name in os.environ["BENCH_SETUPS"].split(",")}


def servers_of(route: str) -> tuple[str, ...]:
    return SERVERS if route in BARE_ROUTES else ("ours", "floor")


def commands(loop: str, http: str) -> dict[str, list[str]]:
    """Ours as `uab serve --workers N` starts it (uvicorn with the app factory), so the loop
    and parser can be chosen; `uab serve` itself takes uvicorn's "auto" (uvloop and
    httptools where installed)."""
    uvicorn = [sys.executable, "-m", "uvicorn", "--loop", loop, "--http", http,
               "--no-access-log", "--no-server-header", "--log-level", "warning"]  # fmt: skip
    return {
        "ours": [*uvicorn, "--factory", "appbuilder.web.app:create_app"],
        "bare": [*uvicorn, "bench.bare_app:app"],
        "floor": [sys.executable, "-m", "bench.async_floor"]
        + (["--fast"] if loop == "uvloop" else []),
    }


def same_answers(ours: Server, floor: Server, token: str) -> None:
    """The floor must answer what ours answers, or it measures something else."""
    headers = {"Authorization": f"Bearer {token}"}
    for name, path in ROUTES.items():
        expected = httpx.get(ours.url + path, headers=headers, timeout=30)
        got = httpx.get(floor.url + path, headers=headers, timeout=30)
        streamed = expected.headers.get("content-type", "").startswith("text/event-stream")
        same = expected.text == got.text if streamed else expected.json() == got.json()
        if expected.status_code != 200 or not same:
            raise RuntimeError(f"{name}: the floor's answer differs from ours\n{got.text[:500]}")


Figures = dict[str, float]
Runs = dict[tuple[str, str, str], list[Figures]]


def print_round(runs: Runs, setup: str, index: int) -> None:
    """A round's figures and ratios. The ratio by CPU (the floor's CPU time per request over
    the server's) is what the throughput ratio would be with each server on a core of its
    own; it moves less than throughput when other jobs share the machine."""
    print(f"\n{setup}, round {index + 1} of {ROUNDS}")
    print(f"{'route':8} {'server':6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}")
    for route in ROUTES:
        for name in servers_of(route):
            f = runs[setup, route, name][index]
            print(f"{route:8} {name:6} {f['rps']:8.0f} {f['p50']:8.2f} {f['p99']:8.2f} "
                  f"{f['cpu_ms']:11.2f}")  # fmt: skip
        floor = runs[setup, route, "floor"][index]
        ratios = [(name, runs[setup, route, name][index]) for name in servers_of(route)[:-1]]
        by_rps = ", ".join(f"{name}/floor {f['rps'] / floor['rps']:.2f}" for name, f in ratios)
        by_cpu = ", ".join(f"{name} {floor['cpu_ms'] / f['cpu_ms']:.2f}" for name, f in ratios)
        print(f"{route:8} ratios: {by_rps}; by CPU per request: {by_cpu}")
    sys.stdout.flush()


def print_medians(runs: Runs) -> None:
    print(f"\nmedian of {ROUNDS} rounds")
    print(f"{'setup':17} {'route':7} {'server':6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'CPU ms/req':>11}")  # fmt: skip
    for (setup, route, name), figures in runs.items():
        m = {key: statistics.median(f[key] for f in figures) for key in figures[0]}
        print(f"{setup:17} {route:7} {name:6} {m['rps']:8.0f} {m['p50']:8.2f} {m['p99']:8.2f} "
              f"{m['cpu_ms']:11.2f}")  # fmt: skip
    for setup in SETUPS:
        for route in ROUTES:
            for name in servers_of(route)[:-1]:
                pairs = list(
                    zip(runs[setup, route, name], runs[setup, route, "floor"], strict=True)
                )
                by_rps = ", ".join(f"{a['rps'] / b['rps']:.2f}" for a, b in pairs)
                by_cpu = ", ".join(f"{b['cpu_ms'] / a['cpu_ms']:.2f}" for a, b in pairs)
                print(f"{setup} {route}: {name}/floor per round = {by_rps}; "
                      f"by CPU per request = {by_cpu}")  # fmt: skip


def main(database_url: str) -> None:
    """For each loop setup the three servers run side by side and their runs alternate,
    ROUNDS times; each round is printed, then the medians: this VM's speed drifts by a third
    from minute to minute, and alternating keeps that drift out of the comparison. The
    setups run one after the other, so no more than three servers' pools hold connections."""
    with tempfile.TemporaryDirectory(prefix="uab-bench-") as folder:
        data_dir = Path(folder)
        bench_repo.make(data_dir / "projects" / "p1")  # the commit load_data.py recorded
        bench(database_url, data_dir)


def bench(database_url: str, data_dir: Path) -> None:
    envs = {
        "ours": {
            "UAB_ENV": "production",
            "UAB_SECRET_KEY": SECRET,
            "UAB_DATABASE_URL": f"{database_url}?sslmode=disable",
            "UAB_AUTH_MAX_FAILURES_PER_CLIENT": "1000000",
            "UAB_DATA_DIR": str(data_dir),
            # every wrk connection streams as one user: more than an account's default
            "UAB_MAX_STREAMS_PER_USER": "1000",
        },
        "bare": {
            "BENCH_DATABASE_URL": database_url.replace("postgresql://", "postgresql+psycopg://"),
            "BENCH_POOL_SIZE": CONNECTIONS,
        },
        "floor": {
            "BENCH_DATABASE_URL": database_url,
            "BENCH_POOL_SIZE": CONNECTIONS,
            "BENCH_PROJECTS_DIR": str(data_dir / "projects"),
        },
    }
    runs: Runs = {}
    healthz: Figures = {}
    for setup, (loop, http) in SETUPS.items():
        with ExitStack() as stack:
            servers = {
                name: stack.enter_context(server(command, envs[name]))
                for name, command in commands(loop, http).items()
            }
            token = log_in(servers["ours"].url)
            same_answers(servers["ours"], servers["floor"], token)
            for index in range(ROUNDS):
                for route, path in ROUTES.items():
                    for name in servers_of(route):
                        figures = measured(servers[name], path, token)
                        runs.setdefault((setup, route, name), []).append(figures)
                print_round(runs, setup, index)
            if not healthz:
                healthz = healthz_under_logins(servers["ours"].url, token)
                print(f"\nours ({setup}) /healthz while 20 log-ins run: {healthz['rps']:.0f} "
                      f"req/s, p50 {healthz['p50']:.2f} ms, p99 {healthz['p99']:.2f} ms, "
                      f"{healthz['logins']:.0f} log-ins done")  # fmt: skip
    print_medians(runs)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/uab_bench")
