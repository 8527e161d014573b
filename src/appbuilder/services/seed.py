"""Demo data for development: the Python counterpart of the design document's ``prisma db seed``.

Idempotent: users are matched by email and projects by (owner, name), so running it again
creates nothing twice and never resets a password someone has changed. Everything is
written in one transaction by the caller.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from appbuilder.db.models import ApiKey, Deployment, Generation, Project, User
from appbuilder.db.types import utcnow
from appbuilder.enums import (
    AgentType,
    DeploymentStatus,
    GenerationStatus,
    ProjectStatus,
    ProjectTemplate,
    SubscriptionTier,
    UserRole,
)
from appbuilder.errors import ValidationError
from appbuilder.security.api_keys import generate_api_key
from appbuilder.security.passwords import hash_password

MIN_SEED_PASSWORD = 8
PIPELINE = (
    AgentType.ORCHESTRATOR,
    AgentType.DATABASE,
    AgentType.BACKEND,
    AgentType.AUTH,
    AgentType.FRONTEND,
    AgentType.INTEGRATIONS,
    AgentType.DEVOPS,
)


@dataclass(frozen=True)
class SeedUser:
    email: str
    name: str
    role: UserRole
    tier: SubscriptionTier


@dataclass(frozen=True)
class SeedProject:
    owner: str
    name: str
    template: ProjectTemplate
    status: ProjectStatus
    features: tuple[str, ...] = ()
    description: str = ""


SEED_USERS = (
    SeedUser("admin@example.com", "Ada Admin", UserRole.ADMIN, SubscriptionTier.ENTERPRISE),
    SeedUser("root@example.com", "Sam Super", UserRole.SUPER_ADMIN, SubscriptionTier.ENTERPRISE),
    SeedUser("free@example.com", "Fay Free", UserRole.USER, SubscriptionTier.FREE),
    SeedUser("starter@example.com", "Stan Starter", UserRole.USER, SubscriptionTier.STARTER),
    SeedUser("pro@example.com", "Pat Pro", UserRole.USER, SubscriptionTier.PRO),
    SeedUser(
        "enterprise@example.com", "Eve Enterprise", UserRole.USER, SubscriptionTier.ENTERPRISE
    ),
)

SEED_PROJECTS = (
    SeedProject("free@example.com", "Travel notes", ProjectTemplate.BLOG, ProjectStatus.DRAFT,
                ("markdown", "tags"), "A personal travel blog."),
    SeedProject("free@example.com", "Weather API", ProjectTemplate.API, ProjectStatus.READY,
                ("api_keys", "pagination"), "JSON API over weather stations."),
    SeedProject("starter@example.com", "Team standups", ProjectTemplate.SAAS,
                ProjectStatus.GENERATING, ("auth", "admin"), "Async standups for small teams."),
    SeedProject("starter@example.com", "Recipe box", ProjectTemplate.CUSTOM, ProjectStatus.ERROR,
                ("search",), "Recipes with ingredients and ratings."),
    SeedProject("pro@example.com", "Plant shop", ProjectTemplate.ECOMMERCE,
                ProjectStatus.DEPLOYED, ("auth", "payments", "email"), "Sells house plants."),
    SeedProject("pro@example.com", "Engineering blog", ProjectTemplate.BLOG, ProjectStatus.READY,
                ("markdown", "rss", "comments"), "The team's engineering blog."),
    SeedProject("enterprise@example.com", "Field service CRM", ProjectTemplate.SAAS,
                ProjectStatus.DEPLOYING, ("auth", "admin", "search"), "Jobs, crews and customers."),
    SeedProject("enterprise@example.com", "Inventory API", ProjectTemplate.API,
                ProjectStatus.DEPLOYED, ("api_keys", "pagination"), "Stock levels per warehouse."),
)  # fmt: skip


#: (owner, key name, scopes): a key to try the API with
SEED_API_KEYS = (("pro@example.com", "Demo key", ("projects:read", "projects:write")),)


@dataclass
class SeedReport:
    users_created: list[str] = field(default_factory=list)
    projects_created: int = 0
    generations_created: int = 0
    deployments_created: int = 0
    #: (owner email, full key) of keys made now: the only time their secret can be shown
    api_keys_created: list[tuple[str, str]] = field(default_factory=list)
    #: set only when users were created and no password was given: show it once
    generated_password: str | None = None


def seed(session: Session, password: str | None = None) -> SeedReport:
    if password is not None and len(password) < MIN_SEED_PASSWORD:
        raise ValidationError(
            "password", "min_length", f"Seed password must have at least {MIN_SEED_PASSWORD} chars."
        )
    report = SeedReport()
    emails = [spec.email for spec in SEED_USERS]
    existing = {
        user.email: user for user in session.scalars(select(User).where(User.email.in_(emails)))
    }
    if password is None and len(existing) < len(SEED_USERS):
        password = report.generated_password = secrets.token_urlsafe(12)
    owners = {
        spec.email: existing.get(spec.email) or _create_user(session, spec, password or "", report)
        for spec in SEED_USERS
    }
    session.flush()
    for project_spec in SEED_PROJECTS:
        _ensure_project(session, owners[project_spec.owner], project_spec, report)
    for owner_email, key_name, scopes in SEED_API_KEYS:
        _ensure_api_key(session, owners[owner_email], key_name, scopes, report)
    session.flush()
    return report


def _create_user(session: Session, spec: SeedUser, password: str, report: SeedReport) -> User:
    user = User(
        email=spec.email,
        name=spec.name,
        role=spec.role,
        subscription_tier=spec.tier,
        password_hash=hash_password(password),
    )
    session.add(user)
    report.users_created.append(spec.email)
    return user


def _ensure_project(session: Session, owner: User, spec: SeedProject, report: SeedReport) -> None:
    exists = session.scalar(
        select(Project.id).where(Project.user_id == owner.id, Project.name == spec.name)
    )
    if exists is not None:
        return
    now = utcnow()
    project = Project(
        user_id=owner.id,
        name=spec.name,
        description=spec.description,
        template=spec.template,
        status=spec.status,
        config={"seeded": True},
        features=list(spec.features),
    )
    if spec.status is ProjectStatus.DEPLOYED:
        slug = spec.name.lower().replace(" ", "-")
        project.deployment_url = f"https://{slug}.apps.example.com"
        project.deployed_at = now
    session.add(project)
    session.flush()
    report.projects_created += 1
    _add_history(session, project, spec.status, report)


def _add_history(
    session: Session, project: Project, status: ProjectStatus, report: SeedReport
) -> None:
    """The project's agent steps, a minute apart and ending now, and its deployment."""
    now = utcnow()
    for index, generation in enumerate(_history(project, status)):
        generation.created_at = now - timedelta(minutes=len(PIPELINE) - index)
        session.add(generation)
        report.generations_created += 1
    if status in {ProjectStatus.DEPLOYED, ProjectStatus.DEPLOYING}:
        session.add(_deployment(project, status))
        report.deployments_created += 1


