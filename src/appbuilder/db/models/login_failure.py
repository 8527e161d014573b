"""Failed log-in attempts, kept for one throttling window so every server process and
machine sees the same count (an in-memory counter would reset per worker)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from appbuilder.db.base import Base
from appbuilder.db.models._columns import created_at_column, id_column


class LoginFailure(Base):
    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_email_created_at", "email", "created_at"),
        Index("ix_login_failures_client_ip_created_at", "client_ip", "created_at"),
    )

    id: Mapped[str] = id_column()
    email: Mapped[str] = mapped_column(String(320))
    client_ip: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = created_at_column()
