"""DATABASE: the generated app's SQLAlchemy models and its initial Alembic migration.

It owns every table, including those of auth, API keys, payments and uploads, because the
initial migration is one file and must create them all in a valid order.
"""

from __future__ import annotations

from appbuilder.agents.base import Render, TemplateAgent
from appbuilder.enums import AgentType
from appbuilder.spec.resolved import AppModel


class DatabaseAgent(TemplateAgent):
    agent_type = AgentType.DATABASE

    def files(self, _model: AppModel) -> list[Render]:
        return [
            Render("database/app_init.py.jinja", "app/__init__.py"),
            Render("database/db.py.jinja", "app/db.py"),
            Render("database/models.py.jinja", "app/models.py"),
            Render("database/alembic.ini.jinja", "alembic.ini"),
            Render("database/env.py.jinja", "migrations/env.py"),
            Render("database/script.py.mako.jinja", "migrations/script.py.mako"),
            Render("database/initial.py.jinja", "migrations/versions/0001_initial.py"),
        ]