def _ensure_api_key(
    session: Session, owner: User, name: str, scopes: tuple[str, ...], report: SeedReport
) -> None:
    exists = session.scalar(
        select(ApiKey.id).where(ApiKey.user_id == owner.id, ApiKey.name == name)
    )
    if exists is not None:
        return
    key = generate_api_key()
    session.add(
        ApiKey(
            user_id=owner.id,
            name=name,
            prefix=key.prefix,
            key_hash=key.key_hash,
            scopes=list(scopes),
        )
    )
    report.api_keys_created.append((owner.email, key.full_key))


def _history(project: Project, status: ProjectStatus) -> list[Generation]:
    """Agent steps that match the project's state: all done, one failed, one running..."""
    if status is ProjectStatus.DRAFT:
        return []
    steps = []
    for index, agent in enumerate(PIPELINE):
        step_status = _step_status(status, index)
        steps.append(
            Generation(
                project_id=project.id,
                user_id=project.user_id,
                agent_type=agent,
                prompt=f"{agent.value.lower()} step for {project.name!r}",
                response="" if step_status is GenerationStatus.PENDING else f"{agent.value} done",
                status=step_status,
                tokens_used=0 if agent is AgentType.ORCHESTRATOR else 150 * (index + 1),
                duration_ms=None if step_status is GenerationStatus.PENDING else 40 * (index + 1),
                error_message=(
                    "backend tests failed: 2 of 31"
                    if step_status is GenerationStatus.FAILED
                    else None
                ),
                completed_at=utcnow() if step_status is GenerationStatus.COMPLETED else None,
            )
        )
    return steps


def _step_status(project_status: ProjectStatus, index: int) -> GenerationStatus:
    middle = len(PIPELINE) // 2
    if project_status is ProjectStatus.GENERATING:
        if index < middle:
            return GenerationStatus.COMPLETED
        return GenerationStatus.RUNNING if index == middle else GenerationStatus.PENDING
    if project_status is ProjectStatus.ERROR and index >= middle:
        return GenerationStatus.FAILED if index == middle else GenerationStatus.CANCELLED
    return GenerationStatus.COMPLETED


def _deployment(project: Project, status: ProjectStatus) -> Deployment:
    done = status is ProjectStatus.DEPLOYED
    return Deployment(
        project_id=project.id,
        status=DeploymentStatus.SUCCEEDED if done else DeploymentStatus.IN_PROGRESS,
        target="docker",
        url=project.deployment_url,
        ref="0" * 40,
        log="build ok\npush ok\n" if done else "build started\n",
        finished_at=utcnow() if done else None,
    )
