"""The web UI beside the API on one server, over plain HTTP (the browser tests drive the
pages): without a model the new-project page says which settings to set; the API's session
token is the UI's cookie; unknown paths are pages for browsers and JSON for the API; a
form post needs its token even when the JSON body would otherwise be accepted."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import Engine

from appbuilder.db.models import Deployment, User
from appbuilder.db.session import make_session_factory
from appbuilder.db.types import utcnow
from appbuilder.enums import DeploymentStatus
from appbuilder.jobs.runner import EmbeddedDispatcher
from appbuilder.services import runs
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


def test_a_stranger_cannot_act_on_anothers_deployment(api: Api, engine: Engine) -> None:
    """Stop, start and redeploy of someone else's deployment: 404 with a valid CSRF token
    of the stranger's own, and nothing changes."""
    owner, stranger = api.account(), api.account()
    project = api.project(owner)
    with make_session_factory(engine).begin() as session:
        deployment = Deployment(
            project_id=project["id"], target="docker", status=DeploymentStatus.SUCCEEDED
        )
        session.add(deployment)
        session.flush()
        deployment_id = deployment.id
    api.cookies.set("uab_session", stranger.token)
    token = token_of(api.get("/projects/new", headers=HTML))
    base = f"/projects/{project['id']}/deployments/{deployment_id}"
    for action in ("stop", "start", "redeploy", "delete"):
        refused = api.post(f"{base}/{action}", data={"csrf_token": token}, headers=HTML)
        assert refused.status_code == 404, action
    assert api.get(base, headers=HTML).status_code == 404
    with make_session_factory(engine)() as session:
        kept = session.get_one(Deployment, deployment_id)
        assert kept.status is DeploymentStatus.SUCCEEDED
        assert session.query(Deployment).count() == 1  # nothing started again


def test_the_run_pages_stream_takes_any_last_event_id(api: Api, engine: Engine) -> None:
    """The browser's reconnect header is read as a number only when it is one an event can
    have; anything else (a superscript digit, 40 digits, a sign) starts from the first."""
    owner = api.account()
    project = api.project(owner)["id"]
    with make_session_factory(engine).begin() as session:
        user = session.get_one(User, owner.id)
        run = runs.start_run(session, EmbeddedDispatcher(), user, project, verify=False)
        run.not_before = utcnow() + timedelta(hours=1)  # no worker takes it: it is cancelled
        run_id = run.id
    with make_session_factory(engine).begin() as session:
        runs.cancel_run(session, EmbeddedDispatcher(), run_id, owner_id=owner.id)
    api.cookies.set("uab_session", owner.token)
    path = f"/projects/{project}/runs/{run_id}/events"
    for last in ("\u00b2".encode("latin-1"), b"9" * 40, b"-1", b"1.5", b""):
        streamed = api.get(path, headers={"last-event-id": last})  # type: ignore[dict-item]
        assert streamed.status_code == 200, (last, streamed.text)
        assert "event: queued" in streamed.text  # from the first event
        assert "event: finished" in streamed.text
