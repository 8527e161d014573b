"""Running one model task: the call, its records, and errors a person can act on.

Provider failures arrive as pydantic-ai's exception categories; each becomes a
``ModelCallError`` whose message says what happened and what to check, never a stack
trace or a provider's raw body. The calls made before a failure are kept on the error
(``records``), so the tokens they spent are accounted for too.

A task given a ``cancel`` event stops within a fraction of a second of it being set, even
while the model is answering: the request is abandoned and ``RunCancelled`` raised.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from pydantic_ai import Agent, ModelRetry, RunContext
from pydantic_ai import exceptions as ai

from appbuilder.errors import ModelCallError, RunCancelled
from appbuilder.llm import lanes
from appbuilder.llm.client import (
    BeforeCall,
    CallObserver,
    CallRecord,
    RecordingModel,
    Reservation,
    records_of,
)
from appbuilder.llm.config import ModelChoice
from appbuilder.llm.prices import cost_of, load_prices
from appbuilder.settings import LLMSettings

__all__ = [
    "CallObserver",
    "CallRecord",
    "ModelRetry",
    "Reservation",
    "RunContext",
    "Task",
    "Usage",
    "check",
    "run_task",
]

T = TypeVar("T")
D = TypeVar("D")

#: how often a call in flight looks at its task's cancel event
CANCEL_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Task:
    """What one model task needs besides its words: where, how often, at what price."""

    choice: ModelChoice
    settings: LLMSettings
    before_call: BeforeCall | None = None
    #: told of every request as it happens (a run's ledger, budget and quota)
    observer: CallObserver | None = None
    #: set to abandon the task, a request in flight included
    cancel: threading.Event | None = None


@dataclass(frozen=True)
class Usage:
    """The sum of some calls; ``cost`` is None when any call's price is unknown."""

    calls: int
    input_tokens: int
    output_tokens: int
    cost: Decimal | None

    @classmethod
    def of(cls, records: Sequence[CallRecord]) -> Usage:
        costs = [r.cost for r in records if r.cost is not None]
        known = sum(costs, Decimal(0)) if len(costs) == len(records) else None
        return cls(
            calls=len(records),
            input_tokens=sum(r.input_tokens for r in records),
            output_tokens=sum(r.output_tokens for r in records),
            cost=known,
        )

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


def run_task(agent: Agent[D, T], prompt: str, task: Task, *, deps: D) -> tuple[T, list[CallRecord]]:
    """Run ``agent`` on ``prompt`` with ``task``'s model; every call it made comes back.

    The task runs in the calling thread, on that thread's event loop and SDK clients
    (``lanes``), which outlive the task: building them anew cost more than a call."""
    return lanes.run(_run(agent, prompt, task, deps))


async def _run(agent: Agent[D, T], prompt: str, task: Task, deps: D) -> tuple[T, list[CallRecord]]:
    wrapped = await lanes.lane().model(task.choice)
    overrides = load_prices(task.settings.prices_file)

    def priced(name: str, input_tokens: int, output_tokens: int, known: Any) -> Decimal | None:
        return cost_of(name, input_tokens, output_tokens, known, overrides)

    model = RecordingModel(wrapped, task.before_call, task.observer, priced)
    try:
        with Agent.using_thread_executor(lanes.helpers()):
            result = await _unless_cancelled(agent.run(prompt, model=model, deps=deps), task.cancel)
    except ai.AgentRunError as error:
        raise ModelCallError(_explain(error, task.choice), records_of(model, priced)) from error
    return result.output, records_of(model, priced)


async def _unless_cancelled(work: Coroutine[Any, Any, T], cancel: threading.Event | None) -> T:
    """``work``'s result, unless ``cancel`` is set first: then it is abandoned (a request
    in flight included) and ``RunCancelled`` raised."""
    if cancel is None:
        return await work
    job = asyncio.ensure_future(work)
    while not job.done():
        if cancel.is_set():
            job.cancel()
            await asyncio.wait({job})
            if not job.cancelled():
                job.exception()  # retrieved: it ended on its own meanwhile, and is dropped
            raise RunCancelled("The run was cancelled.")
        await asyncio.wait({job}, timeout=CANCEL_POLL_SECONDS)
    return job.result()


#: per failure, most specific first: what a person reads (``{where}``, ``{choice}`` filled in)
_EXPLANATIONS: tuple[tuple[type[ai.AgentRunError], str], ...] = (
    (ai.ModelAuthenticationError, "{where} refused the API key: check UAB_LLM_API_KEY."),
    (ai.ModelNotFoundError, "{where} has no model {choice.model!r}: check UAB_LLM_MODEL."),
    (
        ai.ModelTimeoutError,
        "{where} did not answer within {choice.timeout_seconds:g} s ({choice.max_retries} "
        "retries): try again, or raise UAB_LLM_TIMEOUT_SECONDS.",
    ),
    (
        ai.ModelConnectionError,
        "{where} could not be reached: check UAB_LLM_BASE_URL and the network.",
    ),
    (
        ai.ModelRateLimitError,
        "{where} is rate limiting (still after {choice.max_retries} retries): wait and try "
        "again, or check the provider account.",
    ),
    (ai.ModelQuotaExceededError, "{where} says the account is out of quota or credit."),
    (
        ai.ModelContextWindowExceededError,
        "{where} refused the request as too long for the model's context.",
    ),
    (
        ai.ModelAPIError,
        "{where} answered with an error or a response that could not be read ({kind}); "
        "try again later.",
    ),
    (
        ai.UnexpectedModelBehavior,
        "{where} kept answering in a shape that could not be used; try again, or a stronger model.",
    ),
)


def _explain(error: ai.AgentRunError, choice: ModelChoice) -> str:
    # the label, not the base URL: the message reaches API callers, the URL may be internal
    where = choice.label
    template = next(
        (text for kind, text in _EXPLANATIONS if isinstance(error, kind)), "{where}: {kind}."
    )
    return template.format(where=where, choice=choice, kind=type(error).__name__)


def check(task: Task) -> tuple[str, list[CallRecord]]:
    """One tiny call: proof the model answers, with its usage and latency."""
    agent: Agent[None, str] = Agent(instructions="Answer with the single word OK.")
    return run_task(agent, "Are you there?", task, deps=None)
