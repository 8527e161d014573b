"""Generations: the indexes the ledger reads before every model call.

The month's tokens of an owner (summed before each call of a tier with a quota) are read
from the index alone: ``tokens_used`` joins (user_id, created_at), which it replaces. The
owner's plan calls still RUNNING (closed before each plan when abandoned) are found by
(user_id, status) instead of walking the owner's whole history. On SQLite each row read
meant stepping over its prompt and answer: at 10,000 rows of an owner each of the two
took ~45 ms per call, with these ~0.2-0.8 ms.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_generations_user_id_created_at_tokens_used",
        "generations",
        ["user_id", "created_at", "tokens_used"],
    )
    op.drop_index("ix_generations_user_id_created_at", table_name="generations")
    op.create_index(
        "ix_generations_user_id_status_created_at",
        "generations",
        ["user_id", "status", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_generations_user_id_status_created_at", table_name="generations")
    op.create_index("ix_generations_user_id_created_at", "generations", ["user_id", "created_at"])
    op.drop_index("ix_generations_user_id_created_at_tokens_used", table_name="generations")
