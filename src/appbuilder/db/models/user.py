"""Accounts: who signs in, what they may do, what they pay for."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from appbuilder.db.base import Base
from appbuilder.db.models._columns import (
    created_at_column,
    enum_type,
    id_column,
    updated_at_column,
)
from appbuilder.db.types import EncryptedText, UTCDateTime
from appbuilder.enums import SubscriptionTier, UserRole

if TYPE_CHECKING:
    from appbuilder.db.models.api_key import ApiKey
    from appbuilder.db.models.generation import Generation
    from appbuilder.db.models.project import Project


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        # One account per mailbox whatever the case: services store emails lower-cased, and
        # the database refuses anything else, so the unique index is case-insensitive.
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    id: Mapped[str] = id_column()
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(200))
    avatar: Mapped[str | None] = mapped_column(String(2048))
    role: Mapped[UserRole] = mapped_column(
        enum_type(UserRole, "user_role"), default=UserRole.USER, server_default=UserRole.USER
    )

    subscription_tier: Mapped[SubscriptionTier] = mapped_column(
        enum_type(SubscriptionTier, "subscription_tier"),
        default=SubscriptionTier.FREE,
        server_default=SubscriptionTier.FREE,
    )
    subscription_status: Mapped[str | None] = mapped_column(String(50))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)

    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the user's own language model (``services.llm_settings``); the key encrypted at rest
    llm_provider: Mapped[str | None] = mapped_column(String(40))
    llm_model: Mapped[str | None] = mapped_column(String(200))
    llm_base_url: Mapped[str | None] = mapped_column(String(2048))
    llm_api_key: Mapped[str | None] = mapped_column(EncryptedText())
    #: billing beyond the design document (``services.billing``): the Stripe subscription,
    #: when its period ends, when a past-due subscription's grace ends (FREE limits from
    #: then on), and Stripe's time of the newest event applied (an older one never
    #: overwrites what a newer one set)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    subscription_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    subscription_grace_ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    billing_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: a tier granted by a super admin without Stripe: who and when
    tier_granted_by_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL")
    )
    tier_granted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Collections never load implicitly: every query says what it needs (no N+1 by accident).
    projects: Mapped[list[Project]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )
    api_keys: Mapped[list[ApiKey]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )
    generations: Mapped[list[Generation]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True, lazy="raise"
    )

    def __repr__(self) -> str:
        return f"User(id={self.id!r}, email={self.email!r}, role={self.role!s})"
