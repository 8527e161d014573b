"""The model calls of a build made on this machine (``uab generate`` without ``--project``).

Such a build has no account and no database, so its calls cannot be Generation rows; they
are kept here, in memory, for the same two jobs a run's ledger does: each call is checked
against the build's token budget before it is sent (its worst case, as in a run), and the
build ends with a ledger per agent (calls, tokens in and out, cost, time).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal

from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.errors import RunBudgetSpent
from appbuilder.llm.client import CallObserver, CallRecord, Reservation
from appbuilder.services.runs.ledger import LedgerLine, ledger


@dataclass
class _Call:
    agent_type: AgentType
    #: the worst case while in flight, then what the provider reported
    input_tokens: int
    output_tokens: int
    status: GenerationStatus = GenerationStatus.RUNNING
    cost_usd: Decimal | None = None
    duration_ms: int = 0

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass
class LocalCalls:
    """Every call of one local build, held to ``budget`` tokens (None: no limit)."""

    budget: int | None = None
    calls: list[_Call] = field(default_factory=list)
    #: a stage's agents call from threads of their own: checking and reserving is one step
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observer(self, agent: AgentType) -> CallObserver:
        return _AgentCalls(self, agent)

    @property
    def tokens(self) -> int:
        """Tokens spent or held by calls in flight (a call that failed keeps its worst
        case: the provider may have billed it)."""
        return sum(call.tokens for call in self.calls)

    def reserve(self, agent: AgentType, reservation: Reservation) -> int:
        with self.lock:
            return self._reserve(agent, reservation)

    def _reserve(self, agent: AgentType, reservation: Reservation) -> int:
        if self.budget is not None and self.tokens + reservation.tokens > self.budget:
            raise RunBudgetSpent(
                f"The build's token budget of {self.budget} spent: {self.tokens} used, and "
                f"the next model call could take up to {reservation.tokens} more. Give a "
                "larger --budget (or set UAB_LLM_RUN_TOKEN_BUDGET) to let it spend more.",
                limit="tokens_per_run",
                used=self.tokens,
                allowed=self.budget,
            )
        self.calls.append(_Call(agent, reservation.input_tokens, reservation.output_tokens))
        return len(self.calls) - 1

    def settle(
        self, ticket: int | None, agent: AgentType, call: CallRecord, status: GenerationStatus
    ) -> None:
        with self.lock:
            self._settle(ticket, agent, call, status)

    def _settle(
        self, ticket: int | None, agent: AgentType, call: CallRecord, status: GenerationStatus
    ) -> None:
        if ticket is None:  # not reserved here (cannot happen with ``observer``): kept all the same
            self.calls.append(_Call(agent, 0, 0))
            ticket = len(self.calls) - 1
        held = self.calls[ticket]
        held.status = status
        if status is GenerationStatus.COMPLETED or call.tokens:
            # a failed call with no usage reported keeps its worst case
            held.input_tokens, held.output_tokens = call.input_tokens, call.output_tokens
        held.cost_usd, held.duration_ms = call.cost, call.duration_ms

    def ledger(self) -> list[LedgerLine]:
        """Per agent, in the order they first called: the sum of their calls (as a run's)."""
        return ledger(self.calls)


class _AgentCalls:
    """One agent's view of the build's calls (the ``CallObserver`` its model is given)."""

    def __init__(self, calls: LocalCalls, agent: AgentType) -> None:
        self.calls = calls
        self.agent = agent

    def before(self, reservation: Reservation) -> str | None:
        return str(self.calls.reserve(self.agent, reservation))

    def after(self, call: CallRecord, ticket: str | None) -> None:
        self.calls.settle(_number(ticket), self.agent, call, GenerationStatus.COMPLETED)

    def failed(
        self,
        call: CallRecord,
        error: str,  # noqa: ARG002 - the error reaches the person through the build's failure
        *,
        cancelled: bool,
        ticket: str | None,
    ) -> None:
        status = GenerationStatus.CANCELLED if cancelled else GenerationStatus.FAILED
        self.calls.settle(_number(ticket), self.agent, call, status)


def _number(ticket: str | None) -> int | None:
    return None if ticket is None else int(ticket)
