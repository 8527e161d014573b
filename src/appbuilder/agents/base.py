"""The interface every agent implements, template-driven today and LLM-driven later.

An agent gets the spec, the plan and what earlier agents wrote, and returns the files it
owns, the registrations it hands to the assembly step (a router to include, ...) and a
record of its step. The record has what a Generation row stores, so a job can persist it
as it is; ``tokens_used`` is 0 for template steps and counted for LLM ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.generator.files import FileTree, manifest
from appbuilder.generator.render import render
from appbuilder.spec.model import AppSpec
from appbuilder.spec.resolved import AppModel
from appbuilder.stacks.base import Registration, Render
from appbuilder.stacks.registry import stack_for

__all__ = [
    "Agent",
    "AgentInput",
    "AgentOutput",
    "Plan",
    "Registration",
    "Render",
    "StepRecord",
    "TemplateAgent",
]


@dataclass(frozen=True)
class Plan:
    """Which agents run, in stages: agents of one stage depend only on earlier stages."""

    stages: tuple[tuple[AgentType, ...], ...]
    reasons: Mapping[AgentType, str]

    @property
    def agents(self) -> tuple[AgentType, ...]:
        return tuple(agent for stage in self.stages for agent in stage)


@dataclass(frozen=True)
class AgentInput:
    spec: AppSpec
    model: AppModel
    plan: Plan
    #: the files of the agents this one depends on (``orchestrator.DEPENDS_ON``): what an
    #: LLM agent reads to fit its code to theirs; template agents need only the model
    earlier: Mapping[AgentType, FileTree] = field(default_factory=dict)


@dataclass(frozen=True)
class StepRecord:
    """One agent step, shaped like a Generation row."""

    agent: AgentType
    prompt: str
    response: str
    status: GenerationStatus
    tokens_used: int
    duration_ms: int
    error: str | None = None

    @classmethod
    def failed(cls, agent: AgentType, prompt: str, error: str, duration_ms: int = 0) -> StepRecord:
        return cls(agent, prompt, "", GenerationStatus.FAILED, 0, duration_ms, error)


@dataclass(frozen=True)
class AgentOutput:
    files: FileTree
    record: StepRecord
    #: what the assembly step writes out for this agent (``app/main.py`` includes its routers)
    registrations: tuple[Registration, ...] = ()


class Agent(Protocol):
    agent_type: AgentType

    def run(self, task: AgentInput) -> AgentOutput: ...


class TemplateAgent:
    """An agent whose step is rendering what its stack says the role contributes."""

    def __init__(self, agent_type: AgentType) -> None:
        self.agent_type = agent_type

    def summary(self, task: AgentInput) -> str:
        """The step's input, summarised: what this agent was asked to build."""
        model = task.model
        entities = ", ".join(e.names.pascal for e in model.entities)
        features = ", ".join(sorted(model.features)) or "none"
        return (
            f"{self.agent_type.value} for {model.name!r} ({model.template.value}, "
            f"stack {task.spec.stack}); entities: {entities}; features: {features}; "
            f"spec {model.spec_hash[:12]}"
        )

    def run(self, task: AgentInput) -> AgentOutput:
        started = time.perf_counter()
        base = {"app": task.model, "spec": task.spec}
        contribution = stack_for(task.model.stack).contribution(self.agent_type, task.model)
        files: dict[str, bytes] = {}
        for item in contribution.files:
            files[item.path] = render(task.model.stack, item.template, {**base, **item.extra})
        record = StepRecord(
            agent=self.agent_type,
            prompt=self.summary(task),
            response=json.dumps({"files": manifest(files)}, separators=(",", ":")),
            status=GenerationStatus.COMPLETED,
            tokens_used=0,
            duration_ms=round((time.perf_counter() - started) * 1000),
        )
        return AgentOutput(files, record, contribution.registrations)
