"""DEVOPS: packaging, container, compose with PostgreSQL, CI, env example, Makefile, README."""

from __future__ import annotations

from appbuilder.agents.base import Render, TemplateAgent
from appbuilder.enums import AgentType
from appbuilder.generator.lockfile import DEV, app_requirements, locked
from appbuilder.spec.resolved import AppModel


class DevopsAgent(TemplateAgent):
    agent_type = AgentType.DEVOPS

    def files(self, model: AppModel) -> list[Render]:
        needs = app_requirements(model)
        files = [
            Render("devops/pyproject.toml.jinja", "pyproject.toml", {"needs": needs, "dev": DEV}),
            Render(
                "devops/requirements.lock.jinja",
                "requirements.lock",
                {"pins": locked(needs), "dev": False},
            ),
            Render(
                "devops/requirements.lock.jinja",
                "requirements-dev.lock",
                {"pins": locked(needs + DEV), "dev": True},
            ),
            Render("devops/README.md.jinja", "README.md"),
            Render("devops/Makefile.jinja", "Makefile"),
            Render("devops/env.example.jinja", ".env.example"),
            Render("devops/gitignore.jinja", ".gitignore"),
        ]
        if model.deployment.docker:
            files += [
                Render("devops/Dockerfile.jinja", "Dockerfile"),
                Render("devops/dockerignore.jinja", ".dockerignore"),
                Render("devops/docker-compose.yml.jinja", "docker-compose.yml"),
            ]
        if model.deployment.ci:
            files.append(Render("devops/ci.yml.jinja", ".github/workflows/ci.yml"))
        return files
