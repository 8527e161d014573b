"""What a stack is: the blueprints of one kind of generated app and everything they need.

The engine (agents, orchestrator, spec validation) knows stacks only through ``Stack``:
where its blueprints live and how they are rendered (filters, Jinja environment), the
names its generated code already uses, the values its generated app accepts, and per
agent role the files that role renders and the registrations (routers, tables, settings) it hands to
the assembly step. A new stack is one ``Stack`` registered in ``stacks.registry``; nothing
in the engine changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from jinja2 import BaseLoader, PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from appbuilder.enums import AgentType
from appbuilder.spec.resolved import AppModel
from appbuilder.spec.stack_rules import ReservedNames, StackRules

__all__ = [
    "BlueprintStack",
    "Contribution",
    "Registration",
    "Render",
    "ReservedNames",
    "Router",
    "Setting",
    "Stack",
    "Table",
]


@dataclass(frozen=True)
class Render:
    """One blueprint file to render to ``path`` with extra context (``entity`` and the like)."""

    template: str
    path: str
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Router:
    """A router an agent adds to the app; the assembly step includes it in the app.

    ``package`` and ``module`` give the import (``from app.routers import health``),
    ``alias`` the local name when the module's name is taken; JSON routers are included
    before pages, each group by ``order`` (then by the order agents ran).
    """

    package: str
    module: str
    alias: str | None = None
    pages: bool = False
    order: int = 0

    @property
    def name(self) -> str:
        return self.alias or self.module


@dataclass(frozen=True)
class Table:
    """Tables an agent adds to the app's models and its initial migration.

    ``template`` is a blueprint defining two macros: ``model()`` (the ORM classes) and
    ``upgrade()`` (the migration's ``op.create_table`` calls); ``names`` are the tables it
    creates, dropped in reverse by the migration's downgrade. ``first`` tables are created
    before the entities' tables (the entities point at them: ``users``), the others after.
    """

    template: str
    names: tuple[str, ...]
    first: bool = False


@dataclass(frozen=True)
class Setting:
    """A setting an agent's code reads: a field of the app's ``Settings``.

    ``annotation`` and ``default`` are Python source (``"int"``, ``"14"``). ``example`` is
    the line's value in ``.env.example`` (left out when None); ``test`` the value the test
    suite's settings use instead of the default (Python source; none when None);
    ``comment`` the lines of why, written above the field in ``Settings``. A setting
    with no annotation is read from the environment by a library, not by ``Settings``, so
    it is only listed in ``.env.example`` (``AWS_ACCESS_KEY_ID``). ``between`` bounds a
    whole number of ``unit`` (``(1, 365)``, ``"days"``): any other value stops the app at
    start-up with a message naming the setting and the rule, since a typo or a 0 read as a
    limit or a duration misbehaves quietly for as long as the app runs.
    """

    name: str
    annotation: str | None
    default: str = ""
    example: str | None = None
    test: str | None = None
    comment: str = ""
    between: tuple[int, int] | None = None
    unit: str = ""


#: What an agent may hand to the assembly step instead of editing another agent's file.
Registration = Router | Table | Setting


@dataclass(frozen=True)
class Contribution:
    """What one agent role renders for a model, and what it registers with the assembler."""

    files: tuple[Render, ...] = ()
    registrations: tuple[Registration, ...] = ()


class Stack(StackRules, Protocol):
    """One kind of generated app (FastAPI today); see the module docstring.

    Its name, reserved names and value rules (``StackRules``) are what spec validation
    asks; the registry hands them to the spec layer, which never imports a stack.
    """

    def render(self, template: str, context: Mapping[str, Any]) -> bytes:
        """One blueprint file rendered with ``context``."""

    def roles(self, model: AppModel) -> dict[AgentType, str]:
        """The agent roles this app needs, each with the reason it is needed."""

    def contribution(self, role: AgentType, model: AppModel) -> Contribution:
        """What ``role`` renders and registers for ``model``."""

    def assemble(self, model: AppModel, registrations: tuple[Registration, ...]) -> Contribution:
        """The files the assembly step writes from every agent's registrations."""


class BlueprintStack:
    """A stack whose blueprints are ``.jinja`` files in a package folder (``blueprints``).

    Blueprints use ``<< >>``, ``<% %>`` and ``<# #>`` as delimiters: the files they produce
    hold ``{{ }}`` (the generated app's own page templates), Python braces and nested
    subscripts (``list[list[int]]``) as they are, and none of those files has a use for
    ``<<`` or ``<%``. ``StrictUndefined`` makes a missing variable an error instead of an
    empty string.
    """

    name: str
    #: (package, folder inside it) holding this stack's ``.jinja`` files
    blueprints: tuple[str, str]
    filters: Mapping[str, Callable[..., Any]] = {}

    def __init__(self) -> None:
        self._environment: SandboxedEnvironment | None = None

    def loader(self) -> BaseLoader:
        """Where the blueprints are read from: the package folder ``blueprints``."""
        return PackageLoader(*self.blueprints)

    @property
    def environment(self) -> SandboxedEnvironment:
        if self._environment is None:  # built once, on first render
            env = SandboxedEnvironment(
                loader=self.loader(),
                undefined=StrictUndefined,
                block_start_string="<%",
                block_end_string="%>",
                variable_start_string="<<",
                variable_end_string=">>",
                comment_start_string="<#",
                comment_end_string="#>",
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
                autoescape=False,
                auto_reload=False,  # blueprints ship with the package: no stat per render
            )
            env.filters.update(self.filters)
            self._environment = env
        return self._environment

    def render(self, template: str, context: Mapping[str, Any]) -> bytes:
        return self.environment.get_template(template).render(context).encode("utf-8")
