"""Generation runs over HTTP, on both databases, with the embedded queue executing them in
the server's process (the procrastinate path with separate worker processes is in
tests/integration/jobs)."""

from __future__ import annotations

import io
import subprocess
import time
import zipfile
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, insert, update

from appbuilder.db.models import GenerationRun, Project
from appbuilder.enums import ProjectStatus, SubscriptionTier
from appbuilder.generator.files import tree_hash
from appbuilder.settings import Settings
from tests.integration.api.conftest import Account, Api

FINAL = {"COMPLETED", "FAILED", "CANCELLED"}


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    # PostgreSQL included: these tests exercise the embedded queue in the server process
    return api_settings.model_copy(update={"queue": "embedded"})


def wait_for(api: Api, owner: Account, run_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = api.get(f"/api/runs/{run_id}", headers=owner.headers).json()
        if run["status"] in FINAL:
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.1)


def start(api: Api, owner: Account, project_id: str, **body: Any) -> httpx.Response:
    return api.post(f"/api/projects/{project_id}/generate", json=body, headers=owner.headers)


def sse(api: Api, owner: Account, run_id: str, last: int | None = None) -> list[dict[str, Any]]:
    """Read the stream to its end; each event as {id, event, data}."""
    headers = dict(owner.headers)
    if last is not None:
        headers["Last-Event-ID"] = str(last)
    found: list[dict[str, Any]] = []
    with api.stream("GET", f"/api/runs/{run_id}/events", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        current: dict[str, Any] = {}
        for line in response.iter_lines():
            if not line:
                if "id" in current:
                    found.append(current)
                current = {}
                continue
            field, _, value = line.partition(": ")
            if field in {"id", "event", "data"}:
                current[field] = int(value) if field == "id" else value
    return found


def test_a_run_builds_records_streams_and_keeps_the_files(api: Api) -> None:
    owner = api.account()
    project = api.project(owner, template="API", name="Inventory")
    started = start(api, owner, project["id"], verify=False)
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["status"] == "QUEUED"
    assert run["previous_status"] == "DRAFT"

    streamed = sse(api, owner, run["id"])
    done = wait_for(api, owner, run["id"])
    assert done["status"] == "COMPLETED"
    assert done["commit_sha"]
    assert done["tree_hash"]
    assert done["files_count"] > 10

    # every step recorded, in plan order, orchestrator last, each exactly once
    agents = [s["agent_type"] for s in done["steps"]]
    assert agents == ["DATABASE", "BACKEND", "AUTH", "DEVOPS", "ORCHESTRATOR"]
    for step in done["steps"]:
        assert step["status"] == "COMPLETED", step
        assert step["run_id"] == run["id"]
        assert step["completed_at"] is not None
        assert step["duration_ms"] is not None
        assert step["response"]

    # the stream: numbered 1..N without gaps, each agent started and finished once, then the end
    assert [e["id"] for e in streamed] == list(range(1, len(streamed) + 1))
    kinds = [e["event"] for e in streamed]
    assert kinds[0] == "queued"
    assert kinds[-1] == "finished"
    assert kinds.count("step_finished") == len(agents)
    assert '"status":"COMPLETED"' in streamed[-1]["data"]

    # reconnecting after event k gives exactly k+1..N
    again = sse(api, owner, run["id"], last=3)
    assert [e["id"] for e in again] == [e["id"] for e in streamed[3:]]
    assert sse(api, owner, run["id"], last=len(streamed)) == []  # after the end: nothing

    detail = api.get(f"/api/projects/{project['id']}", headers=owner.headers).json()
    assert detail["status"] == "READY"
    assert detail["latest_run"]["id"] == run["id"]

    # the files, as committed
    tree = api.get(f"/api/projects/{project['id']}/files", headers=owner.headers).json()
    assert tree["commit"] == done["commit_sha"]
    paths = {f["path"] for f in tree["files"]}
    assert "app/main.py" in paths
    readme = api.get(f"/api/projects/{project['id']}/files/README.md", headers=owner.headers)
    assert readme.status_code == 200
    assert "Inventory" in readme.json()["content"]
    assert readme.json()["binary"] is False

    download = api.get(f"/api/projects/{project['id']}/download", headers=owner.headers)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    files = {
        name.split("/", 1)[1]: archive.read(name)
        for name in archive.namelist()
        if not name.endswith("/")
    }
    assert set(files) == paths
    assert tree_hash(files) == done["tree_hash"]


def test_a_second_start_names_the_running_run(api: Api) -> None:
    owner = api.account()
    project = api.project(owner)
    first = start(api, owner, project["id"], verify=True).json()
    second = start(api, owner, project["id"], verify=False)
    assert second.status_code == 409
    assert second.json()["error"]["details"]["run_id"] == first["id"]
    assert first["id"] in second.json()["error"]["message"]
    cancelled = api.post(f"/api/runs/{first['id']}/cancel", headers=owner.headers)
    assert cancelled.status_code == 202
    assert wait_for(api, owner, first["id"])["status"] == "CANCELLED"


def test_cancel_stops_the_verification_and_gives_the_status_back(api: Api) -> None:
    owner = api.account()
    project = api.project(owner, template="BLOG")
    run = start(api, owner, project["id"], verify=True).json()
    # wait until the verification runs, then cancel it
    deadline = time.monotonic() + 60
    while True:
        steps = api.get(f"/api/runs/{run['id']}", headers=owner.headers).json()["steps"]
        if all(s["status"] == "COMPLETED" for s in steps[:-1]):
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)
    assert api.post(f"/api/runs/{run['id']}/cancel", headers=owner.headers).status_code == 202
    done = wait_for(api, owner, run["id"])
    assert done["status"] == "CANCELLED"
    assert done["cancel_requested"] is True
    statuses = {s["agent_type"]: s["status"] for s in done["steps"]}
    assert statuses.pop("ORCHESTRATOR") == "CANCELLED"
    assert set(statuses.values()) == {"COMPLETED"}
    project_now = api.get(f"/api/projects/{project['id']}", headers=owner.headers).json()
    assert project_now["status"] == "DRAFT"
    # nothing was committed, and the run can't be cancelled twice
    assert api.get(f"/api/projects/{project['id']}/files", headers=owner.headers).status_code == 404
    again = api.post(f"/api/runs/{run['id']}/cancel", headers=owner.headers)
    assert again.status_code == 409
    assert again.json()["error"]["details"]["run_status"] == "CANCELLED"


