"""The models against the design document (shared/seed/database-schema.md), field by field.

The design document's Prisma models are transcribed here as (field, column, nullable) so that a
change to a model that breaks the documented contract fails a test.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Enum, Table

import appbuilder.db.models  # noqa: F401
from appbuilder.db.base import Base
from appbuilder.enums import (
    AgentType,
    GenerationStatus,
    ProjectStatus,
    ProjectTemplate,
    SubscriptionTier,
    UserRole,
)

SEED_FIELDS = {
    "users": [
        ("id", False), ("email", False), ("password_hash", False), ("name", True),
        ("avatar", True), ("role", False), ("subscription_tier", False),
        ("subscription_status", True), ("stripe_customer_id", True), ("created_at", False),
        ("updated_at", False), ("last_login_at", True),
        # beyond the design document: the user's own language model
        ("llm_provider", True), ("llm_model", True), ("llm_base_url", True), ("llm_api_key", True),
        # and billing: the Stripe subscription's state, a tier granted by hand
        ("stripe_subscription_id", True), ("subscription_period_end", True),
        ("subscription_grace_ends_at", True), ("billing_updated_at", True),
        ("tier_granted_by_id", True), ("tier_granted_at", True),
    ],
    "projects": [
        ("id", False), ("name", False), ("description", True), ("template", False),
        ("status", False), ("config", False), ("features", False), ("generated_path", True),
        ("repository_url", True), ("deployment_url", True),
        # beyond the design document: the project's own language model
        ("llm_model", True),
        # beyond the design document: repository_url's token and its last push's outcome
        ("repository_token", True), ("repository_pushed_sha", True),
        ("repository_pushed_at", True), ("repository_error", True),
        ("user_id", False), ("created_at", False), ("updated_at", False), ("deployed_at", True),
    ],
    "generations": [
        ("id", False), ("project_id", False), ("user_id", False), ("agent_type", False),
        ("prompt", False), ("response", False), ("status", False), ("tokens_used", False),
        ("duration_ms", True), ("error_message", True), ("created_at", False),
        ("completed_at", True),
        # beyond the design document: the run a step belongs to; a model call's model,
        # tokens in and out (tokens_used is their sum) and cost
        ("run_id", True), ("model", True), ("input_tokens", False), ("output_tokens", False),
        ("cost_usd", True),
    ],
}  # fmt: skip

SEED_ENUMS = {
    UserRole: ["USER", "ADMIN", "SUPER_ADMIN"],
    SubscriptionTier: ["FREE", "STARTER", "PRO", "ENTERPRISE"],
    ProjectTemplate: ["SAAS", "ECOMMERCE", "BLOG", "API", "CUSTOM"],
    ProjectStatus: ["DRAFT", "GENERATING", "READY", "DEPLOYING", "DEPLOYED", "ERROR"],
    AgentType: [
        "ORCHESTRATOR",
        "BACKEND",
        "FRONTEND",
        "DATABASE",
        "AUTH",
        "INTEGRATIONS",
        "DEVOPS",
    ],
    GenerationStatus: ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"],
}

#: the design document's "Indexes" section: (table, column, unique)
SEED_INDEXES = [
    ("users", "email", True),
    ("projects", "user_id", False),
    ("projects", "status", False),
    ("generations", "project_id", False),
    ("generations", "user_id", False),
    ("generations", "status", False),
]
#: what the design document's "Common Queries" need: latest projects of a user, a project's history
QUERY_INDEXES = [
    ("projects", ("user_id", "created_at", "id")),
    ("generations", ("project_id", "created_at", "id")),
]


def table(name: str) -> Table:
    return Base.metadata.tables[name]


def test_tables_are_plural_snake_case() -> None:
    assert set(Base.metadata.tables) == {
        "users", "projects", "generations", "api_keys", "deployments",
        "auth_sessions", "login_failures", "generation_runs", "run_events", "stripe_events",
    }  # fmt: skip


@pytest.mark.parametrize("table_name", sorted(SEED_FIELDS))
def test_every_seed_field_exists_with_its_nullability(table_name: str) -> None:
    columns = table(table_name).columns
    assert [(c.name, c.nullable) for c in columns] == SEED_FIELDS[table_name]


@pytest.mark.parametrize(("enum_cls", "values"), SEED_ENUMS.items())
def test_enum_values_are_exactly_the_seed_s(enum_cls: type, values: list[str]) -> None:
    assert [member.value for member in enum_cls] == values


def test_seed_defaults() -> None:
    users, projects, generations = table("users"), table("projects"), table("generations")
    assert users.c.role.default.arg == UserRole.USER
    assert users.c.subscription_tier.default.arg == SubscriptionTier.FREE
    assert projects.c.status.default.arg == ProjectStatus.DRAFT
    assert generations.c.status.default.arg == GenerationStatus.PENDING
    assert generations.c.tokens_used.default.arg == 0


def test_unique_fields() -> None:
    users = table("users")
    assert users.c.email.unique or any(i.unique for i in users.indexes if "email" in i.columns)
    assert users.c.stripe_customer_id.unique
    api_keys = table("api_keys")
    assert api_keys.c.prefix.unique
    assert api_keys.c.key_hash.unique


def test_enum_columns_are_enforced_by_the_database() -> None:
    for table_obj in Base.metadata.tables.values():
        for column in table_obj.columns:
            if isinstance(column.type, Enum):
                assert column.type.native_enum, column
                assert column.type.create_constraint, column


def test_generation_has_real_foreign_keys_to_project_and_user() -> None:
    targets = {fk.target_fullname for fk in table("generations").foreign_keys}
    assert targets == {"projects.id", "users.id", "generation_runs.id"}


@pytest.mark.parametrize(("table_name", "column", "unique"), SEED_INDEXES)
def test_seed_indexes_are_declared(table_name: str, column: str, unique: bool) -> None:
    """An index leads with the design document's column (a composite serves look-ups on its first
    column, so the design document's single-column index is not repeated beside it)."""
    leading = {(i.columns[0].name, bool(i.unique)) for i in table(table_name).indexes}
    assert (column, unique) in leading


@pytest.mark.parametrize(("table_name", "columns"), QUERY_INDEXES)
def test_common_query_indexes_are_declared(table_name: str, columns: tuple[str, ...]) -> None:
    assert columns in {tuple(c.name for c in i.columns) for i in table(table_name).indexes}
