"""The container targets: ``docker`` (the app's image context with a compose file on
PostgreSQL and the Kubernetes manifests) and ``kubernetes`` (the manifests alone).

Both build a checked artifact, a zip the owner downloads. Running it on a Docker engine is
not built yet: where one is reachable the message says so, where none is (the client
without a daemon, or no client) it says that; either way the artifact is the outcome.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import TextIO

import yaml

from appbuilder.services.deployments import manifests
from appbuilder.services.deployments.targets.base import Outcome, Release

DEPLOY_README = """\
# Deploying {slug}

Checked by the platform before it was offered: the Dockerfile's inputs, the compose
file's shape and the Kubernetes manifests against the Kubernetes {k8s} schemas.

## Docker Compose (PostgreSQL included)

    export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
    export POSTGRES_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
    docker compose up -d --build      # migrations run first, then the app on :8000

## Kubernetes

Build and push the image (`docker build -t {image} . && docker push {image}`), create
the app's settings as a Secret, then apply the migration Job and the app:

    kubectl create secret generic {slug}-settings \\
      --from-literal=DATABASE_URL=postgresql+psycopg://USER:PASSWORD@HOST/DB \\
      --from-literal=SECRET_KEY=...
    kubectl apply -f k8s/migrate-job.yaml
    kubectl wait --for=condition=complete job/{slug}-migrate
    kubectl apply -f k8s/app.yaml
"""


def engine_status() -> str | None:
    """None when a Docker engine answers; else why not, in words for the user."""
    client = shutil.which("docker")
    if client is None:
        return "No Docker client is installed on the platform's machine"
    try:
        done = subprocess.run(  # noqa: S603 - the docker client, fixed arguments
            [client, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "The Docker client did not answer"
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"No Docker engine is reachable ({reason[-1] if reason else 'no reason given'})"
    return None


class DockerTarget:
    name = "docker"
    #: what the artifact holds besides the app's files
    with_app = True

    def deploy(self, release: Release, log: TextIO) -> Outcome:
        work = release.home / "build" / release.deployment_id
        folder = release.extract(work)
        image = f"{release.slug}:{release.commit[:12]}"
        self._prepare(folder, release.slug, image, log)
        artifact = release.home / "artifacts" / f"{release.deployment_id}.zip"
        _zip(folder, artifact, release.slug, only="k8s" if not self.with_app else None)
        shutil.rmtree(work, ignore_errors=True)
        log.write(f"[deploy] Artifact ready: {artifact.name} ({artifact.stat().st_size} bytes)\n")
        url = f"/api/deployments/{release.deployment_id}/artifact"
        return Outcome(url, self._message(), None)

    def _prepare(self, folder: Path, slug: str, image: str, log: TextIO) -> None:
        if not (folder / "Dockerfile").is_file():
            (folder / "Dockerfile").write_text(manifests.DOCKERFILE)
            log.write("[deploy] The app has no Dockerfile: added the platform's\n")
        manifests.check_dockerfile(folder)
        spec = manifests.compose(slug)
        manifests.check_compose(spec, folder)
        (folder / "compose.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        log.write("[deploy] Dockerfile and compose.yaml checked\n")
        documents = manifests.kubernetes(slug, image)
        version = manifests.check_kubernetes(documents)
        (folder / "k8s").mkdir(exist_ok=True)
        (folder / "k8s" / "migrate-job.yaml").write_text(manifests.dump_all(documents[:1]))
        (folder / "k8s" / "app.yaml").write_text(manifests.dump_all(documents[1:]))
        (folder / "DEPLOY.md").write_text(DEPLOY_README.format(slug=slug, image=image, k8s=version))
        log.write(f"[deploy] Kubernetes manifests checked against the {version} schemas\n")

    def _message(self) -> str:
        why = engine_status()
        if why is None:
            return (
                "A Docker engine is reachable, but running the app on it is not built yet: "
                "download the checked artifact and run `docker compose up -d --build`."
            )
        return f"{why}: download the checked artifact (image context, compose file, manifests)."


class KubernetesTarget(DockerTarget):
    name = "kubernetes"
    with_app = False

    def _message(self) -> str:
        return "Kubernetes manifests checked: download them and follow DEPLOY.md."


def _zip(folder: Path, artifact: Path, slug: str, *, only: str | None) -> None:
    """The folder as ``<slug>/...`` (or just its ``only`` subfolder and DEPLOY.md)."""
    artifact.parent.mkdir(parents=True, exist_ok=True)
    partial = artifact.with_suffix(".part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if only is not None and relative.parts[0] not in (only, "DEPLOY.md"):
                continue
            if path.is_file():
                archive.write(path, f"{slug}/{relative.as_posix()}")
    partial.replace(artifact)
