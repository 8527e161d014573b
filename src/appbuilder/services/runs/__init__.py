"""Generation runs, the whole domain in one place: starting and cancelling them
(``commands``), reading them (``queries``), their state machine (``lifecycle``), executing
one (``execution``, ``journal``), the claims queues make around an execution (``claims``),
the event log (``events``), whether any worker is there (``workers``), and the protocol a
queue implements (``dispatch``). The queues themselves (procrastinate, the embedded runner)
live in ``appbuilder.jobs`` and call in here; nothing here knows them.
"""

from __future__ import annotations

from appbuilder.services.runs.commands import cancel_run, owner_of_project, spec_for, start_run
from appbuilder.services.runs.dispatch import Dispatcher
from appbuilder.services.runs.events import FINISHED, MAX_EVENT_SEQ, EventOut
from appbuilder.services.runs.journal import RunContext
from appbuilder.services.runs.queries import (
    RunDetail,
    RunWithProject,
    active_run,
    check_run_steps,
    get_run,
    get_run_detail,
    latest_runs,
    list_project_runs,
    list_runs,
    poll_events,
    poll_events_steps,
)
from appbuilder.services.runs.workers import (
    check_unclaimed,
    live_workers,
    note_unclaimed,
    waiting_message,
    waiting_notice,
    workers_alive,
)

__all__ = [
    "FINISHED",
    "MAX_EVENT_SEQ",
    "Dispatcher",
    "EventOut",
    "RunContext",
    "RunDetail",
    "RunWithProject",
    "active_run",
    "cancel_run",
    "check_run_steps",
    "check_unclaimed",
    "get_run",
    "get_run_detail",
    "latest_runs",
    "list_project_runs",
    "list_runs",
    "live_workers",
    "note_unclaimed",
    "owner_of_project",
    "poll_events",
    "poll_events_steps",
    "spec_for",
    "start_run",
    "waiting_message",
    "waiting_notice",
    "workers_alive",
]
