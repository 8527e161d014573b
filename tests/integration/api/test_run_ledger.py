"""A run's model calls through the API: starting a run a model builds is refused (402)
before any call when the month's tokens cannot hold one, and a run's detail lists each
call and the per-agent ledger (tokens, cost, time)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, insert

from appbuilder.db.models import Generation
from appbuilder.db.session import make_session_factory
from appbuilder.enums import AgentType, SubscriptionTier
from appbuilder.jobs import setup
from appbuilder.services.runs.execution import execute_run
from appbuilder.settings import LLMProvider, Settings, get_settings
from tests.fake_llm import FakeLLM, fake_llm, tool
from tests.integration.api.conftest import Api
from tests.integration.llm.conftest import settings_for
from tests.integration.llm.test_coder import SPEC, code

FINAL = ("COMPLETED", "FAILED", "CANCELLED")


@pytest.fixture
def llm(api_settings: Settings) -> Iterator[FakeLLM]:
    with fake_llm() as server:
        api_settings.llm_provider = LLMProvider.OPENAI_COMPATIBLE
        api_settings.llm_model = "gpt-4o-mini"
        api_settings.llm_base_url = server.url
        api_settings.llm_api_key = SecretStr("sk-test-key")
        yield server


def test_starting_a_model_run_without_tokens_for_one_answer_is_a_402(
    llm: FakeLLM, api: Api
) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    project = api.project(owner, template="CUSTOM", name="Todo")
    with api.engine.begin() as connection:  # 95,000 of FREE's 100,000 tokens used
        connection.execute(
            insert(Generation).values(
                id="g" * 25,
                project_id=project["id"],
                user_id=owner.id,
                agent_type=AgentType.ORCHESTRATOR,
                model="gpt-4o-mini",
                prompt="",
                response="",
                tokens_used=95_000,
            )
        )
    refused = api.post(
        f"/api/projects/{project['id']}/generate", json={"spec": SPEC}, headers=owner.headers
    )
    assert refused.status_code == 402, refused.text
    assert refused.json()["error"]["details"]["limit"] == "tokens_per_month"
    assert llm.requests == []
    # a template build needs no model: it still starts
    notes = {"entities": [{"name": "Note", "fields": [{"name": "title"}]}]}
    plain = api.post(
        f"/api/projects/{project['id']}/generate",
        json={"spec": notes, "verify": False},
        headers=owner.headers,
    )
    assert plain.status_code == 202, plain.text


def test_a_runs_detail_lists_each_model_call_and_the_ledger(
    llm: FakeLLM, api: Api, engine: Engine
) -> None:
    llm.answer(tool(code(module="import os\n"), input_tokens=900), tool(code(), input_tokens=1000))
    owner = api.account()
    project = api.project(owner, template="CUSTOM", name="Todo")
    started = api.post(
        f"/api/projects/{project['id']}/generate",
        json={"spec": SPEC, "verify": False},
        headers=owner.headers,
    )
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    # On SQLite the server's own queue runs it (with the same model settings); on PostgreSQL
    # no worker runs here, so the test executes it. Executing it on SQLite too raced the
    # server's queue: the second claimer took the run over and the first's call row was lost.
    if engine.dialect.name != "sqlite":
        base = setup.run_context(get_settings(), make_session_factory(engine))
        execute_run(dataclasses.replace(base, llm=settings_for(llm)), run_id)
    deadline = time.monotonic() + 60
    while (detail := api.get(f"/api/runs/{run_id}", headers=owner.headers).json())[
        "status"
    ] not in FINAL:
        assert time.monotonic() < deadline, "the run never ended"
        time.sleep(0.1)
    assert detail["status"] == "COMPLETED", detail["error_message"]
    assert [s["agent_type"] for s in detail["steps"]][-1] == "ORCHESTRATOR"
    assert all(s["model"] is None for s in detail["steps"])
    assert [(c["agent_type"], c["model"], c["input_tokens"]) for c in detail["calls"]] == [
        ("BACKEND", "gpt-4o-mini", 900),
        ("BACKEND", "gpt-4o-mini", 1000),
    ]
    assert detail["ledger"] == [
        {
            "agent": "BACKEND",
            "calls": 2,
            "input_tokens": 1900,
            "output_tokens": 60,
            "tokens": 1960,
            # gpt-4o-mini's price ($0.15 in, $0.60 out per million), priced as each call ends
            "cost_usd": "0.000321",
            "duration_ms": sum(c["duration_ms"] for c in detail["calls"]),
        }
    ]
    # another user sees none of it
    stranger = api.account()
    assert api.get(f"/api/runs/{run_id}", headers=stranger.headers).status_code == 404
