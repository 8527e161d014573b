"""Which agent builds each part of an app: the template agents, and a model-backed agent
in each role the spec has words for (actions and rules: BACKEND; sample rows: DATABASE;
home page words: FRONTEND). A spec that needs a model and meets none fails here, before
any step runs, with the setting to set."""

from __future__ import annotations

import threading
from collections.abc import Callable

from appbuilder.agents.base import Agent
from appbuilder.agents.coder import CoderAgent
from appbuilder.agents.copywriter import CopywriterAgent
from appbuilder.agents.orchestrator import default_agents
from appbuilder.agents.seeder import SeederAgent
from appbuilder.enums import AgentType
from appbuilder.errors import ModelNotConfiguredError
from appbuilder.llm.calls import CallObserver, Task
from appbuilder.llm.config import default_choice, is_configured
from appbuilder.settings import LLMSettings
from appbuilder.spec.model import AppSpec


def needs_model(spec: AppSpec) -> bool:
    """Whether building ``spec`` asks a model (see ``needs_a_model``)."""
    return bool(needs_a_model(spec))


def agents_for(
    spec: AppSpec,
    llm: LLMSettings | None,
    *,
    model: str | None = None,
    observer: Callable[[AgentType], CallObserver] | None = None,
    cancel: threading.Event | None = None,
) -> dict[AgentType, Agent]:
    """The template agents, with a model (``model`` at the configured provider, else its
    default: a project's own pick) writing what the spec says in words (its entities'
    actions and rules), and its sample rows and home page words when asked for;
    ``ModelNotConfiguredError`` names the setting when such a spec meets no model (``llm``
    missing, or naming no provider).

    ``observer`` gives each model-backed agent what is told of its calls (a run's ledger,
    budget and quota); ``cancel`` abandons a call in flight when set."""
    agents = default_agents()
    needs = needs_a_model(spec)
    if not needs:
        return agents
    if llm is None or not is_configured(llm):
        raise ModelNotConfiguredError(
            f"This spec has {' and '.join(needs)}, which a language model writes: "
            "set UAB_LLM_PROVIDER and UAB_LLM_MODEL."
        )
    choice = default_choice(llm).with_model(model)

    def task(role: AgentType) -> Task:
        watch = observer(role) if observer is not None else None
        return Task(choice, llm, observer=watch, cancel=cancel)

    if any(e.actions or e.rules for e in spec.entities):
        agents[AgentType.BACKEND] = CoderAgent(task(AgentType.BACKEND))
    if spec.sample_data:
        agents[AgentType.DATABASE] = SeederAgent(task(AgentType.DATABASE))
    if spec.page_copy and spec.pages:
        agents[AgentType.FRONTEND] = CopywriterAgent(task(AgentType.FRONTEND))
    return agents


def needs_a_model(spec: AppSpec) -> list[str]:
    """What of the spec only a model can write, as a person would name it."""
    needs = [
        f"{kind} written in words"
        for kind in ("actions", "rules")
        if any(getattr(e, kind) for e in spec.entities)
    ]
    needs += ["sample data"] if spec.sample_data else []
    return [*needs, "page copy"] if spec.page_copy and spec.pages else needs
