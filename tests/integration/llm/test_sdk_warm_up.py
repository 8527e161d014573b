"""A server with a model configured imports its provider's SDK in the background at start,
so the first plan after a restart does not wait seconds for the import."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

#: starts the app (its lifespan) in a fresh interpreter and says which SDKs were imported
#: before the start and once the warm-up thread (if any) has finished
SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from fastapi.testclient import TestClient
    from appbuilder.db import migrate
    from appbuilder.db.session import make_engine
    from appbuilder.web.app import create_app

    app = create_app()
    migrate.upgrade(make_engine(app.state.settings.database))
    before = sorted(name for name in ("openai", "anthropic") if name in sys.modules)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        for thread in threading.enumerate():
            if thread.name == "uab-llm-import":
                thread.join(300)
        after = sorted(name for name in ("openai", "anthropic") if name in sys.modules)
    print(before, after)
    """
)


def _imported(tmp_path: Path, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("UAB_")}
    clean.update(UAB_DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}", **env)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        check=False,
        env=clean,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("provider", "sdk"), [("openai-compatible", "openai"), ("anthropic", "anthropic")]
)
def test_a_configured_provider_s_sdk_is_imported_at_start(
    tmp_path: Path, provider: str, sdk: str
) -> None:
    env = {"UAB_LLM_PROVIDER": provider, "UAB_LLM_MODEL": "m"}
    if provider == "openai-compatible":
        env["UAB_LLM_BASE_URL"] = "http://127.0.0.1:9/v1"
    else:
        env["UAB_LLM_API_KEY"] = "sk-test"
    before, _, after = _imported(tmp_path, **env).partition("] [")
    assert sdk not in before
    assert sdk in after


def test_without_a_model_no_sdk_is_imported(tmp_path: Path) -> None:
    assert _imported(tmp_path) == "[] []"
