"""Tool and output schemas prepared for a provider once, not on every request.

Before each request pydantic-ai rewrites every tool's JSON schema (and the output object's)
for the provider (OpenAI's strict mode, for one) through the model profile's transformer:
deep copies and walks of the whole schema, twice per request (once to settle the output
mode, once for the request itself). For the AppSpec tool that was ~12 ms of a call whose
bare HTTP round trip takes 0.5 ms. The rewrite is a pure function of the transformer and
the definitions, so the models here remember it: ``customize_request_parameters`` is
pydantic-ai's documented hook for this, and its ``prepare_request`` keeps what the hook
returns unmutated ("a custom model may reuse it across requests").

A definition is looked up by equality, not identity, so an agent rebuilt with the same
schema hits too, and a changed schema can never be served an old rewrite.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.output import OutputObjectDefinition
from pydantic_ai.profiles import ModelProfile
from pydantic_ai.tools import ToolDefinition

#: how many distinct sets of definitions are remembered (agent shapes x provider profiles)
MEMO_SIZE = 64

#: the definitions a request sends: function tools, output tools, the output object
_Definitions = tuple[list[ToolDefinition], list[ToolDefinition], OutputObjectDefinition | None]
#: what the definitions are found under: the transformer and the tools' names
_Key = tuple[object, tuple[str, ...], tuple[str, ...]]


class _Memo:
    """Prepared definitions by what they were prepared from, least recently used out first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[_Key, list[tuple[_Definitions, _Definitions]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: _Key, given: _Definitions) -> _Definitions | None:
        with self._lock:
            for source, prepared in self._entries.get(key, ()):
                if source == given:
                    self._entries.move_to_end(key)
                    return prepared
        return None

    def put(self, key: _Key, given: _Definitions, prepared: _Definitions) -> None:
        with self._lock:
            entries = self._entries.setdefault(key, [])
            entries.insert(0, (given, prepared))
            del entries[4:]  # names alike, schemas not: a few versions at most
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_MEMO = _Memo(MEMO_SIZE)


def _definitions(params: ModelRequestParameters) -> _Definitions:
    return (params.function_tools, params.output_tools, params.output_object)


def prepared_once(
    profile: ModelProfile,
    params: ModelRequestParameters,
    customize: Callable[[ModelRequestParameters], ModelRequestParameters],
) -> ModelRequestParameters:
    """``params`` with its definitions rewritten by ``customize`` (pydantic-ai's hook for
    a model of ``profile``), each rewrite made once and remembered."""
    given = _definitions(params)
    key = (
        profile.get("json_schema_transformer"),
        tuple(t.name for t in params.function_tools),
        tuple(t.name for t in params.output_tools),
    )
    prepared = _MEMO.get(key, given)
    if prepared is None:
        prepared = _definitions(customize(params))
        _MEMO.put(key, given, prepared)
    function_tools, output_tools, output_object = prepared
    return replace(
        params,
        function_tools=function_tools,
        output_tools=output_tools,
        output_object=output_object,
    )


class PreparedOpenAIChatModel(OpenAIChatModel):
    """OpenAI's chat model (and OpenAI-compatible servers'), schemas prepared once."""

    def customize_request_parameters(
        self, model_request_parameters: ModelRequestParameters
    ) -> ModelRequestParameters:
        return prepared_once(
            self.profile, model_request_parameters, super().customize_request_parameters
        )


class PreparedAnthropicModel(AnthropicModel):
    """Anthropic's messages model, schemas prepared once."""

    def customize_request_parameters(
        self, model_request_parameters: ModelRequestParameters
    ) -> ModelRequestParameters:
        return prepared_once(
            self.profile, model_request_parameters, super().customize_request_parameters
        )


__all__ = ["MEMO_SIZE", "PreparedAnthropicModel", "PreparedOpenAIChatModel", "prepared_once"]
