"""ORCHESTRATOR with a model: a person's words become an app spec, checked by our rules.

The model answers through a tool whose schema is the AppSpec itself; every answer is
merged with its template and validated exactly as a spec file would be, and the problems
go back to the model for another try, up to the configured number of answers. What is
still wrong after the last one is returned with the spec, never hidden, so the person
(or the caller) decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from appbuilder.agents.prompting import structured_agent
from appbuilder.enums import ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.llm.calls import CallRecord, ModelRetry, RunContext, Task, Usage, run_task
from appbuilder.spec.diff import SpecDiff, diff_specs
from appbuilder.spec.loading import build_spec
from appbuilder.spec.model import AppSpec
from appbuilder.spec.problems import Problem
from appbuilder.spec.validation import resolve

#: the most a planning answer may take: a cost bound (and the quota's reservation per call)
PLAN_MAX_OUTPUT_TOKENS = 8_000


@dataclass(frozen=True)
class PlanResult:
    """The planned spec as a person would write it, what is still wrong, what it cost, and
    for a change request what it changes (``None`` when planned anew)."""

    spec: dict[str, Any]
    problems: list[Problem]
    calls: list[CallRecord] = field(default_factory=list)
    diff: SpecDiff | None = None

    @property
    def usage(self) -> Usage:
        return Usage.of(self.calls)

    @property
    def valid(self) -> bool:
        return not self.problems


def _problems_of(data: dict[str, Any], template: ProjectTemplate | None) -> list[Problem]:
    try:
        resolve(build_spec(data, template=template))
    except SpecError as error:
        return [Problem(*p) for p in error.problems]
    return []


def _request(words: str, template: ProjectTemplate | None, current: AppSpec | None) -> str:
    parts = [f"Template: {template.value}" if template else "Template: none (CUSTOM)"]
    if current is not None:
        # compact JSON, the shape the answer takes: ~28 % fewer tokens than a Python repr
        spec = json.dumps(
            current.model_dump(mode="json", exclude_defaults=True),
            ensure_ascii=False,
            separators=(",", ":"),
        )
        parts.append(f"The current spec, to change as asked (keep the rest):\n{spec}")
    parts.append(f"The person's words:\n{words}")
    return "\n\n".join(parts)


@dataclass
class _Asked:
    """One planning task's words and template, and the problems of its latest answer."""

    words: str
    template: ProjectTemplate | None
    attempts: int
    problems: list[Problem] = field(default_factory=list)


def _check(context: RunContext[_Asked], answer: AppSpec) -> AppSpec:
    """Our rules judge every answer; their problems go back for another try, if any is left."""
    asked = context.deps
    asked.problems = _problems_of(_as_written(answer, asked.words), asked.template)
    if asked.problems and context.retry < asked.attempts - 1:
        raise ModelRetry(
            "The spec has these problems; fix them and answer again:\n"
            + "\n".join(f"- {p.path}: {p.message} [{p.rule}]" for p in asked.problems)
        )
    return answer


def plan_from_words(
    words: str,
    task: Task,
    *,
    template: ProjectTemplate | None = None,
    current: AppSpec | None = None,
) -> PlanResult:
    """Words (and a template, or the current spec to change) -> a checked spec."""
    asked = _Asked(words, template, task.settings.plan_attempts)
    agent = structured_agent(
        AppSpec,
        _Asked,
        _check,
        role="orchestrator",
        name="plan",
        attempts=asked.attempts,
        max_tokens=PLAN_MAX_OUTPUT_TOKENS,
    )
    answer, calls = run_task(agent, _request(words, template, current), task, deps=asked)
    planned = _as_written(answer, words)
    return PlanResult(planned, asked.problems, calls, _diff(current, planned, template))


def _diff(
    current: AppSpec | None, planned: dict[str, Any], template: ProjectTemplate | None
) -> SpecDiff | None:
    """The change from the current spec to the plan, both whole (presets merged)."""
    if current is None:
        return None
    before = _whole(current.model_dump(mode="json", exclude_defaults=True), template)
    after = _whole(planned, template)
    return diff_specs(before or current, after) if after is not None else None


def _whole(data: dict[str, Any], template: ProjectTemplate | None) -> AppSpec | None:
    """A spec with its template's preset merged; as written when they conflict (the
    problems say so), ``None`` when it is no spec at all."""
    try:
        return build_spec(data, template=template)
    except SpecError:
        try:
            return AppSpec.model_validate(data)
        except ValueError:
            return None


def _as_written(answer: AppSpec, words: str) -> dict[str, Any]:
    """The spec as a person would write it: only what differs from the defaults, with the
    words kept as its ``prompt`` (so a later change request knows what was asked)."""
    data = answer.model_dump(mode="json", exclude_defaults=True)
    data["prompt"] = words
    return data
