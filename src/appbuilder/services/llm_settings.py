"""A user's own language model: which provider and model, and their key, stored encrypted.

The key is written once and never shown again (only a hint: its first and last
characters), never logged, and sent only to its provider: a user may point their model at
a hosted provider's own endpoint or at one of the base URLs the operator lists
(``UAB_LLM_USER_BASE_URLS``), never at an address of their choosing, since this server
makes the requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import SecretStr
from sqlalchemy.orm import Session

from appbuilder.db.models import User
from appbuilder.errors import ValidationError
from appbuilder.llm.config import ModelChoice, default_choice
from appbuilder.settings import LLMProvider, LLMSettings

MAX_KEY_LENGTH = 500
HOSTED = (LLMProvider.OPENAI, LLMProvider.ANTHROPIC)


@dataclass(frozen=True)
class UserModel:
    """What a user sees of their model settings: the key only as a hint."""

    provider: LLMProvider | None
    model: str | None
    base_url: str | None
    key_hint: str | None

    @property
    def configured(self) -> bool:
        return self.provider is not None


def key_hint(key: str) -> str:
    """``sk-…cdef``: enough to tell keys apart, too little to use."""
    return f"{key[:3]}…{key[-4:]}" if len(key) >= 12 else "…"


def view(user: User) -> UserModel:
    provider = LLMProvider(user.llm_provider) if user.llm_provider else None
    key = user.llm_api_key
    return UserModel(provider, user.llm_model, user.llm_base_url, key_hint(key) if key else None)


def set_model(
    session: Session,
    user: User,
    settings: LLMSettings,
    *,
    provider: LLMProvider,
    model: str,
    base_url: str | None,
    api_key: str | None,
) -> UserModel:
    """Store the user's model; a key left out keeps the stored one (to change the model)."""
    url = base_url.strip().rstrip("/") if base_url else None
    if url is not None and url not in settings.user_base_urls:
        raise ValidationError(
            "base_url",
            "not-allowed",
            "This base URL is not one the platform may call; ask the operator to list it in "
            "UAB_LLM_USER_BASE_URLS, or leave it out to use the provider's own.",
        )
    if provider is LLMProvider.OPENAI_COMPATIBLE and url is None:
        raise ValidationError(
            "base_url", "required", "An openai-compatible model needs a base_url."
        )
    if api_key is not None:
        _check_key(api_key)
    key = api_key if api_key is not None else user.llm_api_key
    if provider in HOSTED and url is None and not key:
        raise ValidationError("api_key", "required", f"A {provider.value} model needs an API key.")
    user.llm_provider, user.llm_model, user.llm_base_url = provider.value, model, url
    user.llm_api_key = key
    session.flush()
    return view(user)


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or any(c.isspace() or not c.isprintable() for c in key):
        raise ValidationError(
            "api_key",
            "format",
            f"An API key is 1 to {MAX_KEY_LENGTH} printable characters without spaces.",
        )


def clear_model(session: Session, user: User) -> None:
    user.llm_provider = user.llm_model = user.llm_base_url = user.llm_api_key = None
    session.flush()


class ModelOwner(Protocol):
    """Whose model a call uses: a ``User``, or only these columns of its row."""

    @property
    def llm_provider(self) -> str | None: ...
    @property
    def llm_model(self) -> str | None: ...
    @property
    def llm_base_url(self) -> str | None: ...
    @property
    def llm_api_key(self) -> str | None: ...


def choice_for(user: ModelOwner, settings: LLMSettings) -> ModelChoice:
    """The user's own model when they set one, else the platform's."""
    if not user.llm_provider or not user.llm_model:
        return default_choice(settings)
    key = user.llm_api_key
    return ModelChoice(
        provider=LLMProvider(user.llm_provider),
        model=user.llm_model,
        base_url=user.llm_base_url,
        api_key=SecretStr(key) if key else None,
        timeout_seconds=settings.timeout_seconds,
        max_retries=settings.max_retries,
    )
