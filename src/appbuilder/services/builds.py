"""Local builds and spec checks, for the command line: the CLI's one way into the engine.

``uab generate`` (without ``--project``), ``uab spec`` and ``uab templates`` call these
functions and never the agents, the orchestrator or the writer, so the engine can change
shape behind them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appbuilder.agents.base import Plan
from appbuilder.agents.lineup import agents_for
from appbuilder.agents.orchestrator import (
    Event,
    GenerationResult,
    Orchestrator,
    make_plan,
)
from appbuilder.enums import AgentType, ProjectTemplate
from appbuilder.errors import RefusedError
from appbuilder.generator.files import line_count
from appbuilder.generator.writer import (
    LOCAL_STATE,
    Written,
    ensure_writable_target,
    write_files,
    write_tree,
)
from appbuilder.settings import LLMSettings
from appbuilder.spec.access import warnings as spec_warnings
from appbuilder.spec.loading import build_spec, load, read_spec_file
from appbuilder.spec.model import AppSpec
from appbuilder.spec.names import names_for
from appbuilder.spec.resolved import AppModel
from appbuilder.spec.validation import effective_spec, resolve

if TYPE_CHECKING:
    from appbuilder.llm.client import CallObserver

__all__ = [
    "AppModel",
    "AppSpec",
    "Event",
    "GenerationResult",
    "Plan",
    "TemplateSummary",
    "build",
    "default_target",
    "keep_failed_tree",
    "line_count",
    "load_spec",
    "plan",
    "read_spec_file",
    "spec_from_data",
    "spec_schema",
    "spec_warnings",
    "template_summaries",
    "write_app",
]

load_spec = load
plan = make_plan


def spec_from_data(
    data: dict[str, Any], *, template: ProjectTemplate | None = None, name: str | None = None
) -> tuple[AppSpec, AppModel]:
    """A spec given as data (a planner's answer) instead of a file, checked like one."""
    spec = build_spec(data, template=template, name=name)
    return spec, resolve(spec)


def default_target(slug: str) -> Path:
    """``./<slug>``; a current folder deleted under the shell is named, not a bare OS error."""
    try:
        return Path.cwd() / slug
    except FileNotFoundError:
        raise RefusedError(
            "The current folder no longer exists (it was deleted or replaced); "
            "cd to an existing folder, or pass --output."
        ) from None


def check_target(target: Path, *, force: bool) -> None:
    """Refuse early, before building, a folder the build could not be written to."""
    ensure_writable_target(target, force=force)


def build(
    spec: AppSpec,
    model: AppModel,
    *,
    verify: bool,
    timeout: float,
    on_event: Callable[[Event], None] | None = None,
    llm: LLMSettings | None = None,
    verify_database_url: str | None = None,
    observer: Callable[[AgentType], CallObserver] | None = None,
) -> GenerationResult:
    """Run every agent, assemble and (with ``verify``) prove the app by its own checks;
    ``llm`` is the model that writes the code of the spec's actions, if it has any, and
    ``observer`` is told of its calls (``local_calls``: the build's budget and ledger)."""
    orchestrator = Orchestrator(
        agents_for(spec, llm, observer=observer),
        on_event=on_event,
        verify_database_url=verify_database_url,
    )
    return orchestrator.generate(spec, model, verify=verify, timeout=timeout)


def write_app(result: GenerationResult, target: Path, *, force: bool) -> Written:
    """Write the built app to ``target``, keeping the user's local files (``LOCAL_STATE``)."""
    return write_tree(result.files, target, force=force, keep=LOCAL_STATE)


def keep_failed_tree(result: GenerationResult, target: Path) -> Path:
    """A fresh folder beside ``target`` holding a tree that failed its checks."""
    kept = Path(tempfile.mkdtemp(prefix=f"{target.name}.failed-", dir=target.parent))
    write_files(result.files, kept)
    return kept


def spec_schema() -> dict[str, Any]:
    """The AppSpec JSON Schema, for editors and other tools."""
    return AppSpec.model_json_schema()


@dataclass(frozen=True)
class TemplateSummary:
    template: ProjectTemplate
    description: str
    #: (label shown in the app, entity name to extend the template with)
    entities: tuple[tuple[str, str], ...]
    features: tuple[str, ...]


def template_summaries() -> list[TemplateSummary]:
    """What each template starts with: entities by label and by the name a spec uses."""
    summaries = []
    for template in ProjectTemplate:
        spec = effective_spec(build_spec(template=template))
        entities = tuple((names_for(e.name, e.label).label, e.name) for e in spec.entities)
        summaries.append(
            TemplateSummary(template, spec.description, entities, tuple(spec.features))
        )
    return summaries
