"""Shapes the random-spec bench drew once and the generated suite got wrong, as small apps
whose own suites must pass (the bench's seeds change whenever the spec factory does)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.generator.verify import clean_environment, scratch_database
from appbuilder.generator.writer import write_files
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.integration.conftest import PG_URL

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
                {"name": "copied value", "type": "integer", "computed": "parent_album.rating"},
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
    env = clean_environment(tmp_path / "home")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    suite = ["tests/test_computed.py", "tests/test_tenancy.py"]
    on_sqlite = subprocess.run(
        [*command, *suite], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert on_sqlite.returncode == 0, on_sqlite.stdout[-6000:]
    if PG_URL is None:
        return
    with scratch_database(PG_URL) as url:
        on_postgresql = subprocess.run(
            [*command, *suite],
            cwd=tmp_path,
            env=env | {"TEST_DATABASE_URL": url},
            capture_output=True,
            text=True,
            check=False,
        )
    assert on_postgresql.returncode == 0, on_postgresql.stdout[-6000:]
