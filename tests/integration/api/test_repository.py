"""Pushing a project's history to a git remote, and rolling back, over HTTP with real git:
a bare repository on file://, and an https-style remote (``git http-backend`` on loopback)
that demands a token."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from appbuilder.settings import Settings
from tests.git_servers import bare, git, http_git_server, tip
from tests.integration.api.conftest import Account, Api
from tests.integration.api.test_runs import start, wait_for

SPEC = {"entities": [{"name": "Note", "fields": [{"name": "title", "type": "string"}]}]}


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"queue": "embedded"})


def completed_run(
    api: Api, owner: Account, project_id: str, spec: dict[str, Any]
) -> dict[str, Any]:
    started = start(api, owner, project_id, verify=False, spec=spec)
    assert started.status_code == 202, started.text
    done = wait_for(api, owner, started.json()["id"])
    assert done["status"] == "COMPLETED", done["error_message"]
    return done


def events_text(api: Api, owner: Account, run_id: str) -> str:
    """The run's whole event stream (it ends: the run has finished)."""
    return api.get(f"/api/runs/{run_id}/events", headers=owner.headers).text


def test_runs_push_a_diverged_remote_refuses_and_rollback_makes_an_old_run_current(
    api: Api, tmp_path: Path
) -> None:
    owner = api.account()
    project = api.project(owner, template="CUSTOM", name="Notes")
    base = f"/api/projects/{project['id']}"
    remote = bare(tmp_path / "remote.git")
    url = f"file://{remote}"
    put = api.put(f"{base}/repository", json={"url": url}, headers=owner.headers)
    assert put.status_code == 200, put.text
    assert put.json() == {
        "url": url, "has_token": False, "pushed_sha": None, "pushed_at": None, "error": None
    }  # fmt: skip

    # every completed run is pushed; a clone holds exactly the run's files
    first = completed_run(api, owner, project["id"], SPEC)
    assert tip(remote) == first["commit_sha"]
    shown = api.get(f"{base}/repository", headers=owner.headers).json()
    assert shown["pushed_sha"] == first["commit_sha"]
    assert shown["error"] is None
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", url, str(clone))
    files = api.get(f"{base}/files", headers=owner.headers).json()["files"]
    cloned = sorted(
        str(p.relative_to(clone)) for p in clone.rglob("*") if p.is_file() and ".git" not in p.parts
    )
    assert cloned == sorted(f["path"] for f in files)
    for entry in files[:20]:
        got = api.get(f"{base}/files/{entry['path']}", headers=owner.headers).json()
        if got.get("content") is not None:
            assert (clone / entry["path"]).read_text(encoding="utf-8") == got["content"]

    second = diverged_remote_refuses_until_forced(api, owner, base, project["id"], clone)
    rollback_makes_the_first_run_current(api, owner, base, (first, second), clone)
    others_see_none_of_it(api, base, url, first["id"])


def diverged_remote_refuses_until_forced(
    api: Api, owner: Account, base: str, project_id: str, clone: Path
) -> dict[str, Any]:
    """Someone else pushes to the remote: the next run's push is refused, said, not forced."""
    remote = Path(git(clone, "remote", "get-url", "origin").removeprefix("file://"))
    (clone / "NOTES.md").write_text("theirs\n", encoding="utf-8")
    git(clone, "add", "NOTES.md")
    git(clone, "commit", "--quiet", "-m", "theirs")
    git(clone, "push", "--quiet", "origin", "main")
    theirs = tip(remote)
    changed = {"entities": [{**SPEC["entities"][0], "fields": [
        *SPEC["entities"][0]["fields"], {"name": "pinned", "type": "boolean"}
    ]}]}  # fmt: skip
    second = completed_run(api, owner, project_id, changed)
    assert tip(remote) == theirs  # nothing overwritten
    error = api.get(f"{base}/repository", headers=owner.headers).json()["error"]
    assert "diverged" in error
    assert "force: true" in error
    assert "Push failed: The remote" in events_text(api, owner, second["id"])
    detail = api.get(base, headers=owner.headers).json()
    assert detail["repository_error"] == error

    refused = api.post(f"{base}/repository/push", json={}, headers=owner.headers)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "push_rejected"
    assert tip(remote) == theirs
    forced = api.post(f"{base}/repository/push", json={"force": True}, headers=owner.headers)
    assert forced.status_code == 200, forced.text
    assert forced.json()["sha"] == second["commit_sha"] == tip(remote)
    assert api.get(f"{base}/repository", headers=owner.headers).json()["error"] is None
    return second


