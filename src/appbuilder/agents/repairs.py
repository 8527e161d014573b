"""Bounded repair: when the app's checks fail in code a model wrote, the failure goes back
to the agent that wrote it, and the app is checked again.

It stops, with the app's last failure standing, after the agent's number of repairs,
when the failure is not in the model's code (the skeleton is ours to fix, not the
model's), when the same failure comes back twice in a row (stuck: another try would
only spend tokens), or when the repair's model call is refused (the run's token budget or
the month's quota spent, the provider failing). Users of other builders burn credits in
unbounded fix loops; this one cannot. ``stopped`` says why, in words the run's owner reads.
"""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

from appbuilder.agents.base import AgentInput, AgentOutput
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
        """Whether ``failure`` is in files this agent's model wrote."""

    def repair(self, task: AgentInput, output: AgentOutput, failure: str) -> AgentOutput:
        """The step's output again, with the model's files fixed for ``failure``."""


def trimmed(failure: str) -> str:
    return failure if len(failure) <= MAX_FAILURE_CHARS else "…" + failure[-MAX_FAILURE_CHARS:]


def fingerprint(failure: str) -> str:
    """What failed, without timings, addresses and scratch paths: the same failure twice
    reads the same."""
    verdicts = [line for line in failure.splitlines() if _VERDICT.search(line)]
    return _NOISE.sub("#", "\n".join(verdicts))


class Repairs:
    """The repair attempts of one build, for one agent."""

    def __init__(self, agent: object) -> None:
        self.agent = agent if isinstance(agent, Repairer) else None
        self.limit = self.agent.repair_attempts if self.agent is not None else 0
        self.done = 0
        self._last: str | None = None
        #: why repairing stopped (None: it did not start, or the app passed)
        self.stopped: str | None = None

    def next_failure(self, verification: Verification, output: AgentOutput) -> str | None:
        """The failure to send back, or None when the build should stop repairing."""
        if verification.passed or self.agent is None:
            return None
        failure = trimmed(verification.failing_output)
        key = fingerprint(failure)
        if not self.agent.owns(output, failure):
            self.stopped = (
                "the failure is in the template's code, not the model's, so the model was "
                "not asked to fix it"
            )
        elif self.done >= self.limit:
            self.stopped = (
                f"the model had {self.limit} tr{'y' if self.limit == 1 else 'ies'} to fix "
                "its code (UAB_LLM_REPAIR_ATTEMPTS) and the app still fails"
            )
        elif key == self._last:
            self.stopped = (
                "stuck: the model's fix failed the same way as before, so another try would "
                "only spend tokens"
            )
        else:
            self._last = key
            self.done += 1
            return failure
        return None

    def stop(self, reason: str) -> None:
        """No more repairs: the repair's model call was refused or failed (``reason``)."""
        self.stopped = reason

    def repair(self, task: AgentInput, output: AgentOutput, failure: str) -> AgentOutput:
        assert self.agent is not None  # noqa: S101 - next_failure returned a failure
        return self.agent.repair(task, output, failure)
