"""DATABASE with a model: the template's files, plus realistic sample rows to try the app.

Opt-in (the spec's ``sample_data``). The model answers with data, never code: rows per
entity, judged by the spec's own value rules (``spec.sample_rows``) before they join the
app; what breaks a rule goes back to the model for another try, up to the configured
number of answers. The rows become ``app/sample_data.json``, which the app's ``make
seed`` loads through its own request models (checked again there) in one transaction.

The rows are kept in the step's record, so a resumed run replays them instead of asking
the model again. A row the app itself refuses as it loads them (a rule in words, checked by
the app's code, or a link to a row that is not there) fails the app's seed test, which
names the row: that failure goes back to this agent (``owns``/``repair``), bounded as every
repair is (agents/repairs.py).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic import Field as Described
from pydantic_ai import Agent
from pydantic_ai.exceptions import UnexpectedModelBehavior

from appbuilder.agents.base import AgentInput, AgentOutput, StepRecord, TemplateAgent
from appbuilder.agents.prompting import structured_agent
from appbuilder.agents.repairs import after_repair
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

#: how the app's seed names a row it refused (app/seed.py, shown by its failing test)
REFUSED = re.compile(r"Error: \w+ row \d+: .+?\. Nothing was added\.")
FIX = (
    "Answer every entity's rows again, in the same order (links count rows from 1), "
    "changing what the app refused so that every rule holds."
)

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
        #: how often the app's failing checks may come back for the model's rows
        self.repair_attempts = task.settings.repair_attempts

    def owns(self, output: AgentOutput, failure: str) -> bool:
        """The app refused one of the model's rows as it loaded them: the rows are the
        model's to change, whichever rule refused them."""
        return DATA_PATH in output.files and REFUSED.search(failure) is not None

    def repair(self, task: AgentInput, output: AgentOutput, failure: str) -> AgentOutput:
        """Ask again for the rows, with the ones the app refused and why."""
        started = time.perf_counter()
        refused = "\n".join(dict.fromkeys(REFUSED.findall(failure)))
        asked = (
            f"{request(task.model)}\n\nYour rows:\n{output.files[DATA_PATH].decode()}\n"
            f"The app refused them as it loaded them:\n{refused}\n\n{FIX}"
        )
        answer, calls = run_task(
            self._agent(), asked, self.task, deps=_Asked(task.model, self.attempts)
        )
        repaired = self._output(task, self.template.run(task), answer.as_rows(), calls, started)
        return after_repair(output, repaired)

    def _agent(self) -> Agent[_Asked, SampleData]:
        return structured_agent(
            SampleData,
            _Asked,
            _check,
            role="database",
            name="sample_data",
            attempts=self.attempts,
            max_tokens=MAX_OUTPUT_TOKENS,
        )

    def run(self, task: AgentInput) -> AgentOutput:
        started = time.perf_counter()
        output = self.template.run(task)
        agent = self._agent()
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