def test_history_diff_between_two_runs(api: Api) -> None:
    owner = api.account()
    project = api.project(owner, template="CUSTOM", name="Notes")
    spec = {"entities": [{"name": "Note", "fields": [{"name": "title", "type": "string"}]}]}
    first = start(api, owner, project["id"], verify=False, spec=spec).json()
    assert wait_for(api, owner, first["id"])["status"] == "COMPLETED"
    spec["entities"][0]["fields"].append({"name": "pinned", "type": "boolean"})
    second = start(api, owner, project["id"], verify=False, spec=spec).json()
    done = wait_for(api, owner, second["id"])
    assert done["status"] == "COMPLETED"
    assert done["spec_hash"] != first["spec_hash"]

    base = f"/api/projects/{project['id']}"
    diff = api.get(f"{base}/diff", params={"from": first["id"]}, headers=owner.headers)
    assert diff.status_code == 200
    assert diff.headers["content-type"].startswith("text/x-diff")
    assert "+    pinned" in diff.text or "+pinned" in diff.text.replace(" ", "")
    assert diff.text.startswith("diff --git")
    same = api.get(
        f"{base}/diff", params={"from": second["id"], "to": second["id"]}, headers=owner.headers
    )
    assert same.text == ""
    # older versions stay readable
    old = api.get(f"{base}/files", params={"run": first["id"]}, headers=owner.headers).json()
    new = api.get(f"{base}/files", headers=owner.headers).json()
    assert old["commit"] != new["commit"]
    runs = api.get(f"{base}/runs", headers=owner.headers).json()["items"]
    assert [r["id"] for r in runs] == [second["id"], first["id"]]


