"""BACKEND: settings, the FastAPI app, and per entity its schemas, service and JSON router.

Routers stay thin: they parse, call the entity's service and shape the response; the
service functions are shared with the pages the FRONTEND agent writes.
"""

from __future__ import annotations

from appbuilder.agents.base import Render, TemplateAgent
from appbuilder.enums import AgentType
from appbuilder.spec.resolved import AppModel


class BackendAgent(TemplateAgent):
    agent_type = AgentType.BACKEND

    def files(self, model: AppModel) -> list[Render]:
        files = [
            Render("backend/settings.py.jinja", "app/settings.py"),
            Render("backend/main.py.jinja", "app/main.py"),
            Render("backend/errors.py.jinja", "app/errors.py"),
            Render("backend/dependencies.py.jinja", "app/dependencies.py"),
            Render("backend/pagination.py.jinja", "app/pagination.py"),
            Render("backend/rows.py.jinja", "app/rows.py"),
            Render("backend/validators.py.jinja", "app/validators.py"),
            Render(
                "backend/package.py.jinja",
                "app/schemas/__init__.py",
                {"what": "Request and response models, one module per entity."},
            ),
            Render(
                "backend/package.py.jinja",
                "app/services/__init__.py",
                {"what": "What the app does with each entity, shared by the API and the pages."},
            ),
            Render(
                "backend/package.py.jinja",
                "app/routers/__init__.py",
                {"what": "The JSON API, one router per entity or concern."},
            ),
            Render("backend/service_crud.py.jinja", "app/services/crud.py"),
            Render("backend/health.py.jinja", "app/routers/health.py"),
            Render("backend/tests_init.py.jinja", "tests/__init__.py"),
            Render("backend/conftest.py.jinja", "tests/conftest.py"),
            Render("backend/factories.py.jinja", "tests/factories.py"),
            Render("backend/test_health.py.jinja", "tests/test_health.py"),
            Render("backend/test_migrations.py.jinja", "tests/test_migrations.py"),
        ]
        for entity in model.entities:
            extra = {"entity": entity}
            snake = entity.names.snake
            files += [
                Render("backend/schema.py.jinja", f"app/schemas/{snake}.py", extra),
                Render("backend/service.py.jinja", f"app/services/{snake}.py", extra),
                Render("backend/router.py.jinja", f"app/routers/{snake}.py", extra),
                Render("backend/test_entity_api.py.jinja", f"tests/test_{snake}_api.py", extra),
            ]
        if model.has("rss"):
            files += [
                Render("backend/feed.py.jinja", "app/routers/feed.py"),
                Render("backend/test_feed.py.jinja", "tests/test_feed.py"),
            ]
        return files
