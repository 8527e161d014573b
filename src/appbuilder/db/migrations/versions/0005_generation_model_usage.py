"""Generations record which model answered, its tokens in and out, and what the call cost.

A template step leaves them empty (no model, 0 tokens); a model call fills them. The cost
is in USD and stays NULL when the model's price is unknown (never guessed).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("generations") as batch:
        batch.add_column(sa.Column("model", sa.String(200), nullable=True))
        batch.add_column(
            sa.Column("input_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(
            sa.Column("output_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("cost_usd", sa.Numeric(14, 6), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("generations") as batch:
        batch.drop_column("cost_usd")
        batch.drop_column("output_tokens")
        batch.drop_column("input_tokens")
        batch.drop_column("model")
