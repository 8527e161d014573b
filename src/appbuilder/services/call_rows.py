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
from typing import Any

from sqlalchemy import ColumnElement, Update, bindparam, insert, update
from sqlalchemy.orm import Session

from appbuilder.db.models import Generation
from appbuilder.db.types import UTCDateTime, new_id, utcnow
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.llm.client import CallRecord, Reservation
from appbuilder.services import quotas

#: the error of a call whose process ended while the model was answering
INTERRUPTED = (
    "interrupted: the process making this call ended before the answer arrived; its "
    "reserved tokens are counted as spent (the provider may have billed them)"
)


def is_call() -> ColumnElement[bool]:
    """Call rows (a model request) as opposed to a run's step rows (an agent's step)."""
    return Generation.model.is_not(None)


def close_interrupted(session: Session, *where: ColumnElement[bool]) -> int:
    """Close the RUNNING call rows matching ``where`` as interrupted, keeping their
    reservation as spent; only for calls whose process is known gone. Returns how many."""
    closed = session.execute(
        interrupted_closing(*where).execution_options(synchronize_session=False),
        {"now": utcnow()},  # callers hold none of these rows
    )
    return int(getattr(closed, "rowcount", 0) or 0)


def interrupted_closing(*where: ColumnElement[bool]) -> Update:
    """``close_interrupted``'s statement, the time it closes them at bound as ``now`` (to
    build once for a statement run often)."""
    return (
        update(Generation)
        .where(is_call(), Generation.status == GenerationStatus.RUNNING, *where)
        .values(
            status=GenerationStatus.FAILED,
            error_message=INTERRUPTED,
            completed_at=bindparam("now", type_=UTCDateTime()),
        )
    )


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
        ticket = new_id()
        with self.tx() as session:
            # locked: the reservations are counted, then added to
            owner = quotas.locked_subscriber(session, self.user_id)
            if self.tidy is not None:  # in a transaction that writes anyway
                self.tidy(session)
            if self.check is not None:
                self.check(session, reservation)
            quotas.ensure_tokens_available(session, owner, reservation.tokens)
            session.connection().execute(
                _RESERVE,
                {
                    **self._whose(ticket),
                    "model": reservation.model,
                    "prompt": reservation.prompt,
                    "response": "",
                    "status": GenerationStatus.RUNNING,
                    "tokens_used": reservation.tokens,
                    "input_tokens": reservation.input_tokens,
                    "output_tokens": reservation.output_tokens,
                },
            )
        self.tidy = None  # done once it committed
        self.rows.append(ticket)
        return ticket

    def _whose(self, ticket: str) -> dict[str, object]:
        """A new row's id and what ties it to its run, project, owner and agent."""
        return {
            "id": ticket,
            "created_at": utcnow(),
            "run_id": self.run_id,
            "project_id": self.project_id,
            "user_id": self.user_id,
            "agent_type": self.agent,
        }

    def after(self, call: CallRecord, ticket: str | None) -> None:
        self._settle(call, ticket, GenerationStatus.COMPLETED, None)

    def failed(self, call: CallRecord, error: str, *, cancelled: bool, ticket: str | None) -> None:
        status = GenerationStatus.CANCELLED if cancelled else GenerationStatus.FAILED
        self._settle(call, ticket, status, error)

    def _settle(
        self, call: CallRecord, ticket: str | None, status: GenerationStatus, error: str | None
    ) -> None:
        settled = _settled(call, status, error)
        with self.tx() as session:
            if ticket is None:  # a call this ledger did not reserve: recorded all the same
                ticket = new_id()
                row = {**self._whose(ticket), "prompt": call.prompt, **settled}
                session.connection().execute(_RESERVE, row)
                self.rows.append(ticket)
                return
            session.connection().execute(_SETTLE, {"ticket": ticket, **settled})


# Written before and after every model call: built once (building and keying a statement
# cost more than running it), run on the session's connection (no ORM unit of work).
_RESERVE = insert(Generation)
_SETTLED_COLUMNS = (
    "model",
    "response",
    "status",
    "tokens_used",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "duration_ms",
    "error_message",
    "completed_at",
)
_SETTLE = (
    update(Generation)
    .where(Generation.id == bindparam("ticket"))
    .values({name: bindparam(name) for name in _SETTLED_COLUMNS})
)


def _settled(call: CallRecord, status: GenerationStatus, error: str | None) -> dict[str, Any]:
    """A call's row as it ends: its answer, usage, cost and time."""
    return {
        "model": call.model,
        "response": call.response,
        "status": status,
        "tokens_used": call.tokens,
        "input_tokens": call.input_tokens,
        "output_tokens": call.output_tokens,
        "cost_usd": call.cost,
        "duration_ms": call.duration_ms,
        "error_message": error,
        "completed_at": utcnow(),
    }
