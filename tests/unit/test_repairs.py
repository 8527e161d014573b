"""Which agent a failing check goes back to, and when repairing stops."""

from __future__ import annotations

from dataclasses import dataclass

from appbuilder.agents.base import AgentInput, AgentOutput, StepRecord
from appbuilder.agents.repairs import Repairs
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.generator.verify import CheckResult, Verification

SEED_REFUSED = (
    "FAILED tests/test_seed.py\nError: Event row 2: end_date: too early. Nothing was added."
)


@dataclass
class Owner:
    """A repairer that owns failures holding ``marker``."""

    marker: str
    repair_attempts: int = 3

    def owns(self, output: AgentOutput, failure: str) -> bool:  # noqa: ARG002 - the protocol's
        return self.marker in failure

    def repair(self, task: AgentInput, output: AgentOutput, failure: str) -> AgentOutput:  # noqa: ARG002
        return output


def failing(output: str) -> Verification:
    check = CheckResult("pytest", passed=False, duration_ms=1, output=output)
    return Verification(False, (check,), 0, 1, 1, network_isolated=True)


def output(agent: AgentType) -> AgentOutput:
    record = StepRecord(agent, "", "{}", GenerationStatus.COMPLETED, 0, 0)
    return AgentOutput({}, record)


OUTPUTS = {kind: output(kind) for kind in (AgentType.DATABASE, AgentType.BACKEND)}


def test_a_failure_two_agents_own_goes_to_the_second_once_the_first_is_stuck() -> None:
    """A wrong rule refuses a sample row: the seeder is asked first; its new rows fail the
    same way, so the rules' author is asked next, before repairing stops as stuck."""
    repairs = Repairs(
        [(AgentType.DATABASE, Owner("Nothing was added")), (AgentType.BACKEND, Owner("Error"))]
    )
    asked = [repairs.next_failure(failing(SEED_REFUSED), OUTPUTS) for _ in range(3)]
    assert [a[0] if a else None for a in asked] == [AgentType.DATABASE, AgentType.BACKEND, None]
    assert (repairs.stopped or "").startswith("stuck:")
    assert repairs.done == {AgentType.DATABASE: 1, AgentType.BACKEND: 1}


def test_each_agent_has_its_own_number_of_repairs() -> None:
    repairs = Repairs([(AgentType.DATABASE, Owner("row", repair_attempts=1))])
    first = repairs.next_failure(failing("Error: Event row 1: x. Nothing was added."), OUTPUTS)
    assert first is not None
    assert (
        repairs.next_failure(failing("Error: Task row 9: y. Nothing was added."), OUTPUTS) is None
    )
    assert repairs.stopped == (
        "the model had 1 try to fix its rows (UAB_LLM_REPAIR_ATTEMPTS) and the app still fails"
    )


def test_a_failure_no_agent_owns_is_not_sent_back() -> None:
    repairs = Repairs([(AgentType.BACKEND, Owner("app/custom/"))])
    assert repairs.next_failure(failing("FAILED tests/test_health.py"), OUTPUTS) is None
    assert "template's code" in (repairs.stopped or "")
