"""The pydantic-ai model for a ``ModelChoice``, and a record of every call made through it.

Each provider gets its SDK client built here, with the platform's timeout and retry rules
(the SDKs retry 429 after Retry-After, 5xx and dropped connections with backoff), so no
provider reads keys or URLs from the process environment behind our back.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Protocol, TypeAlias

from pydantic_ai._genai_prices import fill_response_cost
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelRequestPart,
    ModelResponse,
    RetryPromptPart,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings

from appbuilder.llm.config import ModelChoice
from appbuilder.settings import LLMProvider

if TYPE_CHECKING:  # the SDKs load on the first model built: they take seconds to import,
    # which every `uab` command (most never call a model) would otherwise pay at start
    from anthropic import AsyncAnthropic
    from openai import AsyncOpenAI

#: what an OpenAI-compatible server without keys is sent (the SDK needs some key)
NO_KEY = "not-needed"


#: the SDK client a model sends its requests through; kept open by its thread's lane
Client: TypeAlias = "AsyncOpenAI | AsyncAnthropic"


@cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every client: loading the CA bundle takes ~30 ms,
    which a fresh client per task would otherwise pay on every call."""
    return ssl.create_default_context()


def warm_up(provider: LLMProvider) -> None:
    """Import ``provider``'s SDK now: a server does it in the background at start, so the
    first plan after a restart does not wait seconds for the import (4 s on a loaded VM)."""
    sdk = "anthropic" if provider is LLMProvider.ANTHROPIC else "openai"
    for module in (sdk, f"pydantic_ai.providers.{sdk}", "appbuilder.llm.schemas"):
        importlib.import_module(module)


def build_model(choice: ModelChoice) -> tuple[Model, Client]:
    """The pydantic-ai model that calls ``choice``, and its client (no request is made)."""
    key = choice.api_key.get_secret_value() if choice.api_key else None
    if choice.provider is LLMProvider.ANTHROPIC:
        from anthropic import AsyncAnthropic  # noqa: PLC0415 - see TYPE_CHECKING above
        from anthropic import DefaultAsyncHttpxClient as DefaultAnthropicClient  # noqa: PLC0415
        from pydantic_ai.providers.anthropic import AnthropicProvider  # noqa: PLC0415

        from appbuilder.llm.schemas import PreparedAnthropicModel  # noqa: PLC0415

        anthropic = AsyncAnthropic(
            api_key=key or NO_KEY,
            base_url=choice.base_url,
            timeout=choice.timeout_seconds,
            max_retries=choice.max_retries,
            http_client=DefaultAnthropicClient(verify=_tls()),
        )
        provider = AnthropicProvider(anthropic_client=anthropic)
        return PreparedAnthropicModel(choice.model, provider=provider), anthropic
    from openai import AsyncOpenAI  # noqa: PLC0415 - see TYPE_CHECKING above
    from openai import DefaultAsyncHttpxClient as DefaultOpenAIClient  # noqa: PLC0415
    from pydantic_ai.providers.openai import OpenAIProvider  # noqa: PLC0415

    from appbuilder.llm.schemas import PreparedOpenAIChatModel  # noqa: PLC0415

    openai = AsyncOpenAI(
        api_key=key or NO_KEY,
        base_url=choice.base_url,
        timeout=choice.timeout_seconds,
        max_retries=choice.max_retries,
        http_client=DefaultOpenAIClient(verify=_tls()),
    )
    model = PreparedOpenAIChatModel(choice.model, provider=OpenAIProvider(openai_client=openai))
    return model, openai


@dataclass(frozen=True)
class CallRecord:
    """One request to a model: what a Generation row stores of it."""

    model: str
    prompt: str
    response: str
    input_tokens: int
    output_tokens: int
    #: USD; None when the model's price is unknown (see ``prices``)
    cost: Decimal | None
    duration_ms: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


#: called before each request with the model's name; raising stops the call (quotas)
BeforeCall = Callable[[str], None]
#: prices a call: model name, tokens in, tokens out, the price data's own figure
Pricer = Callable[..., Decimal | None]
#: a rough count of tokens in text sent (about four characters each)
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class Reservation:
    """A request about to be sent, at its worst case: what a ledger holds against the
    budget and the quota while the model answers (and keeps, if the answer never comes)."""

    model: str
    prompt: str
    #: what is sent, estimated from its length (the conversation and the tools' schemas)
    input_tokens: int
    #: the most the model may answer
    output_tokens: int

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class CallObserver(Protocol):
    """Told of each request as it happens, so a call is accounted for before it is sent
    (a run's ledger survives its process, even one killed mid-call). ``before`` may refuse
    the request by raising (a budget or quota: nothing is sent), else it returns a ticket
    (the ledger's row); after a request is sent exactly one of ``after`` and ``failed``
    follows, with that ticket."""

    def before(self, reservation: Reservation) -> str | None: ...

    def after(self, call: CallRecord, ticket: str | None) -> None: ...

    def failed(
        self, call: CallRecord, error: str, *, cancelled: bool, ticket: str | None
    ) -> None: ...


