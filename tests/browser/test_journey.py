"""The main journey in a real browser, once per database: sign up, describe an app (the
planner answers through the local fake provider), edit the plan (add a field, see the
spec's own validation message, fix it), generate, watch the live timeline reach READY,
ask for a change and read its diff, log out. Then what goes wrong: a run cancelled
mid-way, a failing run showing its error, and the quota's 402 naming the tier that lifts
it. And what must not happen: another user's project page, hostile names as markup."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Platform, check_page
from tests.browser.test_accounts_ui import PASSWORD, unique_email
from tests.fake_llm import Answer, error, tool

TODO: dict[str, Any] = {
    "name": "Todo list",
    "features": ["auth"],
    "entities": [
        {
            "name": "Task",
            "fields": [
                {"name": "title", "max_length": 200},
                {"name": "due_date", "type": "date", "required": False},
                {"name": "done", "type": "boolean", "default": False},
            ],
        }
    ],
}
#: a run waits at least this long for the model (the copywriter), time enough to cancel it
SLOW_SECONDS = 60.0


def sign_up(page: Page, prefix: str) -> str:
    email = unique_email(prefix)
    page.goto("/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    return email


def wait_for_run_end(page: Page, status: str) -> None:
    """The live timeline (EventSource) reloads the page when the run ends: the reloaded
    page follows no run any more (its timeline box has no event source)."""
    expect(page.locator("#timeline:not([data-events])")).to_be_attached(timeout=120_000)
    page.wait_for_load_state()
    expect(page.locator(".timeline-head .badge").first).to_have_text(status)


def project_id_of(page: Page) -> str:
    match = re.search(r"/projects/([^/?]+)", page.url)
    assert match, page.url
    return match.group(1)


def from_template(page: Page, template: str, name: str) -> str:
    page.goto("/projects/new")
    page.locator(f"#t-{template.upper()}-name").fill(name)
    page.get_by_role("button", name=re.compile(f"^Use {template}", re.IGNORECASE)).click()
    expect(page).to_have_url(re.compile(r"/projects/[^/]+/plan$"))
    return project_id_of(page)


def use_yaml(page: Page, extra: str) -> None:
    page.locator("summary", has_text="YAML view").click()
    box = page.get_by_label("The plan as YAML")
    box.fill(box.input_value() + extra)
    page.get_by_role("button", name="Use this YAML").click()


def generate(page: Page, *, verify: bool = False) -> None:
    page.get_by_label(re.compile("Run the generated app's own tests")).set_checked(verify)
    page.get_by_role("button", name="Generate the app").click()
    expect(page).to_have_url(re.compile(r"/projects/[^/]+\?run="))


def test_the_journey_from_words_to_a_ready_app(page: Page, platform: Platform) -> None:
    sign_up(page, "journey")
    page.get_by_role("link", name="Start your first project").click()
    check_page(page, f"new-project-{platform.backend}")
    page.get_by_label("What should the app do?").fill("A todo list with tasks and due dates")
    platform.llm.answer(tool(TODO, input_tokens=900, output_tokens=150))
    page.get_by_role("button", name="Plan my app").click()
    expect(page).to_have_url(re.compile(r"/projects/[^/]+/plan$"))
    project = project_id_of(page)
    expect(page.get_by_label("Entity name")).to_have_value("Task")
    expect(page.locator("#problems")).to_contain_text("The plan is valid")
    check_page(page, f"plan-{platform.backend}")

    # add a field that repeats a name: the spec's own rule answers, beside the field
    page.get_by_role("button", name="Add a field to Task").click()
    page.locator("#e0-f3-name").fill("title")
    page.locator("#e0-f3-name").press("Tab")  # app.js checks as you edit
    expect(page.locator("#problems")).to_contain_text("declared twice")
    page.get_by_role("button", name="Check the plan").click()  # and without script
    expect(page.locator("#problems")).to_contain_text("entities.Task.fields.title")
    expect(page.locator("#e0-f3-problems")).to_contain_text("twice")
    check_page(page, f"plan-problem-{platform.backend}")
    page.locator("#e0-f3-name").fill("priority")
    page.locator("#e0-f3-type").select_option("integer")
    page.locator("input[name='e0.f3.required']").uncheck()
    page.get_by_role("button", name="Check the plan").click()
    expect(page.locator("#problems")).to_contain_text("The plan is valid")
    expect(page.locator("#f-yaml")).to_contain_text("priority")

    generate(page)
    wait_for_run_end(page, "completed")
    expect(page.locator("h1 + p .badge")).to_have_text("ready")
    steps = page.locator(".timeline li")
    expect(steps.first).to_be_visible()
    expect(page.locator(".timeline li.step-failed")).to_have_count(0)
    check_page(page, f"project-ready-{platform.backend}")

    # a change request shows the diff before anything is applied
    changed = {
        **TODO,
        "entities": [
            {
                **TODO["entities"][0],
                "fields": [
                    *TODO["entities"][0]["fields"],
                    {"name": "notes", "type": "text", "required": False},
                ],
            }
        ],
    }
    platform.llm.answer(tool(changed))
    page.get_by_label("What should change?").fill("add notes to tasks")
    page.get_by_role("button", name="Show what would change").click()
    expect(page.locator("#spec-diff")).to_contain_text("entities.Task.fields.notes")
    check_page(page, f"change-diff-{platform.backend}")
    page.get_by_label("Run the app's own tests").uncheck()
    page.get_by_role("button", name="Apply the change and generate").click()
    wait_for_run_end(page, "completed")
    expect(page.locator(".table tbody tr")).to_have_count(2)

    page.goto("/dashboard")
    row = page.locator("tr", has_text="A todo list with tasks")
    expect(row.locator(".badge").first).to_have_text("ready")
    # the plan's and the change's tokens this month: (900 + 150) + (120 + 30)
    expect(page.locator(".stats")).to_contain_text("1,200 of 100,000")
    check_page(page, f"dashboard-{platform.backend}")

    page.get_by_role("button", name="Log out").click()
    page.goto(f"/projects/{project}")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_cancel_failure_and_quota(page: Page, platform: Platform) -> None:
    sign_up(page, "trouble")
    # the failing run first: an abandoned (cancelled) call holds its lane to the provider
    # until the slow answer arrives, and a run after it would wait for that
    from_template(page, "blog", "Failing blog")
    use_yaml(page, "page_copy: true\n")
    platform.llm.answer(error(400), error(400), error(400))
    generate(page)
    wait_for_run_end(page, "failed")
    expect(page.locator("#run-error")).to_be_visible()
    expect(page.locator(".timeline li.step-failed .step-error").first).not_to_be_empty()
    check_page(page, f"project-failed-{platform.backend}")

    slow = from_template(page, "blog", "Slow blog")
    use_yaml(page, "page_copy: true\n")
    with platform.llm.lock:  # whatever the failed run's retries left unasked
        platform.llm.script.clear()
    platform.llm.answer(Answer(text="too late", delay=SLOW_SECONDS))
    generate(page)
    expect(
        page.locator(".timeline li.step-running, .timeline li.step-pending").first
    ).to_be_visible()
    page.get_by_role("button", name="Cancel run").click()
    wait_for_run_end(page, "cancelled")
    assert f"/projects/{slow}" in page.url

    from_template(page, "custom", "Third")
    page.goto("/projects/new")
    page.locator("#t-BLOG-name").fill("One too many")
    page.get_by_role("button", name="Use Blog").click()
    expect(page.get_by_role("alert")).to_contain_text("Upgrade to STARTER")
    check_page(page, f"quota-{platform.backend}")


HOSTILE = [
    "<script>window.__xss = 1</script>",
    '"><img src=x onerror="window.__xss = 1">',
    "{{ 7*7 }} ${7*7}",
    "</title><svg onload=window.__xss=1>",
]


def test_other_users_pages_404_and_hostile_names_render_inert(
    page: Page, platform: Platform, browser: Browser
) -> None:
    sign_up(page, "victim")
    ids = [from_template(page, "custom", name) for name in HOSTILE[:3]]
    page.goto("/dashboard")
    for name in HOSTILE[:3]:
        expect(page.get_by_role("link", name=name)).to_be_visible()
    assert page.evaluate("window.__xss") is None
    assert "49" not in page.locator("main table").inner_text()
    page.goto(f"/projects/{ids[1]}")
    expect(page.get_by_role("heading", level=1)).to_have_text(HOSTILE[1])
    assert page.evaluate("window.__xss") is None

    other = browser.new_context(base_url=platform.url)
    try:
        intruder = other.new_page()
        sign_up(intruder, "intruder")
        for path in (f"/projects/{ids[0]}", f"/projects/{ids[0]}/plan"):
            response = intruder.goto(path)
            assert response is not None
            assert response.status == 404
        cookies = {c["name"]: c["value"] for c in other.cookies()}
        token = intruder.locator("input[name=csrf_token]").first.input_value()
        posted = httpx.post(
            f"{platform.url}/projects/{ids[0]}/run",
            cookies=cookies,
            data={"csrf_token": token},
            headers={"accept": "text/html"},
        )
        assert posted.status_code == 404
    finally:
        other.close()
