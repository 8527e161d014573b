"""A server process freezes what start-up loaded (``web.app``): the collector's full
collections then skip it, instead of walking it for 110-120 ms with the event loop stopped
every few seconds under load (bench/README.md). Test processes, which start and drop many
apps, do not freeze."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SERVE = """
import asyncio, gc, sys
from appbuilder.settings import Settings
from appbuilder.web.app import create_app

app = create_app(Settings(env=sys.argv[1], data_dir=sys.argv[2]))

async def serve() -> None:
    async with app.router.lifespan_context(app):
        print(gc.get_freeze_count())

asyncio.run(serve())
"""


@pytest.mark.parametrize(("env", "frozen"), [("development", True), ("test", False)])
def test_a_server_freezes_its_start_up_heap(tmp_path: Path, env: str, frozen: bool) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE, env, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    while_serving = int(done.stdout)
    if frozen:
        assert while_serving > 100_000  # the app, the libraries: hundreds of thousands
    else:
        assert while_serving == 0
