"""Stacks are data the engine reads: a second stack generates without engine changes, and
agents register routers, tables and settings that the assembly step, not another agent,
writes into the app's shared files."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest
from jinja2 import BaseLoader, DictLoader

from appbuilder.agents.base import AgentInput, AgentOutput
from appbuilder.agents.orchestrator import MemoryJournal, Orchestrator, default_agents, make_plan
from appbuilder.enums import AgentType, ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.spec import stack_rules
from appbuilder.spec.loading import build_spec
from appbuilder.spec.model import FieldSpec, FieldType
from appbuilder.spec.resolved import AppModel
from appbuilder.spec.validation import resolve
from appbuilder.stacks.base import (
    BlueprintStack,
    Contribution,
    Registration,
    Render,
    ReservedNames,
    Router,
    Setting,
    Table,
)
from appbuilder.stacks.registry import register


class TinyStack(BlueprintStack):
    """A stack of three files: enough to prove the engine asks the stack for everything."""

    name = "tiny"
    reserved = ReservedNames()
    filters: Mapping[str, object] = {"shout": str.upper}  # type: ignore[assignment]

    def loader(self) -> BaseLoader:
        return DictLoader(
            {
                "model.txt": (
                    "<% for e in app.entities %><< e.names.pascal | shout >>\n<% endfor %>"
                ),
                "routes.txt": "<< module >>\n",
                "app.txt": "<% for r in routers %>include << r.name >>\n<% endfor %>",
            }
        )

    def refuses(self, item: FieldSpec, value: object) -> str | None:  # noqa: ARG002
        return None

    def refuses_bound(self, kind: FieldType, value: object) -> str | None:  # noqa: ARG002
        return None

    def refuses_pattern(self, pattern: str) -> str | None:  # noqa: ARG002
        return None

    def roles(self, model: AppModel) -> dict[AgentType, str]:  # noqa: ARG002
        return {AgentType.DATABASE: "the model", AgentType.BACKEND: "the routes"}

    def contribution(self, role: AgentType, model: AppModel) -> Contribution:  # noqa: ARG002
        if role is AgentType.DATABASE:
            return Contribution((Render("model.txt", "model.txt"),))
        routes = Render("routes.txt", "routes/items.txt", {"module": "items"})
        return Contribution((routes,), (Router("routes", "items"),))

    def assemble(
        self,
        model: AppModel,  # noqa: ARG002
        registrations: tuple[Registration, ...],
    ) -> Contribution:
        return Contribution((Render("app.txt", "app.txt", {"routers": registrations}),))


def test_a_second_stack_generates_without_engine_changes() -> None:
    register(TinyStack())
    spec = build_spec(
        {
            "name": "Tiny",
            "stack": "tiny",
            "entities": [{"name": "Note", "fields": [{"name": "title"}]}],
        }
    )
    model = resolve(spec)
    result = Orchestrator().generate(spec, model, verify=False)
    assert [[a.value for a in stage] for stage in result.plan.stages] == [["DATABASE"], ["BACKEND"]]
    assert result.files == {
        "app.txt": b"include items\n",
        "model.txt": b"NOTE\n",
        "routes/items.txt": b"items\n",
    }


def test_an_unknown_stack_is_a_spec_problem() -> None:
    spec = build_spec(
        {"name": "X", "stack": "rails", "entities": [{"name": "Note", "fields": [{"name": "t"}]}]}
    )
    with pytest.raises(SpecError, match="'rails' is not a stack"):
        resolve(spec)


class AddsRouter:
    """A real agent that also adds a router of its own, registering it (no main.py edit)."""

    agent_type = AgentType.INTEGRATIONS

    def run(self, task: AgentInput) -> AgentOutput:
        output = default_agents()[self.agent_type].run(task)
        files = {
            **output.files,
            "app/routers/extra.py": b"from fastapi import APIRouter\n\nrouter = APIRouter()\n",
        }
        registrations = (*output.registrations, Router("app.routers", "extra", order=50))
        return replace(output, files=files, registrations=registrations)


def test_a_registered_router_is_included_by_the_assembly_step() -> None:
    spec = build_spec(template=ProjectTemplate.ECOMMERCE)
    agents = {**default_agents(), AgentType.INTEGRATIONS: AddsRouter()}
    result = Orchestrator(agents).generate(spec, resolve(spec), verify=False)
    main = result.files["app/main.py"].decode()
    assert re.search(r"from app\.routers import [^)]*\bextra\b", main)
    api_part, _pages = main.split("ROUTES.include_router(home.router)")
    assert "ROUTES.include_router(extra.router)" in api_part  # JSON routers come before pages
    assert "ROUTES.include_router(payments.router)" in api_part


def test_a_resumed_run_keeps_the_registrations_of_replayed_steps() -> None:
    spec = build_spec(template=ProjectTemplate.API)
    model = resolve(spec)
    journal = MemoryJournal()
    first = Orchestrator().generate(spec, model, verify=False, journal=journal)
    resumed = Orchestrator().generate(spec, model, verify=False, journal=journal)  # all replayed
    assert resumed.tree_hash == first.tree_hash
    summary = json.loads(resumed.records[-1].response)
    written = [e["path"] for r in resumed.records[:-1] for e in json.loads(r.response)["files"]]
    assert sorted([*written, *(e["path"] for e in summary["assembled"])]) == sorted(resumed.files)


class AddsTableAndSetting:
    """A real agent that also needs a table and a setting of its own: it registers both."""

    agent_type = AgentType.INTEGRATIONS

    def run(self, task: AgentInput) -> AgentOutput:
        output = default_agents()[self.agent_type].run(task)
        registrations = (
            *output.registrations,
            Table("integrations/tables/uploads.jinja", ("uploads",)),
            Setting("audit_days", "int", "30", example="30", test="1", comment="Kept this long."),
        )
        return replace(output, registrations=registrations)


def test_registered_tables_and_settings_are_written_by_the_assembly_step() -> None:
    spec = build_spec(template=ProjectTemplate.ECOMMERCE)  # no uploads feature of its own
    agents = {**default_agents(), AgentType.INTEGRATIONS: AddsTableAndSetting()}
    files = Orchestrator(agents).generate(spec, resolve(spec), verify=False).files
    models = files["app/models.py"].decode()
    migration = files["migrations/versions/0001_initial.py"].decode()
    assert "class Upload(Base):" in models
    # created after the entities' tables, dropped before them
    assert migration.index('"order_items"') < migration.index('"uploads"')
    downgrade = migration.split("def downgrade")[1]
    assert downgrade.index('drop_table("uploads")') < downgrade.index('drop_table("order_items")')
    assert downgrade.index('drop_table("order_items")') < downgrade.index('drop_table("users")')
    assert "    # Kept this long.\n    audit_days: int = 30\n" in files["app/settings.py"].decode()
    assert "AUDIT_DAYS=30\n" in files[".env.example"].decode()
    assert "audit_days=1," in files["tests/conftest.py"].decode()


def test_each_role_registers_what_it_adds_to_shared_files() -> None:
    spec = build_spec(template=ProjectTemplate.ECOMMERCE)
    outputs = {
        agent: output.registrations
        for agent, output in (
            (a, default_agents()[a].run(AgentInput(spec, resolve(spec), make_plan(resolve(spec)))))
            for a in (AgentType.DATABASE, AgentType.AUTH, AgentType.INTEGRATIONS)
        )
    }
    assert outputs[AgentType.DATABASE] == ()  # its tables are the entities' own
    auth_tables = [r.names for r in outputs[AgentType.AUTH] if isinstance(r, Table)]
    assert auth_tables == [("users", "user_sessions"), ("login_failures",)]
    auth_settings = {r.name for r in outputs[AgentType.AUTH] if isinstance(r, Setting)}
    assert {"session_days", "bcrypt_rounds"} <= auth_settings
    integrations = outputs[AgentType.INTEGRATIONS]
    assert [r.names for r in integrations if isinstance(r, Table)] == [("payments",)]
    assert "stripe_api_key" in {r.name for r in integrations if isinstance(r, Setting)}


def test_threads_validating_at_once_all_see_the_installed_stacks() -> None:
    """A worker's threads validate specs at once; none may see the stacks half loaded."""
    saved = dict(stack_rules._RULES), list(stack_rules._LOADED)
    stack_rules._RULES.clear()
    stack_rules._LOADED.clear()
    start = threading.Barrier(8)

    def look() -> bool:
        start.wait()
        return stack_rules.rules_for("fastapi") is not None

    try:
        with ThreadPoolExecutor(8) as pool:
            seen = list(pool.map(lambda _: look(), range(8)))
    finally:
        stack_rules._RULES.update(saved[0])
        stack_rules._LOADED[:] = saved[1]
    assert seen == [True] * 8
