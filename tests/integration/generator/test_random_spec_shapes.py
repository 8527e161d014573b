"""Shapes the random-spec bench drew once and the generated suite got wrong, as small apps
whose own suites must pass (the bench's seeds change whenever the spec factory does)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.generator.verify import clean_environment
from appbuilder.generator.writer import write_files
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.integration.generator.conftest import generated_suite_passes

#: The organisation is an album, and its child ``Class`` (class ClassRecord, URL /classes)
#: copies the album's rating through the link that also makes it a tenant row: relinking it
#: to another album moves it to another organisation, which the app refuses (bench seed 5).
TENANT_COPY: dict[str, Any] = {
    "name": "Tenant copy",
    "features": ["auth", "organizations"],
    "entities": [
        {
            "name": "Album",
            "organization": True,
            "fields": [
                {"name": "title"},
                {"name": "rating", "type": "integer", "required": False, "default": -3},
                {"name": "item count", "type": "integer", "computed": "count(classes)"},
            ],
        },
        {
            "name": "Class",
            "fields": [
                {"name": "rating", "type": "url"},
                {
                    "name": "copied value",
                    "type": "integer",
                    "required": False,
                    "computed": "parent_album.rating",
                },
            ],
            "relations": [
                {
                    "name": "parent Album",
                    "target": "Album",
                    "required": True,
                    "on_delete": "restrict",
                }
            ],
        },
    ],
}


def test_a_tenant_child_copying_from_its_organisation_passes_its_suite(tmp_path: Path) -> None:
    """Its computed and tenancy tests (the two owners' concurrent demotion among them), on
    SQLite and, when configured, on PostgreSQL: only those two files, to keep CI short."""
    spec = build_spec(TENANT_COPY)
    model = resolve(spec)
    assert model.entity("ClassRecord").tenant == "parent_album_id"
    files = Orchestrator().generate(spec, model, verify=False).files
    assert "assert relinked.status_code == 422" in files["tests/test_computed.py"].decode()
    write_files(files, tmp_path)
    generated_suite_passes(tmp_path, "tests/test_computed.py", "tests/test_tenancy.py")


#: The organisation (a team) optionally links to one of its own tenant rows (its front
#: page): a new team has no pages, so its tests link one after creating it (bench seed 22).
OWN_TENANT_LINK: dict[str, Any] = {
    "name": "Own tenant link",
    "features": ["auth", "organizations"],
    "pages": False,
    "entities": [
        {
            "name": "Team",
            "organization": True,
            "fields": [{"name": "title"}],
            "relations": [{"name": "front page", "target": "Page", "on_delete": "restrict"}],
        },
        {
            "name": "Page",
            "fields": [{"name": "heading"}],
            "relations": [
                {"name": "team", "target": "Team", "required": True, "on_delete": "cascade"}
            ],
        },
    ],
}


def test_an_organisation_linking_its_own_tenant_row_passes_its_suite(tmp_path: Path) -> None:
    """Its API and access tests, on SQLite: the link is set after the team exists, to a page
    of that team, and another team's page is refused."""
    spec = build_spec(OWN_TENANT_LINK)
    model = resolve(spec)
    assert model.entity("Team").links[0].required is False
    files = Orchestrator().generate(spec, model, verify=False).files
    write_files(files, tmp_path)
    env = clean_environment(tmp_path / "home")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    suite = ["tests/test_team_api.py", "tests/test_access.py"]
    run = subprocess.run(
        [*command, *suite], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout[-6000:]
    assert "def link_front_page(" in files["tests/test_team_api.py"].decode()
    access = files["tests/test_access.py"].decode()
    assert "def test_team_front_page_links_only_to_rows_the_caller_may_use(" in access
