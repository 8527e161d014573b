"""Model calls as Generation rows: the same columns whether a plan or a run made them,
and the one ledger both use.

A call's row is written *before* the request is sent, RUNNING and holding the request's
worst case (what is sent, estimated, plus the most the model may answer) in its token
columns, in the same transaction that checks the budget and the month's quota with the
owner's row locked: a reservation other callers see at once, so two calls near the limit
can't both pass. When the answer comes the row is settled with the provider's usage,
cost, answer and time; a failed or cancelled request keeps none (nothing was answered).
A row still RUNNING after its process died (``kill -9`` mid-call) is closed FAILED as
interrupted and keeps its reservation: the provider may have billed it, and a ledger that
undercounts lets a crashing worker spend without limit.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from appbuilder.db.models import Generation
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.llm.client import CallRecord, Reservation
from appbuilder.services import quotas

#: the error of a call whose process ended while the model was answering
INTERRUPTED = (
    "interrupted: the process making this call ended before the answer arrived; its "
    "reserved tokens are counted as spent (the provider may have billed them)"
)


def call_row(
    call: CallRecord,
    *,
    agent: AgentType,
    user_id: str,
    project_id: str,
    run_id: str | None = None,
    status: GenerationStatus = GenerationStatus.COMPLETED,
    error: str | None = None,
) -> Generation:
    return Generation(
        run_id=run_id,
        project_id=project_id,
        user_id=user_id,
        agent_type=agent,
        model=call.model,
        prompt=call.prompt,
        response=call.response,
        status=status,
        tokens_used=call.tokens,
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        cost_usd=call.cost,
        duration_ms=call.duration_ms,
        error_message=error,
        completed_at=utcnow(),
    )


def is_call() -> ColumnElement[bool]:
    """Call rows (a model request) as opposed to a run's step rows (an agent's step)."""
    return Generation.model.is_not(None)


def close_interrupted(session: Session, *where: ColumnElement[bool]) -> int:
    """Close the RUNNING call rows matching ``where`` as interrupted, keeping their
    reservation as spent; only for calls whose process is known gone. Returns how many."""
    closed = session.execute(
        update(Generation)
        .where(is_call(), Generation.status == GenerationStatus.RUNNING, *where)
        .values(status=GenerationStatus.FAILED, error_message=INTERRUPTED, completed_at=utcnow())
        .execution_options(synchronize_session=False)  # callers hold none of these rows
    )
    return int(getattr(closed, "rowcount", 0) or 0)


#: a transaction to write in (a run's: it also proves the execution still holds the run)
Transaction = Callable[[], AbstractContextManager[Session]]
#: a further check before a call, inside the reserving transaction (a run's budget)
Check = Callable[[Session, Reservation], None]
#: work for the first reservation's transaction (closing a plan's abandoned calls)
Tidy = Callable[[Session], object]


class CallLedger:
    """The call observer of one agent for one owner (and run): a row per call, reserved
    before it is sent and settled after (see the module's docstring)."""

    def __init__(
        self,
        tx: Transaction,
        *,
        agent: AgentType,
        user_id: str,
        project_id: str,
        run_id: str | None = None,
        check: Check | None = None,
        tidy: Tidy | None = None,
    ) -> None:
        self.tx = tx
        self.agent = agent
        self.user_id = user_id
        self.project_id = project_id
        self.run_id = run_id
        self.check = check
        self.tidy = tidy
        #: the rows written, in order
        self.rows: list[str] = []

    def before(self, reservation: Reservation) -> str | None:
        with self.tx() as session:
            # locked: the reservations are counted, then added to
            owner = quotas.locked_user(session, self.user_id)
            if self.tidy is not None:  # in a transaction that writes anyway
                self.tidy(session)
            if self.check is not None:
                self.check(session, reservation)
            quotas.ensure_tokens_available(session, owner, reservation.tokens)
            row = Generation(
                run_id=self.run_id,
                project_id=self.project_id,
                user_id=self.user_id,
                agent_type=self.agent,
                model=reservation.model,
                prompt=reservation.prompt,
                response="",
                status=GenerationStatus.RUNNING,
                tokens_used=reservation.tokens,
                input_tokens=reservation.input_tokens,
                output_tokens=reservation.output_tokens,
            )
            session.add(row)
            session.flush()
            ticket = row.id
        self.tidy = None  # done once it committed
        self.rows.append(ticket)
        return ticket

    def after(self, call: CallRecord, ticket: str | None) -> None:
        self._settle(call, ticket, GenerationStatus.COMPLETED, None)

    def failed(self, call: CallRecord, error: str, *, cancelled: bool, ticket: str | None) -> None:
        status = GenerationStatus.CANCELLED if cancelled else GenerationStatus.FAILED
        self._settle(call, ticket, status, error)

    def _settle(
        self, call: CallRecord, ticket: str | None, status: GenerationStatus, error: str | None
    ) -> None:
        row = call_row(
            call,
            agent=self.agent,
            user_id=self.user_id,
            project_id=self.project_id,
            run_id=self.run_id,
            status=status,
            error=error,
        )
        with self.tx() as session:
            if ticket is None:  # a call this ledger did not reserve: recorded all the same
                session.add(row)
                session.flush()
                self.rows.append(row.id)
                return
            session.execute(
                update(Generation)
                .where(Generation.id == ticket)
                .values(
                    model=row.model,
                    response=row.response,
                    status=row.status,
                    tokens_used=row.tokens_used,
                    input_tokens=row.input_tokens,
                    output_tokens=row.output_tokens,
                    cost_usd=row.cost_usd,
                    duration_ms=row.duration_ms,
                    error_message=row.error_message,
                    completed_at=row.completed_at,
                )
                .execution_options(synchronize_session=False)  # no session holds the row
            )
