"""Following a run from the terminal: the same event log the SSE stream serves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.markup import escape
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.cli._runtime import console
from appbuilder.db.session import reading
from appbuilder.services import runs
from appbuilder.settings import Settings

POLL_SECONDS = 0.25
#: how often a quiet follower checks whether its run waits for a worker
WAITING_CHECK_SECONDS = 1.0


def _finished(data: dict[str, Any]) -> str:
    colour = "green" if data.get("status") == "COMPLETED" else "red"
    tail = f", commit {str(data['commit'])[:12]}" if data.get("commit") else ""
    error = f": {escape(str(data['error']))}" if data.get("error") else ""
    return (
        f"[bold {colour}]Run {data.get('status')}[/]{error}{tail}; "
        f"project {data.get('project_status')}"
    )


def _agent(data: dict[str, Any]) -> str:
    return str(data.get("agent", "")).lower()


_LINES: dict[str, Callable[[dict[str, Any]], str]] = {
    "queued": lambda d: "Queued: " + " → ".join(" + ".join(s) for s in d.get("plan", [])),
    "started": lambda d: (
        f"{'Resumed' if d.get('resumed') else 'Started'} (attempt {d.get('attempt')})"
    ),
    "step_started": lambda d: f"  [cyan]▸[/] {_agent(d)} running",
    "step_finished": lambda d: f"  [green]✓[/] {_agent(d)} {d.get('duration_ms')} ms",
    "step_failed": lambda d: f"  [red]✗[/] {_agent(d)} failed: {escape(str(d.get('error')))}",
    "log": lambda d: f"  {escape(str(d.get('line')))}",
    "waiting": lambda d: f"  [yellow]{escape(str(d.get('line')))}[/]",
    runs.FINISHED: _finished,
}


def describe(kind: str, data: dict[str, Any]) -> str:
    """One terminal line for one event."""
    line = _LINES.get(kind)
    return line(data) if line else f"  {escape(kind)}"


def follow(sessions: sessionmaker[Session], run_id: str, settings: Settings | None = None) -> str:
    """Print the run's events until it finishes; returns its final status. With
    ``settings``, a run no worker takes in time gets its ``waiting`` event from here too
    (no server may be running to give it)."""
    seen = 0
    quiet = 0.0
    while True:
        with reading(sessions) as session:
            batch, _ = runs.poll_events(session, run_id, seen)
        for event in batch:
            console.print(describe(event.kind, event.data), highlight=False)
            seen = event.seq
            if event.kind == runs.FINISHED:
                return str(event.data.get("status"))
        if batch:
            continue
        time.sleep(POLL_SECONDS)
        quiet += POLL_SECONDS
        if settings is not None and quiet >= WAITING_CHECK_SECONDS:
            quiet = 0.0
            runs.check_unclaimed(settings, sessions, run_id)
