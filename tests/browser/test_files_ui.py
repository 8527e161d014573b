"""A project's files in a real browser: the tree, a highlighted file, the diff between two
runs, the zip; hostile text renders inert; another user's project files are not found."""

from __future__ import annotations

import io
import re
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import update

from appbuilder.db.models import User
from appbuilder.enums import SubscriptionTier, UserRole
from tests.browser.conftest import Platform, check_page
from tests.integration.conftest import engine_for

PASSWORD = "correct-horse-42"
HOSTILE = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
FINAL = {"COMPLETED", "FAILED", "CANCELLED"}


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def account(
    platform: Platform,
    *,
    tier: SubscriptionTier = SubscriptionTier.PRO,
    role: UserRole = UserRole.USER,
    name: str = "Test",
) -> Account:
    """A user made through the API; role and tier set in the database (what only a super
    admin could do)."""
    email = f"user-{uuid.uuid4().hex[:10]}@example.com"
    made = httpx.post(
        f"{platform.url}/api/auth/register",
        json={"email": email, "password": PASSWORD, "name": name},
    )
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    engine = engine_for(platform.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                update(User).where(User.id == user_id).values(subscription_tier=tier, role=role)
            )
    finally:
        engine.dispose()
    login = httpx.post(
        f"{platform.url}/api/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    return Account(user_id, email, login.json()["token"])


def sign_in(context: BrowserContext, platform: Platform, who: Account) -> None:
    """The browser carries the user's session token as its cookie (what logging in sets)."""
    context.add_cookies([{"name": "uab_session", "value": who.token, "url": platform.url}])


def run_to_end(platform: Platform, who: Account, project_id: str, spec: dict[str, Any]) -> str:
    started = httpx.post(
        f"{platform.url}/api/projects/{project_id}/generate",
        json={"spec": spec, "verify": False},
        headers=who.headers,
    )
    assert started.status_code == 202, started.text
    run_id: str = started.json()["id"]
    deadline = time.monotonic() + 180
    while True:
        run = httpx.get(f"{platform.url}/api/runs/{run_id}", headers=who.headers).json()
        if run["status"] in FINAL:
            assert run["status"] == "COMPLETED", run
            return run_id
        assert time.monotonic() < deadline, run
        time.sleep(0.2)


def test_files_tree_viewer_diff_download_and_isolation(
    page: Page, context: BrowserContext, platform: Platform, tmp_path: Path
) -> None:
    owner = account(platform)
    made = httpx.post(
        f"{platform.url}/api/projects",
        json={"name": f"Notes {HOSTILE}", "template": "CUSTOM", "description": HOSTILE},
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    project = made.json()
    base = f"/projects/{project['id']}"
    sign_in(context, platform, owner)
    page.on("dialog", lambda dialog: dialog.dismiss())

    page.goto(f"{base}/files")
    expect(page.get_by_role("heading", name="No files yet")).to_be_visible()

    spec: dict[str, Any] = {
        "name": "Notes",
        "entities": [{"name": "Note", "fields": [{"name": "title", "type": "string"}]}],
    }
    first = run_to_end(platform, owner, project["id"], spec)
    spec["entities"][0]["fields"].append({"name": "pinned", "type": "boolean"})
    second = run_to_end(platform, owner, project["id"], spec)

    listing = httpx.get(f"{platform.url}/api{base}/files", headers=owner.headers).json()
    models = next(f["path"] for f in listing["files"] if re.search(r"models?.*\.py$", f["path"]))
    _tree_and_viewer(page, platform, base, models, first)
    _diff(page, platform, base, first, second)
    _download(page, base, models, tmp_path)

    # The generated README holds the hostile project name: shown as text, inert.
    page.goto(f"{base}/files/README.md")
    expect(page.locator("pre.code")).to_contain_text("<script>")
    assert page.title() != "pwned"  # nothing hostile ran on any page
    assert page.locator("img").count() == 0

    _strangers_see_nothing(context, platform, base, f"from={first}&to={second}")
    missing = page.goto(f"{base}/files/no/such/file.py")
    assert missing is not None
    assert missing.status == 404
    unsafe = page.request.get(f"{base}/files/app/..%2F..%2Fetc/passwd")
    assert unsafe.status in {404, 422}


def _tree_and_viewer(page: Page, platform: Platform, base: str, models: str, first: str) -> None:
    # The tree of the latest version; the project's hostile name shows as text.
    page.goto(f"{base}/files")
    expect(page.get_by_role("heading", level=1)).to_contain_text("<script>")
    expect(page.locator("select#f-run option")).to_have_count(2)
    expect(page.locator(".file-tree a", has_text="README.md")).to_have_count(1)
    check_page(page, f"files-{platform.backend}")

    page.locator(f'.file-tree a[href^="{base}/files/{models}?"]').click()
    expect(page.locator("h1")).to_have_text(models.rsplit("/", 1)[-1])
    code = page.locator("pre.code")
    expect(code).to_contain_text("pinned")
    assert code.locator(".line").count() > 5
    assert code.locator("span.k").count() > 0  # keywords highlighted by class, no style
    assert code.locator("[style]").count() == 0
    check_page(page, f"file-view-{platform.backend}")

    # An older version is one pick away, and its file has no 'pinned' field.
    page.goto(f"{base}/files")
    page.get_by_label("Version").select_option(first)
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(rf"run={first}"))
    page.locator(f'.file-tree a[href^="{base}/files/{models}?"]').click()
    expect(page.locator("pre.code")).not_to_contain_text("pinned")


def _diff(page: Page, platform: Platform, base: str, first: str, second: str) -> None:
    """By default the two newest runs, older first; what changed is highlighted."""
    page.goto(f"{base}/diff")
    expect(page.get_by_label("From")).to_have_value(first)
    expect(page.get_by_label("To")).to_have_value(second)
    expect(page.locator("pre.code .gi", has_text="pinned").first).to_be_visible()
    expect(page.locator(".diff-files li").first).to_be_visible()
    check_page(page, f"diff-{platform.backend}")
    page.get_by_label("From").select_option(second)
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("status")).to_contain_text("No differences")


def _download(page: Page, base: str, models: str, tmp_path: Path) -> None:
    """The zip, downloaded by the browser, unzips to the app's folder."""
    page.goto(f"{base}/files")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download zip").click()
    saved = tmp_path / "app.zip"
    download_info.value.save_as(saved)
    names = zipfile.ZipFile(io.BytesIO(saved.read_bytes())).namelist()
    folder = names[0].split("/")[0]
    assert folder.startswith("notes-img-src-x")  # the hostile name, slugified
    assert f"{folder}/README.md" in names
    assert f"{folder}/{models}" in names


def _strangers_see_nothing(
    context: BrowserContext, platform: Platform, base: str, runs_query: str
) -> None:
    """Another user: every files page of this project is not found."""
    stranger = account(platform)
    assert context.browser is not None
    other = context.browser.new_context(base_url=platform.url)
    try:
        sign_in(other, platform, stranger)
        for path in (
            f"{base}/files",
            f"{base}/files/README.md",
            f"{base}/diff?{runs_query}",
            f"{base}/download",
        ):
            response = other.request.get(path, headers={"accept": "text/html"})
            assert response.status == 404, path
            assert "Page not found" in response.text()
    finally:
        other.close()
