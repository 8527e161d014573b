"""POST /api/projects/{id}/plan: words become a spec through the platform's model (a
scripted OpenAI-compatible server on loopback), with quota checks before every call and a
Generation row per call; nothing a client sends makes it a 500."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, insert, select

from appbuilder.agents.planner import PLAN_MAX_OUTPUT_TOKENS
from appbuilder.db.models import Generation
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, GenerationStatus, SubscriptionTier
from appbuilder.settings import LLMProvider, Settings
from tests.fake_llm import Answer, FakeLLM, error, fake_llm, tool
from tests.integration.api.conftest import Account, Api
from tests.integration.llm.test_planner import TODO, TODO_WITH_PROBLEM
from tests.servers import wait_until


@pytest.fixture
def llm(api_settings: Settings) -> Iterator[FakeLLM]:
    with fake_llm() as server:
        api_settings.llm_provider = LLMProvider.OPENAI_COMPATIBLE
        api_settings.llm_model = "gpt-4o-mini"
        api_settings.llm_base_url = server.url
        api_settings.llm_api_key = SecretStr("sk-test-key")
        api_settings.llm_max_retries = 0
        yield server


def plan(api: Api, project_id: str, headers: dict[str, str], **body: object) -> object:
    return api.post(f"/api/projects/{project_id}/plan", json=body, headers=headers)


def test_a_project_is_planned_from_words_and_each_call_is_a_generation(
    llm: FakeLLM, api: Api
) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    llm.answer(tool(TODO_WITH_PROBLEM, input_tokens=800), tool(TODO, input_tokens=900))
    answer = plan(api, project["id"], owner.headers, prompt="a todo app with due dates")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["valid"] is True
    assert body["problems"] == []
    assert body["spec"]["entities"][0]["name"] == "Task"
    assert body["usage"]["calls"] == 2
    assert body["usage"]["input_tokens"] == 1700
    assert Decimal(body["usage"]["cost_usd"]) > 0
    rows = api.get(f"/api/projects/{project['id']}/generations", headers=owner.headers).json()
    by_id = {row["id"]: row for row in rows["items"]}
    recorded = [by_id[i] for i in body["generation_ids"]]
    assert [r["agent_type"] for r in recorded] == ["ORCHESTRATOR", "ORCHESTRATOR"]
    assert [r["input_tokens"] for r in recorded] == [800, 900]
    assert all(r["model"] == "gpt-4o-mini" and r["status"] == "COMPLETED" for r in recorded)
    assert "a todo app with due dates" in recorded[0]["prompt"]
    assert "declared twice" in recorded[1]["prompt"]  # the feedback sent back
    assert recorded[0]["tokens_used"] == 800 + 30

    # accepting the plan is sending its spec with the run
    started = api.post(
        f"/api/projects/{project['id']}/generate",
        json={"spec": body["spec"], "verify": False},
        headers=owner.headers,
    )
    assert started.status_code == 202, started.text


def test_without_words_the_description_is_planned(llm: FakeLLM, api: Api) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM", description="tasks with due dates")
    llm.answer(tool(TODO))
    assert plan(api, project["id"], owner.headers).status_code == 200
    assert "tasks with due dates" in str(llm.requests[0]["messages"])


def test_a_project_with_a_spec_is_changed_as_asked(llm: FakeLLM, api: Api) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM", config={"spec": TODO})
    llm.answer(tool(TODO))
    assert plan(api, project["id"], owner.headers, prompt="add a priority").status_code == 200
    sent = str(llm.requests[0]["messages"])
    assert "The current spec, to change as asked" in sent
    assert "due_date" in sent


def test_a_change_request_returns_the_diff_and_says_what_loses_data(llm: FakeLLM, api: Api) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM", config={"spec": TODO})
    [task] = TODO["entities"]
    fields = [f for f in task["fields"] if f["name"] != "done"]
    changed = {
        **TODO,
        "entities": [
            {**task, "fields": [*fields, {"name": "priority", "type": "integer", "min": 1}]},
            {"name": "Label", "fields": [{"name": "title"}]},
        ],
    }
    llm.answer(tool(changed))
    answer = plan(api, project["id"], owner.headers, prompt="priorities and labels, no done flag")
    assert answer.status_code == 200, answer.text
    diff = answer.json()["diff"]
    assert diff["loses_data"] is True
    by_path = {c["path"]: c for c in diff["changes"]}
    assert set(by_path) == {
        "entities.Task.fields.priority",
        "entities.Task.fields.done",
        "entities.Label",
    }
    assert by_path["entities.Task.fields.priority"]["kind"] == "added"
    assert by_path["entities.Task.fields.priority"]["after"]["min"] == 1
    assert by_path["entities.Task.fields.done"]["kind"] == "removed"
    assert by_path["entities.Task.fields.done"]["loses_data"] is True
    assert "dropped" in by_path["entities.Task.fields.done"]["summary"]
    assert by_path["entities.Label"]["loses_data"] is False

    # the plan of a project without a spec has no diff
    fresh = api.project(owner, name="Fresh", template="CUSTOM")
    llm.answer(tool(TODO))
    assert plan(api, fresh["id"], owner.headers, prompt="todos").json()["diff"] is None


def test_nothing_to_plan_is_a_422_naming_the_field(llm: FakeLLM, api: Api) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    answer = plan(api, project["id"], owner.headers)
    assert answer.status_code == 422
    assert answer.json()["error"]["details"]["fields"][0]["path"] == "prompt"
    assert llm.requests == []


@pytest.mark.parametrize(
    "body",
    [{"prompt": ""}, {"prompt": "x" * 20_001}, {"prompt": "a\x00b"}, {"prompt": 5}, {"other": 1}],
)
def test_bad_bodies_are_422(llm: FakeLLM, api: Api, body: dict[str, object]) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    assert plan(api, project["id"], owner.headers, **body).status_code == 422
    assert llm.requests == []


def test_another_users_project_is_not_found_and_no_call_is_made(llm: FakeLLM, api: Api) -> None:
    owner, stranger = api.account(), api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    assert plan(api, project["id"], stranger.headers, prompt="todo").status_code == 404
    assert plan(api, project["id"], {}, prompt="todo").status_code == 401
    assert llm.requests == []


def test_out_of_tokens_is_a_402_before_any_call(llm: FakeLLM, api: Api, engine: Engine) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    project = api.project(owner, name="Todo", template="CUSTOM")
    with engine.begin() as connection:  # this month: 98,000 of FREE's 100,000 tokens used
        connection.execute(
            insert(Generation).values(
                id="g" * 25,
                project_id=project["id"],
                user_id=owner.id,
                agent_type=AgentType.ORCHESTRATOR,
                prompt="",
                response="",
                tokens_used=98_000,
            )
        )
    answer = plan(api, project["id"], owner.headers, prompt="a todo app")
    assert answer.status_code == 402
    assert answer.json()["error"]["details"]["limit"] == "tokens_per_month"
    assert llm.requests == []


def test_a_provider_failure_is_a_502_recorded_as_a_failed_generation(
    llm: FakeLLM, api: Api
) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    llm.answer(error(401))
    answer = plan(api, project["id"], owner.headers, prompt="a todo app")
    assert answer.status_code == 502
    assert "refused the API key" in answer.json()["error"]["message"]
    assert "sk-test-key" not in answer.text
    rows = api.get(f"/api/projects/{project['id']}/generations", headers=owner.headers).json()
    failed = [r for r in rows["items"] if r["status"] == "FAILED"]
    # the request itself (a call row: its model, no tokens: nothing was answered) and why
    # the plan failed, in words a person can act on
    [call] = [r for r in failed if r["model"]]
    assert call["tokens_used"] == 0
    assert call["error_message"] == "ModelAuthenticationError (HTTP 401)"
    [summary] = [r for r in failed if not r["model"]]
    assert "refused the API key" in summary["error_message"]


def test_without_a_model_planning_is_a_503_naming_the_setting(api: Api) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    answer = plan(api, project["id"], owner.headers, prompt="a todo app")
    assert answer.status_code == 503
    assert "UAB_LLM_PROVIDER" in answer.json()["error"]["message"]


def test_usage_shows_what_model_calls_cost_this_month(llm: FakeLLM, api: Api) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    before = api.get("/api/usage", headers=owner.headers).json()
    assert Decimal(before["cost_usd"]) == 0
    llm.answer(tool(TODO, input_tokens=1_000_000, output_tokens=0))
    planned = plan(api, project["id"], owner.headers, prompt="a todo app").json()
    after = api.get("/api/usage", headers=owner.headers).json()
    assert Decimal(after["cost_usd"]) == Decimal(planned["usage"]["cost_usd"]) > 0
    assert after["calls_of_unknown_cost"] == 0
    tokens = {line["limit"]: line["used"] for line in after["limits"]}["tokens_per_month"]
    assert tokens == planned["usage"]["tokens"]


def test_a_plan_call_abandoned_mid_answer_is_closed_as_interrupted_and_stays_counted(
    llm: FakeLLM, api: Api, engine: Engine
) -> None:
    """A server killed while the model answered a plan left its call RUNNING: the owner's
    next plan closes it (FAILED, interrupted) with its reservation kept; a recent RUNNING
    call (possibly still in flight on another server) is left alone."""
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    long_ago = utcnow() - timedelta(hours=1)
    with engine.begin() as connection:
        for row_id, created in (("a" * 25, long_ago), ("b" * 25, utcnow())):
            connection.execute(
                insert(Generation).values(
                    id=row_id,
                    project_id=project["id"],
                    user_id=owner.id,
                    agent_type=AgentType.ORCHESTRATOR,
                    model="gpt-4o-mini",
                    prompt="plan a todo app",
                    response="",
                    status=GenerationStatus.RUNNING,
                    tokens_used=4_000,
                    created_at=created,
                )
            )
    llm.answer(tool(TODO))
    assert plan(api, project["id"], owner.headers, prompt="a todo app").status_code == 200
    with engine.connect() as connection:
        rows = dict(
            connection.execute(
                select(Generation.id, Generation.status).where(
                    Generation.id.in_(["a" * 25, "b" * 25])
                )
            ).all()
        )
        old = connection.execute(select(Generation).where(Generation.id == "a" * 25)).one()
    assert rows == {"a" * 25: GenerationStatus.FAILED, "b" * 25: GenerationStatus.RUNNING}
    assert old.error_message.startswith("interrupted")
    assert old.tokens_used == 4_000  # the reservation is still spent


@contextmanager
def thinking_plan(api: Api, llm: FakeLLM, project_id: str, owner: Account) -> Iterator[list[Any]]:
    """A plan whose model is thinking for the block (the fake holds its answer once the
    request came); after it, the list holds the plan's answer."""
    thinking = threading.Event()
    llm.answer(Answer(tool_args=TODO, hold=thinking))
    answered: list[Any] = []
    planner = threading.Thread(
        target=lambda: answered.append(plan(api, project_id, owner.headers, prompt="todo"))
    )
    planner.start()
    try:
        wait_until(lambda: len(llm.requests) == 1, timeout=30)
        yield answered
    finally:
        thinking.set()
        planner.join(timeout=60)