class RecordingModel(WrapperModel):
    """A model that records each request it makes (and may refuse one before it is made)."""

    def __init__(
        self,
        wrapped: Model,
        before_call: BeforeCall | None = None,
        observer: CallObserver | None = None,
        priced: Pricer | None = None,
    ) -> None:
        super().__init__(wrapped)
        self.calls: list[tuple[str, ModelResponse, int]] = []
        self._before_call = before_call
        self._observer = observer
        self._priced = priced or (lambda *_args: None)

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        if self._before_call is not None:
            self._before_call(self.model_name)
        observer, ticket, prompt = self._observer, None, sent_text(messages)
        if observer is not None:
            answer = (model_settings or {}).get("max_tokens", 0)
            sent = estimate(messages, model_request_parameters)
            ticket = observer.before(Reservation(self.model_name, prompt, sent, answer))
        started = time.perf_counter()
        try:
            response = await super().request(messages, model_settings, model_request_parameters)
        except BaseException as error:  # cancelled too: the row says so, then it goes on
            if observer is not None:
                elapsed = round((time.perf_counter() - started) * 1000)
                call = CallRecord(self.model_name, prompt, "", 0, 0, None, elapsed)
                cancelled = isinstance(error, asyncio.CancelledError)
                observer.failed(call, _failure(error), cancelled=cancelled, ticket=ticket)
            raise
        elapsed = round((time.perf_counter() - started) * 1000)
        # priced now, as the agent would only after this returns: the ledger settles first
        fill_response_cost(response)
        self.calls.append((prompt, response, elapsed))
        if observer is not None:
            observer.after(record_of(self.model_name, self.calls[-1], self._priced), ticket)
        return response


def estimate(messages: Sequence[ModelMessage], parameters: ModelRequestParameters) -> int:
    """The tokens a request sends, estimated from its length: the whole conversation and
    the tools' schemas."""
    chars = sum(len(sent_text([m])) if isinstance(m, ModelRequest) else len(answer_text(m))
                for m in messages)  # fmt: skip
    tools = [*parameters.function_tools, *parameters.output_tools]
    chars += sum(_schema_chars(t.parameters_json_schema) for t in tools)
    return chars // CHARS_PER_TOKEN + 1


#: schema id -> (the schema, its JSON length); the schema is held so its id stays its own
_SCHEMA_CHARS: dict[int, tuple[object, int]] = {}
_SCHEMA_CHARS_MAX = 64


def _schema_chars(schema: dict[str, object]) -> int:
    """A tool schema's JSON length, remembered per schema object: agents send the same
    (e.g. the AppSpec's, ~10 kB) schema on every call, and dumping it took ~0.3 ms each."""
    known = _SCHEMA_CHARS.get(id(schema))
    if known is not None and known[0] is schema:
        return known[1]
    if len(_SCHEMA_CHARS) >= _SCHEMA_CHARS_MAX:
        _SCHEMA_CHARS.clear()
    chars = len(json.dumps(schema))
    _SCHEMA_CHARS[id(schema)] = (schema, chars)
    return chars


def _failure(error: BaseException) -> str:
    """A failed request in a few words (never the provider's body: it may echo the request)."""
    if isinstance(error, asyncio.CancelledError):
        return "cancelled while the model was answering"
    status = getattr(error, "status_code", None)
    return f"{type(error).__name__}" + (f" (HTTP {status})" if status else "")


def sent_text(messages: Sequence[ModelMessage]) -> str:
    """What this request added to the conversation: the newest request's parts, as text.

    The first request holds the instructions and the user's words; a later one the
    feedback (a retry's reason, a tool's result), so rows do not repeat the history.
    """
    request = next((m for m in reversed(messages) if isinstance(m, ModelRequest)), None)
    if request is None:
        return ""
    texts = [request.instructions] if request.instructions else []
    texts += [_request_part_text(part) for part in request.parts]
    return "\n\n".join(t for t in texts if t)


def _request_part_text(part: ModelRequestPart) -> str:
    if isinstance(part, SystemPromptPart | UserPromptPart) and isinstance(part.content, str):
        return part.content
    if isinstance(part, RetryPromptPart):
        return part.model_response()
    if isinstance(part, ToolReturnPart):
        return part.model_response_str()
    return ""


def answer_text(response: ModelResponse) -> str:
    """The model's answer as text: its words and its tool calls with their arguments."""
    texts = []
    for part in response.parts:
        if isinstance(part, TextPart):
            texts.append(part.content)
        elif isinstance(part, ToolCallPart):
            texts.append(f"{part.tool_name}: {part.args_as_json_str()}")
    return "\n".join(texts)


def records_of(
    model: RecordingModel, overrides_cost: Callable[..., Decimal | None]
) -> list[CallRecord]:
    """Every call ``model`` made, as records with tokens and cost."""
    return [record_of(model.model_name, call, overrides_cost) for call in model.calls]


def record_of(model_name: str, call: tuple[str, ModelResponse, int], priced: Pricer) -> CallRecord:
    """One call (what was sent, the answer, milliseconds) as a record with tokens and cost."""
    prompt, response, elapsed = call
    usage = response.usage
    name = response.model_name or model_name
    return CallRecord(
        model=name,
        prompt=prompt,
        response=answer_text(response),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cost=priced(name, usage.input_tokens, usage.output_tokens, usage.cost),
        duration_ms=elapsed,
    )
