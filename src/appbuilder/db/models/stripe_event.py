"""Stripe events already processed, by Stripe's event id: Stripe delivers at least once
(and retries), so a replayed event finds its row here and changes nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from appbuilder.db.base import Base
from appbuilder.db.models._columns import created_at_column
from appbuilder.db.types import UTCDateTime


class StripeEvent(Base):
    __tablename__ = "stripe_events"

    #: Stripe's event id (evt_...)
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    #: when Stripe created the event (orders deliveries that arrive out of order)
    created: Mapped[datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: applied, stale (older than the state it would change), or ignored (not ours)
    outcome: Mapped[str] = mapped_column(String(20))
    processed_at: Mapped[datetime] = created_at_column()
