"""The orchestrator's own rules: staged concurrency, path clashes and failing agents."""

from __future__ import annotations

import re
import threading
from dataclasses import replace

import pytest

from appbuilder.agents.base import AgentInput, AgentOutput, StepRecord
from appbuilder.agents.orchestrator import (
    Event,
    GenerationError,
    GenerationResult,
    Orchestrator,
    default_agents,
)
from appbuilder.enums import AgentType, GenerationStatus, ProjectTemplate
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve


def blog() -> tuple[object, object]:
    spec = build_spec(template=ProjectTemplate.BLOG)
    return spec, resolve(spec)


class Wrapped:
    """A real agent with something added before or after it runs."""

    def __init__(
        self,
        agent_type: AgentType,
        extra_files: dict[str, bytes] | None = None,
        fail: bool = False,
        barrier: threading.Barrier | None = None,
    ) -> None:
        self.agent_type = agent_type
        self.inner = default_agents()[agent_type]
        self.extra_files = extra_files or {}
        self.fail = fail
        self.barrier = barrier

    def run(self, task: AgentInput) -> AgentOutput:
        if self.barrier is not None:
            self.barrier.wait(timeout=10)  # both agents of a stage must run at once
        if self.fail:
            raise RuntimeError("model refused")
        output = self.inner.run(task)
        return replace(output, files={**output.files, **self.extra_files})


def test_agents_of_one_stage_run_concurrently() -> None:
    barrier = threading.Barrier(2)
    agents = {
        **default_agents(),
        AgentType.BACKEND: Wrapped(AgentType.BACKEND, barrier=barrier),
        AgentType.AUTH: Wrapped(AgentType.AUTH, barrier=barrier),
    }
    spec, model = blog()
    result = Orchestrator(agents).generate(spec, model, verify=False)  # type: ignore[arg-type]
    assert isinstance(result, GenerationResult)


def test_later_agents_see_what_earlier_agents_wrote() -> None:
    seen: dict[AgentType, set[AgentType]] = {}

    class Spy(Wrapped):
        def run(self, task: AgentInput) -> AgentOutput:
            seen[self.agent_type] = set(task.earlier)
            return super().run(task)

    agents = {t: Spy(t) for t in default_agents()}
    spec, model = blog()
    Orchestrator(agents).generate(spec, model, verify=False)  # type: ignore[arg-type]
    assert seen[AgentType.DATABASE] == set()
    assert seen[AgentType.FRONTEND] == {AgentType.DATABASE, AgentType.BACKEND, AgentType.AUTH}


def test_two_agents_writing_one_path_fail_the_run() -> None:
    agents = {**default_agents(), AgentType.AUTH: Wrapped(AgentType.AUTH, {"app/main.py": b"x\n"})}
    spec, model = blog()
    with pytest.raises(GenerationError, match=re.escape("both wrote 'app/main.py'")):
        Orchestrator(agents).generate(spec, model, verify=False)  # type: ignore[arg-type]


def test_an_unsafe_path_from_an_agent_fails_the_run() -> None:
    evil = Wrapped(AgentType.DEVOPS, {"../../etc/cron.d/evil": b"* * * * * root sh\n"})
    agents = {**default_agents(), AgentType.DEVOPS: evil}
    spec, model = blog()
    with pytest.raises(GenerationError, match="DEVOPS agent wrote an unsafe path") as raised:
        Orchestrator(agents).generate(spec, model, verify=False)  # type: ignore[arg-type]
    assert "../../etc/cron.d/evil" in raised.value.message
    # every agent's step was recorded and succeeded; the run failed at the merge, so the
    # orchestrator recorded no step of its own
    records = raised.value.records
    assert records[-1].agent is AgentType.DEVOPS
    assert {r.status for r in records} == {GenerationStatus.COMPLETED}
    assert AgentType.ORCHESTRATOR not in {r.agent for r in records}


def test_a_failing_agent_is_recorded_and_stops_the_run() -> None:
    events: list[Event] = []
    agents = {**default_agents(), AgentType.FRONTEND: Wrapped(AgentType.FRONTEND, fail=True)}
    spec, model = blog()
    with pytest.raises(
        GenerationError, match="FRONTEND agent failed: RuntimeError: model refused"
    ) as raised:
        Orchestrator(agents, on_event=events.append).generate(spec, model, verify=False)  # type: ignore[arg-type]
    records: list[StepRecord] = raised.value.records
    assert [r.agent for r in records] == [
        AgentType.DATABASE,
        AgentType.BACKEND,
        AgentType.AUTH,
        AgentType.FRONTEND,
    ]
    assert records[-1].status is GenerationStatus.FAILED
    assert ("agent_failed", AgentType.FRONTEND) in [(e.kind, e.agent) for e in events]
    assert AgentType.DEVOPS not in [e.agent for e in events]
