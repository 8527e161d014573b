"""Process settings, read once from the environment (prefix ``UAB_``) and an optional ``.env``.

``get_settings()`` is cached so every layer sees the same values; tests call
``get_settings.cache_clear()`` after changing the environment. Production refuses to start
with unsafe values instead of running with them.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Literal

import platformdirs
import pydantic
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from appbuilder.errors import ConfigurationError

APP_NAME = "ultimate-app-builder"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_KEY_LENGTH = 32
MIN_DISTINCT_SECRET_CHARS = 12
_WEAK_SECRETS = frozenset({"changeme", "change-me", "secret", "password", "dev", "development"})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


@dataclass(frozen=True)
class DatabaseSettings:
    """Everything the engine needs; one section so the db layer takes only what it uses."""

    url: URL
    pool_size: int
    max_overflow: int
    pool_pre_ping: bool
    pool_timeout: float
    pool_recycle: int
    connect_timeout: int
    echo: bool
    async_reads: bool = True
    async_pool_size: int = 16

    @property
    def uses_async_reads(self) -> bool:
        """The hot reads run on the async pool (``db.async_reads``): PostgreSQL, unless off."""
        return self.async_reads and not self.is_sqlite

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"


class LLMProvider(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    #: any server speaking OpenAI's chat completions API (Ollama, vLLM, LM Studio, OpenRouter)
    OPENAI_COMPATIBLE = "openai-compatible"


@dataclass(frozen=True)
class LLMSettings:
    """The platform's default language model; None fields are unset (see ``llm.config``)."""

    provider: LLMProvider | None
    model: str | None
    base_url: str | None
    api_key: SecretStr | None
    timeout_seconds: float
    max_retries: int
    prices_file: Path | None
    plan_attempts: int
    user_base_urls: tuple[str, ...] = ()
    repair_attempts: int = 3
    #: the most tokens one run's model calls may take (None: the tier's limit alone)
    run_token_budget: int | None = None


@dataclass(frozen=True)
class BillingSettings:
    """Stripe billing; ``configured`` is False without a secret key, and billing routes
    then say so while everything else runs on the tiers set by hand (FREE by default)."""

    secret_key: SecretStr | None
    webhook_secret: SecretStr | None
    #: tier -> {"month": price id, "year": price id}
    prices: dict[str, dict[str, str]]
    api_base: str | None
    grace: timedelta
    return_url: str | None

    @property
    def configured(self) -> bool:
        return self.secret_key is not None and bool(self.secret_key.get_secret_value())


