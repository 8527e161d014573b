"""The embedded database locked past its busy timeout (an overloaded SQLite server): a 503
with Retry-After that changed nothing, never a 500."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
import pytest

from appbuilder.db import migrate
from appbuilder.db import session as db_session
from appbuilder.db.session import make_engine
from appbuilder.settings import Settings
from tests.integration.api.conftest import LiveServer

ACCOUNT = {"email": "ada@example.com", "password": "correct horse 1", "name": "Ada"}


def test_a_locked_embedded_database_is_a_503_that_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_session, "SQLITE_BUSY_TIMEOUT_MS", 200)
    path = tmp_path / "busy.db"
    settings = Settings(database_url=f"sqlite:///{path}")
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    engine.dispose()
    with LiveServer(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            busy = client.post("/api/auth/register", json=ACCOUNT)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "1"
        assert busy.json()["error"]["code"] == "database_busy"
        assert client.post("/api/auth/register", json=ACCOUNT).status_code == 201

        # the web UI's form: the same refusal as a page
        form = client.get("/signup", headers={"accept": "text/html"})
        token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', form.text)
        assert token is not None
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            page = client.post(
                "/signup",
                data={**ACCOUNT, "email": "bo@example.com", "csrf_token": token.group(1)},
                headers={"accept": "text/html"},
            )
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "The database is busy with other requests" in page.text
