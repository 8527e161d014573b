"""A fake OpenAI-compatible server per test, and settings pointing the platform at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from appbuilder.settings import LLMProvider, LLMSettings
from tests.fake_llm import FakeLLM, fake_llm

KEY = "sk-test-0123456789abcdef"


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with fake_llm() as server:
        yield server


def settings_for(
    server: FakeLLM,
    *,
    model: str = "gpt-4o-mini",
    attempts: int = 3,
    timeout: float = 10.0,
    retries: int = 1,
    prices: Path | None = None,
) -> LLMSettings:
    return LLMSettings(
        provider=LLMProvider.OPENAI_COMPATIBLE,
        model=model,
        base_url=server.url,
        api_key=SecretStr(KEY),
        timeout_seconds=timeout,
        max_retries=retries,
        prices_file=prices,
        plan_attempts=attempts,
    )
