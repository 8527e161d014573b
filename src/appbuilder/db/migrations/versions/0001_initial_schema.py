"""Initial schema: the design document's users, projects and generations, with api keys
and deployments, every enum, index and foreign key.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUMS = {
    "user_role": ("USER", "ADMIN", "SUPER_ADMIN"),
    "subscription_tier": ("FREE", "STARTER", "PRO", "ENTERPRISE"),
    "project_template": ("SAAS", "ECOMMERCE", "BLOG", "API", "CUSTOM"),
    "project_status": ("DRAFT", "GENERATING", "READY", "DEPLOYING", "DEPLOYED", "ERROR"),
    "agent_type": (
        "ORCHESTRATOR",
        "BACKEND",
        "FRONTEND",
        "DATABASE",
        "AUTH",
        "INTEGRATIONS",
        "DEVOPS",
    ),
    "generation_status": ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"),
    "deployment_status": ("PENDING", "IN_PROGRESS", "SUCCEEDED", "FAILED", "CANCELLED"),
}


def enum(name: str) -> sa.Enum:
    return sa.Enum(*ENUMS[name], name=name, create_constraint=True)


def id_column(name: str = "id") -> sa.Column[str]:
    return sa.Column(name, sa.String(length=32), nullable=False)


def owner(table: str, column: str, referred: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referred}.id"],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete="CASCADE",
    )


def timestamp(name: str, *, now: bool = False) -> sa.Column[object]:
    if now:
        return sa.Column(
            name,
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        )
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def string_list(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "users",
        id_column(),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("avatar", sa.String(length=2048), nullable=True),
        sa.Column("role", enum("user_role"), server_default="USER", nullable=False),
        sa.Column(
            "subscription_tier", enum("subscription_tier"), server_default="FREE", nullable=False
        ),
        sa.Column("subscription_status", sa.String(length=50), nullable=True),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        timestamp("created_at", now=True),
        timestamp("updated_at", now=True),
        timestamp("last_login_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("stripe_customer_id", name=op.f("uq_users_stripe_customer_id")),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lowercase")),
    )
    op.create_index(op.f("ix_users_email"), "users", ["email"], unique=True)

    op.create_table(
        "api_keys",
        id_column(),
        id_column("user_id"),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        string_list("scopes"),
        timestamp("last_used_at"),
        timestamp("expires_at"),
        timestamp("revoked_at"),
        timestamp("created_at", now=True),
        owner("api_keys", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"])

    op.create_table(
        "projects",
        id_column(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("template", enum("project_template"), nullable=False),
        sa.Column("status", enum("project_status"), server_default="DRAFT", nullable=False),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        string_list("features"),
        sa.Column("generated_path", sa.Text(), nullable=True),
        sa.Column("repository_url", sa.String(length=2048), nullable=True),
        sa.Column("deployment_url", sa.String(length=2048), nullable=True),
        id_column("user_id"),
        timestamp("created_at", now=True),
        timestamp("updated_at", now=True),
        timestamp("deployed_at"),
        owner("projects", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_index(op.f("ix_projects_status"), "projects", ["status"])
    op.create_index("ix_projects_user_id_created_at", "projects", ["user_id", "created_at", "id"])

    op.create_table(
        "deployments",
        id_column(),
        id_column("project_id"),
        sa.Column("status", enum("deployment_status"), server_default="PENDING", nullable=False),
        sa.Column("target", sa.String(length=50), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("ref", sa.String(length=255), nullable=True),
        sa.Column("log", sa.Text(), server_default=sa.text("''"), nullable=False),
        timestamp("created_at", now=True),
        timestamp("finished_at"),
        owner("deployments", "project_id", "projects"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
    )
    op.create_index(
        "ix_deployments_project_id_created_at", "deployments", ["project_id", "created_at"]
    )
    op.create_index(op.f("ix_deployments_status"), "deployments", ["status"])

    op.create_table(
        "generations",
        id_column(),
        id_column("project_id"),
        id_column("user_id"),
        sa.Column("agent_type", enum("agent_type"), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("status", enum("generation_status"), server_default="PENDING", nullable=False),
        sa.Column("tokens_used", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        timestamp("created_at", now=True),
        timestamp("completed_at"),
        owner("generations", "project_id", "projects"),
        owner("generations", "user_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generations")),
    )
    op.create_index(
        "ix_generations_project_id_created_at", "generations", ["project_id", "created_at", "id"]
    )
    op.create_index(op.f("ix_generations_status"), "generations", ["status"])
    op.create_index("ix_generations_user_id_created_at", "generations", ["user_id", "created_at"])


def downgrade() -> None:
    # Indexes go with their tables; PostgreSQL keeps enum types until they are dropped.
    for table in ("generations", "deployments", "projects", "api_keys", "users"):
        op.drop_table(table)
    bind = op.get_bind()
    for name in ENUMS:
        sa.Enum(name=name).drop(bind, checkfirst=True)
