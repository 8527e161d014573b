"""Planning with a language model: check the model, turn words into a spec.

The command line and the API reach the planner and the model client only through these
functions; without a configured model each raises ``ModelNotConfiguredError`` naming the
setting to set, before any call is attempted.
"""

from __future__ import annotations

from appbuilder.agents.planner import PlanResult, plan_from_words
from appbuilder.enums import ProjectTemplate
from appbuilder.llm.calls import CallObserver, CallRecord, Task, Usage, check
from appbuilder.llm.client import BeforeCall
from appbuilder.llm.config import ModelChoice, default_choice
from appbuilder.settings import LLMSettings
from appbuilder.spec.model import AppSpec

__all__ = ["CallRecord", "ModelChoice", "PlanResult", "Usage", "check_model", "plan", "task_for"]


def task_for(
    settings: LLMSettings,
    *,
    model: str | None = None,
    before_call: BeforeCall | None = None,
    choice: ModelChoice | None = None,
    observer: CallObserver | None = None,
) -> Task:
    """``choice`` (a user's own model) or the platform's, with ``model`` at the same
    provider instead of its default, ready to call (``observer``: the ledger told of each
    call)."""
    chosen = choice if choice is not None else default_choice(settings)
    return Task(chosen.with_model(model), settings, before_call, observer)


def check_model(
    settings: LLMSettings, *, model: str | None = None
) -> tuple[Task, str, list[CallRecord]]:
    """One tiny call to the configured model: its answer and the call's record."""
    task = task_for(settings, model=model)
    answer, records = check(task)
    return task, answer, records


def plan(
    words: str,
    settings: LLMSettings,
    *,
    template: ProjectTemplate | None = None,
    current: AppSpec | None = None,
    model: str | None = None,
    before_call: BeforeCall | None = None,
    choice: ModelChoice | None = None,
    observer: CallObserver | None = None,
) -> PlanResult:
    """Words -> a spec checked by every rule, with what is still wrong and what it cost."""
    task = task_for(
        settings, model=model, before_call=before_call, choice=choice, observer=observer
    )
    return plan_from_words(words, task, template=template, current=current)
