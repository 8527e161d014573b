"""Remote URLs and tokens: which are accepted, how a token reaches git, what is masked."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from appbuilder.errors import ValidationError
from appbuilder.services.repository_git import (
    Remote,
    RemotePolicy,
    clean_token,
    clean_url,
    shown_url,
)

OPEN = RemotePolicy(file_roots=(), production=False)
PRODUCTION = RemotePolicy(file_roots=(), production=True)
ROOTED = RemotePolicy(file_roots=(Path("/srv/git"),), production=True)


@pytest.mark.parametrize(
    ("url", "policy"),
    [
        ("https://github.com/ada/shop.git", PRODUCTION),
        ("ssh://git@github.com/ada/shop.git", PRODUCTION),
        ("git@github.com:ada/shop.git", PRODUCTION),
        ("file:///tmp/remote.git", OPEN),
        ("file:///srv/git/ada/shop.git", ROOTED),
        ("http://127.0.0.1:8080/shop.git", OPEN),
    ],
)
def test_accepted_remotes(url: str, policy: RemotePolicy) -> None:
    assert clean_url(f"  {url} ", policy) == url


@pytest.mark.parametrize(
    ("url", "policy", "rule"),
    [
        ("https://ada:s3cret@github.com/ada/shop.git", OPEN, "no_credentials"),
        ("https://s3cret@github.com/ada/shop.git", OPEN, "no_credentials"),
        ("ssh://git:s3cret@github.com/ada/shop.git", OPEN, "no_credentials"),
        ("http://github.com/ada/shop.git", OPEN, "https_only"),
        ("http://127.0.0.1:8080/shop.git", PRODUCTION, "https_only"),
        ("file:///tmp/remote.git", PRODUCTION, "file_root"),
        ("file:///etc/shop.git", ROOTED, "file_root"),
        ("file:///srv/git/../../etc/x.git", ROOTED, "format"),
        ("ext::sh", OPEN, "scheme"),
        ("ftp://example.com/shop.git", OPEN, "scheme"),
        ("--upload-pack=evil", OPEN, "format"),
        ("https://github.com/ada/shop .git", OPEN, "format"),
        ("", OPEN, "length"),
    ],
)
def test_refused_remotes_name_the_rule(url: str, policy: RemotePolicy, rule: str) -> None:
    with pytest.raises(ValidationError) as refused:
        clean_url(url, policy)
    assert (refused.value.field, refused.value.rule) == ("repository_url", rule)
    assert "s3cret" not in refused.value.message


def test_a_token_is_for_https_only_and_travels_as_a_header() -> None:
    with pytest.raises(ValidationError) as refused:
        clean_token("abc", "git@github.com:ada/shop.git")
    assert (refused.value.field, refused.value.rule) == ("token", "https_only")
    assert clean_token("  ", "https://github.com/a/b.git") is None

    remote = Remote("https://github.com/ada/shop.git", "tok123")
    env = remote.git_env()
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    header = env["GIT_CONFIG_VALUE_0"].removeprefix("Authorization: Basic ")
    assert base64.b64decode(header).decode() == "x-access-token:tok123"
    assert "tok123" not in repr(remote)
    named = Remote("https://ada@gitlab.example.com/shop.git", "tok123").git_env()
    assert base64.b64decode(named["GIT_CONFIG_VALUE_0"].split()[-1]).decode() == "ada:tok123"
    assert Remote("ssh://git@github.com/a.git").git_env()["GIT_CONFIG_COUNT"] == "0"


def test_masking_hides_the_token_in_every_form_and_url_credentials() -> None:
    remote = Remote("https://github.com/ada/shop.git", "tok123")
    header = remote.git_env()["GIT_CONFIG_VALUE_0"]
    said = f"fatal: tok123 refused; sent {header}; see https://x:tok999@host/r.git"
    masked = remote.mask(said)
    assert "tok123" not in masked
    assert header.split()[-1] not in masked
    assert "tok999" not in masked
    assert "https://***@host/r.git" in masked
    assert shown_url("https://u:p@host/r.git") == "https://***@host/r.git"


LISTED = RemotePolicy(file_roots=(), production=True, hosts=("git.example.com", "*.example.org"))


@pytest.mark.parametrize(
    ("url", "policy"),
    [
        ("https://git.example.com/ada/shop.git", LISTED),
        ("https://GIT.example.com./ada/shop.git", LISTED),
        ("ssh://git@team.example.org/ada/shop.git", LISTED),
        ("git@deep.team.example.org:ada/shop.git", LISTED),
        ("https://10.0.0.5/ada/shop.git", OPEN),  # outside production: any host
        # an internal git server the operator lists is theirs to allow
        ("https://10.0.0.5/ada/shop.git", RemotePolicy((), production=True, hosts=("10.0.0.5",))),
    ],
)
def test_hosts_the_operator_allows(url: str, policy: RemotePolicy) -> None:
    assert clean_url(url, policy) == url


@pytest.mark.parametrize(
    ("url", "policy"),
    [
        ("https://github.com/ada/shop.git", LISTED),
        ("https://example.org/ada/shop.git", LISTED),  # the apex is not a subdomain
        ("https://evilexample.org/ada/shop.git", LISTED),
        ("https://git.example.com.evil.net/ada/shop.git", LISTED),
        ("git@github.com:ada/shop.git", LISTED),
        # production, no list: nothing on this machine or a private network
        ("https://127.0.0.1/ada/shop.git", PRODUCTION),
        ("https://localhost/ada/shop.git", PRODUCTION),
        ("https://[::1]/ada/shop.git", PRODUCTION),
        ("https://[::ffff:127.0.0.1]/ada/shop.git", PRODUCTION),
        ("https://169.254.169.254/latest/meta-data", PRODUCTION),  # cloud metadata
        ("https://metadata.google.internal/x.git", PRODUCTION),
        ("https://10.1.2.3/ada/shop.git", PRODUCTION),
        ("https://192.168.0.1/ada/shop.git", PRODUCTION),
        ("https://100.64.0.1/ada/shop.git", PRODUCTION),  # carrier-grade NAT
        ("https://2130706433/ada/shop.git", PRODUCTION),  # 127.0.0.1 as git would read it
        ("https://0x7f.1/ada/shop.git", PRODUCTION),
        ("ssh://git@127.0.0.1/ada/shop.git", PRODUCTION),
        ("git@localhost:ada/shop.git", PRODUCTION),
        ("git@10.0.0.1:ada/shop.git", PRODUCTION),
    ],
)
def test_hosts_refused_name_the_rule(url: str, policy: RemotePolicy) -> None:
    with pytest.raises(ValidationError) as refused:
        clean_url(url, policy)
    assert (refused.value.field, refused.value.rule) == ("repository_url", "host_not_allowed")
    assert "host" in refused.value.message
