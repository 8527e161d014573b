"""The web UI beside the API on one server, over plain HTTP (the browser tests drive the
pages): without a model the new-project page says which settings to set; the API's session
token is the UI's cookie; unknown paths are pages for browsers and JSON for the API; a
form post needs its token even when the JSON body would otherwise be accepted."""

from __future__ import annotations

import re

import httpx

from tests.integration.api.conftest import Api

HTML = {"accept": "text/html"}


def token_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found, "the page has no CSRF token"
    return found.group(1)


def test_without_a_model_the_new_project_page_names_the_settings(api: Api) -> None:
    owner = api.account()
    api.cookies.set("uab_session", owner.token)
    page = api.get("/projects/new", headers=HTML)
    assert page.status_code == 200
    assert "No language model is configured" in page.text
    assert "UAB_LLM_PROVIDER" in page.text
    assert 'action="/projects/new/template"' in page.text

    # posting words anyway is refused with the same reason, and nothing is created
    refused = api.post(
        "/projects/new",
        data={"csrf_token": token_of(page), "description": "a todo app"},
        headers=HTML,
    )
    assert refused.status_code == 503
    assert "UAB_LLM_PROVIDER" in refused.text
    assert api.get("/api/projects", headers=owner.headers).json()["items"] == []


def test_unknown_paths_are_pages_for_browsers_and_json_for_the_api(api: Api) -> None:
    page = api.get("/nothing/here", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    as_json = api.get("/nothing/here", headers={"accept": "application/json"})
    assert as_json.status_code == 404
    assert as_json.json()["error"]["code"] == "not_found"
    under_api = api.get("/api/nothing/here", headers=HTML)
    assert under_api.json()["error"]["code"] == "not_found"
    assert "content-security-policy" not in under_api.headers


def test_a_post_without_its_token_is_refused_whatever_its_body(api: Api) -> None:
    owner = api.account()
    api.cookies.set("uab_session", owner.token)
    for body in ({"json": {"name": "x", "template": "BLOG"}}, {"data": {"name": "x"}}):
        refused = api.post("/projects/new/template", headers=HTML, **body)  # type: ignore[arg-type]
        assert refused.status_code == 403
        assert "security token" in refused.text
    assert api.get("/api/projects", headers=owner.headers).json()["items"] == []