def rollback_makes_the_first_run_current(
    api: Api,
    owner: Account,
    base: str,
    runs: tuple[dict[str, Any], dict[str, Any]],
    clone: Path,
) -> None:
    """A new commit on top, with the first run's tree, pushed; the history is kept."""
    first, second = runs
    remote = Path(git(clone, "remote", "get-url", "origin").removeprefix("file://"))
    files = api.get(f"{base}/files", params={"run": first["id"]}, headers=owner.headers).json()[
        "files"
    ]
    rolled = api.post(f"{base}/rollback", json={"run_id": first["id"]}, headers=owner.headers)
    assert rolled.status_code == 201, rolled.text
    run = rolled.json()["run"]
    assert run["rollback_of"] == first["id"]
    assert run["status"] == "COMPLETED"
    assert rolled.json()["push"].startswith(f"Pushed {run['commit_sha'][:12]}")
    assert rolled.json()["redeploy"] is None  # nothing runs: nothing to redeploy
    assert tip(remote) == run["commit_sha"]
    git(clone, "fetch", "--quiet", "origin")
    assert git(clone, "rev-parse", f"{run['commit_sha']}^") == second["commit_sha"]
    assert git(clone, "rev-parse", f"{run['commit_sha']}^{{tree}}") == git(
        clone, "rev-parse", f"{first['commit_sha']}^{{tree}}"
    )
    current = api.get(f"{base}/files", headers=owner.headers).json()
    assert current["commit"] == run["commit_sha"]
    assert sorted(f["path"] for f in current["files"]) == sorted(f["path"] for f in files)
    listed = api.get(f"{base}/runs", headers=owner.headers).json()["items"]
    assert [r["id"] for r in listed][:1] == [run["id"]]

    again = api.post(f"{base}/rollback", json={"run_id": first["id"]}, headers=owner.headers)
    assert again.status_code == 409
    assert "already the current version" in again.json()["error"]["message"]
    missing = api.post(f"{base}/rollback", json={"run_id": "nosuchrun"}, headers=owner.headers)
    assert missing.status_code == 404


def others_see_none_of_it(api: Api, base: str, url: str, run_id: str) -> None:
    stranger = api.account()
    for response in (
        api.get(f"{base}/repository", headers=stranger.headers),
        api.put(f"{base}/repository", json={"url": url}, headers=stranger.headers),
        api.post(f"{base}/repository/push", json={}, headers=stranger.headers),
        api.post(f"{base}/rollback", json={"run_id": run_id}, headers=stranger.headers),
    ):
        assert response.status_code == 404


def test_an_https_token_is_sent_stored_encrypted_and_never_shown(
    api: Api, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "tok-5ecret-abc123"
    owner = api.account()
    project = api.project(owner, template="CUSTOM", name="Notes")
    base = f"/api/projects/{project['id']}"
    root = tmp_path / "git"
    remote = bare(root / "notes.git")
    with http_git_server(root, "x-access-token", token) as (server, seen):
        url = f"{server}/notes.git"
        body = {"url": url, "token": token}
        put = api.put(f"{base}/repository", json=body, headers=owner.headers)
        assert put.status_code == 200, put.text
        assert put.json()["has_token"] is True
        run = completed_run(api, owner, project["id"], SPEC)
        assert tip(remote) == run["commit_sha"]
        assert any(h.startswith("Basic ") for h in seen)

        # a wrong token: a recorded, masked failure (502), and the remote keeps its commit
        wrong = "wrong-" + token
        api.put(f"{base}/repository", json={"url": url, "token": wrong}, headers=owner.headers)
        failed = api.post(f"{base}/repository/push", json={"force": True}, headers=owner.headers)
        assert failed.status_code == 502
        assert failed.json()["error"]["code"] == "push_failed"
        message = failed.json()["error"]["message"]
        assert message.startswith(f"Could not push to {url}")
        recorded = api.get(f"{base}/repository", headers=owner.headers).json()

    everything_shown = " ".join(
        [put.text, failed.text, str(recorded), api.get(base, headers=owner.headers).text]
        + [record.getMessage() for record in caplog.records]
        + [events_text(api, owner, run["id"])]
    )
    for secret in (token, wrong):
        assert secret not in everything_shown
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT repository_token FROM projects WHERE id = :id"), {"id": project["id"]}
        ).scalar_one()
    assert stored  # ciphertext at rest
    assert wrong not in stored
    assert token not in stored


BAD_REMOTES = [
    ({"url": "https://ada:hunter2@github.com/ada/notes.git"}, "repository_url", "no_credentials"),
    ({"url": "http://github.com/ada/notes.git"}, "repository_url", "https_only"),
    ({"url": "ext::sh"}, "repository_url", "scheme"),
    ({"url": "git@github.com:ada/notes.git", "token": "abc"}, "token", "https_only"),
    ({"url": None, "token": "abc"}, "token", "needs_url"),
    ({"url": "file://relative/path"}, "repository_url", "format"),
]


def test_bad_remotes_are_a_422_naming_the_field_and_rule(api: Api) -> None:
    owner = api.account()
    project = api.project(owner)
    for body, field, rule in BAD_REMOTES:
        refused = api.put(
            f"/api/projects/{project['id']}/repository", json=body, headers=owner.headers
        )
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert error["details"]["fields"] == [
            {"path": field, "type": rule, "message": error["message"]}
        ]
        assert "hunter2" not in refused.text
    assert (
        api.get(f"/api/projects/{project['id']}", headers=owner.headers).json()["repository_url"]
        is None
    )
