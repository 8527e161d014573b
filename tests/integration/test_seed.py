"""`seed`: every role, tier, template and several statuses; safe to run twice."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from appbuilder.db.models import ApiKey, Deployment, Generation, Project, User
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.enums import ProjectTemplate, SubscriptionTier, UserRole
from appbuilder.errors import ValidationError
from appbuilder.security.passwords import verify_password
from appbuilder.services.seed import SEED_USERS, seed

MODELS = (User, Project, Generation, Deployment, ApiKey)


def _counts(session: Session) -> list[int]:
    return [session.scalar(select(func.count()).select_from(m)) or 0 for m in MODELS]


def test_seed_covers_roles_tiers_templates_statuses_and_agents(engine: Engine) -> None:
    with transaction(make_session_factory(engine)) as session:
        report = seed(session, password="demo-password")
    with transaction(make_session_factory(engine)) as session:
        users = session.scalars(select(User)).all()
        projects = session.scalars(select(Project)).all()
        agents = set(session.scalars(select(Generation.agent_type)).all())
        assert {u.role for u in users} == set(UserRole)
        assert {u.subscription_tier for u in users} == set(SubscriptionTier)
        assert {p.template for p in projects} == set(ProjectTemplate)
        assert len({p.status for p in projects}) >= 4
        assert len(agents) >= 3
        assert all(verify_password("demo-password", u.password_hash) for u in users)
        assert _counts(session)[3:] == [report.deployments_created, len(report.api_keys_created)]
    assert report.generated_password is None


def test_seed_is_idempotent(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        first = seed(session)
    with transaction(sessions) as session:
        after_first = _counts(session)
    with transaction(sessions) as session:
        second = seed(session)
    with transaction(sessions) as session:
        assert _counts(session) == after_first
    assert first.generated_password is not None
    assert len(first.users_created) == len(SEED_USERS)
    assert second.users_created == []
    assert second.generated_password is None
    assert (second.projects_created, second.generations_created) == (0, 0)


def test_seed_does_not_reset_an_existing_password(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        seed(session, password="first-password")
    with transaction(sessions) as session:
        seed(session, password="second-password")
        user = session.scalars(select(User).where(User.email == SEED_USERS[0].email)).one()
        assert verify_password("first-password", user.password_hash)


def test_seed_refuses_a_too_short_password(session: Session) -> None:
    with pytest.raises(ValidationError) as caught:
        seed(session, password="short")
    assert caught.value.field == "password"
