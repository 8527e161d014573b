"""Git remotes users push to: which URLs are accepted, how a token reaches git, and how
git's words are cleaned before anyone sees them.

A token never travels in a URL or on a command line (both end up in logs, ``ps`` and
error messages): git gets it as an ``http.extraHeader`` through its environment
(``GIT_CONFIG_COUNT``), which only this process's user can read. Everything git says is
masked before it is recorded or shown, in case a remote echoes what it was given.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import SplitResult, urlsplit

from appbuilder.errors import ValidationError

MAX_URL_LENGTH = 2048
MAX_TOKEN_LENGTH = 1000
#: the user name sent with a token when the URL names none (GitHub's; GitLab and Gitea
#: accept any name with a personal access token)
TOKEN_USER = "x-access-token"  # noqa: S105 - a user name, not a secret
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!/)[^\s]+$")
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_FIELD = "repository_url"


@dataclass(frozen=True)
class RemotePolicy:
    """What the operator allows: file:// remotes (the server's own disk), plain http, and
    the hosts https and ssh remotes may name."""

    file_roots: tuple[Path, ...]
    production: bool
    #: hosts users may push to over https and ssh (``*.example.com``: its subdomains);
    #: none listed: any host, except in production one on this machine or a private
    #: network (a push is a request the server sends where the user says)
    hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Remote:
    """A remote with its secret, ready for git; ``str()`` never shows the token."""

    url: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"Remote(url={shown_url(self.url)!r}, token={'***' if self.token else None})"

    def git_env(self) -> dict[str, str]:
        """Environment for a git process talking to this remote: no prompts, the token
        (if any) as an Authorization header, only the transports we accept."""
        env = {
            "GIT_ALLOW_PROTOCOL": "file:ssh:https:http",
            "GIT_SSH_COMMAND": (
                "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o ConnectTimeout=20"
            ),
            # a remote that stalls (under 1 KB/s for 30 s) fails the push instead of
            # holding a run at its end
            "GIT_HTTP_LOW_SPEED_LIMIT": "1000",
            "GIT_HTTP_LOW_SPEED_TIME": "30",
            "GIT_CONFIG_COUNT": "0",
        }
        if self.token:
            env["GIT_CONFIG_COUNT"] = "1"
            env["GIT_CONFIG_KEY_0"] = "http.extraHeader"
            env["GIT_CONFIG_VALUE_0"] = f"Authorization: Basic {_basic(self.url, self.token)}"
        return env

    def mask(self, text: str) -> str:
        """``text`` with the token (raw or encoded) and any URL credentials replaced."""
        if self.token:
            text = text.replace(self.token, "***")
            text = text.replace(_basic(self.url, self.token), "***")
        return _USERINFO.sub(lambda m: f"{m['scheme']}***@", text)

    @property
    def shown(self) -> str:
        return shown_url(self.url)


def _basic(url: str, token: str) -> str:
    user = urlsplit(url).username if "://" in url else None  # an operator's store URL
    return base64.b64encode(f"{user or TOKEN_USER}:{token}".encode()).decode("ascii")


def shown_url(url: str) -> str:
    """The URL as users may see it: any user-info replaced (we never store a password,
    but an operator's store URL might carry one)."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}***@", url)


def clean_url(raw: str, policy: RemotePolicy) -> str:
    """A remote URL we can push to, or a 422 naming the rule it broke."""
    url = raw.strip()
    if not url or len(url) > MAX_URL_LENGTH:
        _refuse("length", f"repository_url must be 1 to {MAX_URL_LENGTH} characters.")
    if any(ch.isspace() or ord(ch) < 32 for ch in url) or url.startswith("-"):
        _refuse("format", "repository_url may not contain spaces or control characters.")
    if "://" not in url:
        if _SCP_LIKE.match(url):
            _check_host(url.split("@", 1)[1].split(":", 1)[0], policy)
            return url  # user@host:path, git's short form of ssh
        _refuse(
            "scheme",
            "repository_url must be an https://, ssh://, user@host:path or file:// URL.",
        )
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("https", "http"):
        _check_http(parts, policy)
    elif scheme == "ssh":
        _check_no_password(parts)
        if not parts.hostname:
            _refuse(
                "format", "an ssh:// repository_url needs a host: ssh://git@host/owner/repo.git"
            )
        _check_host(parts.hostname, policy)
    elif scheme == "file":
        _check_file(parts, policy)
    else:
        _refuse(
            "scheme",
            f"repository_url scheme {scheme!r} is not supported; "
            "use https://, ssh://, user@host:path or file://.",
        )
    return url


def _check_no_password(parts: SplitResult) -> None:
    if parts.password is not None:
        _refuse(
            "no_credentials",
            "repository_url must not carry a password or token: send the token in the "
            "`token` field instead (it is stored encrypted and never shown back).",
        )


def _check_http(parts: SplitResult, policy: RemotePolicy) -> None:
    _check_no_password(parts)
    if parts.username is not None:  # often a token itself (https://<token>@github.com)
        _refuse(
            "no_credentials",
            "an https repository_url must not carry a user name (it is often a token): "
            "send the token in the `token` field instead.",
        )
    if not parts.hostname:
        _refuse("format", "repository_url needs a host: https://host/owner/repo.git")
    if parts.scheme.lower() == "http" and (
        policy.production or parts.hostname not in LOOPBACK_HOSTS
    ):
        _refuse(
            "https_only",
            "repository_url must use https:// (plain http:// would send your token in the "
            "clear; it is accepted only for this machine, outside production).",
        )
    _check_host(parts.hostname, policy)


def _check_host(host: str, policy: RemotePolicy) -> None:
    name = host.strip("[]").rstrip(".").lower()
    if policy.hosts:
        if not any(_matches(name, pattern) for pattern in policy.hosts):
            _refuse(
                "host_not_allowed",
                f"repository_url's host {name!r} is not one this server pushes to; it "
                f"pushes to: {', '.join(policy.hosts)}.",
            )
    elif policy.production and _internal(name):
        _refuse(
            "host_not_allowed",
            f"repository_url's host {name!r} is on this machine or a private network, "
            "where this server does not push; the operator may allow hosts with "
            "UAB_REPOSITORY_HOSTS.",
        )


def _matches(name: str, pattern: str) -> bool:
    pattern = pattern.strip().rstrip(".").lower()
    if pattern.startswith("*."):
        return name.endswith(pattern[1:]) and len(name) > len(pattern) - 1
    return name == pattern


def _internal(name: str) -> bool:
    """Whether ``name`` is, or resolves to, an address that is not on the public internet
    (loopback, private, link-local such as cloud metadata, reserved). Checked when the URL
    is set and again before each push; a name that does not resolve yet passes (its push
    fails). A name that changes its address between the check and git's own look-up is
    not caught: list the hosts (``UAB_REPOSITORY_HOSTS``) to close that too."""
    if name == "localhost" or name.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        addresses = [ipaddress.ip_address(name)]
    except ValueError:
        try:  # also numeric forms git would accept: 2130706433, 0x7f.1
            found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return False
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    return any(not address.is_global for address in addresses)


def check_remote(url: str, policy: RemotePolicy) -> None:
    """A stored remote, checked again before a push: the operator's rules may have changed
    since it was set, and so may the address its host resolves to."""
    clean_url(url, policy)


def _check_file(parts: SplitResult, policy: RemotePolicy) -> None:
    if parts.netloc not in ("", "localhost"):
        _refuse("format", "a file:// repository_url names a local path: file:///srv/git/app.git")
    path = Path(parts.path)
    if not path.is_absolute() or ".." in path.parts:
        _refuse("format", "a file:// repository_url needs an absolute path without '..'.")
    if policy.file_roots:
        if not any(path.is_relative_to(root) for root in policy.file_roots):
            roots = ", ".join(str(r) for r in policy.file_roots)
            _refuse("file_root", f"file:// remotes must be under one of: {roots}.")
    elif policy.production:
        _refuse(
            "file_root",
            "file:// remotes are off in production (they write to the server's own disk); "
            "the operator may allow directories with UAB_REPOSITORY_FILE_ROOTS.",
        )


def clean_token(raw: str | None, url: str) -> str | None:
    """A token for an https remote (None: none given)."""
    if raw is None or not raw.strip():
        return None
    token = raw.strip()
    if not url.lower().startswith(("https://", "http://")):
        raise ValidationError(
            "token", "https_only", "A token is only sent to https:// remotes; ssh uses keys."
        )
    if len(token) > MAX_TOKEN_LENGTH or any(ch.isspace() or ord(ch) < 32 for ch in token):
        raise ValidationError(
            "token",
            "format",
            f"token must be at most {MAX_TOKEN_LENGTH} characters, without spaces.",
        )
    return token


def _refuse(rule: str, message: str) -> NoReturn:
    raise ValidationError(_FIELD, rule, message)
