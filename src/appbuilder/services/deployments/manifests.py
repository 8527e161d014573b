"""What the container targets ship beside the app's files, written by the platform (not
by the app's blueprints, so every generated app gets the same, checked recipe): a compose
file running the app on PostgreSQL, and Kubernetes manifests (the app's Deployment and
Service, a Job applying its migrations, its settings read from a Secret the operator
creates). Each is checked before it is offered: the compose file's shape and the
Dockerfile's inputs against the tree, the manifests against Kubernetes' own schemas
(kubernetes-validate, offline).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from appbuilder.errors import DeployFailed

#: the Kubernetes version the manifests are checked against
KUBERNETES_VERSION = "1.30"
APP_PORT = 8000
DOCKERFILE = """\
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /srv
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
RUN useradd --create-home appuser
USER appuser
EXPOSE 8000
CMD ["uvicorn", "app.main:app", "--host", "0.0.0.0", "--port", "8000"]
"""


def compose(slug: str) -> dict[str, Any]:
    """The app on PostgreSQL: migrations run once (a service that must end well) before
    the web service starts."""
    password = "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"  # noqa: S105 - read from the env
    env = {
        "DATABASE_URL": f"postgresql+psycopg://app:{password}@db/app",
        "ENVIRONMENT": "production",
        "SECRET_KEY": "${SECRET_KEY:?set SECRET_KEY}",
    }
    return {
        "name": slug,
        "services": {
            "db": {
                "image": "postgres:16",
                "environment": {
                    "POSTGRES_USER": "app",
                    "POSTGRES_PASSWORD": password,
                    "POSTGRES_DB": "app",
                },
                "volumes": ["db-data:/var/lib/postgresql/data"],
                "healthcheck": {
                    "test": ["CMD-SHELL", "pg_isready -U app"],
                    "interval": "5s",
                    "retries": 10,
                },
            },
            "migrate": {
                "build": ".",
                "command": ["alembic", "upgrade", "head"],
                "environment": env,
                "depends_on": {"db": {"condition": "service_healthy"}},
            },
            "web": {
                "build": ".",
                "ports": [f"{APP_PORT}:{APP_PORT}"],
                "environment": env,
                "depends_on": {"migrate": {"condition": "service_completed_successfully"}},
                "restart": "unless-stopped",
            },
        },
        "volumes": {"db-data": {}},
    }


def check_compose(spec: dict[str, Any], folder: Path) -> None:
    services = spec.get("services") or {}
    for name, service in services.items():
        if "image" not in service and "build" not in service:
            raise DeployFailed(f"compose.yaml: service {name!r} has neither image nor build.")
        if "build" in service and not (folder / service["build"] / "Dockerfile").is_file():
            raise DeployFailed(
                f"compose.yaml: service {name!r} builds a folder without a Dockerfile."
            )
        for needed in service.get("depends_on", {}):
            if needed not in services:
                raise DeployFailed(f"compose.yaml: {name!r} depends on unknown {needed!r}.")


_COPY = re.compile(r"^COPY\s+(?!--from)(.+)$", re.MULTILINE)


def check_dockerfile(folder: Path) -> None:
    """Every file the Dockerfile copies is in the image context, and it says what to run."""
    text = (folder / "Dockerfile").read_text()
    for line in _COPY.findall(text):
        for source in line.split()[:-1]:
            if not source.startswith("--") and not (folder / source).exists():
                raise DeployFailed(f"Dockerfile copies {source!r}, which the app does not have.")
    if "CMD" not in text and "ENTRYPOINT" not in text:
        raise DeployFailed("Dockerfile says nothing to run (no CMD or ENTRYPOINT).")


def kubernetes(slug: str, image: str) -> list[dict[str, Any]]:
    """Deployment, Service and migration Job; settings from the Secret ``<slug>-settings``
    (DATABASE_URL, SECRET_KEY), which the operator creates: no secret value is shipped."""
    labels = {"app.kubernetes.io/name": slug}
    env = [
        {"name": "ENVIRONMENT", "value": "production"},
        *(
            {
                "name": key,
                "valueFrom": {"secretKeyRef": {"name": f"{slug}-settings", "key": key}},
            }
            for key in ("DATABASE_URL", "SECRET_KEY")
        ),
    ]
    container: dict[str, Any] = {"name": slug, "image": image, "env": env}
    probe: dict[str, Any] = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    web = {
        **container,
        "ports": [{"name": "http", "containerPort": APP_PORT}],
        "readinessProbe": probe,
        "livenessProbe": {**probe, "initialDelaySeconds": 10},
    }
    return [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": f"{slug}-migrate", "labels": labels},
            "spec": {
                "backoffLimit": 2,
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{**container, "command": ["alembic", "upgrade", "head"]}],
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": slug, "labels": labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [web]}},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": slug, "labels": labels},
            "spec": {
                "selector": labels,
                "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
            },
        },
    ]


def check_kubernetes(documents: list[dict[str, Any]]) -> str:
    """Each manifest against Kubernetes' schema (strict: unknown fields refused)."""
    import kubernetes_validate  # type: ignore[import-untyped]  # noqa: PLC0415 - big; on use

    for document in documents:
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise DeployFailed(
                f"{document['kind']} manifest refused by the Kubernetes {KUBERNETES_VERSION} "
                f"schema: {error.message}"
            ) from error
    return KUBERNETES_VERSION


class _PlainDumper(yaml.SafeDumper):
    """No anchors and aliases: manifests are read by people, and shared label dicts are
    written out at each place."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 - the Dumper's hook
        return True


def dump_all(documents: list[dict[str, Any]]) -> str:
    return yaml.dump_all(documents, Dumper=_PlainDumper, sort_keys=False)
