"""DATABASE with a model: the template's files, plus realistic sample rows to try the app.

Opt-in (the spec's ``sample_data``). The model answers with data, never code: rows per
entity, judged by the spec's own value rules (``spec.sample_rows``) before they join the
app; what breaks a rule goes back to the model for another try, up to the configured
number of answers. The rows become ``app/sample_data.json``, which the app's ``make
seed`` loads through its own request models (checked again there) in one transaction.

The rows are kept in the step's record, so a resumed run replays them instead of asking
the model again.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic import Field as Described
from pydantic_ai.exceptions import UnexpectedModelBehavior

from appbuilder.agents.base import AgentInput, AgentOutput, StepRecord, TemplateAgent
from appbuilder.agents.prompting import structured_agent
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.errors import ModelCallError
from appbuilder.generator.files import manifest
from appbuilder.llm.calls import CallRecord, ModelRetry, RunContext, Task, Usage, run_task
from appbuilder.spec.resolved import AppEntity, AppField, AppModel
from appbuilder.spec.sample_rows import MAX_ROWS, row_problems, seeded, usable_rows

#: the most one answer may take: ten rows of each entity
MAX_OUTPUT_TOKENS = 8_000
DATA_PATH = "app/sample_data.json"
#: rows left out named in the step's warning (the rest counted)
MAX_LISTED = 5

Rows = dict[str, list[dict[str, Any]]]


class EntityRows(BaseModel):
    entity: str = Described(description="The entity's name as given, e.g. Task")
    rows: list[dict[str, Any]] = Described(description=f"1 to {MAX_ROWS} rows: field key -> value")


class SampleData(BaseModel):
    """Sample rows for every entity of the app."""

    entities: list[EntityRows]

    def as_rows(self) -> Rows:
        rows: Rows = {}
        for item in self.entities:
            rows.setdefault(item.entity, []).extend(item.rows)
        return rows


@dataclass
class _Asked:
    model: AppModel
    attempts: int
    #: the latest answer, kept in case no answer is right in every row
    last: Rows | None = None


def _check(context: RunContext[_Asked], answer: SampleData) -> SampleData:
    context.deps.last = answer.as_rows()
    problems = row_problems(context.deps.model, context.deps.last)
    if problems:
        again = "" if context.retry < context.deps.attempts - 1 else " again"
        raise ModelRetry(
            f"These rows were refused{again}:\n" + "\n".join(f"- {p}" for p in problems)
        )
    return answer


def _field(item: AppField) -> str:
    rules = [item.type.value, "required" if item.required and item.default is None else ""]
    rules += [f"one of {', '.join(item.values)}" if item.values else ""]
    rules += [f"min {item.minimum}" if item.minimum is not None else ""]
    rules += [f"max {item.maximum}" if item.maximum is not None else ""]
    rules += [f"max length {item.max_length}" if item.max_length else ""]
    rules += [f"min length {item.min_length}" if item.min_length else ""]
    rules += [f"pattern {item.pattern}" if item.pattern else ""]
    return f"  - {item.names.snake}: " + ", ".join(r for r in rules if r)


def _entity(entity: AppEntity) -> str:
    lines = [f"{entity.names.pascal} ({entity.names.plural_label})"]
    if entity.description:
        lines[0] += f": {entity.description}"
    lines += [_field(f) for f in entity.writable_fields]
    lines += [
        f"  - links: {link.names.snake} -> {link.target}" + (" (required)" if link.required else "")
        for link in entity.links
    ]
    # checked by the app's own code when the rows load (make seed and its test), not here
    lines += [f"  - rule: {rule}" for rule in entity.rules]
    return "\n".join(lines)


def request(model: AppModel) -> str:
    """What the model is told: the app and its entities' writable fields, nothing else."""
    about = f"App: {model.name}" + (f": {model.description}" if model.description else "")
    return about + "\n\nEntities, in order:\n" + "\n".join(_entity(e) for e in seeded(model))


class SeederAgent:
    """The DATABASE role: the template's files, and a model's sample rows."""

    agent_type = AgentType.DATABASE

    def __init__(self, task: Task, attempts: int = 3) -> None:
        self.template = TemplateAgent(AgentType.DATABASE)
        self.task = task
        self.attempts = attempts

    def run(self, task: AgentInput) -> AgentOutput:
        started = time.perf_counter()
        output = self.template.run(task)
        agent = structured_agent(
            SampleData,
            _Asked,
            _check,
            role="database",
            name="sample_data",
            attempts=self.attempts,
            max_tokens=MAX_OUTPUT_TOKENS,
        )
        asked = _Asked(task.model, self.attempts)
        try:
            answer, calls = run_task(agent, request(task.model), self.task, deps=asked)
        except ModelCallError as error:
            if not isinstance(error.__cause__, UnexpectedModelBehavior):
                raise  # the provider failed, not the answers
            rows, left_out = usable_rows(task.model, asked.last or {})
            if not rows:  # not one usable row in the last answer
                raise
            warning = (
                f"Sample data: the model's rows broke the app's rules in all {self.attempts} "
                f"answers; the app got the {sum(map(len, rows.values()))} rows that were "
                f"right, {len(left_out)} left out ("
                + "; ".join(_cut(item) for item in left_out[:MAX_LISTED])
                + ("; …" if len(left_out) > MAX_LISTED else "")
                + ")."
            )
            return self._output(task, output, rows, error.records, started, warning=warning)
        return self._output(task, output, answer.as_rows(), calls, started)

    def replay(self, task: AgentInput, record: StepRecord) -> AgentOutput:
        """A finished step of an earlier attempt: its rows from the record, no model call."""
        output = self.template.run(task)
        rows: Rows = json.loads(record.response).get("rows", {})
        return AgentOutput({**output.files, DATA_PATH: _data(rows)}, record, output.registrations)

    def _output(
        self,
        task: AgentInput,
        output: AgentOutput,
        rows: Rows,
        calls: list[CallRecord],
        started: float,
        *,
        warning: str | None = None,
    ) -> AgentOutput:
        files = {**output.files, DATA_PATH: _data(rows)}
        record = StepRecord(
            agent=self.agent_type,
            prompt=self.template.summary(task)
            + "".join(f"\n\n--- model call {n + 1}\n{c.prompt}" for n, c in enumerate(calls)),
            response=json.dumps({"files": manifest(files), "rows": rows}, separators=(",", ":")),
            status=GenerationStatus.COMPLETED,
            tokens_used=Usage.of(calls).tokens,
            duration_ms=round((time.perf_counter() - started) * 1000),
            error=warning,  # the step did its job, with less than was asked
        )
        return AgentOutput(files, record, output.registrations)


def _cut(text: str, most: int = 120) -> str:
    """One listed problem, short: it may quote a key the model made up."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _data(rows: Rows) -> bytes:
    """The rows as the app reads them: entity -> rows, in a stable, readable form."""
    return (json.dumps(rows, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode()
