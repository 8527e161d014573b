"""A new user's first runs, through the live server: the spec sent with a run is kept, the
README tells what the app is, the zip is named after the app, the project says what to do
next, and a cancelled run costs nothing."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from appbuilder.settings import Settings
from tests.integration.api.conftest import Account, Api
from tests.integration.api.test_runs import start, wait_for

NOTE = {"entities": [{"name": "Plant", "fields": [{"name": "nickname", "type": "string"}]}]}


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    # PostgreSQL included: runs execute in the server (tests/integration/api/test_no_worker.py
    # covers a PostgreSQL server with no worker)
    return api_settings.model_copy(update={"queue": "embedded"})


def completed(api: Api, owner: Account, project_id: str, **body: Any) -> dict[str, Any]:
    started = start(api, owner, project_id, verify=False, **body)
    assert started.status_code == 202, started.text
    done = wait_for(api, owner, started.json()["id"])
    assert done["status"] == "COMPLETED", done
    return done


def readme(api: Api, owner: Account, project_id: str) -> str:
    found = api.get(f"/api/projects/{project_id}/files/README.md", headers=owner.headers)
    assert found.status_code == 200, found.text
    content: str = found.json()["content"]
    return content


def test_a_runs_spec_becomes_the_projects_and_the_next_plain_run_uses_it(api: Api) -> None:
    owner = api.account()
    project = api.project(owner, template="API", name="Plant Shop", description="Tracks plants.")
    path = f"/api/projects/{project['id']}"
    first = completed(api, owner, project["id"], spec=NOTE)
    assert api.get(path, headers=owner.headers).json()["config"] == {"spec": NOTE}

    second = completed(api, owner, project["id"])  # no spec: the project's, kept from the first
    assert second["spec_hash"] == first["spec_hash"]
    files = api.get(f"{path}/files", headers=owner.headers).json()["files"]
    assert any("plant" in f["path"] for f in files)

    # the README tells what the app is, in the project's words
    assert "Tracks plants." in readme(api, owner, project["id"])

    # the zip is named after the app's slug, and so is its one folder
    download = api.get(f"{path}/download", headers=owner.headers)
    assert download.headers["content-disposition"] == 'attachment; filename="plant-shop.zip"'
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert names
    assert all(name.startswith("plant-shop/") for name in names)


def test_a_project_without_a_description_gets_its_templates(api: Api) -> None:
    owner = api.account()
    project = api.project(owner, template="API", name="Bare")
    completed(api, owner, project["id"])
    text = readme(api, owner, project["id"])
    assert "A resource-oriented JSON API" in text  # the API template's description
    assert "A web application." not in text


def test_the_project_says_what_to_do_next_and_a_cancelled_run_costs_nothing(api: Api) -> None:
    owner = api.account()
    project = api.project(owner, template="API")
    path = f"/api/projects/{project['id']}"

    def state() -> tuple[str, list[str], list[str]]:
        found = api.get(path, headers=owner.headers).json()
        return found["status"], found["next_actions"], found["allowed_next_statuses"]

    assert state() == ("DRAFT", ["generate"], [])
    run = start(api, owner, project["id"], verify=True).json()  # verification takes a while
    assert state() == ("GENERATING", ["cancel"], [])
    api.post(f"/api/runs/{run['id']}/cancel", headers=owner.headers)
    assert wait_for(api, owner, run["id"])["status"] == "CANCELLED"
    assert state() == ("DRAFT", ["generate"], [])

    limits = api.get("/api/usage", headers=owner.headers).json()["limits"]
    assert {"limit": "generations_per_month", "used": 0, "allowed": 2000} in limits

    completed(api, owner, project["id"])
    assert state() == ("READY", ["generate", "download", "deploy"], ["DEPLOYING"])
    limits = api.get("/api/usage", headers=owner.headers).json()["limits"]
    assert {"limit": "generations_per_month", "used": 1, "allowed": 2000} in limits
