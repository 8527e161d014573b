"""A project's git remote (its token encrypted at rest) and the outcome of its last push;
a run may be a rollback to an earlier run's files.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("repository_token", sa.Text(), nullable=True))  # encrypted
        batch.add_column(sa.Column("repository_pushed_sha", sa.String(40), nullable=True))
        batch.add_column(
            sa.Column("repository_pushed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("repository_error", sa.Text(), nullable=True))
    with op.batch_alter_table("generation_runs") as batch:
        batch.add_column(sa.Column("rollback_of", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("generation_runs") as batch:
        batch.drop_column("rollback_of")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("repository_error")
        batch.drop_column("repository_pushed_at")
        batch.drop_column("repository_pushed_sha")
        batch.drop_column("repository_token")
