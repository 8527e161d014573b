"""INTEGRATIONS: Stripe checkout with signed webhooks, SMTP email, local or S3 uploads.

Each is configured from the environment and tested by the generated suite against a local
fake speaking the service's own protocol, so the app's real client code runs in its tests.
"""

from __future__ import annotations

from appbuilder.agents.base import Render, TemplateAgent
from appbuilder.enums import AgentType
from appbuilder.spec.resolved import AppModel


def needs_integrations(model: AppModel) -> bool:
    return any(model.has(f) for f in ("payments", "email", "file_uploads"))


class IntegrationsAgent(TemplateAgent):
    agent_type = AgentType.INTEGRATIONS

    def files(self, model: AppModel) -> list[Render]:
        files = [
            Render("integrations/package.py.jinja", "app/integrations/__init__.py"),
            Render("integrations/fakes.py.jinja", "tests/fakes.py"),
        ]
        if model.has("payments"):
            files += [
                Render("integrations/payments.py.jinja", "app/integrations/payments.py"),
                Render("integrations/payments_service.py.jinja", "app/services/payments.py"),
                Render("integrations/payments_router.py.jinja", "app/routers/payments.py"),
                Render("integrations/test_payments.py.jinja", "tests/test_payments.py"),
            ]
        if model.has("email"):
            files += [
                Render("integrations/mailer.py.jinja", "app/integrations/mailer.py"),
                Render("integrations/test_email.py.jinja", "tests/test_email.py"),
            ]
        if model.has("file_uploads"):
            files += [
                Render("integrations/storage.py.jinja", "app/integrations/storage.py"),
                Render("integrations/uploads_router.py.jinja", "app/routers/uploads.py"),
                Render("integrations/test_uploads.py.jinja", "tests/test_uploads.py"),
            ]
        return files
