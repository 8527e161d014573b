"""Billing with Stripe: each user's subscription, period end, past-due grace, the time of
the newest Stripe event applied and who granted a tier by hand; processed Stripe events.

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("stripe_subscription_id", sa.String(255), nullable=True))
        batch.add_column(
            sa.Column("subscription_period_end", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("subscription_grace_ends_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("billing_updated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("tier_granted_by_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("tier_granted_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_users_stripe_subscription_id"), ["stripe_subscription_id"]
        )
        batch.create_foreign_key(
            op.f("fk_users_tier_granted_by_id_users"),
            "users",
            ["tier_granted_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_stripe_events_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_index(op.f("ix_stripe_events_user_id"), "stripe_events", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_stripe_events_user_id"), table_name="stripe_events")
    op.drop_table("stripe_events")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("fk_users_tier_granted_by_id_users"), type_="foreignkey")
        batch.drop_constraint(op.f("uq_users_stripe_subscription_id"), type_="unique")
        batch.drop_column("tier_granted_at")
        batch.drop_column("tier_granted_by_id")
        batch.drop_column("billing_updated_at")
        batch.drop_column("subscription_grace_ends_at")
        batch.drop_column("subscription_period_end")
        batch.drop_column("stripe_subscription_id")
