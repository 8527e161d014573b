"""``uab worker``: executes generation runs, as many processes and machines as you like."""

from __future__ import annotations

import shutil
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from appbuilder.cli._runtime import console, err_console, open_database
from appbuilder.jobs import setup
from appbuilder.logs import configure_logging
from appbuilder.settings import Environment


def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", min=1, max=64, help="Runs at once.")
    ] = 2,
) -> None:
    """Run generation jobs until stopped. SIGTERM or Ctrl-C: take no new runs, let the
    current ones finish for UAB_RUN_SHUTDOWN_GRACE_SECONDS, then hand them back to the
    queue at their next step (a second Ctrl-C hands them back at once).

    On PostgreSQL this is a procrastinate worker; workers also re-queue the runs of
    workers that died. On SQLite it runs the embedded queue, like `uab serve` does.
    """
    with open_database() as db:
        settings = db.settings
        context = setup.run_context(settings, db.sessions)
        configure_logging(json_lines=settings.env is Environment.PRODUCTION)
        if shutil.which("git") is None:
            err_console.print("[yellow]Warning:[/] git is not on the PATH: runs can't keep files.")
        if settings.uses_procrastinate:
            console.print(f"Worker: procrastinate, {concurrency} at once. Ctrl-C to stop.")
            setup.procrastinate_worker(settings, context, concurrency)
            return
        runner = setup.embedded_runner(settings, db.sessions, threads=concurrency)
        context = runner.context
        stop = threading.Event()

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            if stop.is_set():  # a second signal: hand the runs back now
                context.stopping.set()
            stop.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        console.print(f"Worker: embedded queue, {concurrency} at once. Ctrl-C to stop.")
        runner.start()
        stop.wait()
        console.print("Stopping: finishing the current runs...")
        runner.stop(grace=settings.run_shutdown_grace_seconds)
