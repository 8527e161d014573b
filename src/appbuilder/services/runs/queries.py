"""Reading runs: one with its steps, a project's or a user's runs, and the event log."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, func, select, true
from sqlalchemy.orm import Session

from appbuilder.agents.orchestrator import DEPENDS_ON
from appbuilder.db.models import Generation, GenerationRun, Project
from appbuilder.db.reads import Read, Steps, run_steps
from appbuilder.enums import ACTIVE_RUN_STATUSES, AgentType
from appbuilder.errors import NotFoundError
from appbuilder.services.pagination import Page, PageRequest, SortKey, paginate, to_page
from appbuilder.services.projects import get_project
from appbuilder.services.runs import events
from appbuilder.services.runs.ledger import LedgerLine, ledger

#: steps in plan order, the orchestrator's own (plan, merge, verify, commit) last
STEP_ORDER = (*DEPENDS_ON, AgentType.ORCHESTRATOR)
RUNS_NEWEST_FIRST = SortKey(GenerationRun.created_at, GenerationRun.id, descending=True)


def owned_by(owner_id: str | None) -> ColumnElement[bool]:
    return true() if owner_id is None else GenerationRun.user_id == owner_id


def active_run(session: Session, project_id: str) -> GenerationRun | None:
    return session.scalar(
        select(GenerationRun).where(
            GenerationRun.project_id == project_id,
            GenerationRun.status.in_(ACTIVE_RUN_STATUSES),
        )
    )


def get_run(session: Session, run_id: str, *, owner_id: str | None) -> GenerationRun:
    run = session.scalar(
        select(GenerationRun).where(GenerationRun.id == run_id, owned_by(owner_id))
    )
    if run is None:
        raise NotFoundError("Run", run_id)
    return run


_ANY_RUN = select(GenerationRun.id).where(GenerationRun.id == bindparam("run_id"))
_OWNED_RUN = _ANY_RUN.where(GenerationRun.user_id == bindparam("owner_id"))


def check_run_steps(run_id: str, *, owner_id: str | None) -> Steps[None]:
    """Not found unless the run exists and, with ``owner_id``, is theirs: what a live stream
    checks once before it streams, as steps (``db.reads``), so on PostgreSQL a stream takes
    no worker thread from its first statement to its last."""
    if owner_id is None:
        rows = yield Read(_ANY_RUN, {"run_id": run_id})
    else:
        rows = yield Read(_OWNED_RUN, {"run_id": run_id, "owner_id": owner_id})
    if not rows:
        raise NotFoundError("Run", run_id)


@dataclass(frozen=True)
class RunDetail:
    run: GenerationRun
    #: one row per agent's step, in plan order
    steps: list[Generation]
    #: one row per model call, in the order they were made
    calls: list[Generation]
    #: per agent: its calls, tokens, cost, time
    ledger: list[LedgerLine]


def get_run_detail(session: Session, run_id: str, *, owner_id: str | None) -> RunDetail:
    run = get_run(session, run_id, owner_id=owner_id)
    rows = session.scalars(
        select(Generation)
        .where(Generation.run_id == run.id)
        .order_by(Generation.created_at, Generation.id)
    ).all()
    calls = [row for row in rows if row.model is not None]
    steps = sorted(
        (row for row in rows if row.model is None), key=lambda g: STEP_ORDER.index(g.agent_type)
    )
    return RunDetail(run, steps, calls, ledger(calls))


def list_project_runs(
    session: Session, project_id: str, page: PageRequest, *, owner_id: str | None
) -> Page[GenerationRun]:
    get_project(session, project_id, owner_id=owner_id)
    query = select(GenerationRun).where(GenerationRun.project_id == project_id)
    rows = session.scalars(paginate(query, RUNS_NEWEST_FIRST, page)).all()
    return to_page(rows, page, RUNS_NEWEST_FIRST)


@dataclass(frozen=True)
class RunWithProject:
    run: GenerationRun
    project_name: str


def list_runs(
    session: Session, *, owner_id: str | None, project_id: str | None = None, limit: int = 20
) -> list[RunWithProject]:
    """The newest runs (of one owner, of one project, or all: the command line's view),
    each with its project's name; one statement."""
    query = select(GenerationRun, Project.name).join(
        Project, Project.id == GenerationRun.project_id
    )
    query = query.where(owned_by(owner_id))
    if project_id is not None:
        get_project(session, project_id, owner_id=owner_id)  # 404 for a wrong id
        query = query.where(GenerationRun.project_id == project_id)
    rows = session.execute(
        query.order_by(GenerationRun.created_at.desc(), GenerationRun.id.desc()).limit(limit)
    ).all()
    return [RunWithProject(run, name) for run, name in rows]


_RUN_STATUS = select(GenerationRun.status).where(GenerationRun.id == bindparam("run_id"))


def poll_events_steps(run_id: str, after: int) -> Steps[tuple[list[events.EventOut], bool]]:
    """The run's events after ``after`` and, when there are none, whether the run has ended
    (or is gone with its project): then nothing more will come. Callers check ownership
    once, before polling. As steps (``db.reads``): the live streams poll on the async pool
    on PostgreSQL, where the status is read as its text (a ``StrEnum`` equals it)."""
    batch = yield from events.read_steps(run_id, after)
    if batch:
        return batch, False
    rows = yield Read(_RUN_STATUS, {"run_id": run_id})
    status = rows[0].status if rows else None
    return [], status not in ACTIVE_RUN_STATUSES


def poll_events(session: Session, run_id: str, after: int) -> tuple[list[events.EventOut], bool]:
    """:func:`poll_events_steps` on ``session`` (``--follow`` and the thread path)."""
    return run_steps(session, poll_events_steps(run_id, after))


def latest_runs(session: Session, project_ids: list[str]) -> dict[str, GenerationRun]:
    """Each project's newest run (for a list of projects, in one statement)."""
    if not project_ids:
        return {}
    newest = (
        select(
            GenerationRun.id,
            func.row_number()
            .over(
                partition_by=GenerationRun.project_id,
                order_by=(GenerationRun.created_at.desc(), GenerationRun.id.desc()),
            )
            .label("rank"),
        )
        .where(GenerationRun.project_id.in_(project_ids))
        .subquery()
    )
    rows = session.scalars(
        select(GenerationRun)
        .join(newest, newest.c.id == GenerationRun.id)
        .where(newest.c.rank == 1)
    ).all()
    return {run.project_id: run for run in rows}
