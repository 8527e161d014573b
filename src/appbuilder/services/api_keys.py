"""API keys of a user: create (the secret is returned once), list, revoke."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from appbuilder.db.models import ApiKey, User
from appbuilder.db.types import utcnow
from appbuilder.errors import ConflictError, NotFoundError, PermissionDeniedError, ValidationError
from appbuilder.security.api_keys import generate_api_key
from appbuilder.security.scopes import ROLE_SCOPES, Scope

MAX_ACTIVE_KEYS = 50


def create_api_key(
    session: Session,
    user: User,
    *,
    name: str,
    scopes: list[Scope],
    expires_at: datetime | None,
    granter_scopes: frozenset[Scope] | None = None,
) -> tuple[ApiKey, str]:
    """Returns the stored row and the full key, which is never retrievable again.

    A key never gets more than the credential that makes it holds (``granter_scopes``; an
    API key with only ``keys:manage`` cannot mint itself a stronger key), nor more than the
    user's role allows.
    """
    _check_grant(user, scopes, granter_scopes)
    if expires_at is not None and expires_at <= utcnow():
        raise ValidationError("expires_at", "future", "expires_at must be in the future.")
    _check_room(session, user)
    new = generate_api_key()
    key = ApiKey(
        user_id=user.id,
        name=name,
        prefix=new.prefix,
        key_hash=new.key_hash,
        scopes=sorted(scope.value for scope in set(scopes)),
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, new.full_key


def _check_grant(user: User, scopes: list[Scope], granter_scopes: frozenset[Scope] | None) -> None:
    if not scopes:
        raise ValidationError("scopes", "min_items", "Give the key at least one scope.")
    allowed = ROLE_SCOPES[user.role] if granter_scopes is None else granter_scopes
    beyond = set(scopes) - (allowed & ROLE_SCOPES[user.role])
    if beyond:
        raise PermissionDeniedError(
            f"This credential cannot grant: {', '.join(sorted(beyond))}.",
            scopes=sorted(beyond),
        )


def _check_room(session: Session, user: User) -> None:
    active = session.scalars(
        select(ApiKey.id).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
    ).all()
    if len(active) >= MAX_ACTIVE_KEYS:
        raise ConflictError(
            f"You have {MAX_ACTIVE_KEYS} active keys; revoke one first.", limit=MAX_ACTIVE_KEYS
        )


def list_api_keys(session: Session, user_id: str) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.user_id == user_id)
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        ).all()
    )


def revoke_api_key(session: Session, key_id: str, *, owner_id: str) -> ApiKey:
    """Revoking twice is harmless; another user's key is reported as not found."""
    key = session.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == owner_id))
    if key is None:
        raise NotFoundError("ApiKey", key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    session.flush()
    return key
