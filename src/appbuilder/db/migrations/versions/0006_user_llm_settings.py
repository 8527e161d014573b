"""Users may bring their own language model: provider, model, base URL and API key, the
key encrypted at rest (Fernet with a key derived from UAB_SECRET_KEY).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("llm_provider", sa.String(40), nullable=True))
        batch.add_column(sa.Column("llm_model", sa.String(200), nullable=True))
        batch.add_column(sa.Column("llm_base_url", sa.String(2048), nullable=True))
        batch.add_column(sa.Column("llm_api_key", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("llm_api_key")
        batch.drop_column("llm_base_url")
        batch.drop_column("llm_model")
        batch.drop_column("llm_provider")
