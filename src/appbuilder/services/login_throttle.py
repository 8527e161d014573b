"""Brute-force protection for log-in: failures are counted per account and per client
address over a sliding window; past the limit, attempts are refused with a retry time,
even with the right password, until the window has moved on."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, or_, select, text
from sqlalchemy.orm import Session

from appbuilder.db.models import LoginFailure
from appbuilder.errors import RateLimitedError
from appbuilder.settings import AuthSettings


def ensure_allowed(
    session: Session, email: str, client_ip: str, settings: AuthSettings, now: datetime
) -> None:
    """Refuse while over the limit. Takes per-account and per-address locks first (held to
    the end of the transaction), so parallel attempts are counted one after another rather
    than all passing the same count; on SQLite, BEGIN IMMEDIATE already serialises them."""
    _lock(session, f"login:account:{email}")
    _lock(session, f"login:address:{client_ip}")
    checks = (
        (LoginFailure.email == email, settings.max_failures_per_account, "this account"),
        (LoginFailure.client_ip == client_ip, settings.max_failures_per_client, "your address"),
    )
    for condition, limit, whose in checks:
        retry_after = _retry_after(session, condition, limit, settings.failure_window, now)
        if retry_after is not None:
            raise RateLimitedError(
                f"Too many failed log-ins for {whose}; try again in {retry_after} seconds.",
                retry_after=retry_after,
            )


def _lock(session: Session, key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
        )


def _retry_after(
    session: Session, condition: ColumnElement[bool], limit: int, window: timedelta, now: datetime
) -> int | None:
    """Seconds until the oldest failure in the window leaves it, if the limit is reached."""
    count, oldest = session.execute(
        select(func.count(), func.min(LoginFailure.created_at)).where(
            condition, LoginFailure.created_at >= now - window
        )
    ).one()
    if count < limit or oldest is None:
        return None
    # min() keeps the column's type, so this is an aware datetime on both databases
    wait = (oldest + window - now).total_seconds()
    return max(1, math.ceil(wait))


def record_failure(
    session: Session, email: str, client_ip: str, settings: AuthSettings, now: datetime
) -> None:
    """Count a failure, and forget this account's failures that have left the window."""
    expired = LoginFailure.created_at < now - settings.failure_window
    session.execute(
        delete(LoginFailure).where(
            or_(LoginFailure.email == email, LoginFailure.client_ip == client_ip), expired
        )
    )
    session.add(LoginFailure(email=email, client_ip=client_ip, created_at=now))
    session.flush()


def clear_account(session: Session, email: str) -> None:
    """A successful log-in wipes the account's failures (not the address's)."""
    session.execute(delete(LoginFailure).where(LoginFailure.email == email))
