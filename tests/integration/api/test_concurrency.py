"""Limits hold under parallel requests: each check and the write it guards are serialised
per account (row and advisory locks on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

from appbuilder.enums import SubscriptionTier
from tests.integration.api.conftest import Api

PARALLEL = 30


def _parallel(
    base_url: str, requests: list[tuple[str, str, dict[str, object], dict[str, str]]]
) -> Counter[int]:
    def send(request: tuple[str, str, dict[str, object], dict[str, str]]) -> int:
        method, path, body, headers = request
        with httpx.Client(base_url=base_url, timeout=60) as client:
            return client.request(method, path, json=body, headers=headers).status_code

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return Counter(pool.map(send, requests))


def test_parallel_wrong_passwords_are_all_counted(api: Api, base_url: str) -> None:
    account = api.account()
    body = {"email": account.email, "password": "wrong-pass-1"}
    statuses = _parallel(base_url, [("POST", "/api/auth/login", body, {})] * PARALLEL)
    assert statuses == Counter({401: 5, 429: PARALLEL - 5})


def test_parallel_creates_cannot_pass_the_project_quota(api: Api, base_url: str) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)
    body = {"name": "racer", "template": "BLOG"}
    statuses = _parallel(base_url, [("POST", "/api/projects", body, owner.headers)] * PARALLEL)
    assert statuses == Counter({201: 3, 402: PARALLEL - 3})


def test_parallel_starts_of_one_project_make_one_run(api: Api, base_url: str) -> None:
    owner = api.account()
    project = api.project(owner)["id"]
    start = ("POST", f"/api/projects/{project}/generate", {"verify": True}, owner.headers)
    statuses = _parallel(base_url, [start] * PARALLEL)
    assert statuses == Counter({202: 1, 409: PARALLEL - 1})
    runs = api.get(f"/api/projects/{project}/runs", headers=owner.headers).json()["items"]
    assert len(runs) == 1


def test_parallel_starts_cannot_pass_the_runs_at_once_quota(api: Api, base_url: str) -> None:
    owner = api.account(tier=SubscriptionTier.FREE)  # one run at a time
    projects = [api.project(owner)["id"] for _ in range(3)]
    starts = [
        ("POST", f"/api/projects/{p}/generate", {"verify": True}, owner.headers) for p in projects
    ]
    statuses = _parallel(base_url, starts)
    assert statuses == Counter({202: 1, 429: 2})


def test_starting_a_generation_needs_the_scope(api: Api) -> None:
    owner = api.account()
    project = api.project(owner)["id"]
    key = api.api_key(owner, "projects:write", "projects:read")
    refused = api.post(f"/api/projects/{project}/generate", json={}, headers=key.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["scope"] == "generations:write"
