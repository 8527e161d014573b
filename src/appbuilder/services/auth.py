"""Accounts and credentials: sign-up, log-in, log-out, password change, and turning a
bearer credential (session token or API key) into a Principal.

Session tokens are opaque random strings stored as SHA-256 hashes, not signed JWTs: a
log-out or password change revokes them at once, with no deny-list and no waiting for an
expiry, and a database leak reveals no usable token. The cost is one indexed look-up per
request, which the request already pays to load the user.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Update, bindparam, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import ApiKey, AuthSession, User
from appbuilder.db.reads import Read, Steps
from appbuilder.db.session import transaction
from appbuilder.db.types import utcnow
from appbuilder.enums import SubscriptionTier, UserRole
from appbuilder.errors import (
    AuthenticationError,
    ConflictError,
    PermissionDeniedError,
    ValidationError,
    WrongPasswordError,
)
from appbuilder.security.api_keys import ParsedApiKey, hashes_match, parse_api_key
from appbuilder.security.passwords import MAX_PASSWORD_BYTES, hash_password, verify_password
from appbuilder.security.scopes import ROLE_SCOPES, Scope
from appbuilder.services import login_throttle
from appbuilder.services.users import get_user_by_email, normalise_email
from appbuilder.settings import AuthSettings

SESSION_TOKEN_PREFIX = "uabs_"  # noqa: S105 - a prefix, not a secret
MIN_PASSWORD_LENGTH = 8
PASSWORD_RULES = (
    f"at least {MIN_PASSWORD_LENGTH} characters, at most {MAX_PASSWORD_BYTES} bytes, "
    "with at least one letter and one character that is not a letter, "
    "and not the same as the email address"
)
#: how often last_used_at may be written: often enough to be useful, not on every request
TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    """Who is calling, with what rights, through which credential."""

    user: User
    scopes: frozenset[Scope]
    session_id: str | None = None
    api_key_id: str | None = None

    def has(self, scope: Scope) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class IssuedSession:
    token: str
    session: AuthSession


def prepare() -> None:
    """Build the timing-equaliser hash at start-up, not during the first unknown-email log-in."""
    _dummy_hash()


@cache
def _dummy_hash() -> str:
    """Checked when the email is unknown, so that costs the same time as a wrong password
    and response times do not tell which emails have accounts."""
    return hash_password("timing-equaliser-not-a-password-1")


def check_password_rules(password: str, email: str, field: str = "password") -> None:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append("too short")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        problems.append("too long")
    if not any(c.isalpha() for c in password) or all(c.isalpha() for c in password):
        problems.append("needs a letter and a non-letter")
    if password.strip().lower() == email.strip().lower():
        problems.append("same as the email")
    if problems:
        raise ValidationError(
            field,
            "password_rules",
            f"Password {', '.join(problems)}: it must have {PASSWORD_RULES}.",
        )


def register(session: Session, *, email: str, password: str, name: str | None) -> User:
    email = normalise_email(email)
    check_password_rules(password, email)
    if get_user_by_email(session, email) is not None:
        raise _email_taken(email)
    user = User(email=email, password_hash=hash_password(password), name=name)
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise _email_taken(email) from exc
    return user


def _email_taken(email: str) -> ConflictError:
    return ConflictError(f"An account with the email {email} already exists.", field="email")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_session(
    session: Session,
    user: User,
    settings: AuthSettings,
    *,
    client_ip: str | None = None,
    user_agent: str | None = None,
) -> IssuedSession:
    token = SESSION_TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    record = AuthSession(
        user_id=user.id,
        token_hash=_token_hash(token),
        expires_at=now + settings.session_ttl,
        client_ip=client_ip,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(record)
    session.flush()
    return IssuedSession(token=token, session=record)


def log_in(
    sessions: sessionmaker[Session],
    *,
    email: str,
    password: str,
    client_ip: str,
    user_agent: str | None,
    settings: AuthSettings,
) -> tuple[User, IssuedSession]:
    """Check the password, with throttling. Owns its transactions: a failure must be
    recorded even though the caller's request ends in an error."""
    email = normalise_email(email)
    now = utcnow()
    with transaction(sessions) as session:
        login_throttle.ensure_allowed(session, email, client_ip, settings, now)
        user = get_user_by_email(session, email)
        if user is not None and verify_password(password, user.password_hash):
            login_throttle.clear_account(session, email)
            user.last_login_at = now
            issued = issue_session(
                session, user, settings, client_ip=client_ip, user_agent=user_agent
            )
            return user, issued
        if user is None:
            verify_password(password, _dummy_hash())
        login_throttle.record_failure(session, email, client_ip, settings, now)
    raise AuthenticationError("Email or password is wrong.")


