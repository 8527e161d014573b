"""Which model a step calls: the platform default from settings, or a choice of the caller.

Nothing here talks to a provider; a missing or half-set configuration is refused with a
message naming the setting to set, before any call is attempted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pydantic import SecretStr

from appbuilder.errors import ModelNotConfiguredError
from appbuilder.settings import LLMProvider, LLMSettings

#: the environment variable of each setting, as the message tells a person to set it
_ENV = {
    "provider": "UAB_LLM_PROVIDER",
    "model": "UAB_LLM_MODEL",
    "base_url": "UAB_LLM_BASE_URL",
    "api_key": "UAB_LLM_API_KEY",
}
_PROVIDERS = ", ".join(p.value for p in LLMProvider)


@dataclass(frozen=True)
class ModelChoice:
    """One model at one provider, with what it takes to reach it."""

    provider: LLMProvider
    model: str
    base_url: str | None = None
    api_key: SecretStr | None = None
    timeout_seconds: float = 120.0
    max_retries: int = 2

    @property
    def label(self) -> str:
        """How the model is named to people: ``openai:gpt-4o-mini``."""
        return f"{self.provider.value}:{self.model}"

    def with_model(self, model: str | None) -> ModelChoice:
        """The same provider and key with another model (a project's own pick)."""
        return replace(self, model=model) if model else self


def is_configured(settings: LLMSettings) -> bool:
    return settings.provider is not None


def default_choice(settings: LLMSettings) -> ModelChoice:
    """The platform's model; ``ModelNotConfiguredError`` says which setting is missing."""
    if settings.provider is None:
        raise ModelNotConfiguredError(
            "No language model is configured: set UAB_LLM_PROVIDER "
            f"({_PROVIDERS}) and UAB_LLM_MODEL, with UAB_LLM_API_KEY for a hosted provider "
            "or UAB_LLM_BASE_URL for a server of your own. Template generation needs none.",
            missing=[_ENV["provider"]],
        )
    model = settings.model or ""
    missing = [] if model else ["model"]
    if settings.provider is LLMProvider.OPENAI_COMPATIBLE and not settings.base_url:
        missing.append("base_url")
    hosted = settings.provider in (LLMProvider.OPENAI, LLMProvider.ANTHROPIC)
    if hosted and settings.api_key is None and not settings.base_url:
        missing.append("api_key")
    if missing:
        names = " and ".join(_ENV[m] for m in missing)
        raise ModelNotConfiguredError(
            f"The {settings.provider.value} model is not fully configured: set {names}.",
            missing=[_ENV[m] for m in missing],
        )
    return ModelChoice(
        provider=settings.provider,
        model=model,
        base_url=settings.base_url,
        api_key=settings.api_key,
        timeout_seconds=settings.timeout_seconds,
        max_retries=settings.max_retries,
    )
