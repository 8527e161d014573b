"""Deployments through the REST API, on a real server with its supervisor: deploy a
verified app, watch it come up, read and follow its log, tier limits, stop it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from appbuilder.db.models import Deployment
from appbuilder.db.session import make_session_factory
from appbuilder.enums import SubscriptionTier
from appbuilder.services.deployments import processes
from appbuilder.settings import Settings
from tests.deploying import completed_run
from tests.integration.api.conftest import Account, Api


@pytest.fixture
def stops_apps(engine: Engine) -> Iterator[None]:
    """Whatever happens in the test, no app it deployed is left running."""
    yield
    with engine.connect() as connection:
        for pid, started in connection.execute(
            select(Deployment.pid, Deployment.process_started).where(Deployment.pid.is_not(None))
        ):
            processes.stop(pid, started, grace=5)


def _built(api: Api, owner: Account, engine: Engine, settings: Settings) -> dict[str, Any]:
    project = api.project(owner, name="Served blog")
    completed_run(make_session_factory(engine), settings.projects_dir, owner.id, project["id"])
    return project


def _until_settled(api: Api, owner: Account, deployment_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found: dict[str, Any] = api.get(
            f"/api/deployments/{deployment_id}", headers=owner.headers
        ).json()
        if found["status"] != "IN_PROGRESS":
            return found
        time.sleep(0.2)
    raise AssertionError("the deployment did not settle")


@pytest.mark.usefixtures("stops_apps")
def test_deploy_follow_the_log_and_stop_through_the_api(
    api: Api, engine: Engine, api_settings: Settings
) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    project = _built(api, owner, engine, api_settings)
    path = f"/api/projects/{project['id']}/deployments"

    refused = api.post(path, json={"target": "docker"}, headers=owner.headers)
    assert refused.status_code == 402
    assert refused.json()["error"]["details"]["upgrade_to"] == "STARTER"
    bad = api.post(path, json={"target": "moon"}, headers=owner.headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["path"] == "target"

    started = api.post(path, json={"target": "local"}, headers=owner.headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "IN_PROGRESS"
    assert api.post(path, json={}, headers=owner.headers).status_code == 409  # DEPLOYING
    deployment = _until_settled(api, owner, started.json()["id"])
    assert deployment["status"] == "SUCCEEDED", deployment["log"]
    assert httpx.get(f"{deployment['url']}healthz", timeout=10).json() == {"status": "ok"}
    shown = api.get(f"/api/projects/{project['id']}", headers=owner.headers).json()
    assert (shown["status"], shown["deployment_url"]) == ("DEPLOYED", deployment["url"])
    listed = api.get(path, headers=owner.headers).json()
    assert [d["id"] for d in listed] == [deployment["id"]]

    logs = f"/api/deployments/{deployment['id']}/logs"
    tail = api.get(logs, params={"lines": 400}, headers=owner.headers)
    assert "[deploy] Running at" in tail.text
    assert "Application startup complete" in tail.text

    # a running app: one more is over the FREE tier's one at a time
    other = _built(api, owner, engine, api_settings)
    over = api.post(
        f"/api/projects/{other['id']}/deployments", json={"target": "local"}, headers=owner.headers
    )
    assert over.status_code == 402
    assert over.json()["error"]["details"]["limit"] == "live_deployments"
    assert over.json()["error"]["details"]["upgrade_to"] == "STARTER"

    stranger = api.account()
    hidden = api.get(f"/api/deployments/{deployment['id']}", headers=stranger.headers)
    assert hidden.status_code == 404

    followed: list[str] = []

    def follow() -> None:
        with api.client.stream(
            "GET", logs, params={"follow": "true", "lines": 5}, headers=owner.headers
        ) as stream:
            followed.extend(stream.iter_text())

    reader = threading.Thread(target=follow)
    reader.start()
    while not followed:
        time.sleep(0.05)
    stopped = api.post(f"/api/deployments/{deployment['id']}/stop", headers=owner.headers)
    assert stopped.status_code == 200, stopped.text
    assert stopped.json()["status"] == "CANCELLED"
    reader.join(timeout=30)
    assert not reader.is_alive()  # the stream ended with the deployment
    assert "Shutting down" in "".join(followed)  # the app's last words reached the reader
    shown = api.get(f"/api/projects/{project['id']}", headers=owner.headers).json()
    assert shown["status"] == "READY"
    again = api.post(f"/api/deployments/{deployment['id']}/stop", headers=owner.headers)
    assert again.status_code == 409


def test_an_artifact_is_finished_its_log_is_not_followed_forever(
    api: Api, engine: Engine, api_settings: Settings
) -> None:
    """A docker artifact stays SUCCEEDED: its page does not follow the log, and a follow
    asked for anyway ends at once (a stream per view used to hold a server thread for
    good); the artifact downloads; a stranger finds none of it."""
    owner = api.account(tier=SubscriptionTier.PRO)
    project = _built(api, owner, engine, api_settings)
    started = api.post(
        f"/api/projects/{project['id']}/deployments",
        json={"target": "docker"},
        headers=owner.headers,
    )
    assert started.status_code == 202, started.text
    deployment = _until_settled(api, owner, started.json()["id"])
    assert deployment["status"] == "SUCCEEDED", deployment["log"]

    page_path = f"/projects/{project['id']}/deployments/{deployment['id']}"
    api.cookies.set("uab_session", owner.token)
    html = {"accept": "text/html"}
    page = api.get(page_path, headers=html)
    assert page.status_code == 200
    assert "data-follow" not in page.text
    assert 'id="artifact-link"' in page.text
    for follow in (f"{page_path}/log?follow=true", f"/api/deployments/{deployment['id']}/logs"):
        with api.client.stream(
            "GET",
            follow,
            params={"follow": "true"},
            headers=owner.headers,
            timeout=30,
        ) as stream:
            assert stream.status_code == 200
            assert "[deploy] Artifact ready" in "".join(stream.iter_text())  # and it ended
    artifact = api.get(f"{page_path}/artifact")
    assert artifact.status_code == 200
    assert artifact.content[:2] == b"PK"

    api.cookies.set("uab_session", api.account().token)  # a stranger
    for path in (page_path, f"{page_path}/status", f"{page_path}/log", f"{page_path}/artifact"):
        hidden = api.get(path, headers=html)
        assert hidden.status_code == 404, path
