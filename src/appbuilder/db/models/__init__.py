"""All ORM models; importing this package registers every table on ``Base.metadata``."""

from appbuilder.db.models.api_key import ApiKey
from appbuilder.db.models.auth_session import AuthSession
from appbuilder.db.models.deployment import Deployment
from appbuilder.db.models.generation import Generation
from appbuilder.db.models.login_failure import LoginFailure
from appbuilder.db.models.project import Project
from appbuilder.db.models.run import GenerationRun, RunEvent
from appbuilder.db.models.stripe_event import StripeEvent
from appbuilder.db.models.user import User

__all__ = [
    "ApiKey",
    "AuthSession",
    "Deployment",
    "Generation",
    "GenerationRun",
    "LoginFailure",
    "Project",
    "RunEvent",
    "StripeEvent",
    "User",
]
