"""One error shape for everything a client can send wrong; request ids; health probes."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import URL

from appbuilder.enums import UserRole
from appbuilder.logs import JsonFormatter, RequestIdFilter
from appbuilder.settings import Settings
from tests.integration.api.conftest import Api, LiveServer


def assert_error_shape(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert response.headers["x-request-id"]


def test_malformed_json_is_a_422(api: Api) -> None:
    owner = api.account()
    response = api.post(
        "/api/projects",
        content=b'{"name": "x", "template": ',
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert_error_shape(response, 422, "validation_error")
    assert response.json()["error"]["details"]["fields"][0]["type"] == "json_invalid"


def test_declared_huge_body_is_refused_before_reading(api: Api) -> None:
    owner = api.account()
    response = api.post(
        "/api/projects",
        content=b"x" * (2 * 1024 * 1024),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert_error_shape(response, 413, "payload_too_large")


def test_streamed_huge_body_is_refused_too(api: Api) -> None:
    owner = api.account()

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    response = api.post(
        "/api/projects",
        content=chunks(),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert_error_shape(response, 413, "payload_too_large")


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/api/nothing-here", 404, "not_found"),
        ("PUT", "/api/projects", 405, "method_not_allowed"),
        ("GET", "/api/projects/" + "x" * 65, 422, "validation_error"),
        ("GET", "/api/projects/%00%ff", 422, "validation_error"),
        ("GET", "/api/generations/..%2F..%2Fetc", 404, "not_found"),
        ("GET", "/api/projects?status=SHIPPED", 422, "validation_error"),
    ],
)
def test_client_mistakes_get_the_error_shape(
    api: Api, method: str, path: str, status: int, code: str
) -> None:
    response = api.request(method, path, headers=api.account().headers)
    assert_error_shape(response, status, code)


def test_wrong_content_type_is_a_clear_error(api: Api) -> None:
    response = api.post(
        "/api/auth/login",
        content=b"email=a&password=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_request_ids_are_echoed_or_made(api: Api) -> None:
    given = api.get("/healthz", headers={"X-Request-ID": "trace-123"})
    assert given.headers["x-request-id"] == "trace-123"
    made = api.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 16
    others = {api.get("/healthz").headers["x-request-id"] for _ in range(50)}
    assert len(others) == 50, "each request its own id"
    assert all(len(one) == 16 and int(one, 16) >= 0 for one in others)


def test_log_lines_carry_the_request_id(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="appbuilder.access")
    api.get("/healthz", headers={"X-Request-ID": "find-me-42"})

    def ours() -> list[logging.LogRecord]:
        return [r for r in caplog.records if getattr(r, "request_id", None) == "find-me-42"]

    # the access line is written after the response has gone out: give it a moment
    deadline = time.monotonic() + 5
    while not ours() and time.monotonic() < deadline:
        time.sleep(0.02)
    (record,) = ours()
    assert record.name == "appbuilder.access"
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)
    assert record.getMessage() == "GET /healthz 200"
    assert record.levelno == logging.INFO
    assert record.duration_ms >= 0


def test_json_log_lines_in_production_format() -> None:
    record = logging.LogRecord(
        "appbuilder.access", logging.INFO, __file__, 1, "GET /x 200", (), None
    )
    record.status = 200
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "GET /x 200"
    assert line["status"] == 200
    assert line["request_id"] == "-"
    assert line["level"] == "INFO"


def test_healthz_and_readyz(api: Api) -> None:
    assert api.get("/healthz").json() == {"status": "ok", "revision": None}
    ready = api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    # embedded (SQLite): this server's runner threads; procrastinate: none runs in tests
    workers = {"embedded": 2, "procrastinate": 0}
    assert ready.json()["workers"] == workers[ready.json()["queue"]]


def test_readyz_is_503_with_the_reason_when_the_schema_is_missing(
    empty_database_url: URL,
) -> None:
    settings = Settings(database_url=empty_database_url.render_as_string(hide_password=False))
    with LiveServer(settings) as url:
        ready = httpx.get(f"{url}/readyz")
        assert ready.status_code == 503
        assert "uab db upgrade" in ready.json()["error"]["message"]
        assert httpx.get(f"{url}/healthz").status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    settings = Settings(database_url="postgresql://nobody@127.0.0.1:9/none")
    with LiveServer(settings) as url:
        ready = httpx.get(f"{url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert "unreachable" in ready.json()["error"]["message"]


def test_openapi_documents_both_auth_schemes_and_examples(api: Api) -> None:
    spec = api.get("/openapi.json").json()
    assert set(spec["components"]["securitySchemes"]) == {"SessionToken", "ApiKey"}
    assert api.get("/docs").status_code == 200
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            schema = spec["components"]["schemas"][ref]
            assert schema.get("examples"), f"{method.upper()} {path} has no example"


def test_the_documented_credential_is_the_one_asked_for(api: Api) -> None:
    """Each operation documented with the two schemes refuses an anonymous call with 401
    (before it reads a body or a path's row); every other one does not ask for one."""
    spec = api.get("/openapi.json").json()
    either = [{"SessionToken": []}, {"ApiKey": []}]
    secured = public = 0
    for path, operations in spec["paths"].items():
        url = path.replace("{path}", "app/main.py")
        url = re.sub(r"\{[a-z_]+\}", "00000000-0000-0000-0000-000000000000", url)
        for method, operation in operations.items():
            response = api.request(method.upper(), url, json={})
            where = f"{method.upper()} {path}"
            if operation.get("security") is not None:
                assert operation["security"] == either, where
                assert response.status_code == 401, f"{where}: {response.status_code}"
                secured += 1
            else:
                assert response.status_code != 401, where
                public += 1
    assert spec["paths"]["/api/me"]["get"]["security"] == either
    assert "security" not in spec["paths"]["/api/auth/login"]["post"]
    assert secured > 40
    assert public > 3


def test_every_list_is_documented_as_one_generic_page(api: Api) -> None:
    spec = api.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    lists = {
        "/api/projects": "ProjectOut",
        "/api/projects/{project_id}/generations": "GenerationOut",
        "/api/projects/{project_id}/runs": "RunOut",
        "/api/admin/users": "UserOut",
    }
    for path, item in lists.items():
        ok = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        page = schemas[ok["schema"]["$ref"].rsplit("/", 1)[1]]
        assert page["title"] == item.removesuffix("Out") + "Page"
        assert page["required"] == ["items", "next_cursor"]
        assert page["properties"]["items"]["items"]["$ref"].endswith(f"/{item}")
    detail = schemas["ProjectDetail"]["properties"]["generations"]["$ref"].rsplit("/", 1)[1]
    assert schemas[detail]["title"] == "GenerationPage"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "nul\u0000name", "template": "BLOG"},
        {"name": "x", "template": "BLOG", "description": "a\u0000b"},
        {"name": "x", "template": "BLOG", "config": {"k": ["\u0000"]}},
        {"name": "x", "template": "BLOG", "config": {"\u0000": 1}},
    ],
)
def test_nul_characters_are_refused_on_both_databases(api: Api, body: dict[str, object]) -> None:
    response = api.post("/api/projects", json=body, headers=api.account().headers)
    assert_error_shape(response, 422, "validation_error")


