"""Bounded repair: when the app's checks fail on what a model wrote (code, or sample rows),
the failure goes back to the agent that wrote it, and the app is checked again.

It stops, with the app's last failure standing, after the agent's number of repairs,
when the failure is not in the model's code (the skeleton is ours to fix, not the
model's), when the same failure comes back twice in a row (stuck: another try would
only spend tokens), or when the repair's model call is refused (the run's token budget or
the month's quota spent, the provider failing). Users of other builders burn credits in
unbounded fix loops; this one cannot. ``stopped`` says why, in words the run's owner reads.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Protocol, runtime_checkable

from appbuilder.agents.base import AgentInput, AgentOutput
from appbuilder.enums import AgentType
from appbuilder.generator.verify import Verification

#: what of a failure goes back to the model: its last part, where the errors are
MAX_FAILURE_CHARS = 6_000
#: what differs between two runs of the same failure: the scratch folder, addresses, numbers
_NOISE = re.compile(r"\S*uab-verify-\S*|0x[0-9a-f]+|\d+(\.\d+)?")
#: the lines that say what failed (the rest is context that varies from run to run)
_VERDICT = re.compile(r"FAILED|ERROR|Error|error:|assert")


@runtime_checkable
class Repairer(Protocol):
    repair_attempts: int

    def owns(self, output: AgentOutput, failure: str) -> bool:
        """Whether ``failure`` is in what this agent's model wrote."""

    def repair(self, task: AgentInput, output: AgentOutput, failure: str) -> AgentOutput:
        """The step's output again, with the model's files fixed for ``failure``."""


def after_repair(before: AgentOutput, repaired: AgentOutput) -> AgentOutput:
    """``repaired``, its record carrying the step's whole cost: the first answer's prompt,
    tokens and time, then the repair's (the ledger bills the step once)."""
    record = replace(
        repaired.record,
        prompt=f"{before.record.prompt}\n\n--- repair\n{repaired.record.prompt}",
        tokens_used=before.record.tokens_used + repaired.record.tokens_used,
        duration_ms=before.record.duration_ms + repaired.record.duration_ms,
    )
    return replace(repaired, record=record)


def trimmed(failure: str) -> str:
    return failure if len(failure) <= MAX_FAILURE_CHARS else "…" + failure[-MAX_FAILURE_CHARS:]


def fingerprint(failure: str) -> str:
    """What failed, without timings, addresses and scratch paths: the same failure twice
    reads the same."""
    verdicts = [line for line in failure.splitlines() if _VERDICT.search(line)]
    return _NOISE.sub("#", "\n".join(verdicts))


class Repairs:
    """The repair attempts of one build. A failure goes to the first agent, in the order
    given, that owns it; each agent has its own number of repairs."""

    def __init__(self, agents: Iterable[tuple[AgentType, object]]) -> None:
        self.agents = {kind: agent for kind, agent in agents if isinstance(agent, Repairer)}
        self.done: Counter[AgentType] = Counter()
        #: each agent's last failure sent back (stuck: the same again after its fix)
        self._last: dict[AgentType, str] = {}
        #: why repairing stopped (None: it did not start, or the app passed)
        self.stopped: str | None = None

    def next_failure(
        self, verification: Verification, outputs: Mapping[AgentType, AgentOutput]
    ) -> tuple[AgentType, str] | None:
        """The agent to send the failure back to, and the failure; None when the build
        should stop repairing. Of the agents that own it, in order, the first with tries
        left that did not just fail to fix this same failure: a seed test failing on rows
        a wrong rule refuses goes to the seeder, then, when its rows did not help, to the
        rules' author."""
        if verification.passed or not self.agents:
            return None
        failure = trimmed(verification.failing_output)
        key = fingerprint(failure)
        owners = [
            kind
            for kind, agent in self.agents.items()
            if kind in outputs and agent.owns(outputs[kind], failure)
        ]
        for owner in owners:
            if self.done[owner] < self.agents[owner].repair_attempts and (
                self._last.get(owner) != key
            ):
                self._last[owner] = key
                self.done[owner] += 1
                return owner, failure
        self.stopped = self._why_not(owners, key)
        return None

    def _why_not(self, owners: list[AgentType], key: str) -> str:
        if not owners:
            return (
                "the failure is in the template's code, not the model's, so the model was "
                "not asked to fix it"
            )
        if any(self._last.get(owner) == key for owner in owners):
            return (
                "stuck: the model's fix failed the same way as before, so another try would "
                "only spend tokens"
            )
        owner = owners[0]
        limit = self.agents[owner].repair_attempts
        return (
            f"the model had {limit} tr{'y' if limit == 1 else 'ies'} to fix "
            f"its {'rows' if owner is AgentType.DATABASE else 'code'} "
            "(UAB_LLM_REPAIR_ATTEMPTS) and the app still fails"
        )

    def stop(self, reason: str) -> None:
        """No more repairs: the repair's model call was refused or failed (``reason``)."""
        self.stopped = reason

    def repair(
        self, owner: AgentType, task: AgentInput, output: AgentOutput, failure: str
    ) -> AgentOutput:
        return self.agents[owner].repair(task, output, failure)
