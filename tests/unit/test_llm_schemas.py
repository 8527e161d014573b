"""Schemas prepared once for a provider are exactly what pydantic-ai prepares each time,
and a changed schema is never served an old preparation."""

from __future__ import annotations

from typing import Any

from anthropic import AsyncAnthropic
from openai import AsyncOpenAI
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.output import OutputObjectDefinition
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.tools import ToolDefinition

from appbuilder.llm.schemas import PreparedAnthropicModel, PreparedOpenAIChatModel
from appbuilder.spec.model import AppSpec

URL = "http://127.0.0.1:9/v1"  # never called: preparing a request makes none


def openai_models() -> tuple[Model, Model]:
    def provider() -> OpenAIProvider:
        return OpenAIProvider(openai_client=AsyncOpenAI(api_key="k", base_url=URL))

    return (
        PreparedOpenAIChatModel("gpt-4o-mini", provider=provider()),
        OpenAIChatModel("gpt-4o-mini", provider=provider()),
    )


def anthropic_models() -> tuple[Model, Model]:
    def provider() -> AnthropicProvider:
        return AnthropicProvider(anthropic_client=AsyncAnthropic(api_key="k", base_url=URL))

    return (
        PreparedAnthropicModel("claude-sonnet-4-5", provider=provider()),
        AnthropicModel("claude-sonnet-4-5", provider=provider()),
    )


def params(schema: dict[str, Any]) -> ModelRequestParameters:
    return ModelRequestParameters(
        function_tools=[ToolDefinition(name="look_up", parameters_json_schema=schema)],
        output_tools=[ToolDefinition(name="final_result", parameters_json_schema=schema)],
        output_object=OutputObjectDefinition(json_schema=schema, name="final_result"),
        output_mode="tool",
    )


def test_prepared_once_equals_prepared_every_time_for_each_provider() -> None:
    schema = AppSpec.model_json_schema()
    for prepared, plain in (openai_models(), anthropic_models()):
        first = prepared.customize_request_parameters(params(schema))
        again = prepared.customize_request_parameters(params(schema))
        expected = plain.customize_request_parameters(params(schema))
        assert first.output_tools == expected.output_tools
        assert first.function_tools == expected.function_tools
        assert first.output_object == expected.output_object
        assert again.output_tools[0] is first.output_tools[0]  # remembered, not redone
        assert first.output_tools[0].parameters_json_schema != schema  # it was rewritten


def test_a_changed_schema_under_the_same_name_is_prepared_anew() -> None:
    prepared, plain = openai_models()
    before = {"type": "object", "properties": {"a": {"type": "string", "title": "A"}}}
    after = {"type": "object", "properties": {"b": {"type": "integer", "title": "B"}}}
    prepared.customize_request_parameters(params(before))
    changed = prepared.customize_request_parameters(params(after))
    assert changed.output_tools == plain.customize_request_parameters(params(after)).output_tools
    assert "b" in changed.output_tools[0].parameters_json_schema["properties"]


def test_the_rest_of_a_request_is_its_own() -> None:
    prepared, _ = openai_models()
    schema = AppSpec.model_json_schema()
    prepared.customize_request_parameters(params(schema))
    other = ModelRequestParameters(
        output_tools=params(schema).output_tools, output_mode="auto", allow_text_output=True
    )
    result = prepared.customize_request_parameters(other)
    assert (result.output_mode, result.allow_text_output) == ("auto", True)
    assert result.function_tools == []
    assert result.output_object is None


def test_a_requests_estimate_measures_each_schema_once_and_a_new_schema_anew() -> None:
    """Every call's reservation estimates what it sends; the AppSpec tool's ~10 kB schema
    is the same object call after call, so its length is measured once. A schema of the
    same id but another object (the old one gone) is measured again."""
    from appbuilder.llm import client  # noqa: PLC0415 - its cache is what is looked at

    schema = AppSpec.model_json_schema()
    tool = ToolDefinition(name="final_result", parameters_json_schema=schema)
    params = ModelRequestParameters(output_tools=[tool])
    client._SCHEMA_CHARS.clear()
    first = client.estimate([], params)
    assert first > len(str(schema)) // 8  # the schema counts
    assert list(client._SCHEMA_CHARS) == [id(schema)]
    assert client.estimate([], params) == first
    bigger = {**schema, "description": "x" * 4000}
    wider = ModelRequestParameters(
        output_tools=[tool.__class__(name="t", parameters_json_schema=bigger)]
    )
    assert client.estimate([], wider) >= first + 900  # 4,000 characters more, 4 a token
    assert len(client._SCHEMA_CHARS) == 2