def test_nul_in_a_search_query_is_refused(api: Api) -> None:
    admin = api.account(role=UserRole.ADMIN)
    response = api.get("/api/admin/users?q=a%00b", headers=admin.headers)
    assert_error_shape(response, 422, "validation_error")


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        (
            "/api/auth/register",
            b'{"email": "s@example.com", "password": "pass-word-1", "name": "\\ud800"}',
        ),
        ("/api/projects", b'{"name": "x", "template": "BLOG", "description": "\\ud800"}'),
        ("/api/projects", b'{"name": "x", "template": "BLOG", "features": ["\\ud800"]}'),
        ("/api/projects", b'{"name": "x", "template": "BLOG", "config": {"k": "\\udfff"}}'),
        ("/api/projects", b'{"name": "x", "template": "BLOG", "config": {"\\ud800": 1}}'),
        ("/api/projects", b'{"name": "x", "template": "BLOG", "config": {"a": 1e999}}'),
        ("/api/projects", b'{"name": "x", "template": "BLOG", "config": {"a": NaN}}'),
        (
            "/api/keys",
            b'{"name": "k", "scopes": ["projects:read"], "expires_at": "2030-01-01T00:00:00"}',
        ),
        (
            "/api/keys",
            b'{"name": "k", "scopes": ["projects:read"], '
            b'"expires_at": "9999-12-31T23:59:59-23:59"}',
        ),
        (
            "/api/keys",
            b'{"name": "k", "scopes": ["projects:read"], "expires_at": "2200-01-01T00:00:00Z"}',
        ),
    ],
)
def test_text_and_numbers_the_database_would_refuse_are_422(
    api: Api, path: str, raw: bytes
) -> None:
    owner = api.account()
    response = api.post(
        path, content=raw, headers={**owner.headers, "Content-Type": "application/json"}
    )
    assert_error_shape(response, 422, "validation_error")


def test_a_cursor_with_a_forged_row_id_is_refused(api: Api) -> None:
    forged = base64.urlsafe_b64encode(
        b'["-created_at", "2020-01-01T00:00:00+00:00", "x\\ud800"]'
    ).decode()
    response = api.get(f"/api/projects?cursor={forged}", headers=api.account().headers)
    assert_error_shape(response, 422, "validation_error")


def test_malformed_json_says_so(api: Api) -> None:
    response = api.post(
        "/api/auth/login", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert "not valid JSON" in response.json()["error"]["message"]


def test_a_body_of_thousands_of_problems_gets_a_short_answer(api: Api) -> None:
    many = "{" + ", ".join(f'"unknown{n}": "\\ud800"' for n in range(5_000)) + "}"
    response = api.post(
        "/api/auth/login", content=many, headers={"Content-Type": "application/json"}
    )
    assert_error_shape(response, 422, "validation_error")
    error = response.json()["error"]
    assert len(error["details"]["fields"]) == 50
    assert "the first 50 listed" in error["message"]
    assert len(response.content) < 20_000


def test_head_healthz_for_load_balancers(api: Api) -> None:
    assert api.head("/healthz").status_code == 200
