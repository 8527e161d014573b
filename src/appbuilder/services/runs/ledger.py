"""Every model call inside a run: checked before it is made, a Generation row once it ends.

A run has two kinds of Generation rows:

- a **step row** per agent (``model`` NULL), made when the run is queued: what the step
  produced (its files' manifest and, for a model's step, the code it wrote, which a
  resumed run replays instead of asking again), its status and time. Its ``tokens_used``
  stays 0.
- a **call row** per model request (``model`` set), written the moment the request ends:
  the agent, what was sent, the answer, tokens in and out, cost, duration, status
  (COMPLETED, FAILED, CANCELLED) and error.

Each token is on exactly one row, so every sum (the month's quota, ``GET /api/usage``, the
run's budget and its ledger) counts it once. A resumed run replays finished steps from
their step rows and adds no call rows for them; the calls of a step that never finished
stay: they were spent. A call killed with its process (``kill -9``) leaves no row, as this
platform never learned its usage.

Before each request the run's budget and the owner's month quota are checked against the
request's worst case (what is sent plus the most the model may answer); a refusal raises,
and nothing is sent. Rows are written through the journal, so an execution that lost its
run records nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from appbuilder.db.models import Generation, GenerationRun, User
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.llm.client import CallRecord
from appbuilder.services import quotas
from appbuilder.services.call_rows import call_row
from appbuilder.services.runs.journal import DbJournal


def is_call() -> ColumnElement[bool]:
    """Call rows (a model request) as opposed to step rows (an agent's step)."""
    return Generation.model.is_not(None)


def run_tokens(session: Session, run_id: str) -> int:
    """Tokens (in and out) the run's model calls have taken, every attempt's."""
    used = session.scalar(
        select(func.coalesce(func.sum(Generation.tokens_used), 0)).where(
            Generation.run_id == run_id, is_call()
        )
    )
    return int(used or 0)


class RunCalls:
    """The call observer of one agent in one run (see the module's docstring)."""

    def __init__(self, journal: DbJournal, agent: AgentType, budget: int | None) -> None:
        self.journal = journal
        self.agent = agent
        self.budget = budget
        with journal.ctx.sessions() as session:
            run = session.get_one(GenerationRun, journal.run_id)
            self.project_id, self.user_id = run.project_id, run.user_id

    def before(self, model: str, reserve: int) -> None:  # noqa: ARG002 - the observer's shape
        with self.journal.tx() as session:
            used = run_tokens(session, self.journal.run_id)
            quotas.ensure_run_budget(self.journal.run_id, self.budget, used, reserve)
            quotas.ensure_tokens_available(session, session.get_one(User, self.user_id), reserve)

    def after(self, call: CallRecord) -> None:
        self._write(call, GenerationStatus.COMPLETED, None)

    def failed(self, call: CallRecord, error: str, *, cancelled: bool) -> None:
        status = GenerationStatus.CANCELLED if cancelled else GenerationStatus.FAILED
        self._write(call, status, error)

    def _write(self, call: CallRecord, status: GenerationStatus, error: str | None) -> None:
        with self.journal.tx() as session:
            session.add(
                call_row(
                    call,
                    agent=self.agent,
                    user_id=self.user_id,
                    project_id=self.project_id,
                    run_id=self.journal.run_id,
                    status=status,
                    error=error,
                )
            )


@dataclass(frozen=True)
class LedgerLine:
    """One agent's model calls in a run: how many, their tokens, cost and time."""

    agent: AgentType
    calls: int
    input_tokens: int
    output_tokens: int
    #: USD; None when a call's price is unknown
    cost_usd: Decimal | None
    duration_ms: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def ledger(calls: list[Generation]) -> list[LedgerLine]:
    """Per agent (in the order they first called), the sum of ``calls`` (a run's call rows)."""
    agents = list(dict.fromkeys(call.agent_type for call in calls))
    lines = []
    for agent in agents:
        mine = [call for call in calls if call.agent_type is agent]
        answered = [call for call in mine if call.status is GenerationStatus.COMPLETED]
        unknown = any(call.cost_usd is None for call in answered)
        cost = sum((call.cost_usd or Decimal(0) for call in mine), Decimal(0))
        lines.append(
            LedgerLine(
                agent=agent,
                calls=len(mine),
                input_tokens=sum(call.input_tokens for call in mine),
                output_tokens=sum(call.output_tokens for call in mine),
                cost_usd=None if unknown else cost,
                duration_ms=sum(call.duration_ms or 0 for call in mine),
            )
        )
    return lines
