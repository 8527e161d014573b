"""Generation runs (a run groups its Generation rows and holds its lease), their event
log, and on PostgreSQL the procrastinate job queue's schema.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from appbuilder.db import queue_schema

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "generation_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "QUEUED",
                "RUNNING",
                "COMPLETED",
                "FAILED",
                "CANCELLED",
                name="run_status",
                create_constraint=True,
            ),
            server_default="QUEUED",
            nullable=False,
        ),
        sa.Column(
            "previous_status",
            sa.Enum(
                "DRAFT",
                "GENERATING",
                "READY",
                "DEPLOYING",
                "DEPLOYED",
                "ERROR",
                name="project_status",
                create_constraint=True,
            ).with_variant(postgresql.ENUM(name="project_status", create_type=False), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("spec_hash", sa.String(length=64), nullable=False),
        sa.Column("verify", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("claim", sa.String(length=32), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("event_seq", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("tree_hash", sa.String(length=64), nullable=True),
        sa.Column("commit_sha", sa.String(length=40), nullable=True),
        sa.Column("files_count", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_generation_runs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_generation_runs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_runs")),
    )
    op.create_index(
        "ix_generation_runs_project_id_created_at",
        "generation_runs",
        ["project_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_generation_runs_status_not_before",
        "generation_runs",
        ["status", "not_before"],
        unique=False,
    )
    op.create_index(
        "ix_generation_runs_user_id_created_at",
        "generation_runs",
        ["user_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "uq_generation_runs_one_active_per_project",
        "generation_runs",
        ["project_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
        sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.create_table(
        "run_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["generation_runs.id"],
            name=op.f("fk_run_events_run_id_generation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_events")),
        sa.UniqueConstraint("run_id", "seq", name=op.f("uq_run_events_run_id_seq")),
    )
    with op.batch_alter_table("generations") as batch:
        batch.add_column(sa.Column("run_id", sa.String(length=32), nullable=True))
        batch.create_index(batch.f("ix_generations_run_id"), ["run_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_generations_run_id_generation_runs"),
            "generation_runs",
            ["run_id"],
            ["id"],
            ondelete="CASCADE",
        )
    if op.get_bind().dialect.name == "postgresql":
        queue_schema.install(op.get_bind())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        queue_schema.uninstall(op.get_bind())
    with op.batch_alter_table("generations") as batch:
        batch.drop_constraint(batch.f("fk_generations_run_id_generation_runs"), type_="foreignkey")
        batch.drop_index(batch.f("ix_generations_run_id"))
        batch.drop_column("run_id")
    op.drop_table("run_events")
    op.drop_index(
        "uq_generation_runs_one_active_per_project",
        table_name="generation_runs",
        postgresql_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
        sqlite_where=sa.text("status IN ('QUEUED', 'RUNNING')"),
    )
    op.drop_index("ix_generation_runs_user_id_created_at", table_name="generation_runs")
    op.drop_index("ix_generation_runs_status_not_before", table_name="generation_runs")
    op.drop_index("ix_generation_runs_project_id_created_at", table_name="generation_runs")
    op.drop_table("generation_runs")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TYPE IF EXISTS run_status")
