"""The enumerations of the design document, plus the ones it names but does not define.

They sit at the bottom of the package so that models, services and interfaces share one
definition. Each member's value equals its name, as in the design document's Prisma schema, so the
database holds the same strings users see in the API.
"""

from enum import StrEnum


class UserRole(StrEnum):
    USER = "USER"
    ADMIN = "ADMIN"
    SUPER_ADMIN = "SUPER_ADMIN"


class SubscriptionTier(StrEnum):
    FREE = "FREE"
    STARTER = "STARTER"
    PRO = "PRO"
    ENTERPRISE = "ENTERPRISE"


class ProjectTemplate(StrEnum):
    SAAS = "SAAS"
    ECOMMERCE = "ECOMMERCE"
    BLOG = "BLOG"
    API = "API"
    CUSTOM = "CUSTOM"


class ProjectStatus(StrEnum):
    DRAFT = "DRAFT"
    GENERATING = "GENERATING"
    READY = "READY"
    DEPLOYING = "DEPLOYING"
    DEPLOYED = "DEPLOYED"
    ERROR = "ERROR"


class AgentType(StrEnum):
    ORCHESTRATOR = "ORCHESTRATOR"
    BACKEND = "BACKEND"
    FRONTEND = "FRONTEND"
    DATABASE = "DATABASE"
    AUTH = "AUTH"
    INTEGRATIONS = "INTEGRATIONS"
    DEVOPS = "DEVOPS"


class GenerationStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class RunStatus(StrEnum):
    """One generation run: queued until a worker claims it, then running to an end state."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


#: Run states that hold the project: at most one such run per project (a partial unique index).
ACTIVE_RUN_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})


class DeploymentStatus(StrEnum):
    """Lifecycle of one deployment attempt.

    The design document names the model but not its states.
    """

    PENDING = "PENDING"
    IN_PROGRESS = "IN_PROGRESS"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


#: a deployment being carried out, or done and (for a local app) running
LIVE_DEPLOYMENT_STATUSES = frozenset({DeploymentStatus.IN_PROGRESS, DeploymentStatus.SUCCEEDED})


#: Project states in which work is running; rows in them must not be deleted underneath it.
BUSY_PROJECT_STATUSES = frozenset({ProjectStatus.GENERATING, ProjectStatus.DEPLOYING})


class SubscriptionStatus(StrEnum):
    """A paid subscription's state as Stripe reports it, narrowed to what limits depend on
    (lower-case, as Stripe spells them; ``users.subscription_status``)."""

    ACTIVE = "active"
    PAST_DUE = "past_due"
    CANCELED = "canceled"
