"""Deploying from the project's pages in a real browser: the overview offers a deploy once
a run is verified; the deployments page deploys locally (targets the plan lacks are shown
disabled with the plan that has them), follows the status until the app is healthy, links
to the running app, shows and follows the log, stops it; another user gets "not found"."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import update

from appbuilder.db.models import GenerationRun
from appbuilder.enums import SubscriptionTier
from tests.browser.conftest import Platform, check_page
from tests.browser.test_files_ui import HOSTILE, account, run_to_end, sign_in
from tests.integration.conftest import engine_for


def _verified(platform: Platform, run_id: str) -> None:
    """The run stands for one that passed the gate (the gate itself is tested elsewhere)."""
    engine = engine_for(platform.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(GenerationRun).where(GenerationRun.id == run_id).values(verify=True)
            )
    finally:
        engine.dispose()


# The pages on SQLite only: deploying runs a real app (minutes of CPU on two cores); the same
# services on PostgreSQL are tested through the API (tests/integration/api/test_deployments.py).
@pytest.mark.parametrize("platform", ["sqlite"], indirect=True)
def test_deploy_watch_open_log_and_stop_in_the_browser(
    page: Page, context: BrowserContext, platform: Platform
) -> None:
    owner = account(platform, tier=SubscriptionTier.FREE)
    made = httpx.post(
        f"{platform.url}/api/projects",
        json={"name": f"Shop {HOSTILE}", "template": "BLOG"},
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    project = made.json()
    _verified(platform, run_to_end(platform, owner, project["id"], {"name": "Served blog"}))
    base = f"/projects/{project['id']}"
    sign_in(context, platform, owner)

    page.goto(base)
    page.locator("#deploy-offer").get_by_role("link", name="Deploy it").click()
    expect(page).to_have_url(re.compile(re.escape(base) + "/deployments$"))
    expect(page.get_by_role("heading", name="Not deployed yet")).to_be_visible()
    # FREE deploys locally only
    expect(page.get_by_role("radio", name=re.compile("^docker"))).to_be_disabled()
    expect(page.locator("form").get_by_text("needs the Starter plan").first).to_be_visible()
    check_page(page, f"deployments-empty-{platform.backend}")

    page.get_by_role("radio", name=re.compile("^local")).check()
    page.get_by_role("button", name="Deploy").click()
    expect(page).to_have_url(re.compile(re.escape(base) + r"/deployments/\w+$"))
    deployment_url = page.url
    # the status block follows by itself until the app answers its health check
    expect(page.locator("#deployment-status")).to_have_text("succeeded", timeout=120_000)
    # what can be done next comes with the status, without a reload
    expect(page.get_by_role("button", name="Stop the app")).to_be_visible()
    preview = page.locator("#preview-link")
    expect(preview).to_be_visible()
    app_url = preview.get_attribute("href")
    assert app_url is not None
    assert httpx.get(f"{app_url}healthz", timeout=10).json() == {"status": "ok"}
    expect(page.locator("#deploy-log")).to_contain_text("[deploy] Running at")
    check_page(page, f"deployment-running-{platform.backend}")

    # the running app's own page opens from the preview link
    with context.expect_page() as opened:
        preview.click()
    app_page = opened.value
    app_page.wait_for_load_state()
    expect(app_page.locator("body")).to_contain_text("Posts")
    app_page.close()

    # the overview shows where it runs; another user finds nothing of it
    page.goto(base)
    expect(page.locator("#running-app")).to_contain_text(app_url)
    stranger = account(platform)
    for path in (f"{base}/deployments", deployment_url, f"{deployment_url}/log"):
        hidden = httpx.get(
            path if path.startswith("http") else f"{platform.url}{path}",
            cookies={"uab_session": stranger.token},
            headers={"accept": "text/html"},
        )
        assert hidden.status_code == 404, path

    page.goto(f"{base}/deployments")
    expect(page.locator("#deployments tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Stop the app").click()
    expect(page.get_by_role("status")).to_contain_text("The app is stopped")
    expect(page.locator("#deployments tbody tr").first).to_contain_text("cancelled")
    expect(page.get_by_role("button", name=re.compile("^Start this version again"))).to_be_visible()
    with pytest.raises(httpx.TransportError):  # the stopped app no longer answers
        httpx.get(f"{app_url}healthz", timeout=3)
