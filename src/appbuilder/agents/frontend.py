"""FRONTEND: server-rendered pages for every entity, a dashboard, account pages and CSS.

Skipped for apps without pages (the API template). Pages call the same services as the
JSON API, so a rule is enforced once for both.
"""

from __future__ import annotations

from appbuilder.agents.base import Render, TemplateAgent
from appbuilder.enums import AgentType
from appbuilder.spec.resolved import AppModel


class FrontendAgent(TemplateAgent):
    agent_type = AgentType.FRONTEND

    def files(self, model: AppModel) -> list[Render]:
        files = [
            Render("frontend/package.py.jinja", "app/pages/__init__.py"),
            Render("frontend/common.py.jinja", "app/pages/common.py"),
            Render("frontend/crud.py.jinja", "app/pages/crud.py"),
            Render("frontend/home.py.jinja", "app/pages/home.py"),
            Render("frontend/base.html.jinja", "app/templates/base.html"),
            Render("frontend/home.html.jinja", "app/templates/home.html"),
            Render("frontend/macros.html.jinja", "app/templates/macros.html"),
            Render("frontend/error.html.jinja", "app/templates/error.html"),
            Render("frontend/list.html.jinja", "app/templates/crud/list.html"),
            Render("frontend/detail.html.jinja", "app/templates/crud/detail.html"),
            Render("frontend/form.html.jinja", "app/templates/crud/form.html"),
            Render("frontend/style.css.jinja", "app/static/style.css"),
            Render("frontend/test_pages.py.jinja", "tests/test_pages.py"),
        ]
        if model.has("auth"):
            files += [
                Render("frontend/accounts.py.jinja", "app/pages/accounts.py"),
                Render("frontend/login.html.jinja", "app/templates/login.html"),
                Render("frontend/signup.html.jinja", "app/templates/signup.html"),
            ]
        if model.has("admin"):
            files += [
                Render("frontend/admin.py.jinja", "app/pages/admin.py"),
                Render("frontend/admin.html.jinja", "app/templates/admin.html"),
            ]
        for entity in model.entities:
            path = f"app/pages/{entity.names.snake}.py"
            files.append(Render("frontend/entity_pages.py.jinja", path, {"entity": entity}))
        return files
