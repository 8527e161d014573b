"""The models on real databases: defaults, ids, timestamps, constraints, cascades."""

from __future__ import annotations

import re
import time
from datetime import UTC

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from appbuilder.db.models import ApiKey, Deployment, Generation, Project, User
from appbuilder.enums import GenerationStatus, ProjectStatus, SubscriptionTier, UserRole
from tests.factories import make_generation, make_project, make_user
from tests.integration.conftest import Backend, engine_for


def test_defaults_are_the_seed_s(session: Session) -> None:
    user = make_user(session)
    project = make_project(session, user)
    generation = make_generation(session, project)
    session.commit()
    session.expire_all()
    assert (user.role, user.subscription_tier) == (UserRole.USER, SubscriptionTier.FREE)
    assert project.status is ProjectStatus.DRAFT
    assert project.features == []
    assert (generation.status, generation.tokens_used) == (GenerationStatus.PENDING, 0)
    assert generation.duration_ms is None
    assert generation.completed_at is None


def test_server_defaults_apply_to_raw_inserts(session: Session) -> None:
    session.execute(
        text("INSERT INTO users (id, email, password_hash) VALUES ('raw1', 'raw@x.io', 'h')")
    )
    role, tier, created = session.execute(
        text("SELECT role, subscription_tier, created_at FROM users WHERE id = 'raw1'")
    ).one()
    assert (str(role), str(tier)) == ("USER", "FREE")
    assert created is not None


def test_ids_are_cuids_made_in_python(session: Session) -> None:
    user = User(email="ids@example.com", password_hash="h")
    assert user.id is None
    session.add(user)
    session.flush()
    assert re.fullmatch(r"[a-z][a-z0-9]{24}", user.id)
    others = {make_user(session).id for _ in range(50)}
    assert len(others) == 50
    assert user.id not in others


def test_timestamps_are_timezone_aware_utc(session: Session) -> None:
    user = make_user(session)
    session.commit()
    session.expire_all()
    reloaded = session.get(User, user.id)
    assert reloaded is not None
    assert reloaded.created_at.tzinfo is UTC
    assert reloaded.updated_at.tzinfo is UTC


def test_updated_at_changes_on_every_update(session: Session) -> None:
    project = make_project(session, make_user(session))
    session.commit()
    first = project.updated_at
    created = project.created_at
    time.sleep(0.002)
    project.name = "Renamed"
    session.commit()
    second = project.updated_at
    time.sleep(0.002)
    project.features = [*project.features, "search"]
    session.commit()
    assert first < second < project.updated_at
    assert project.created_at == created


def test_config_and_features_round_trip(session: Session) -> None:
    config = {"theme": {"primary": "#0af"}, "limits": [1, 2, 3], "flag": True, "none": None}
    project = make_project(session, make_user(session), config=config, features=["auth", "rss"])
    session.commit()
    project.config = {**project.config, "theme": {"primary": "#000"}}
    session.commit()
    session.expire_all()
    assert project.config == {**config, "theme": {"primary": "#000"}}
    assert project.features == ["auth", "rss"]


def test_email_is_unique(session: Session) -> None:
    make_user(session, email="dup@example.com")
    with pytest.raises(IntegrityError):
        make_user(session, email="dup@example.com")


def test_stripe_customer_id_is_unique_but_may_be_missing_for_many(session: Session) -> None:
    make_user(session)
    make_user(session)  # two NULLs are fine
    make_user(session, stripe_customer_id="cus_1")
    with pytest.raises(IntegrityError):
        make_user(session, stripe_customer_id="cus_1")


def test_the_database_refuses_values_outside_an_enum(session: Session) -> None:
    with pytest.raises((IntegrityError, StatementError)) as caught:
        session.execute(
            text("INSERT INTO users (id, email, password_hash, role) VALUES ('x', 'e', 'h', 'GOD')")
        )
    assert "GOD" in str(caught.value) or "constraint" in str(caught.value).lower()


def test_python_side_enum_validation(session: Session) -> None:
    user = make_user(session)
    user.role = "GOD"  # type: ignore[assignment]
    with pytest.raises(StatementError, match="GOD"):
        session.flush()


def test_foreign_keys_are_enforced(session: Session) -> None:
    with pytest.raises(IntegrityError):
        session.execute(
            text(
                "INSERT INTO generations (id, project_id, user_id, agent_type, prompt, response) "
                "VALUES ('g', 'missing', 'missing', 'BACKEND', 'p', 'r')"
            )
        )


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_deleting_a_user_cascades_to_everything_they_own(session: Session) -> None:
    keep = make_user(session)
    kept_project = make_project(session, keep)
    make_generation(session, kept_project)
    user = make_user(session)
    project = make_project(session, user)
    make_generation(session, project)
    session.add(Deployment(project_id=project.id, target="docker"))
    session.add(ApiKey(user_id=user.id, name="k", prefix="abcdefgh", key_hash="0" * 64))
    session.commit()

    session.delete(user)
    session.commit()

    assert [_count(session, m) for m in (User, Project, Generation, Deployment, ApiKey)] == [
        1, 1, 1, 0, 0
    ]  # fmt: skip


def test_deleting_a_project_cascades_to_generations_and_deployments(session: Session) -> None:
    user = make_user(session)
    project = make_project(session, user)
    other = make_project(session, user)
    make_generation(session, project)
    make_generation(session, other)
    session.add(Deployment(project_id=project.id, target="docker"))
    session.commit()
    session.delete(project)
    session.commit()
    assert (_count(session, Generation), _count(session, Deployment)) == (1, 0)
    assert _count(session, User) == 1


def test_relationships_never_load_implicitly(session: Session) -> None:
    """Collections raise instead of issuing a query per row (N+1) by accident."""
    user = make_user(session)
    session.commit()
    session.expire_all()
    reloaded = session.get(User, user.id)
    assert reloaded is not None
    with pytest.raises(Exception, match="lazy='raise'"):
        _ = reloaded.projects


def test_sqlite_runs_with_foreign_keys_and_wal(sqlite_backend: Backend) -> None:
    url = sqlite_backend.make_migrated()
    engine = engine_for(url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()
    sqlite_backend.cleanup(url)


def test_the_database_keeps_emails_lower_case(session: Session) -> None:
    """So the unique index is case-insensitive on both databases."""
    make_user(session, email="lower@example.com")
    with pytest.raises(IntegrityError):
        session.execute(
            text(
                "INSERT INTO users (id, email, password_hash) "
                "VALUES ('u', 'Lower@example.com', 'h')"
            )
        )
