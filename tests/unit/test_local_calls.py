"""A local build's model calls: held to its budget before each call, summed per agent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from appbuilder.enums import AgentType
from appbuilder.errors import RunBudgetSpent
from appbuilder.llm.client import CallRecord, Reservation
from appbuilder.services.local_calls import LocalCalls


def _answer(input_tokens: int, output_tokens: int, cost: Decimal | None) -> CallRecord:
    return CallRecord("m", "sent", "answer", input_tokens, output_tokens, cost, 10)


def test_each_call_is_checked_at_its_worst_case_and_settled_at_its_usage() -> None:
    calls = LocalCalls(budget=10_000)
    planner = calls.observer(AgentType.ORCHESTRATOR)
    ticket = planner.before(Reservation("m", "sent", 1_000, 4_000))
    assert calls.tokens == 5_000  # held while the model answers
    planner.after(_answer(700, 90, Decimal("0.001")), ticket)
    assert calls.tokens == 790
    coder = calls.observer(AgentType.BACKEND)
    with pytest.raises(RunBudgetSpent, match="budget of 10000 spent: 790 used"):
        coder.before(Reservation("m", "sent", 2_000, 8_000))
    assert calls.tokens == 790  # a refused call holds nothing


def test_a_failed_call_without_usage_keeps_its_worst_case_and_costs_are_summed() -> None:
    calls = LocalCalls()
    coder = calls.observer(AgentType.BACKEND)
    coder.after(_answer(100, 50, Decimal("0.002")), coder.before(Reservation("m", "s", 1, 2)))
    coder.failed(
        _answer(0, 0, None),
        "timeout",
        cancelled=False,
        ticket=coder.before(Reservation("m", "s", 300, 400)),
    )
    seeder = calls.observer(AgentType.DATABASE)
    seeder.after(_answer(10, 5, None), seeder.before(Reservation("local", "s", 20, 30)))
    backend, database = calls.ledger()
    assert (backend.agent, backend.calls, backend.input_tokens, backend.output_tokens) == (
        AgentType.BACKEND,
        2,
        400,
        450,
    )
    assert backend.cost_usd == Decimal("0.002")
    assert (database.agent, database.tokens, database.cost_usd) == (AgentType.DATABASE, 15, None)
