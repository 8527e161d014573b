"""What every model-backed agent shares: its prompt files, and a structured-output agent
built once per shape (building one, with its output schema, takes ~25 ms; it holds no
state of a task, and the model is given per run)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.resources import files
from typing import TypeVar

from pydantic_ai import Agent, RunContext

#: the package holding ``prompts/<role>/<name>.md``
AGENTS_PACKAGE = "appbuilder.agents"

D = TypeVar("D")
T = TypeVar("T")


@cache
def prompt(role: str, name: str) -> str:
    """A prompt file of an agent role (``prompts/<role>/<name>.md``), shipped with the package."""
    return (files(AGENTS_PACKAGE) / "prompts" / role / f"{name}.md").read_text(encoding="utf-8")


@cache
def structured_agent(
    output_type: type[T],
    deps_type: type[D],
    check: Callable[[RunContext[D], T], T],
    *,
    role: str,
    name: str,
    attempts: int,
    max_tokens: int,
) -> Agent[D, T]:
    """An agent answering ``output_type``, each answer judged by ``check`` (which raises
    ``ModelRetry`` to send problems back), at most ``attempts`` answers of ``max_tokens``."""
    agent: Agent[D, T] = Agent(
        output_type=output_type,
        deps_type=deps_type,
        instructions=prompt(role, name),
        retries={"output": attempts - 1},
        model_settings={"max_tokens": max_tokens},
    )
    agent.output_validator(check)
    return agent


__all__ = ["prompt", "structured_agent"]
