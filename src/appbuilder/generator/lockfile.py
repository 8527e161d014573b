"""What a ``fastapi``-stack app depends on, and the exact versions it was verified with.

The verification gate runs a generated app with this platform's interpreter, so the
versions installed here are the ones proven to work with it. The app's ``pyproject.toml``
states lower bounds (what it needs); its ``requirements.lock`` pins what was verified,
dependencies of dependencies included, and every install of the app reads the lock.
"""

from __future__ import annotations

from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from appbuilder.spec.resolved import AppModel

_ALWAYS = (
    "fastapi>=0.115",
    "uvicorn>=0.32",
    "sqlalchemy>=2.0.36",
    "alembic>=1.14",
    "psycopg[binary]>=3.2",
    "pydantic>=2.9",
    "pydantic-settings>=2.6",
    "email-validator>=2.2",
)
DEV = ("pytest>=8.3", "httpx>=0.27", "ruff>=0.8", "mypy>=1.13", "schemathesis>=4.0")


def app_requirements(model: AppModel) -> tuple[str, ...]:
    """The app's runtime dependencies with lower bounds, as its pyproject lists them."""
    wanted = list(_ALWAYS)
    if model.pages or model.has("auth"):
        wanted.append("python-multipart>=0.0.18")
    if model.pages:
        wanted.append("jinja2>=3.1.4")
    if model.has("auth"):
        wanted.append("bcrypt>=4.2")
    if model.has("markdown"):
        wanted.append("markdown-it-py>=3.0")
    if model.has("payments"):
        wanted.append("stripe>=11.0")
    if model.integrations.s3:
        wanted.append("boto3>=1.35")
    return tuple(wanted)


def locked(requirements: tuple[str, ...]) -> tuple[str, ...]:
    """``name==version`` for each requirement and everything it pulls in, sorted by name.

    Versions are the ones installed with this interpreter; markers are judged for it too.
    """
    pins: dict[str, str] = {}
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        if name in pins:
            continue
        pins[name] = metadata.version(name)
        pending.extend(_needs(name, requirement.extras))
    return tuple(f"{name}=={pins[name]}" for name in sorted(pins))


def _needs(name: str, extras: set[str]) -> list[Requirement]:
    """What the installed distribution ``name`` requires, for the extras asked of it."""
    needs = []
    for text in metadata.requires(name) or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in extras or {""}):
            needs.append(requirement)
    return needs
