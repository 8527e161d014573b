"""Shared generation helpers: every template's app is generated once per test session."""

from __future__ import annotations

from typing import Any

import pytest

from appbuilder.agents.orchestrator import GenerationResult, Orchestrator
from appbuilder.enums import ProjectTemplate
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve

CUSTOM_SPEC: dict[str, Any] = {
    "name": "Field Notes",
    "features": ["auth", "file_uploads", "email", "markdown"],
    "integrations": {"s3": True},
    "entities": [
        {
            "name": "Site",
            "fields": [
                {"name": "name", "unique": True},
                {"name": "website", "type": "url", "required": False},
                {"name": "elevation", "type": "integer", "indexed": True},
            ],
            "relations": [{"name": "visits", "kind": "one_to_many", "target": "Visit"}],
        },
        {
            "name": "Visit",
            "fields": [
                {"name": "observed on", "type": "date"},
                {"name": "notes", "type": "text"},
                {"name": "weather", "type": "enum", "values": ["sun", "rain", "snow"]},
                {"name": "readings", "type": "json", "required": False},
                {"name": "cost", "type": "decimal", "required": False},
                {"name": "confirmed", "type": "boolean", "default": False},
                {"name": "logged at", "type": "datetime"},
                {"name": "contact", "type": "email", "required": False},
            ],
            "relations": [
                {"name": "previous", "target": "Visit"},
                {"name": "observers", "kind": "many_to_many", "target": "Observer"},
            ],
        },
        {"name": "Observer", "fields": [{"name": "full name", "max_length": 80}]},
    ],
}


def generate(template: ProjectTemplate, *, verify: bool = True) -> GenerationResult:
    data = CUSTOM_SPEC if template is ProjectTemplate.CUSTOM else None
    spec = build_spec(data, template=template)
    return Orchestrator().generate(spec, resolve(spec), verify=verify)


@pytest.fixture(scope="session")
def unverified_blog() -> GenerationResult:
    return generate(ProjectTemplate.BLOG, verify=False)
