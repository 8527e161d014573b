"""A real platform in a real browser: ``uab serve`` (and on PostgreSQL a ``uab worker``) on
loopback, started once per database for the whole session, with the language model
pointed at the local fake provider and billing at the local fake Stripe; Debian's chromium
driven by Playwright, headless.

Every page a test visits can be checked with axe (no serious or critical violations) and
photographed at 1280 and 375 px into .artifacts/screens (git-ignored) to be looked at."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.fake_llm import FakeLLM, fake_llm
from tests.fake_stripe import PRICES_JSON, SECRET_KEY, WEBHOOK_SECRET, FakeStripe, fake_stripe
from tests.integration.conftest import (  # noqa: F401 - fixtures shared with this package
    BACKENDS,
    Backend,
    postgresql_backend,
    sqlite_backend,
)
from tests.servers import free_port, wait_until_up

UAB = str(Path(sys.executable).with_name("uab"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENS = Path(__file__).resolve().parents[2] / ".artifacts" / "screens"
WIDTHS = (1280, 375)
SERIOUS = {"serious", "critical"}


@dataclass
class Platform:
    """A running platform: its URL, database, the fake model and Stripe, where its logs go."""

    url: str
    backend: str
    database_url: str
    llm: FakeLLM
    logs: Path
    stripe: FakeStripe


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session", params=BACKENDS)
def platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    backend: Backend = request.getfixturevalue(f"{request.param}_backend")
    url = backend.make_migrated()
    root = tmp_path_factory.mktemp(f"platform-{backend.name}")
    port = free_port()
    with fake_llm() as llm, fake_stripe() as stripe:
        env = {k: v for k, v in os.environ.items() if not k.startswith("UAB_")}
        env.update(
            {
                "UAB_ENV": "test",
                "UAB_DATA_DIR": str(root / "data"),
                "UAB_DATABASE_URL": url.render_as_string(hide_password=False),
                "UAB_LLM_PROVIDER": "openai-compatible",
                "UAB_LLM_MODEL": "gpt-4o-mini",
                "UAB_LLM_BASE_URL": llm.url,
                "UAB_LLM_API_KEY": "sk-test-0123456789abcdef",
                "UAB_STRIPE_SECRET_KEY": SECRET_KEY,
                "UAB_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "UAB_STRIPE_PRICES": PRICES_JSON,
                "UAB_STRIPE_API_BASE": stripe.url,
            }
        )
        logs = root / "logs"
        logs.mkdir()
        processes = [_start([UAB, "serve", "--port", str(port)], env, root, logs / "serve.log")]
        if backend.name == "postgresql":  # the embedded queue runs jobs on SQLite only
            processes.append(_start([UAB, "worker"], env, root, logs / "worker.log"))
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, processes[0])
            yield Platform(base, backend.name, str(url), llm, logs, stripe)
        finally:
            for process in processes:
                _stop(process)
            backend.cleanup(url)


def _start(
    command: list[str], env: dict[str, str], cwd: Path, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Per module: while Playwright's sync API is open, its event loop counts as running in
    the worker's main thread, so any later test there calling ``asyncio.run`` fails."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser, platform: Platform) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) against the platform."""
    context = browser.new_context(base_url=platform.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Page:
    request.node.user_properties.append(("database", request.getfixturevalue("platform").backend))
    return context.new_page()


_axe = Axe()


def check_page(page: Page, name: str) -> None:
    """axe finds no serious or critical problem; screenshots at both widths for a person."""
    results = _axe.run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in violations
        if v.get("impact") in SERIOUS
    ]
    assert not serious, f"axe on {name}: " + "; ".join(serious)
    SCREENS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1280, "height": 900}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SCREENS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)
