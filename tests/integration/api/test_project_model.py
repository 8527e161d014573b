"""A project's own model: set on create and update, validated, shown in its detail, and
called by the project's plans and runs (the scripted model server sees which model)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from appbuilder.settings import LLMProvider, Settings
from tests.fake_llm import FakeLLM, fake_llm, tool
from tests.integration.api.conftest import Api
from tests.integration.api.test_runs import wait_for
from tests.integration.llm.test_coder import SPEC, code
from tests.integration.llm.test_planner import TODO


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    # runs execute in the server on PostgreSQL too
    return api_settings.model_copy(update={"queue": "embedded"})


@pytest.fixture
def llm(api_settings: Settings) -> Iterator[FakeLLM]:
    with fake_llm() as server:
        api_settings.llm_provider = LLMProvider.OPENAI_COMPATIBLE
        api_settings.llm_model = "platform-default"
        api_settings.llm_base_url = server.url
        api_settings.llm_api_key = SecretStr("sk-test-key")
        api_settings.llm_max_retries = 0
        yield server


def test_the_model_is_set_on_create_shown_changed_and_cleared(api: Api) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM", llm_model="llama3.1:8b")
    assert project["llm_model"] == "llama3.1:8b"
    url = f"/api/projects/{project['id']}"
    assert api.get(url, headers=owner.headers).json()["llm_model"] == "llama3.1:8b"
    changed = api.patch(url, json={"llm_model": " meta-llama/Llama-3-8B "}, headers=owner.headers)
    assert changed.json()["llm_model"] == "meta-llama/Llama-3-8B"
    kept = api.patch(url, json={"name": "Tasks"}, headers=owner.headers)
    assert kept.json()["llm_model"] == "meta-llama/Llama-3-8B"
    cleared = api.patch(url, json={"llm_model": ""}, headers=owner.headers)
    assert cleared.json()["llm_model"] is None
    stranger = api.account()
    assert api.patch(url, json={"llm_model": "x"}, headers=stranger.headers).status_code == 404


@pytest.mark.parametrize(
    "bad", ["gpt 4o", "-gpt", "a\x00b", "m" * 201, "gpt;rm -rf", "ünïcode", "mo\ndel"]
)
def test_a_bad_model_name_is_a_422_naming_the_field(api: Api, bad: str) -> None:
    owner = api.account()
    created = api.post(
        "/api/projects",
        json={"name": "Todo", "template": "CUSTOM", "llm_model": bad},
        headers=owner.headers,
    )
    assert created.status_code == 422, created.text
    assert created.json()["error"]["details"]["fields"][0]["path"].endswith("llm_model")
    project = api.project(owner, name="Todo", template="CUSTOM")
    patched = api.patch(
        f"/api/projects/{project['id']}", json={"llm_model": bad}, headers=owner.headers
    )
    assert patched.status_code == 422, patched.text
    assert patched.json()["error"]["details"]["fields"][0]["path"].endswith("llm_model")


def test_plans_call_the_projects_model_unless_the_request_names_one(llm: FakeLLM, api: Api) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM", llm_model="project-model")
    llm.answer(tool(TODO), tool(TODO))
    url = f"/api/projects/{project['id']}/plan"
    assert api.post(url, json={"prompt": "todos"}, headers=owner.headers).status_code == 200
    asked = api.post(url, json={"prompt": "todos", "model": "other"}, headers=owner.headers)
    assert asked.status_code == 200
    assert [r["model"] for r in llm.requests] == ["project-model", "other"]
    plain = api.project(owner, name="Plain", template="CUSTOM")
    llm.answer(tool(TODO))
    api.post(f"/api/projects/{plain['id']}/plan", json={"prompt": "x"}, headers=owner.headers)
    assert llm.requests[-1]["model"] == "platform-default"


def test_runs_call_the_projects_model(llm: FakeLLM, api: Api) -> None:
    owner = api.account()
    project = api.project(owner, name="Todo", template="CUSTOM", llm_model="project-model")
    llm.answer(tool(code()))
    started = api.post(
        f"/api/projects/{project['id']}/generate",
        json={"spec": SPEC, "verify": False},
        headers=owner.headers,
    )
    assert started.status_code == 202, started.text
    run = wait_for(api, owner, started.json()["id"])
    assert run["status"] == "COMPLETED", run
    assert [r["model"] for r in llm.requests] == ["project-model"]