def test_the_file_tree_is_one_git_process_and_lost_files_are_not_found(
    api: Api, api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tree lists the commit the run recorded (one ``git ls-tree``); a commit or a
    repository this machine no longer has is a 404 that says which, never a 5xx."""
    owner = api.account()
    project = api.project(owner, template="API")
    run = start(api, owner, project["id"], verify=False).json()
    done = wait_for(api, owner, run["id"])
    assert done["status"] == "COMPLETED"
    base = f"/api/projects/{project['id']}"
    git_commands: list[str] = []
    real_run = subprocess.run

    def counting(args: list[str], *rest: Any, **options: Any) -> Any:
        if args[0] == "git":
            git_commands.append(args[1])
        return real_run(args, *rest, **options)

    monkeypatch.setattr(subprocess, "run", counting)
    for version in ({}, {"run": run["id"]}):
        git_commands.clear()
        tree = api.get(f"{base}/files", params=version, headers=owner.headers)
        assert tree.status_code == 200, tree.text
        assert tree.json()["commit"] == done["commit_sha"]
        assert "app/main.py" in {f["path"] for f in tree.json()["files"]}
        assert git_commands == ["ls-tree"]

    with api.engine.begin() as connection:
        connection.execute(
            update(GenerationRun).where(GenerationRun.id == run["id"]).values(commit_sha="0" * 40)
        )
    lost_commit = api.get(f"{base}/files", headers=owner.headers)
    assert lost_commit.status_code == 404, lost_commit.text
    assert lost_commit.json()["error"]["details"] == {"entity": "Commit", "id": "0" * 40}

    folder = api_settings.projects_dir / project["id"]
    folder.rename(folder.with_name(f"{project['id']}-moved"))
    lost_repository = api.get(f"{base}/files", headers=owner.headers)
    assert lost_repository.status_code == 404, lost_repository.text
    assert lost_repository.json()["error"]["details"]["entity"] == "Generated files of project"


@pytest.mark.parametrize(
    "path",
    ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "app%2F..%2F..%2Fsecret", ".git%2Fconfig"],
)
def test_file_paths_cannot_leave_the_project(api: Api, path: str) -> None:
    owner = api.account()
    project = api.project(owner, template="API")
    run = start(api, owner, project["id"], verify=False).json()
    assert wait_for(api, owner, run["id"])["status"] == "COMPLETED"
    response = api.get(f"/api/projects/{project['id']}/files/{path}", headers=owner.headers)
    assert response.status_code == 422, response.text
    field = response.json()["error"]["details"]["fields"][0]
    assert field["path"] == "path"
    assert field["type"] in {"inside-folder", "relative-path", "no-git"}
    assert "not a file path of this project" in field["message"]


def test_other_users_runs_and_files_are_not_found(api: Api) -> None:
    owner, stranger = api.account(), api.account()
    project = api.project(owner, template="API")
    run = start(api, owner, project["id"], verify=False).json()
    assert wait_for(api, owner, run["id"])["status"] == "COMPLETED"
    base = f"/api/projects/{project['id']}"
    for method, path in [
        ("GET", f"/api/runs/{run['id']}"),
        ("GET", f"/api/runs/{run['id']}/events"),
        ("POST", f"/api/runs/{run['id']}/cancel"),
        ("POST", f"{base}/generate"),
        ("GET", f"{base}/runs"),
        ("GET", f"{base}/files"),
        ("GET", f"{base}/files/README.md"),
        ("GET", f"{base}/download"),
        ("GET", f"{base}/diff?from={run['id']}"),
    ]:
        response = api.request(method, path, headers=stranger.headers)
        assert response.status_code == 404, (method, path, response.text)


def test_a_bad_spec_override_is_refused_and_nothing_starts(api: Api) -> None:
    owner = api.account()
    project = api.project(owner, template="CUSTOM")
    bad = {"entities": [{"name": "class", "fields": [{"name": "x", "type": "nope"}]}]}
    response = start(api, owner, project["id"], spec=bad)
    assert response.status_code == 422
    fields = response.json()["error"]["details"]["fields"]
    assert {f["path"] for f in fields} == {"spec.entities.class.fields.x.type"}, fields
    assert all(f["type"] and f["message"] for f in fields)
    detail = api.get(f"/api/projects/{project['id']}", headers=owner.headers).json()
    assert detail["status"] == "DRAFT"
    assert detail["latest_run"] is None


@pytest.mark.parametrize("features", [5, [{"a": 1}], "auth"])
def test_a_spec_override_with_bad_features_is_a_422(api: Api, features: object) -> None:
    owner = api.account()
    project = api.project(owner, template="BLOG")
    response = start(api, owner, project["id"], spec={"features": features})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"]["fields"][0]["path"] == "spec.features"


def test_deleting_a_project_deletes_its_files(api: Api, api_settings: Settings) -> None:
    owner = api.account()
    project = api.project(owner, template="API")
    run = start(api, owner, project["id"], verify=False).json()
    assert wait_for(api, owner, run["id"])["status"] == "COMPLETED"
    folder = api_settings.projects_dir / project["id"]
    assert (folder / ".git").is_dir()
    assert api.delete(f"/api/projects/{project['id']}", headers=owner.headers).status_code == 204
    assert not folder.exists()


def test_scopes_and_manual_generating(api: Api) -> None:
    owner = api.account()
    project = api.project(owner)
    reader = api.api_key(owner, "projects:read", "generations:read")
    refused = start(api, reader, project["id"], verify=False)
    assert refused.status_code == 403
    patch = api.patch(
        f"/api/projects/{project['id']}", json={"status": "GENERATING"}, headers=owner.headers
    )
    assert patch.status_code == 409
    assert "/generate" in patch.json()["error"]["message"]


def test_runs_at_once_is_429_and_runs_per_month_is_402(api: Api, engine: Engine) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    first, second = api.project(owner), api.project(owner)
    running = start(api, owner, first["id"], verify=True).json()
    too_many = start(api, owner, second["id"], verify=False)
    assert too_many.status_code == 429, too_many.text
    details = too_many.json()["error"]["details"]
    assert details["limit"] == "concurrent_generations"
    assert details["allowed"] == 1
    assert details["upgrade_to"] == "STARTER"
    api.post(f"/api/runs/{running['id']}/cancel", headers=owner.headers)
    assert wait_for(api, owner, running["id"])["status"] == "CANCELLED"

    # the cancelled run is not charged; nor are runs that failed because of the platform.
    # Runs that failed because of the app (its tests failed) are. 19 + 1 = the FREE 20:
    def old_run(n: int, status: str, *, ours: bool = False) -> dict[str, object]:
        return {
            "id": f"old{n:02d}x",
            "project_id": second["id"],
            "user_id": owner.id,
            "status": status,
            "platform_failure": ours,
            "previous_status": ProjectStatus.DRAFT,
            "spec": {},
            "spec_hash": running["spec_hash"],
        }

    charged = [old_run(n, "COMPLETED") for n in range(19)] + [old_run(19, "FAILED")]
    free = [old_run(20, "FAILED", ours=True), old_run(21, "CANCELLED")]
    with engine.begin() as connection:
        connection.execute(insert(GenerationRun), free + charged[:-1])
    limits = api.get("/api/usage", headers=owner.headers).json()["limits"]
    assert {"limit": "generations_per_month", "used": 19, "allowed": 20} in limits
    with engine.begin() as connection:
        connection.execute(insert(GenerationRun), charged[-1:])
    monthly = start(api, owner, second["id"], verify=False)
    assert monthly.status_code == 402, monthly.text
    assert monthly.json()["error"]["details"]["limit"] == "generations_per_month"
    assert monthly.json()["error"]["details"]["used"] == 20


def test_a_project_left_generating_without_a_run_can_start_again(api: Api, engine: Engine) -> None:
    """Projects GENERATING from before runs existed (or demo data) are not stuck."""
    owner = api.account()
    first, second = api.project(owner), api.project(owner)
    with engine.begin() as connection:
        connection.execute(
            update(Project)
            .where(Project.id.in_([first["id"], second["id"]]))
            .values(status=ProjectStatus.GENERATING)
        )
    started = start(api, owner, first["id"], verify=False)
    assert started.status_code == 202, started.text
    assert started.json()["previous_status"] == "DRAFT"
    assert wait_for(api, owner, started.json()["id"])["status"] == "COMPLETED"
    # ERROR belongs to the system: starting a run is the way out, not a status by hand
    moved = api.patch(
        f"/api/projects/{second['id']}", json={"status": "ERROR"}, headers=owner.headers
    )
    assert moved.status_code == 409, moved.text
    assert "set by the system" in moved.json()["error"]["message"]
