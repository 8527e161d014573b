"""The FastAPI stack: FastAPI + SQLAlchemy 2 + Alembic apps with optional Jinja pages.

Its blueprints are the ``.jinja`` files in ``blueprints/`` beside this module; its filters,
reserved names, value rules and per-role contributions are the modules beside this one.
"""

from __future__ import annotations

from appbuilder.enums import AgentType
from appbuilder.spec.model import FieldSpec, FieldType
from appbuilder.spec.resolved import AppModel
from appbuilder.stacks.base import BlueprintStack, Contribution, Registration
from appbuilder.stacks.fastapi import roles, values
from appbuilder.stacks.fastapi.filters import FILTERS
from appbuilder.stacks.fastapi.reserved import RESERVED

BLUEPRINTS = ("appbuilder", "stacks/fastapi/blueprints")


class FastapiStack(BlueprintStack):
    name = "fastapi"
    blueprints = BLUEPRINTS
    filters = FILTERS
    reserved = RESERVED

    def refuses(self, item: FieldSpec, value: object) -> str | None:
        return values.refuses(item, value)

    def refuses_bound(self, kind: FieldType, value: object) -> str | None:
        return values.refuses_bound(kind, value)

    def refuses_pattern(self, pattern: str) -> str | None:
        return values.refuses_pattern(pattern)

    def roles(self, model: AppModel) -> dict[AgentType, str]:
        return roles.roles(model)

    def contribution(self, role: AgentType, model: AppModel) -> Contribution:
        return roles.CONTRIBUTIONS[role](model)

    def assemble(self, model: AppModel, registrations: tuple[Registration, ...]) -> Contribution:
        return roles.assemble(model, registrations)
