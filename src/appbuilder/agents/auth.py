"""AUTH: sign-up, log-in, sessions, hashed passwords, the admin guard and API keys.

Only runs when the spec asks for ``auth``; ``admin`` and ``api_keys`` add their routers.
"""

from __future__ import annotations

from appbuilder.agents.base import Render, TemplateAgent
from appbuilder.enums import AgentType
from appbuilder.spec.resolved import AppModel


class AuthAgent(TemplateAgent):
    agent_type = AgentType.AUTH

    def files(self, model: AppModel) -> list[Render]:
        files = [
            Render("auth/security.py.jinja", "app/security.py"),
            Render("auth/accounts.py.jinja", "app/services/accounts.py"),
            Render("auth/auth_router.py.jinja", "app/routers/auth.py"),
            Render("auth/test_auth.py.jinja", "tests/test_auth.py"),
        ]
        if model.has("admin"):
            files += [
                Render("auth/admin_router.py.jinja", "app/routers/admin.py"),
                Render("auth/test_admin.py.jinja", "tests/test_admin.py"),
            ]
        if model.has("api_keys"):
            files += [
                Render("auth/keys_router.py.jinja", "app/routers/api_keys.py"),
                Render("auth/test_api_keys.py.jinja", "tests/test_api_keys.py"),
            ]
        return files
