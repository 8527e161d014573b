"""FRONTEND with a model: the template's pages, with the home page's words written for the
app (opt-in: the spec's ``page_copy``).

The model answers with text, never markup: a headline and an introduction, each
length-capped and checked for text no database or page should hold (NUL, unpaired
surrogates, control characters); what breaks a rule goes back to the model, a bounded
number of times. The template escapes both (``html_text``, braces included, since the
page is itself a template the app renders), so the words can only ever be words.

The words are kept in the step's record, so a resumed run replays them.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from pydantic import BaseModel
from pydantic import Field as Described

from appbuilder.agents.base import AgentInput, AgentOutput, StepRecord, TemplateAgent
from appbuilder.agents.prompting import structured_agent
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.generator.files import manifest
from appbuilder.generator.render import render
from appbuilder.llm.calls import ModelRetry, RunContext, Task, Usage, run_task
from appbuilder.rules import text_problem

MAX_HEADLINE = 80
MAX_INTRO = 400
MAX_OUTPUT_TOKENS = 400
HOME = ("frontend/home.html.jinja", "app/templates/home.html")


class PageCopy(BaseModel):
    """The home page's words."""

    headline: str = Described(description=f"At most {MAX_HEADLINE} characters")
    intro: str = Described(description=f"One or two sentences, at most {MAX_INTRO} characters")


def copy_problems(copy: PageCopy) -> list[str]:
    """What keeps the words off the page: empty, too long, or text a page can't hold."""
    problems = []
    for name, text, longest in (
        ("headline", copy.headline, MAX_HEADLINE),
        ("intro", copy.intro, MAX_INTRO),
    ):
        if not text.strip():
            problems.append(f"{name}: empty")
        elif len(text) > longest:
            problems.append(f"{name}: {len(text)} characters; at most {longest}")
        elif (problem := text_problem(text)) or any(ord(c) < 32 and c not in "\n" for c in text):
            problems.append(f"{name}: {problem or 'must not contain control characters'}")
    return problems


@dataclass
class _Asked:
    attempts: int


def _check(context: RunContext[_Asked], answer: PageCopy) -> PageCopy:
    problems = copy_problems(answer)
    if problems:
        again = "" if context.retry < context.deps.attempts - 1 else " again"
        raise ModelRetry(f"The text was refused{again}:\n" + "\n".join(f"- {p}" for p in problems))
    return answer


def request(task: AgentInput) -> str:
    """Only what the words are about: the app's name, description and entities."""
    model = task.model
    entities = ", ".join(e.names.plural_label for e in model.entities)
    return f"App: {model.name}\nDescription: {model.description or '(none)'}\nIt keeps: {entities}"


class CopywriterAgent:
    """The FRONTEND role: the template's pages, the home page's words from a model."""

    agent_type = AgentType.FRONTEND

    def __init__(self, task: Task, attempts: int = 3) -> None:
        self.template = TemplateAgent(AgentType.FRONTEND)
        self.task = task
        self.attempts = attempts

    def run(self, task: AgentInput) -> AgentOutput:
        started = time.perf_counter()
        agent = structured_agent(
            PageCopy,
            _Asked,
            _check,
            role="frontend",
            name="page_copy",
            attempts=self.attempts,
            max_tokens=MAX_OUTPUT_TOKENS,
        )
        copy, calls = run_task(agent, request(task), self.task, deps=_Asked(self.attempts))
        output = self._with_copy(task, copy)
        record = StepRecord(
            agent=self.agent_type,
            prompt=self.template.summary(task)
            + "".join(f"\n\n--- model call {n + 1}\n{c.prompt}" for n, c in enumerate(calls)),
            response=json.dumps(
                {"files": manifest(output.files), "copy": copy.model_dump()},
                separators=(",", ":"),
            ),
            status=GenerationStatus.COMPLETED,
            tokens_used=Usage.of(calls).tokens,
            duration_ms=round((time.perf_counter() - started) * 1000),
        )
        return AgentOutput(output.files, record, output.registrations)

    def replay(self, task: AgentInput, record: StepRecord) -> AgentOutput:
        """A finished step of an earlier attempt: its words from the record, no model call."""
        copy = PageCopy.model_validate(json.loads(record.response)["copy"])
        output = self._with_copy(task, copy)
        return AgentOutput(output.files, record, output.registrations)

    def _with_copy(self, task: AgentInput, copy: PageCopy) -> AgentOutput:
        output = self.template.run(task)
        template, path = HOME
        context = {"app": task.model, "spec": task.spec, "copy": copy}
        files = {**output.files, path: render(task.model.stack, template, context)}
        return AgentOutput(files, output.record, output.registrations)
