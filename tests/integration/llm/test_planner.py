"""Words become a spec through a real client talking HTTP to a scripted model server:
answers checked by our own rules, problems fed back, provider failures explained."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from appbuilder.enums import ProjectTemplate
from appbuilder.errors import ModelCallError, ModelNotConfiguredError
from appbuilder.services import planning
from appbuilder.settings import LLMProvider, LLMSettings
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.fake_llm import Answer, FakeLLM, error, tool
from tests.integration.llm.conftest import KEY, settings_for

TODO: dict[str, Any] = {
    "name": "Todo list",
    "features": ["auth"],
    "entities": [
        {
            "name": "Task",
            "fields": [
                {"name": "title", "max_length": 200},
                {"name": "due_date", "type": "date", "required": False},
                {"name": "done", "type": "boolean", "default": False},
            ],
        }
    ],
}
#: the same app with a problem our rules find (a field type the model made up is a shape
#: error pydantic-ai feeds back itself; this one passes the shape and fails our rules)
TODO_WITH_PROBLEM: dict[str, Any] = {
    **TODO,
    "entities": [{"name": "Task", "fields": [{"name": "title"}, {"name": "title"}]}],
}


def sent_text(request: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in request["messages"])


def test_words_become_a_valid_spec_with_the_words_kept(llm: FakeLLM) -> None:
    llm.answer(tool(TODO, input_tokens=900, output_tokens=150))
    result = planning.plan("a todo list app with tasks and due dates", settings_for(llm))
    assert result.valid
    assert result.spec["prompt"] == "a todo list app with tasks and due dates"
    resolve(build_spec(result.spec))  # a spec file a person can keep and edit
    [call] = result.calls
    assert (call.input_tokens, call.output_tokens) == (900, 150)
    assert call.model == "gpt-4o-mini"
    assert call.cost is not None
    assert call.cost > 0
    assert "a todo list app with tasks and due dates" in call.prompt
    assert "ORCHESTRATOR" in call.prompt  # the versioned prompt file was sent
    [request] = llm.requests
    assert request["model"] == "gpt-4o-mini"
    assert "entities" in str(request["tools"][0]["function"]["parameters"])


def test_problems_go_back_to_the_model_and_the_fixed_answer_is_kept(llm: FakeLLM) -> None:
    llm.answer(tool(TODO_WITH_PROBLEM), tool(TODO))
    result = planning.plan("todo app", settings_for(llm))
    assert result.valid
    assert len(result.calls) == 2
    feedback = sent_text(llm.requests[1])
    assert "entities.Task.fields" in feedback
    assert "declared twice" in feedback
    assert "declared twice" in result.calls[1].prompt  # the row stores what was sent
    assert result.usage.input_tokens == 240


def test_what_is_still_wrong_after_the_last_try_is_returned(llm: FakeLLM) -> None:
    llm.answer(tool(TODO_WITH_PROBLEM), tool(TODO_WITH_PROBLEM))
    result = planning.plan("todo app", settings_for(llm, attempts=2))
    assert not result.valid
    assert [p.rule for p in result.problems] == ["duplicate"]
    assert len(llm.requests) == 2  # bounded: never a third call


def test_an_answer_off_the_spec_shape_is_a_failed_try(llm: FakeLLM) -> None:
    llm.answer(tool({"name": "Todo", "entities": "tasks"}), tool(TODO))
    result = planning.plan("todo app", settings_for(llm))
    assert result.valid
    assert "entities" in sent_text(llm.requests[1])


def test_a_template_is_extended_not_replaced(llm: FakeLLM) -> None:
    extra = {"name": "My shop", "entities": [{"name": "Coupon", "fields": [{"name": "code"}]}]}
    llm.answer(tool(extra))
    result = planning.plan(
        "a shop with coupons", settings_for(llm), template=ProjectTemplate.ECOMMERCE
    )
    assert result.valid
    assert "Template: ECOMMERCE" in sent_text(llm.requests[0])
    model = resolve(build_spec(result.spec, template=ProjectTemplate.ECOMMERCE))
    assert {"Coupon", "Product", "CustomerOrder"} <= {e.names.pascal for e in model.entities}


def test_a_change_request_sends_the_current_spec_as_compact_json(llm: FakeLLM) -> None:
    current = build_spec({**TODO, "description": "Tâches à faire"})
    llm.answer(tool(TODO))
    planning.plan("add a priority", settings_for(llm), current=current)
    sent = sent_text(llm.requests[0])
    head = "The current spec, to change as asked (keep the rest):\n"
    assert head in sent
    line = sent.split(head, 1)[1].split("\n", 1)[0]
    assert json.loads(line) == current.model_dump(mode="json", exclude_defaults=True)
    assert ", " not in line  # no spaces a model pays tokens for
    assert "Tâches à faire" in line  # words as written, not escaped


def test_without_a_model_planning_fails_fast_naming_the_setting(llm: FakeLLM) -> None:
    empty = LLMSettings(None, None, None, None, 10.0, 0, None, 3)
    with pytest.raises(ModelNotConfiguredError, match="UAB_LLM_PROVIDER"):
        planning.plan("todo app", empty)
    no_url = LLMSettings(LLMProvider.OPENAI_COMPATIBLE, "m", None, None, 10.0, 0, None, 3)
    with pytest.raises(ModelNotConfiguredError, match="UAB_LLM_BASE_URL"):
        planning.plan("todo app", no_url)
    no_key = LLMSettings(LLMProvider.ANTHROPIC, "claude-x", None, None, 10.0, 0, None, 3)
    with pytest.raises(ModelNotConfiguredError, match="UAB_LLM_API_KEY"):
        planning.plan("todo app", no_key)
    assert llm.requests == []  # nothing was called


def test_a_rate_limit_is_retried_after_retry_after(llm: FakeLLM) -> None:
    llm.answer(error(429, **{"Retry-After": "0"}), tool(TODO))
    result = planning.plan("todo app", settings_for(llm, retries=2))
    assert result.valid
    assert len(llm.requests) == 2


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ([error(500), error(500)], "answered with an error"),
        ([error(429), error(429)], "rate limiting"),
        ([error(401)], "refused the API key"),
        ([error(404)], "has no model"),
        ([Answer(raw="this is not json")], "could not be read"),
    ],
)
def test_provider_failures_end_with_a_message_a_person_can_act_on(
    llm: FakeLLM, answers: list[Answer], message: str
) -> None:
    llm.answer(*answers)
    with pytest.raises(ModelCallError, match=message) as raised:
        planning.plan("todo app", settings_for(llm, retries=1))
    assert KEY not in raised.value.message
    assert "Traceback" not in raised.value.message


def test_a_model_that_does_not_answer_in_time_is_a_clear_failure(llm: FakeLLM) -> None:
    llm.answer(Answer(tool_args=TODO, delay=2.0))
    with pytest.raises(ModelCallError, match=r"did not answer within 0\.5 s"):
        planning.plan("todo app", settings_for(llm, timeout=0.5, retries=0))


def test_costs_come_from_the_price_data_or_the_operators_file_or_stay_unknown(
    llm: FakeLLM, tmp_path: Path
) -> None:
    llm.answer(tool(TODO, input_tokens=1_000_000, output_tokens=0))
    unknown = planning.plan("todo app", settings_for(llm, model="my-local-llama"))
    assert unknown.calls[0].cost is None
    assert unknown.usage.cost is None

    prices = tmp_path / "prices.yaml"
    prices.write_text("my-local-llama: {input: 0.25, output: 1}\n", encoding="utf-8")
    llm.answer(tool(TODO, input_tokens=1_000_000, output_tokens=500_000))
    priced = planning.plan("todo app", settings_for(llm, model="my-local-llama", prices=prices))
    assert priced.usage.cost == Decimal("0.75")


def test_a_quota_check_before_a_call_stops_it_before_it_is_made(llm: FakeLLM) -> None:
    class OutOfTokensError(Exception):
        pass

    def refuse(model: str) -> None:
        raise OutOfTokensError(model)

    llm.answer(tool(TODO))
    with pytest.raises(OutOfTokensError):
        planning.plan("todo app", settings_for(llm), before_call=refuse)
    assert llm.requests == []


def test_anthropic_models_plan_through_the_messages_api(llm: FakeLLM) -> None:
    anthropic = LLMSettings(
        LLMProvider.ANTHROPIC, "claude-sonnet-5", llm.root, SecretStr(KEY), 10.0, 0, None, 3
    )
    llm.answer(tool(TODO_WITH_PROBLEM, input_tokens=500), tool(TODO, input_tokens=600))
    result = planning.plan("a todo app", anthropic)
    assert result.valid
    assert [c.input_tokens for c in result.calls] == [500, 600]
    assert result.calls[0].cost is not None  # a model the price data knows
    assert llm.headers[0]["authorization"] == f"Bearer {KEY}"
    assert llm.requests[0]["model"] == "claude-sonnet-5"
    assert "declared twice" in str(llm.requests[1]["messages"])  # the feedback went back
