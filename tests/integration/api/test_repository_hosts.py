"""The operator's list of hosts users may push to (``UAB_REPOSITORY_HOSTS``): a remote
elsewhere is a 422 naming the rule when it is set, and a push to a remote stored before
the list changed is refused, recorded and pushes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from appbuilder.settings import Settings
from tests.git_servers import bare, http_git_server, tip
from tests.integration.api.conftest import Api


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"repository_hosts": "git.example.com, *.example.org"})


def test_only_listed_hosts_take_a_push(api: Api, engine: Engine, tmp_path: Path) -> None:
    owner = api.account()
    project = api.project(owner, template="CUSTOM", name="Notes")
    base = f"/api/projects/{project['id']}"
    for url in (
        "https://github.com/ada/notes.git",
        "https://example.org/ada/notes.git",  # the apex is not one of its subdomains
        "https://git.example.com.evil.net/ada/notes.git",
        "git@127.0.0.1:ada/notes.git",
    ):
        refused = api.put(f"{base}/repository", json={"url": url}, headers=owner.headers)
        assert refused.status_code == 422, url
        assert refused.json()["error"]["details"]["fields"][0]["type"] == "host_not_allowed"
        assert "git.example.com, *.example.org" in refused.json()["error"]["message"]
    for url in ("https://git.example.com/ada/notes.git", "ssh://git@team.example.org/notes.git"):
        taken = api.put(f"{base}/repository", json={"url": url}, headers=owner.headers)
        assert taken.status_code == 200, taken.text

    root = tmp_path / "git"
    remote = bare(root / "notes.git")
    with http_git_server(root, "x-access-token", "tok") as (server, seen):
        # stored before the operator listed hosts (this machine's server was allowed then)
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE projects SET repository_url = :url WHERE id = :id"),
                {"url": f"{server}/notes.git", "id": project["id"]},
            )
        pushed = api.post(f"{base}/repository/push", json={}, headers=owner.headers)
        assert pushed.status_code == 502, pushed.text
        message = pushed.json()["error"]["message"]
        assert message.startswith(f"Did not push to {server}/notes.git: ")
        assert "is not one this server pushes to" in message
        assert seen == []  # git never asked the server
    assert tip(remote) is None
    recorded = api.get(f"{base}/repository", headers=owner.headers).json()
    assert recorded["error"] == message