@dataclass(frozen=True)
class AuthSettings:
    session_ttl: timedelta
    failure_window: timedelta
    max_failures_per_account: int
    max_failures_per_client: int


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="UAB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.DEVELOPMENT
    data_dir: Path = Field(default_factory=lambda: platformdirs.user_data_path(APP_NAME))
    secret_key: SecretStr | None = None

    database_url: str | None = None
    #: connections kept open per process (PostgreSQL) for the requests served in worker
    #: threads, and opened beyond that under a burst. The hot reads take none of these (see
    #: ``database_async_pool_size``); 16 kept open and 8 more mean a request rarely waits
    #: for one (it waits on the event loop, holding no thread, when it does), and a steady
    #: load reuses them instead of reconnecting (with 5 kept, 16 clients caused ~100
    #: reconnects a second). With the async pool and the run-event listener, a process holds
    #: at most 41: twice that fits PostgreSQL's default ``max_connections`` of 100 (``uab
    #: serve``'s default workers)
    database_pool_size: int = Field(default=16, ge=1, le=200)
    database_max_overflow: int = Field(default=8, ge=0, le=500)
    #: test each pooled connection with a ``SELECT 1`` when it is taken (PostgreSQL), so one
    #: PostgreSQL ended (a restart, a failover, pg_terminate_backend) is replaced unseen. It
    #: costs a round trip and ~50-120 us of CPU a checkout (2-5 % of a hot read's CPU), but
    #: the engine also serves work with no client to retry (runs, the deployment watcher).
    #: Off, a request that meets a dead connection is a 503 with Retry-After (never a 500)
    #: and the pool replaces every connection it held before (tests/.../test_lost_connections.py)
    database_pool_pre_ping: bool = True
    database_pool_timeout: float = Field(default=30.0, gt=0)
    database_pool_recycle: int = Field(default=1800, ge=-1)
    database_connect_timeout: int = Field(default=10, ge=1)
    database_echo: bool = False
    #: answer the hot reads (``/api/me``, ``/api/usage``, the project list and page) on
    #: PostgreSQL with asyncpg on the event loop (``db.async_reads``), a pool of up to
    #: ``database_async_pool_size`` more connections: about a third of the server's CPU per
    #: read. Off, they run on the engine in a worker thread, as on SQLite, which always does.
    database_async_reads: bool = True
    #: the async pool's connections per process (opened up to this as reads need them).
    #: A read holds one for under a millisecond and awaits rather than blocks: at 16
    #: clients a pool of 4 served as many reads as one of 16 (p99 22-30 ms against 21-23),
    #: so fewer do where connections are scarce; 16 keeps a few slow reads (large pages)
    #: from holding up the rest
    database_async_pool_size: int = Field(default=16, ge=1, le=200)

    #: how long a log-in session lasts
    auth_session_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=60)
    #: failed log-ins counted per account and per client address within this window
    auth_failure_window_seconds: int = Field(default=15 * 60, ge=1)
    auth_max_failures_per_account: int = Field(default=5, ge=1)
    auth_max_failures_per_client: int = Field(default=20, ge=1)

    #: live-progress streams (Server-Sent Events) one account may hold open per server process
    max_streams_per_user: int = Field(default=10, ge=1, le=100_000)
    #: plans from words one server process makes at once (each holds a thread while the
    #: model thinks; anyio's pool has 40 for every sync route); the next is 503 planners_busy
    max_plans_at_once: int = Field(default=16, ge=1, le=32)

    #: where generation runs are queued: procrastinate on PostgreSQL, the embedded queue
    #: (threads of `uab serve` / `uab worker`) on SQLite; "embedded" also works on PostgreSQL
    queue: Literal["auto", "embedded", "procrastinate"] = "auto"
    #: runs executed at once by the embedded queue of one process
    runner_threads: int = Field(default=2, ge=1, le=64)
    #: how often a running run proves it is alive
    run_heartbeat_seconds: float = Field(default=2.0, gt=0, le=60)
    #: a run (embedded) or a worker (procrastinate) silent this long is presumed dead, and
    #: its run is resumed elsewhere
    run_lease_seconds: float = Field(default=30.0, ge=1)
    #: on shutdown, how long `uab serve` / `uab worker` (embedded queue) let current runs
    #: finish before releasing them back to the queue
    run_shutdown_grace_seconds: float = Field(default=30.0, ge=0)
    #: a run no worker has taken after this long says so (its events, GET /api/runs/{id})
    run_unclaimed_warning_seconds: float = Field(default=10.0, gt=0)
    #: deadline of a run's verification (the generated app's own checks and tests)
    run_verify_timeout_seconds: float = Field(default=900.0, ge=10)
    #: a PostgreSQL server (any database on it) where verification also runs each app's
    #: migrations and suite, in a scratch database it creates and drops; unset: SQLite only
    verify_database_url: str | None = None
    #: larger files are listed but not shown by GET /api/projects/{id}/files/{path}
    file_view_max_bytes: int = Field(default=1024 * 1024, ge=1024)

    #: a shared home for every project's git history, so any worker on any machine can
    #: resume a run and any server can show its files: a directory (or file:// URL) of bare
    #: repositories created as needed, or a git server's base URL (ssh://, https://) under
    #: which ``<project id>.git`` repositories exist; unset: histories stay in the data dir
    project_store: str | None = None
    #: directories (comma-separated) under which users may push to file:// remotes; unset:
    #: anywhere outside production, nowhere in production (the server's own disk)
    repository_file_roots: str = ""
    #: hosts (comma-separated; ``*.example.com`` for its subdomains) users may push to over
    #: https and ssh; unset: any host, except in production this machine's and private
    #: networks' (so a remote cannot aim the server at its own network or cloud metadata)
    repository_hosts: str = ""

    #: the platform's default language model (planning from words); unset: template
    #: generation works as ever, and what needs a model says which of these to set
    llm_provider: LLMProvider | None = None
    llm_model: str | None = None
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_seconds: float = Field(default=120.0, gt=0)
    #: retries of one call on 429 (after its Retry-After), 5xx and dropped connections
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    #: base URLs (comma-separated) users may point their own model at, besides the hosted
    #: providers' own: each is a server this platform will send requests to, so only the
    #: operator may list one (an internal address a user named would be a way in)
    llm_user_base_urls: str = ""
    #: YAML prices (USD per million tokens) for models the built-in price data lacks
    llm_prices_file: Path | None = None
    #: how many answers the planner may give before its spec's problems are returned as
    #: they are
    llm_plan_attempts: int = Field(default=3, ge=1, le=10)
    #: how often an app failing its checks in a model's code goes back to the model
    llm_repair_attempts: int = Field(default=3, ge=0, le=10)
    #: the most tokens (in and out) one generation run's model calls may take, checked
    #: before every call; the lower of this and the user's tier's ``tokens_per_run`` holds
    llm_run_token_budget: int | None = Field(default=None, ge=1)

    #: Stripe's secret API key (sk_...); unset: billing is not configured
    stripe_secret_key: SecretStr | None = None
    #: the signing secret of the webhook endpoint (whsec_...); unset: webhooks are refused
    stripe_webhook_secret: SecretStr | None = None
    #: the price ids of each paid tier, as JSON: {"STARTER": {"month": "price_...",
    #: "year": "price_..."}, "PRO": {...}, "ENTERPRISE": {...}}
    stripe_prices: str = ""
    #: another Stripe API address (a local fake in tests); unset: Stripe's own
    stripe_api_base: str | None = None
    #: days a subscription may stay past due (a failed payment) before the FREE limits apply
    billing_grace_days: float = Field(default=7.0, ge=0, le=60)
    #: where Stripe sends users back to after checkout and the portal (the web UI's
    #: address); unset: the address the request came to
    billing_return_url: str | None = None

    #: requests with a larger body are refused with 413 before they are read
    api_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: emit JSON log lines (default: in production)
    log_json: bool | None = None

    @property
    def auth(self) -> AuthSettings:
        return AuthSettings(
            session_ttl=timedelta(seconds=self.auth_session_ttl_seconds),
            failure_window=timedelta(seconds=self.auth_failure_window_seconds),
            max_failures_per_account=self.auth_max_failures_per_account,
            max_failures_per_client=self.auth_max_failures_per_client,
        )

    @property
    def billing(self) -> BillingSettings:
        return BillingSettings(
            secret_key=self.stripe_secret_key,
            webhook_secret=self.stripe_webhook_secret,
            prices=_parse_prices(self.stripe_prices),
            api_base=self.stripe_api_base or None,
            grace=timedelta(days=self.billing_grace_days),
            return_url=(self.billing_return_url or "").rstrip("/") or None,
        )

    @field_validator("stripe_prices")
    @classmethod
    def _check_prices(cls, value: str) -> str:
        _parse_prices(value)
        return value

    @property
    def llm(self) -> LLMSettings:
        return LLMSettings(
            provider=self.llm_provider,
            model=self.llm_model or None,
            base_url=self.llm_base_url or None,
            api_key=self.llm_api_key,
            timeout_seconds=self.llm_timeout_seconds,
            max_retries=self.llm_max_retries,
            prices_file=self.llm_prices_file,
            plan_attempts=self.llm_plan_attempts,
            repair_attempts=self.llm_repair_attempts,
            run_token_budget=self.llm_run_token_budget,
            user_base_urls=tuple(
                url.strip().rstrip("/") for url in self.llm_user_base_urls.split(",") if url.strip()
            ),
        )

    @field_validator("data_dir")
    @classmethod
    def _expand_data_dir(cls, value: Path) -> Path:
        # "~/x" from a .env file is meant as the home folder, as a shell would read it.
        return value.expanduser().absolute()

    @property
    def database(self) -> DatabaseSettings:
        return DatabaseSettings(
            url=resolve_database_url(self.database_url, self.data_dir),
            pool_size=self.database_pool_size,
            max_overflow=self.database_max_overflow,
            pool_pre_ping=self.database_pool_pre_ping,
            pool_timeout=self.database_pool_timeout,
            pool_recycle=self.database_pool_recycle,
            connect_timeout=self.database_connect_timeout,
            echo=self.database_echo,
            async_reads=self.database_async_reads,
            async_pool_size=self.database_async_pool_size,
        )

    @property
    def projects_dir(self) -> Path:
        """Each project's generated app, as a git repository, under its id."""
        return self.data_dir / "projects"

    @property
    def deployments_dir(self) -> Path:
        """Each project's local deployments (releases, the app's data, logs, artifacts)."""
        return self.data_dir / "deployments"

    @property
    def uses_procrastinate(self) -> bool:
        if self.queue == "auto":
            return not self.database.is_sqlite
        return self.queue == "procrastinate"

    def secret_key_value(self) -> str:
        """The key that signs and encrypts; generated once per data directory outside production."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return _load_or_create_secret_key(self.data_dir)

    def check(self) -> None:
        """Refuse settings that are unsafe for the chosen environment."""
        problems = []
        database = self.database
        if self.queue == "procrastinate" and database.is_sqlite:
            problems.append(
                "UAB_QUEUE=procrastinate needs PostgreSQL (UAB_DATABASE_URL); "
                "on SQLite runs use the embedded queue."
            )
        if self.env is Environment.PRODUCTION:
            problems += _production_secret_problems(self.secret_key)
            if database.url.get_backend_name() == "postgresql" and not _sets_sslmode(database.url):
                problems.append(
                    "UAB_DATABASE_URL has no sslmode: production connections must use SSL. "
                    "Add ?sslmode=require (or verify-full); to opt out knowingly, "
                    "set sslmode=disable explicitly."
                )
        if problems:
            raise ConfigurationError(" ".join(problems), problems=problems)


def _parse_prices(raw: str) -> dict[str, dict[str, str]]:
    """``UAB_STRIPE_PRICES``: {"PRO": {"month": "price_...", "year": "price_..."}, ...}."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from exc
    paid = ("STARTER", "PRO", "ENTERPRISE")
    if not isinstance(value, dict):
        raise ValueError('give a JSON object: {"PRO": {"month": "price_..."}}')
    for tier, intervals in value.items():
        if tier not in paid:
            raise ValueError(f"{tier!r} is not a paid tier (one of {', '.join(paid)})")
        if (
            not isinstance(intervals, dict)
            or not intervals
            or set(intervals) - {"month", "year"}
            or not all(isinstance(price, str) and price for price in intervals.values())
        ):
            raise ValueError(f'{tier}: give {{"month": "price_...", "year": "price_..."}}')
    return value


