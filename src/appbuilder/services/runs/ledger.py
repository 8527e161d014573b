"""Every model call inside a run: checked before it is made, a Generation row once it ends.

A run has two kinds of Generation rows:

- a **step row** per agent (``model`` NULL), made when the run is queued: what the step
  produced (its files' manifest and, for a model's step, the code it wrote, which a
  resumed run replays instead of asking again), its status and time. Its ``tokens_used``
  stays 0.
- a **call row** per model request (``model`` set), written RUNNING with the request's
  worst case before it is sent and settled when it ends (``call_rows.CallLedger``): the
  agent, what was sent, the answer, tokens in and out, cost, duration, status (COMPLETED,
  FAILED, CANCELLED) and error.

Each token is on exactly one row, so every sum (the month's quota, ``GET /api/usage``, the
run's budget and its ledger) counts it once. A resumed run replays finished steps from
their step rows and adds no call rows for them; the calls of a step that never finished
stay: they were spent. A call killed with its process (``kill -9``) leaves its row
RUNNING; the next execution's claim closes it FAILED as interrupted, its reservation kept
as spent (the provider may have billed it). A call that still answers in an execution
that lost its run meanwhile (a worker presumed dead) writes nothing else of the run, but
its row gets the real usage reported instead of the worst case.

Before each request the run's budget and the owner's month quota are checked against the
request's worst case (what is sent plus the most the model may answer) with the owner's
row locked, and the reservation written in the same transaction; a refusal raises, and
nothing is sent. Rows are written through the journal, so an execution that lost its
run records nothing more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appbuilder.db.models import Generation, GenerationRun
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.llm.client import CallRecord, Reservation
from appbuilder.services import quotas
from appbuilder.services.call_rows import CallLedger, is_call
from appbuilder.services.runs.journal import DbJournal, LeaseLost

#: why a call answered after its execution lost the run has a row that is not COMPLETED
LOST = (
    "Answered after this run was taken over by another worker (this one was presumed "
    "dead): the answer was not used; its tokens are counted."
)


def run_tokens(session: Session, run_id: str) -> int:
    """Tokens (in and out) the run's model calls have taken or hold reserved, every
    attempt's."""
    used = session.scalar(
        select(func.coalesce(func.sum(Generation.tokens_used), 0)).where(
            Generation.run_id == run_id, is_call()
        )
    )
    return int(used or 0)


class RunCalls(CallLedger):
    """The call ledger of one agent in one run: its rows are written only while this
    execution holds the run, and each call is checked against the run's budget too."""

    def __init__(self, journal: DbJournal, agent: AgentType, budget: int | None) -> None:
        with journal.ctx.sessions() as session:
            run = session.get_one(GenerationRun, journal.run_id)
            project_id, user_id = run.project_id, run.user_id

        def within_budget(session: Session, reservation: Reservation) -> None:
            used = run_tokens(session, journal.run_id)
            quotas.ensure_run_budget(journal.run_id, budget, used, reservation.tokens)

        super().__init__(
            journal.tx,
            agent=agent,
            user_id=user_id,
            project_id=project_id,
            run_id=journal.run_id,
            check=within_budget,
        )
        self.budget = budget
        self.sessions = journal.ctx.sessions

    def _settle(
        self, call: CallRecord, ticket: str | None, status: GenerationStatus, error: str | None
    ) -> None:
        try:
            super()._settle(call, ticket, status, error)
        except LeaseLost:
            if ticket is not None:
                self._settle_lost(call, ticket)
            raise

    def _settle_lost(self, call: CallRecord, ticket: str) -> None:
        """A call answered after this execution lost its run (presumed dead, another took
        over): the answer is not used, but its tokens were spent, so the row gets the real
        usage instead of the worst case it reserved. This writes only the call's own row,
        whether the new execution has closed it as interrupted yet or not."""
        if not call.tokens:  # nothing reported: the reservation stays, as for a killed call
            return
        with self.sessions.begin() as session:
            row = session.get(Generation, ticket, with_for_update=True)
            if row is None:
                return
            row.tokens_used, row.input_tokens = call.tokens, call.input_tokens
            row.output_tokens, row.cost_usd = call.output_tokens, call.cost
            row.duration_ms = call.duration_ms
            if row.status is GenerationStatus.RUNNING:
                row.status, row.error_message = GenerationStatus.FAILED, LOST
                row.completed_at = utcnow()


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


class CallLine(Protocol):
    """What a ledger sums of one call: a run's call row, or a local build's call."""

    @property
    def agent_type(self) -> AgentType: ...
    @property
    def status(self) -> GenerationStatus: ...
    @property
    def input_tokens(self) -> int: ...
    @property
    def output_tokens(self) -> int: ...
    @property
    def cost_usd(self) -> Decimal | None: ...
    @property
    def duration_ms(self) -> int | None: ...


def ledger(calls: Sequence[CallLine]) -> list[LedgerLine]:
    """Per agent (in the order they first called), the sum of ``calls`` (a run's call rows,
    or a local build's calls)."""
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