def log_out(session: Session, principal: Principal) -> None:
    if principal.session_id is None:
        raise ValidationError(
            "authorization",
            "session_token",
            "Log-out ends a session; this request used an API key. "
            "Revoke API keys with DELETE /api/keys/{id}.",
        )
    session.execute(
        update(AuthSession)
        .where(AuthSession.id == principal.session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def change_password(
    session: Session,
    principal: Principal,
    *,
    current_password: str,
    new_password: str,
    settings: AuthSettings,
    client_ip: str,
) -> IssuedSession:
    """Set a new password and revoke every session of the user; returns a fresh one.
    Needs a session token: an API key alone must not be enough to take over an account."""
    if principal.session_id is None:
        raise PermissionDeniedError("Changing the password needs a session token, not an API key.")
    user = principal.user
    # Guessing the current password with a stolen session is throttled like log-in is.
    now = utcnow()
    login_throttle.ensure_allowed(session, user.email, client_ip, settings, now)
    if not verify_password(current_password, user.password_hash):
        login_throttle.record_failure(session, user.email, client_ip, settings, now)
        raise WrongPasswordError("current_password")
    check_password_rules(new_password, user.email, field="new_password")
    user.password_hash = hash_password(new_password)
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return issue_session(session, user, settings)


def authenticate(session: Session, credential: str) -> Principal:
    """A bearer credential -> Principal, or AuthenticationError saying what is wrong."""
    credential = credential.strip()
    now = utcnow()
    if credential.startswith(SESSION_TOKEN_PREFIX):
        return _from_session_token(session, credential, now)
    if credential.startswith("uab_"):
        return _from_api_key(session, credential, now)
    raise AuthenticationError("Unrecognised credential: send a session token or an API key.")


def _touch(session: Session, statement: Update, row_id: str, now: datetime) -> None:
    # no entity of the row is loaded: nothing in the session to bring up to date
    no_sync = {"synchronize_session": False}
    session.execute(statement, {"row_id": row_id, "now": now}, execution_options=no_sync)


# These run on every request, so they are built once: the user as an entity, the
# credential's few columns as plain values (a second entity costs more than the query).
_SESSION_LOOKUP = (
    select(
        User,
        AuthSession.id,
        AuthSession.expires_at,
        AuthSession.revoked_at,
        AuthSession.last_used_at,
    )
    .join(User, AuthSession.user_id == User.id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)
_KEY_LOOKUP = (
    select(
        User,
        ApiKey.id,
        ApiKey.key_hash,
        ApiKey.scopes,
        ApiKey.expires_at,
        ApiKey.revoked_at,
        ApiKey.last_used_at,
    )
    .join(User, ApiKey.user_id == User.id)
    .where(ApiKey.prefix == bindparam("prefix"))
)


# The credential's rules, as pure functions: the session-bound path above and the steps
# below (the hot reads, on either driver) both decide with these, so the rule is one.
def check_session(revoked_at: datetime | None, expires_at: datetime, now: datetime) -> None:
    """A logged-out or expired session is refused, each with what to do about it."""
    if revoked_at is not None:
        raise AuthenticationError("Session has been logged out; log in again.")
    if expires_at <= now:
        raise AuthenticationError("Session has expired; log in again.")


def check_key(
    key_hash: str | None,
    candidate: ParsedApiKey,
    revoked_at: datetime | None,
    expires_at: datetime | None,
    now: datetime,
) -> None:
    """The secret is compared in constant time before anything about the key is told."""
    if key_hash is None or not hashes_match(key_hash, candidate.key_hash):
        raise AuthenticationError("API key is not valid.")
    if revoked_at is not None:
        raise AuthenticationError("API key has been revoked.")
    if expires_at is not None and expires_at <= now:
        raise AuthenticationError("API key has expired.")


def due_for_touch(last_used_at: datetime | None, now: datetime) -> bool:
    """``last_used_at`` is written at most once a ``TOUCH_INTERVAL``, not on every request."""
    return last_used_at is None or now - last_used_at >= TOUCH_INTERVAL


def key_scopes(scopes: Iterable[str], role: UserRole) -> frozenset[Scope]:
    """What a key may do: the scopes it was made with that its user's role still allows."""
    granted = frozenset(Scope(s) for s in scopes if s in Scope._value2member_map_)
    return granted & ROLE_SCOPES[role]


def _parse_key(candidate: str) -> ParsedApiKey:
    parsed = parse_api_key(candidate)
    if parsed is None:
        raise AuthenticationError("API key is malformed; keys look like uab_<prefix>_<secret>.")
    return parsed


def _from_session_token(session: Session, token: str, now: datetime) -> Principal:
    row = session.execute(_SESSION_LOOKUP, {"token_hash": _token_hash(token)}).one_or_none()
    if row is None:
        raise AuthenticationError("Session token is not valid; log in again.")
    user, session_id, expires_at, revoked_at, last_used_at = row
    check_session(revoked_at, expires_at, now)
    if due_for_touch(last_used_at, now):
        _touch(session, _TOUCH_SESSION, session_id, now)
    return Principal(user=user, scopes=ROLE_SCOPES[user.role], session_id=session_id)


def _from_api_key(session: Session, candidate: str, now: datetime) -> Principal:
    parsed = _parse_key(candidate)
    row = session.execute(_KEY_LOOKUP, {"prefix": parsed.prefix}).one_or_none()
    if row is None:
        raise AuthenticationError("API key is not valid.")
    user, key_id, key_hash, scopes, expires_at, revoked_at, last_used_at = row
    check_key(key_hash, parsed, revoked_at, expires_at, now)
    if due_for_touch(last_used_at, now):
        _touch(session, _TOUCH_KEY, key_id, now)
    return Principal(user=user, scopes=key_scopes(scopes, user.role), api_key_id=key_id)


# --- the same, as steps (db.reads): the hot reads' credential, on either driver -------------
#: the user's columns a read may show: not the password's hash, not the encrypted model key
_USER_COLUMNS = tuple(
    column.class_attribute
    for column in inspect(User).column_attrs
    if column.key not in {"password_hash", "llm_api_key"}
)
_SESSION_ROW = (
    select(
        *_USER_COLUMNS,
        AuthSession.id.label("credential_id"),
        AuthSession.expires_at.label("credential_expires_at"),
        AuthSession.revoked_at.label("credential_revoked_at"),
        AuthSession.last_used_at.label("credential_last_used_at"),
    )
    .join(User, AuthSession.user_id == User.id)
    .where(AuthSession.token_hash == bindparam("token_hash"))
)
_KEY_ROW = (
    select(
        *_USER_COLUMNS,
        ApiKey.id.label("credential_id"),
        ApiKey.key_hash.label("credential_key_hash"),
        ApiKey.scopes.label("credential_scopes"),
        ApiKey.expires_at.label("credential_expires_at"),
        ApiKey.revoked_at.label("credential_revoked_at"),
        ApiKey.last_used_at.label("credential_last_used_at"),
    )
    .join(User, ApiKey.user_id == User.id)
    .where(ApiKey.prefix == bindparam("prefix"))
)


def _touch_statement(model: type[AuthSession] | type[ApiKey]) -> Update:
    """``last_used_at = now`` unless another transaction holds the row (PostgreSQL's SKIP
    LOCKED; SQLite has one writer at a time and no row locks). A request whose credential
    another request is touching, logging out or revoking skips the write instead of
    waiting for that transaction: the write is a best-effort "seen lately", and waiting
    let one slow transaction hold every read of that credential, and the connections
    they held, with it."""
    free = (
        select(model.id)
        .where(model.id == bindparam("row_id"))
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(model)
        .where(model.id == free)
        .values(last_used_at=bindparam("now", type_=model.last_used_at.type))
    )


_TOUCH_SESSION = _touch_statement(AuthSession)
_TOUCH_KEY = _touch_statement(ApiKey)
_USER_KEYS = tuple(column.key for column in _USER_COLUMNS)
_USER_MANAGER = inspect(User).class_manager


@dataclass(frozen=True, slots=True)
class Authenticated:
    """What :func:`authenticate_steps` found: the principal, and the credential's
    ``last_used_at`` write when one is due, for the caller to make last (so that, as on
    every other route, where the write rolls back with a failed request's transaction, a
    request refused after authentication records no use: its reads run in autocommit)."""

    principal: Principal
    touch: Read | None


def authenticate_steps(credential: str) -> Steps[Authenticated]:
    """``authenticate`` as steps, for reads: the same rules and messages, the same one
    statement (the look-up) and, at most once a minute, the ``last_used_at`` write.
    The principal's user is built from the row, attached to no session: for reading."""
    credential = credential.strip()
    now = utcnow()
    if credential.startswith(SESSION_TOKEN_PREFIX):
        rows = yield Read(_SESSION_ROW, {"token_hash": _token_hash(credential)})
        if not rows:
            raise AuthenticationError("Session token is not valid; log in again.")
        row = rows[0]
        check_session(row.credential_revoked_at, row.credential_expires_at, now)
        touch = _TOUCH_SESSION
    elif credential.startswith("uab_"):
        parsed = _parse_key(credential)
        rows = yield Read(_KEY_ROW, {"prefix": parsed.prefix})
        if not rows:
            raise AuthenticationError("API key is not valid.")
        row = rows[0]
        key_hash, revoked_at = row.credential_key_hash, row.credential_revoked_at
        check_key(key_hash, parsed, revoked_at, row.credential_expires_at, now)
        touch = _TOUCH_KEY
    else:
        raise AuthenticationError("Unrecognised credential: send a session token or an API key.")
    due = due_for_touch(row.credential_last_used_at, now)
    write = Read(touch, {"row_id": row.credential_id, "now": now}) if due else None
    user = _user_of(row)
    if touch is _TOUCH_SESSION:
        principal = Principal(
            user=user, scopes=ROLE_SCOPES[user.role], session_id=row.credential_id
        )
    else:
        scopes = key_scopes(row.credential_scopes, user.role)
        principal = Principal(user=user, scopes=scopes, api_key_id=row.credential_id)
    return Authenticated(principal, write)


def _user_of(row: Any) -> User:
    """The user as an entity attached to no session (the reads' callers take a ``User``);
    its enums from their text, as the async driver reads them."""
    values = {key: getattr(row, key) for key in _USER_KEYS}
    values["role"] = UserRole(values["role"])
    values["subscription_tier"] = SubscriptionTier(values["subscription_tier"])
    # as the ORM builds a loaded row (values straight into the instance's dict): through
    # ``User(**values)`` each of the 20 columns went through attribute events, 49 µs of
    # every hot read against 3 µs
    user: User = _USER_MANAGER.new_instance()
    user.__dict__.update(values)
    return user
