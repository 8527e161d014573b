"""Request and response bodies of the JSON API. Request models validate shape and size
(the services check the rules again, for callers that are not HTTP); every request model
carries an example for the interactive docs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SecretStr,
    computed_field,
)

from appbuilder.enums import (
    AgentType,
    DeploymentStatus,
    GenerationStatus,
    ProjectStatus,
    ProjectTemplate,
    RunStatus,
    SubscriptionTier,
    UserRole,
)
from appbuilder.rules import (
    ID_PATTERN,
    MAX_EMAIL_LENGTH,
    MAX_FEATURES,
    MAX_MODEL_NAME_LENGTH,
    Description,
    KeyName,
    ModelName,
    Password,
    PersonName,
    ProjectName,
    Text,
)
from appbuilder.security.scopes import Scope
from appbuilder.services import pagination
from appbuilder.services.project_lifecycle import next_actions, user_next_statuses
from appbuilder.settings import LLMProvider

MAX_KEY_LIFETIME = timedelta(days=3650)


def _reasonable_expiry(value: datetime) -> datetime:
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if moment > datetime.now(UTC) + MAX_KEY_LIFETIME:
        raise ValueError("must be within 10 years")
    return moment


Expiry = Annotated[AwareDatetime, AfterValidator(_reasonable_expiry)]


def _example(example: dict[str, Any]) -> ConfigDict:
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


ItemOut = TypeVar("ItemOut", bound=BaseModel)


class Page(BaseModel, Generic[ItemOut]):
    """One page of a list; ``next_cursor`` (null on the last page) asks for the next."""

    items: list[ItemOut]
    next_cursor: str | None

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """``Page[ProjectOut]`` is named ``ProjectPage`` in the OpenAPI document."""
        item: str = getattr(params[0], "__name__", "Item")
        return item.removesuffix("Out") + "Page"

    @classmethod
    def of(cls, page: pagination.Page[Any]) -> Self:
        """A service's page of rows, each item validated once: a plain row (a ``Row`` of view
        columns) from its columns as a dict, an entity from its attributes. Validating from a
        dict costs about a third less than from attributes (issue 16)."""
        items = [fields_of(item) for item in page.items]
        return cls.model_validate(
            {"items": items, "next_cursor": page.next_cursor}, from_attributes=True
        )


def fields_of(item: Any) -> Any:
    """A plain row's columns as a dict (what pydantic validates fastest); anything else as
    it is, validated from its attributes. Rows of either driver (``db.reads``): SQLAlchemy's
    and the async driver's named tuples."""
    as_dict = getattr(item, "_asdict", None)
    return item if as_dict is None else as_dict()


# --- accounts ---------------------------------------------------------------------------


class RegisterIn(BaseModel):
    model_config = _example(
        {"email": "ada@example.com", "password": "analytical-engine-1843", "name": "Ada"}
    )
    email: EmailStr = Field(max_length=MAX_EMAIL_LENGTH)
    password: Password
    name: PersonName | None = None


class LoginIn(BaseModel):
    model_config = _example({"email": "ada@example.com", "password": "analytical-engine-1843"})
    email: Text = Field(min_length=1, max_length=MAX_EMAIL_LENGTH)
    password: Password


class PasswordChangeIn(BaseModel):
    model_config = _example(
        {"current_password": "analytical-engine-1843", "new_password": "difference-engine-1822"}
    )
    current_password: Password
    new_password: Password


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    email: str
    name: str | None
    avatar: str | None
    role: UserRole
    subscription_tier: SubscriptionTier
    subscription_status: str | None
    created_at: datetime
    last_login_at: datetime | None


class SessionOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`; shown once.")
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    user: UserOut


# --- API keys ---------------------------------------------------------------------------


class ApiKeyIn(BaseModel):
    model_config = _example(
        {"name": "CI deploys", "scopes": ["projects:read", "projects:write"], "expires_at": None}
    )
    name: KeyName
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope))
    expires_at: Expiry | None = None


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(BaseModel):
    key: str = Field(description="The full key. It is shown only now; store it safely.")
    api_key: ApiKeyOut


# --- projects ---------------------------------------------------------------------------


class ProjectIn(BaseModel):
    model_config = _example(
        {
            "name": "Plant shop",
            "description": "Sells house plants",
            "template": "ECOMMERCE",
            "config": {"currency": "EUR"},
            "features": ["auth", "payments"],
        }
    )
    name: ProjectName
    description: Description | None = None
    template: ProjectTemplate
    config: dict[str, Any] = Field(default_factory=dict)
    features: list[Text] = Field(default_factory=list, max_length=MAX_FEATURES)
    #: the model this project's plans and runs call, at your (or the platform's) provider
    llm_model: ModelName | None = None


class ProjectPatch(BaseModel):
    model_config = _example({"name": "Plant shop EU", "status": "GENERATING"})
    name: ProjectName | None = None
    description: Description | None = None
    config: dict[str, Any] | None = None
    features: list[Text] | None = Field(default=None, max_length=MAX_FEATURES)
    status: ProjectStatus | None = None
    #: another model for this project's plans and runs; "" goes back to the provider's default
    llm_model: Annotated[Text, Field(max_length=MAX_MODEL_NAME_LENGTH)] | None = None


class ProjectOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    description: str | None
    template: ProjectTemplate
    status: ProjectStatus
    config: dict[str, Any]
    features: list[str]
    repository_url: str | None
    #: why the last push to repository_url failed (null once one succeeds)
    repository_error: str | None = None
    deployment_url: str | None
    #: the model its plans and runs call (null: the provider's default)
    llm_model: str | None = None
    user_id: str
    created_at: datetime
    updated_at: datetime
    deployed_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented pattern
    @property
    def allowed_next_statuses(self) -> list[ProjectStatus]:
        """Statuses you may set next by PATCH (deployments recorded by hand); the system
        sets the others (runs: GENERATING, READY; failures: ERROR)."""
        return user_next_statuses(self.status)

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented pattern
    @property
    def next_actions(self) -> list[str]:
        """What you can do next: `generate` (POST .../generate), `cancel` (its run, POST
        /api/runs/{id}/cancel), `download` (GET .../download)."""
        return next_actions(self.status)


class OwnerOut(BaseModel):
    id: str
    email: str
    name: str | None


class GenerationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    project_id: str
    user_id: str
    agent_type: AgentType
    prompt: str
    response: str
    status: GenerationStatus
    tokens_used: int
    #: which model answered, its tokens in and out, and the call's cost in USD (None:
    #: a template step, or a model whose price is unknown)
    model: str | None
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None
    duration_ms: int | None
    error_message: str | None
    created_at: datetime
    completed_at: datetime | None
    run_id: str | None


class ProjectDetail(ProjectOut):
    """A project with its owner's public fields and its generations, newest first, one page
    at a time."""

    user: OwnerOut
    generations: Page[GenerationOut]
    latest_run: RunOut | None = Field(
        default=None, description="The newest run: its status, and why it failed if it did."
    )


class RunIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"verify": True},
                {
                    "spec": {
                        "entities": [
                            {"name": "Note", "fields": [{"name": "title", "type": "string"}]}
                        ]
                    },
                    "verify": False,
                },
            ]
        },
    )
    spec: dict[str, Any] | None = Field(
        default=None,
        description="An AppSpec (see `uab spec schema`) laid over the project's template "
        "preset, instead of the spec saved in the project's config.",
    )
    verify: bool = Field(
        default=True,
        description="Run the generated app's own checks and tests before committing it.",
    )


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    project_id: str
    user_id: str
    status: RunStatus
    previous_status: ProjectStatus
    spec_hash: str
    verify: bool
    cancel_requested: bool
    attempts: int
    error_message: str | None
    #: FAILED because of the platform, not the app: not charged against the quota
    platform_failure: bool
    tree_hash: str | None
    commit_sha: str | None
    files_count: int | None
    #: a rollback: the earlier run whose files it made current again
    rollback_of: str | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class LedgerLineOut(BaseModel):
    """One agent's model calls in a run."""

    model_config = ConfigDict(from_attributes=True)
    agent: AgentType
    calls: int
    input_tokens: int
    output_tokens: int
    tokens: int
    cost_usd: Decimal | None = Field(description="USD; null when a call's price is unknown.")
    duration_ms: int


class RunDetail(RunOut):
    steps: list[GenerationOut] = Field(description="One row per agent's step, in plan order.")
    calls: list[GenerationOut] = Field(
        default_factory=list,
        description="One row per model call (model, what was sent, the answer, tokens, cost, "
        "status), in the order they were made.",
    )
    ledger: list[LedgerLineOut] = Field(
        default_factory=list, description="Per agent: its model calls, tokens, cost and time."
    )
    notice: str | None = Field(
        default=None, description="Why the run waits, when no worker has taken it in time."
    )


class FileEntryOut(BaseModel):
    path: str
    size: int


class FileTreeOut(BaseModel):
    commit: str
    files: list[FileEntryOut]


class FileContentOut(BaseModel):
    path: str
    commit: str
    size: int
    binary: bool = Field(description="Not UTF-8 text: use /download for its bytes.")
    too_large: bool = Field(description="Larger than the server's view limit: use /download.")
    content: str | None = Field(description="The text, when neither binary nor too large.")


class DeploymentIn(BaseModel):
    model_config = _example({"target": "local"})
    target: Annotated[str, Field(min_length=1, max_length=50)] = Field(
        default="local", description="local (runs here), docker or kubernetes (an artifact)"
    )
    run_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)] | None = Field(
        default=None, description="A completed, verified run (default: the latest)"
    )


class DeploymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    project_id: str
    status: DeploymentStatus = Field(
        description="IN_PROGRESS, SUCCEEDED (running, or the artifact is ready), FAILED "
        "(did not start, or crashed: see log), CANCELLED (stopped or superseded)"
    )
    target: str
    url: str | None
    #: the commit deployed
    ref: str | None
    run_id: str | None
    port: int | None
    log: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


# --- usage and admin --------------------------------------------------------------------


class UsageLineOut(BaseModel):
    limit: str
    used: int
    allowed: int | None = Field(description="null means unlimited")


class UsageOut(BaseModel):
    tier: SubscriptionTier
    period_start: datetime
    limits: list[UsageLineOut]
    templates: list[ProjectTemplate]
    deploy_targets: list[str]
    #: USD spent on model calls this month; calls whose price is unknown are counted apart
    cost_usd: Decimal
    calls_of_unknown_cost: int


class UserAdminPatch(BaseModel):
    model_config = _example({"role": "ADMIN", "subscription_tier": "PRO"})
    role: UserRole | None = None
    subscription_tier: SubscriptionTier | None = None


class PlatformUsageOut(BaseModel):
    table_rows: dict[str, int]
    users_by_tier: dict[str, int]
    users_by_role: dict[str, int]
    projects_by_status: dict[str, int]
    projects_by_template: dict[str, int]
    generations_by_agent: dict[str, int]
    generations_this_month: int
    tokens_this_month: int


class HealthOut(BaseModel):
    status: str = Field(examples=["ok"])
    revision: str | None = None


class ReadyOut(HealthOut):
    queue: str = Field(description="Where runs wait: `procrastinate` or `embedded`.")
    workers: int = Field(
        description="Workers with a recent heartbeat (procrastinate: `uab worker` processes; "
        "0 means queued runs wait); embedded: this process's runner threads."
    )


class UserModelIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"provider": "openai", "model": "gpt-4o-mini", "api_key": "sk-..."}]
        },
    )
    provider: LLMProvider
    model: Annotated[Text, Field(min_length=1, max_length=200)]
    base_url: Annotated[Text, Field(min_length=1, max_length=2048)] | None = None
    #: stored encrypted; left out, the stored key is kept
    api_key: SecretStr | None = None


class UserModelOut(BaseModel):
    provider: LLMProvider | None
    model: str | None
    base_url: str | None
    #: the key's first and last characters (``sk-…cdef``); the key itself is never shown
    key_hint: str | None
    configured: bool
