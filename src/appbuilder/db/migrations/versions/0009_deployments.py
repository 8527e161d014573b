"""Deployments record what they run: the run deployed, the local process (pid, its start
time, ports) and when it became healthy.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("run_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("process_started", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("port", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("health_port", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(
            "fk_deployments_run_id_generation_runs",
            "generation_runs",
            ["run_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_constraint("fk_deployments_run_id_generation_runs", type_="foreignkey")
        for column in ("started_at", "health_port", "port", "process_started", "pid", "run_id"):
            batch.drop_column(column)