@pytest.fixture
def one_place(api_settings: Settings) -> None:
    """A server with one place at its database gate, waited for at most a second."""
    api_settings.database_pool_size = 1
    api_settings.database_max_overflow = 0
    api_settings.database_pool_timeout = 1.0


def test_a_plan_waiting_for_the_model_keeps_no_one_else_from_the_database(
    one_place: None, llm: FakeLLM, api: Api
) -> None:
    """The model may think for minutes: meanwhile the planning request gives back its
    place at the database gate, so other requests (the same person's too) are served
    instead of waiting for it and failing with 503 database_busy."""
    owner = api.account()
    other = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    with thinking_plan(api, llm, project["id"], owner) as answered:
        for who in (other, owner):
            me = api.get("/api/me", headers=who.headers)
            assert me.status_code == 200, me.text
        listed = api.get("/api/projects", headers=owner.headers)
        assert listed.status_code == 200, listed.text
    (planned,) = answered
    assert planned.status_code == 200, planned.text
    assert planned.json()["valid"] is True
    # and it took its place back: the gate is whole again for the next requests
    assert api.get("/api/me", headers=other.headers).status_code == 200


@pytest.fixture
def one_planner(api_settings: Settings) -> None:
    api_settings.max_plans_at_once = 1


def test_plans_past_the_servers_limit_are_told_to_come_back_and_the_rest_is_served(
    one_planner: None, llm: FakeLLM, api: Api
) -> None:
    """A plan holds a thread while its model thinks; the server gives planning only so
    many, so planners can't take the threads every other route runs on. The next plan is
    refused at once (503 planners_busy, Retry-After), nothing asked or recorded."""
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM")
    with thinking_plan(api, llm, project["id"], owner) as answered:
        refused = plan(api, project["id"], owner.headers, prompt="todo too")
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "planners_busy"
        assert refused.headers["Retry-After"] == "30"
        assert "planning as many apps at once as it does (1)" in refused.json()["error"]["message"]
        assert api.get("/api/me", headers=owner.headers).status_code == 200
        assert len(llm.requests) == 1  # the refused plan asked nothing
    (planned,) = answered
    assert planned.status_code == 200, planned.text
    llm.answer(tool(TODO))
    assert plan(api, project["id"], owner.headers, prompt="again").status_code == 200