def resolve_database_url(raw: str | None, data_dir: Path) -> URL:
    """Parse the URL; default to SQLite in the data directory; pick psycopg 3 for PostgreSQL."""
    if not raw:
        return URL.create("sqlite", database=str(data_dir / "appbuilder.db"))
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"UAB_DATABASE_URL is not a database URL: {exc}. "
            "Use sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/dbname."
        ) from exc
    backend = url.get_backend_name()
    if backend == "postgresql":
        # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
        return url.set(drivername="postgresql+psycopg")
    if backend != "sqlite":
        raise ConfigurationError(
            f"UAB_DATABASE_URL uses {backend!r}; supported databases are sqlite and postgresql."
        )
    return url


def _sets_sslmode(url: URL) -> bool:
    return "sslmode" in url.query


def _production_secret_problems(secret: SecretStr | None) -> list[str]:
    if secret is None:
        return [
            "UAB_SECRET_KEY is required in production. Generate one with "
            '`python -c "import secrets; print(secrets.token_urlsafe(48))"` '
            "and set it in the environment."
        ]
    value = secret.get_secret_value().strip()
    weak = (
        len(value) < MIN_SECRET_KEY_LENGTH
        or value.lower() in _WEAK_SECRETS
        or len(set(value)) < MIN_DISTINCT_SECRET_CHARS
    )
    if weak:
        return [
            f"UAB_SECRET_KEY must be a random value of at least {MIN_SECRET_KEY_LENGTH} "
            f"characters with at least {MIN_DISTINCT_SECRET_CHARS} different ones."
        ]
    return []


@cache
def _load_or_create_secret_key(data_dir: Path) -> str:
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Write aside, then hard-link into place: link fails if another process won the race,
    # and nobody ever reads a half-written key.
    tmp = data_dir / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text(encoding="utf-8").strip()


@cache
def get_settings() -> Settings:
    """The settings of this process, checked; a ConfigurationError says what to fix."""
    try:
        settings = Settings()
    except pydantic.ValidationError as exc:
        problems = [
            f"UAB_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigurationError("Invalid settings: " + "; ".join(problems)) from exc
    settings.check()
    return settings
