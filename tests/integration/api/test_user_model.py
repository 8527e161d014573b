"""A user's own model and key: stored encrypted, shown only as a hint, sent only to its
provider, and used to plan that user's projects; base URLs only from the operator's list."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, text

from appbuilder.settings import LLMProvider, Settings
from tests.fake_llm import FakeLLM, fake_llm, tool
from tests.integration.api.conftest import Api
from tests.integration.llm.test_planner import TODO

USER_KEY = "sk-user-own-key-0123456789"


@pytest.fixture
def servers(api_settings: Settings) -> Iterator[tuple[FakeLLM, FakeLLM]]:
    """The platform's model server and one the operator lets users choose."""
    with fake_llm() as platform, fake_llm() as allowed:
        api_settings.llm_provider = LLMProvider.OPENAI_COMPATIBLE
        api_settings.llm_model = "platform-model"
        api_settings.llm_base_url = platform.url
        api_settings.llm_api_key = SecretStr("sk-platform-key")
        api_settings.llm_max_retries = 0
        api_settings.llm_user_base_urls = f"{allowed.url}, https://openrouter.ai/api/v1"
        yield platform, allowed


def test_a_users_key_is_stored_encrypted_shown_as_a_hint_and_used_for_their_plans(
    servers: tuple[FakeLLM, FakeLLM], api: Api, engine: Engine
) -> None:
    platform, allowed = servers
    owner, other = api.account(), api.account()
    assert api.get("/api/me/llm", headers=owner.headers).json()["configured"] is False
    body = {
        "provider": "openai-compatible",
        "model": "my-model",
        "base_url": allowed.url + "/",
        "api_key": USER_KEY,
    }
    stored = api.put("/api/me/llm", json=body, headers=owner.headers)
    assert stored.status_code == 200, stored.text
    assert stored.json() == {
        "provider": "openai-compatible",
        "model": "my-model",
        "base_url": allowed.url,
        "key_hint": "sk-…6789",
        "configured": True,
    }
    assert USER_KEY not in api.get("/api/me/llm", headers=owner.headers).text
    with engine.connect() as connection:  # the database holds only ciphertext
        raw = connection.execute(
            text("SELECT llm_api_key FROM users WHERE id = :id"), {"id": owner.id}
        ).scalar_one()
    assert raw
    assert USER_KEY not in raw

    project = api.project(owner, name="Todo", template="CUSTOM")
    allowed.answer(tool(TODO))
    planned = api.post(
        f"/api/projects/{project['id']}/plan", json={"prompt": "todo"}, headers=owner.headers
    )
    assert planned.status_code == 200, planned.text
    assert allowed.requests[0]["model"] == "my-model"
    assert platform.requests == []

    # another user's projects still use the platform's model
    theirs = api.project(other, name="Todo", template="CUSTOM")
    platform.answer(tool(TODO))
    assert (
        api.post(
            f"/api/projects/{theirs['id']}/plan", json={"prompt": "todo"}, headers=other.headers
        ).status_code
        == 200
    )
    assert platform.requests[0]["model"] == "platform-model"

    # a new model keeps the stored key; forgetting it falls back to the platform's
    changed = api.put(
        "/api/me/llm",
        json={"provider": "openai-compatible", "model": "other", "base_url": allowed.url},
        headers=owner.headers,
    )
    assert changed.json()["key_hint"] == "sk-…6789"
    assert api.delete("/api/me/llm", headers=owner.headers).status_code == 204
    assert api.get("/api/me/llm", headers=owner.headers).json()["configured"] is False


def test_the_key_goes_only_to_its_provider(servers: tuple[FakeLLM, FakeLLM], api: Api) -> None:
    _platform, allowed = servers
    owner = api.account()
    api.put(
        "/api/me/llm",
        json={
            "provider": "openai-compatible",
            "model": "m",
            "base_url": allowed.url,
            "api_key": USER_KEY,
        },
        headers=owner.headers,
    )
    project = api.project(owner, name="Todo", template="CUSTOM")
    allowed.answer(tool(TODO))
    api.post(f"/api/projects/{project['id']}/plan", json={"prompt": "todo"}, headers=owner.headers)
    assert allowed.headers[0]["authorization"] == f"Bearer {USER_KEY}"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "provider": "openai-compatible",
                "model": "m",
                "base_url": "http://169.254.169.254/v1",
            },
            "base_url",
        ),
        (
            {"provider": "openai-compatible", "model": "m", "base_url": "http://127.0.0.1:5432"},
            "base_url",
        ),
        ({"provider": "openai-compatible", "model": "m"}, "base_url"),
        ({"provider": "openai", "model": "gpt-4o-mini"}, "api_key"),
        ({"provider": "openai", "model": "m", "api_key": "has space"}, "api_key"),
        ({"provider": "openai", "model": "m", "api_key": "k" * 501}, "api_key"),
        ({"provider": "skynet", "model": "m", "api_key": "k"}, "provider"),
        ({"provider": "openai", "model": "", "api_key": "sk-abc"}, "model"),
        ({"provider": "openai", "model": "m\x00", "api_key": "sk-abc"}, "model"),
    ],
)
def test_bad_model_settings_are_422_naming_the_field(
    servers: tuple[FakeLLM, FakeLLM], api: Api, body: dict[str, str], field: str
) -> None:
    owner = api.account()
    answer = api.put("/api/me/llm", json=body, headers=owner.headers)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["details"]["fields"][0]["path"]
    assert api.get("/api/me/llm", headers=owner.headers).json()["configured"] is False


def test_a_hosted_provider_needs_no_base_url(servers: tuple[FakeLLM, FakeLLM], api: Api) -> None:
    owner = api.account()
    answer = api.put(
        "/api/me/llm",
        json={"provider": "anthropic", "model": "claude-sonnet-5", "api_key": USER_KEY},
        headers=owner.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["base_url"] is None
    assert api.put("/api/me/llm", json={}, headers={}).status_code == 401