def test_a_plan_call_is_reserved_before_it_is_sent_and_settled_in_the_same_row(
    llm: FakeLLM, api: Api, engine: Engine
) -> None:
    """While the model thinks, the call's row is already written (seen from another
    connection): RUNNING, what was sent, its worst case held in its tokens, the owner's
    quota checked; when the answer comes that row is settled with the provider's usage,
    cost and time, and no other is written. A server killed meanwhile leaves exactly this
    row, which the next plan closes keeping the reservation (test above)."""
    owner = api.account(tier=SubscriptionTier.FREE)
    project = api.project(owner, name="Todo", template="CUSTOM")
    with thinking_plan(api, llm, project["id"], owner) as answered:
        held = only_row(engine, project["id"])
    assert held.status is GenerationStatus.RUNNING
    assert held.model == "gpt-4o-mini"
    assert "todo" in held.prompt
    assert held.response == ""
    assert held.output_tokens == PLAN_MAX_OUTPUT_TOKENS  # the most it may answer
    assert held.input_tokens > 1_000  # the instructions and the AppSpec tool's schema
    assert held.tokens_used == held.input_tokens + held.output_tokens
    assert held.completed_at is None
    (planned,) = answered
    assert planned.status_code == 200, planned.text
    assert planned.json()["generation_ids"] == [held.id]
    settled = only_row(engine, project["id"])
    assert settled.id == held.id
    assert settled.status is GenerationStatus.COMPLETED
    assert (settled.input_tokens, settled.output_tokens) == (120, 30)  # the provider's
    assert settled.tokens_used == 150
    assert settled.cost_usd is not None
    assert settled.cost_usd > 0
    assert settled.duration_ms is not None
    assert settled.completed_at is not None
    assert settled.completed_at >= settled.created_at
    assert "Task" in settled.response
    assert settled.error_message is None
    assert settled.prompt == held.prompt


def only_row(engine: Engine, project_id: str) -> Any:
    """The project's one Generation row, read on a connection of its own (closed before
    the plan goes on: on SQLite an open transaction would hold the write lock)."""
    with engine.connect() as connection:
        [row] = connection.execute(
            select(Generation).where(Generation.project_id == project_id)
        ).all()
    return row
