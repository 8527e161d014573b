"""Per agent role, what the FastAPI stack renders and registers.

Each role owns its files; what a role adds to files every role shares (a router in
``app/main.py``, a table in ``app/models.py`` and the initial migration, a setting in
``app/settings.py``, ``.env.example`` and the test settings) it registers, and the assembly
step (``assemble``) writes those files from every registration, so no role edits (or even
knows) another role's files.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from appbuilder.enums import AgentType
from appbuilder.generator.lockfile import DEV, app_requirements, locked
from appbuilder.spec.resolved import AppModel
from appbuilder.stacks.base import Contribution, Registration, Render, Router, Setting, Table

#: Integrations this stack writes, by the feature that asks for each.
INTEGRATION_FEATURES = ("payments", "email", "file_uploads")


def api(module: str, order: int) -> Router:
    return Router("app.routers", module, order=order)


def page(module: str, order: int, alias: str | None = None) -> Router:
    return Router("app.pages", module, alias, pages=True, order=order)


def database(model: AppModel) -> Contribution:
    """The engine, session and Alembic setup; the entities' tables are written at assembly.
    With sample data, the seed module and its test (the rows come from the model)."""
    seed = (
        (
            Render("database/seed.py.jinja", "app/seed.py"),
            Render("database/test_seed.py.jinja", "tests/test_seed.py"),
        )
        if model.sample_data
        else ()
    )
    return Contribution(
        files=(
            Render("database/app_init.py.jinja", "app/__init__.py"),
            Render("database/db.py.jinja", "app/db.py"),
            Render("database/alembic.ini.jinja", "alembic.ini"),
            Render("database/env.py.jinja", "migrations/env.py"),
            Render("database/script.py.mako.jinja", "migrations/script.py.mako"),
            *seed,
        )
    )


def _package(path: str, what: str) -> Render:
    return Render("backend/package.py.jinja", path, {"what": what})


_BACKEND_FILES = (
    Render("backend/errors.py.jinja", "app/errors.py"),
    Render("backend/dependencies.py.jinja", "app/dependencies.py"),
    Render("backend/pagination.py.jinja", "app/pagination.py"),
    Render("backend/rows.py.jinja", "app/rows.py"),
    Render("backend/logs.py.jinja", "app/logs.py"),
    Render("backend/middleware.py.jinja", "app/middleware.py"),
    Render("backend/validators.py.jinja", "app/validators.py"),
    _package("app/schemas/__init__.py", "Request and response models, one module per entity."),
    _package(
        "app/services/__init__.py",
        "What the app does with each entity, shared by the API and the pages.",
    ),
    _package("app/routers/__init__.py", "The JSON API, one router per entity or concern."),
    Render("backend/service_crud.py.jinja", "app/services/crud.py"),
    Render("backend/health.py.jinja", "app/routers/health.py"),
    Render("backend/tests_init.py.jinja", "tests/__init__.py"),
    Render("backend/factories.py.jinja", "tests/factories.py"),
    Render("backend/test_health.py.jinja", "tests/test_health.py"),
    Render("backend/test_openapi.py.jinja", "tests/test_openapi.py"),
    Render("backend/test_migrations.py.jinja", "tests/test_migrations.py"),
    Render("backend/test_security.py.jinja", "tests/test_security.py"),
)


def backend(model: AppModel) -> Contribution:
    """Settings, errors and per entity its schemas, service and JSON router."""
    files = list(_BACKEND_FILES)
    routers = [api("health", 0)]
    for entity in model.entities:
        extra = {"entity": entity}
        snake = entity.names.snake
        files += [
            Render("backend/schema.py.jinja", f"app/schemas/{snake}.py", extra),
            Render("backend/service.py.jinja", f"app/services/{snake}.py", extra),
            Render("backend/router.py.jinja", f"app/routers/{snake}.py", extra),
            Render("backend/test_entity_api.py.jinja", f"tests/test_{snake}_api.py", extra),
        ]
        routers.append(api(snake, 20))
    if any(e.computed_fields for e in model.entities):
        files += [
            Render("backend/computed.py.jinja", "app/services/computed.py"),
            Render("backend/test_computed.py.jinja", "tests/test_computed.py"),
        ]
    if model.has_hooks:  # custom code around writes: the rules in words
        files.append(Render("backend/hooks.py.jinja", "app/hooks.py"))
        files.append(Render("backend/custom_tests_init.py.jinja", "tests/custom/__init__.py"))
        files += [
            Render(
                "backend/examples.py.jinja",
                f"tests/custom/{e.names.snake}_examples.py",
                {"entity": e},
            )
            for e in model.entities
            if e.rules
        ]
    if model.has("rss"):
        files += [
            Render("backend/feed.py.jinja", "app/routers/feed.py"),
            Render("backend/test_feed.py.jinja", "tests/test_feed.py"),
        ]
        routers.append(api("feed", 30))
    return Contribution(tuple(files), tuple(routers))


def auth(model: AppModel) -> Contribution:
    """Sign-up, log-in, sessions, the admin guard and API keys."""
    files = [
        Render("auth/security.py.jinja", "app/security.py"),
        Render("auth/accounts.py.jinja", "app/services/accounts.py"),
        Render("auth/auth_router.py.jinja", "app/routers/auth.py"),
        Render("auth/test_auth.py.jinja", "tests/test_auth.py"),
        Render("auth/test_access.py.jinja", "tests/test_access.py"),
        Render("auth/cli.py.jinja", "app/cli.py"),
        Render("auth/test_cli.py.jinja", "tests/test_cli.py"),
    ]
    routers = [api("auth", 10)]
    for feature, module, order in (("admin", "admin", 11), ("api_keys", "keys", 12)):
        if model.has(feature):
            name = "admin" if feature == "admin" else "api_keys"
            files += [
                Render(f"auth/{module}_router.py.jinja", f"app/routers/{name}.py"),
                Render(f"auth/test_{name}.py.jinja", f"tests/test_{name}.py"),
            ]
            routers.append(api(name, order))
    tables = [Table("auth/tables/users.jinja", ("users", "user_sessions"), first=True)]
    if model.has("api_keys"):
        tables.append(Table("auth/tables/api_keys.jinja", ("api_keys",), first=True))
    tables.append(Table("auth/tables/login_failures.jinja", ("login_failures",)))
    if model.organization is not None:
        files += _TENANCY_FILES
        routers += [api("members", 13), api("invitations", 14)]
        tables.append(Table("auth/tables/memberships.jinja", ("memberships", "invitations")))
        return Contribution(tuple(files), (*routers, *tables, *AUTH_SETTINGS, *TENANCY_SETTINGS))
    return Contribution(tuple(files), (*routers, *tables, *AUTH_SETTINGS))


#: Organisations' members, invitations and the tenancy suite (``organizations`` feature).
_TENANCY_FILES = (
    Render("auth/members.py.jinja", "app/services/members.py"),
    Render("auth/members_schema.py.jinja", "app/schemas/members.py"),
    Render("auth/members_router.py.jinja", "app/routers/members.py"),
    Render("auth/invitations.py.jinja", "app/services/invitations.py"),
    Render("auth/invitations_router.py.jinja", "app/routers/invitations.py"),
    Render("auth/test_tenancy.py.jinja", "tests/test_tenancy.py"),
)

AUTH_SETTINGS = (
    Setting("session_days", "int", "14"),
    Setting("bcrypt_rounds", "int", "12", test="4"),
    Setting("login_attempts", "int", "5"),
    Setting("login_window_seconds", "int", "15 * 60"),
    Setting("login_client_attempts", "int", "50"),
    Setting("login_email_attempts", "int", "100"),
)

TENANCY_SETTINGS = (
    Setting(
        "invitation_days",
        "int",
        "7",
        comment="Days an invitation to an organisation stays open; after that it is refused.",
        between=(1, 365),
        unit="days",
    ),
)


_FRONTEND_FILES = (
    Render("frontend/package.py.jinja", "app/pages/__init__.py"),
    Render("frontend/csrf.py.jinja", "app/csrf.py"),
    Render("frontend/common.py.jinja", "app/pages/common.py"),
    Render("frontend/crud.py.jinja", "app/pages/crud.py"),
    Render("frontend/home.py.jinja", "app/pages/home.py"),
    Render("frontend/base.html.jinja", "app/templates/base.html"),
    Render("frontend/home.html.jinja", "app/templates/home.html"),
    Render("frontend/macros.html.jinja", "app/templates/macros.html"),
    Render("frontend/error.html.jinja", "app/templates/error.html"),
    Render("frontend/list.html.jinja", "app/templates/crud/list.html"),
    Render("frontend/detail.html.jinja", "app/templates/crud/detail.html"),
    Render("frontend/form.html.jinja", "app/templates/crud/form.html"),
    Render("frontend/style.css.jinja", "app/static/style.css"),
    Render("frontend/app.js.jinja", "app/static/app.js"),
    Render("frontend/test_pages.py.jinja", "tests/test_pages.py"),
)


def frontend(model: AppModel) -> Contribution:
    """Server-rendered pages calling the same services as the JSON API."""
    files = list(_FRONTEND_FILES)
    routers = [page("home", 0)]
    if model.has("auth"):
        files += [
            Render("frontend/accounts.py.jinja", "app/pages/accounts.py"),
            Render("frontend/login.html.jinja", "app/templates/login.html"),
            Render("frontend/signup.html.jinja", "app/templates/signup.html"),
        ]
        routers.append(page("accounts", 10))
    if model.has("admin"):
        files += [
            Render("frontend/admin.py.jinja", "app/pages/admin.py"),
            Render("frontend/admin.html.jinja", "app/templates/admin.html"),
        ]
        routers.append(page("admin", 11, "admin_pages"))
    for entity in model.entities:
        snake = entity.names.snake
        files.append(
            Render("frontend/entity_pages.py.jinja", f"app/pages/{snake}.py", {"entity": entity})
        )
        routers.append(page(snake, 20, f"{snake}_pages"))
    return Contribution(tuple(files), tuple(routers))


def _py(text: str) -> str:
    """A Python string literal for ``text`` (double-quoted, as the app's code is)."""
    return json.dumps(text, ensure_ascii=False)


def _payments_settings() -> tuple[Setting, ...]:
    return (
        Setting("stripe_api_key", "str", '""', example="sk_test_..."),
        Setting("stripe_webhook_secret", "str", '""', example="whsec_..."),
        Setting("stripe_api_base", "str", '"https://api.stripe.com"'),
        Setting("public_url", "str", '"http://localhost:8000"', example="http://localhost:8000"),
        Setting("currency", "str", '"usd"', example="usd"),
    )


def _email_settings(model: AppModel) -> tuple[Setting, ...]:
    sender = f"{model.slug}@example.com"
    return (
        Setting("smtp_host", "str", '""', example=""),
        Setting("smtp_port", "int", "587", example="587"),
        Setting("smtp_username", "str", '""', example=""),
        Setting("smtp_password", "str", '""', example=""),
        Setting("smtp_starttls", "bool", "True"),
        Setting("mail_from", "str", _py(sender), example=sender),
    )


def _uploads_settings(model: AppModel) -> tuple[Setting, ...]:
    s3 = "" if model.integrations.s3 else None  # listed in .env.example only when used
    return (
        Setting(
            "upload_dir", "str", '"uploads"', example="uploads", test='str(tmp_path / "uploads")'
        ),
        Setting("max_upload_bytes", "int", "10 * 1024 * 1024"),
        Setting("s3_bucket", "str", '""', example=s3),
        Setting("s3_endpoint_url", "str", '""', example=s3),
        Setting("s3_region", "str", '"us-east-1"'),
        # read by boto3 itself, so only listed
        Setting("aws_access_key_id", None, example=s3),
        Setting("aws_secret_access_key", None, example=s3),
    )


def integrations(model: AppModel) -> Contribution:
    """Stripe, SMTP and uploads, each tested against a local fake of the service."""
    files = [
        Render("integrations/package.py.jinja", "app/integrations/__init__.py"),
        Render("integrations/fakes.py.jinja", "tests/fakes.py"),
    ]
    registered: list[Registration] = []
    if model.has("payments"):
        files += [
            Render("integrations/payments.py.jinja", "app/integrations/payments.py"),
            Render("integrations/payments_service.py.jinja", "app/services/payments.py"),
            Render("integrations/payments_router.py.jinja", "app/routers/payments.py"),
            Render("integrations/test_payments.py.jinja", "tests/test_payments.py"),
        ]
        if any(e.checkout and e.checkout.status for e in model.payable):
            files.append(Render("integrations/records.py.jinja", "app/records.py"))
        registered += [
            api("payments", 40),
            Table("integrations/tables/payments.jinja", ("payments",)),
            *_payments_settings(),
        ]
    if model.has("email"):
        files += [
            Render("integrations/mailer.py.jinja", "app/integrations/mailer.py"),
            Render("integrations/test_email.py.jinja", "tests/test_email.py"),
        ]
        registered += _email_settings(model)
    if model.has("file_uploads"):
        files += [
            Render("integrations/storage.py.jinja", "app/integrations/storage.py"),
            Render("integrations/uploads_router.py.jinja", "app/routers/uploads.py"),
            Render("integrations/test_uploads.py.jinja", "tests/test_uploads.py"),
        ]
        registered += [
            api("uploads", 41),
            Table("integrations/tables/uploads.jinja", ("uploads",)),
            *_uploads_settings(model),
        ]
    return Contribution(tuple(files), tuple(registered))


def devops(model: AppModel) -> Contribution:
    """Packaging, container, compose with PostgreSQL, CI, env example, Makefile, README."""
    needs = app_requirements(model)
    files = [
        Render("devops/pyproject.toml.jinja", "pyproject.toml", {"needs": needs, "dev": DEV}),
        Render(
            "devops/requirements.lock.jinja",
            "requirements.lock",
            {"pins": locked(needs), "dev": False},
        ),
        Render(
            "devops/requirements.lock.jinja",
            "requirements-dev.lock",
            {"pins": locked(needs + DEV), "dev": True},
        ),
        Render("devops/README.md.jinja", "README.md"),
        Render("devops/Makefile.jinja", "Makefile"),
        Render("devops/gitignore.jinja", ".gitignore"),
    ]
    if model.deployment.docker:
        files += [
            Render("devops/Dockerfile.jinja", "Dockerfile"),
            Render("devops/dockerignore.jinja", ".dockerignore"),
            Render("devops/docker-compose.yml.jinja", "docker-compose.yml"),
        ]
    if model.deployment.ci:
        files.append(Render("devops/ci.yml.jinja", ".github/workflows/ci.yml"))
    return Contribution(tuple(files))


CONTRIBUTIONS: dict[AgentType, Callable[[AppModel], Contribution]] = {
    AgentType.DATABASE: database,
    AgentType.BACKEND: backend,
    AgentType.AUTH: auth,
    AgentType.FRONTEND: frontend,
    AgentType.INTEGRATIONS: integrations,
    AgentType.DEVOPS: devops,
}


def roles(model: AppModel) -> dict[AgentType, str]:
    """The roles this app needs, with the reason each is needed."""
    reasons = {
        AgentType.DATABASE: "models and the initial migration",
        AgentType.BACKEND: "JSON API, schemas and services",
        AgentType.DEVOPS: "packaging, Docker, CI and README",
    }
    if model.has("auth"):
        reasons[AgentType.AUTH] = "the auth feature"
    if model.pages:
        reasons[AgentType.FRONTEND] = "server-rendered pages"
    asked = [f for f in INTEGRATION_FEATURES if model.has(f)]
    if asked:
        reasons[AgentType.INTEGRATIONS] = ", ".join(asked)
    return reasons


def assemble(_model: AppModel, registrations: tuple[Registration, ...]) -> Contribution:
    """The files every role adds to, written from the registrations.

    ``app/main.py`` includes every router (JSON API first, then pages, each by order);
    ``app/models.py`` and the initial migration hold the entities' tables and every
    registered one (``first`` ones created before the entities'); ``app/settings.py``,
    ``.env.example`` and the tests' settings list every registered setting. Registrations
    keep the order agents ran in, so the same spec writes the same files.
    """
    ordered = sorted(
        (r for r in registrations if isinstance(r, Router)), key=lambda r: (r.pages, r.order)
    )
    tables = sorted((r for r in registrations if isinstance(r, Table)), key=lambda t: not t.first)
    settings = tuple(r for r in registrations if isinstance(r, Setting))
    return Contribution(
        files=(
            Render("backend/main.py.jinja", "app/main.py", {"routers": tuple(ordered)}),
            Render("database/models.py.jinja", "app/models.py", {"tables": tuple(tables)}),
            Render(
                "database/initial.py.jinja",
                "migrations/versions/0001_initial.py",
                {"tables": tuple(tables)},
            ),
            Render("backend/settings.py.jinja", "app/settings.py", {"settings": settings}),
            Render("devops/env.example.jinja", ".env.example", {"settings": settings}),
            Render("backend/conftest.py.jinja", "tests/conftest.py", {"settings": settings}),
        )
    )
