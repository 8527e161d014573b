"""Service rules for deleting accounts and projects, and one-transaction writes."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appbuilder.db import migrate
from appbuilder.db.models import Generation, Project, User
from appbuilder.db.session import make_session_factory, transaction
from appbuilder.enums import ProjectStatus, UserRole
from appbuilder.errors import ConflictError, NotFoundError, ValidationError
from appbuilder.services.maintenance import reset_database
from appbuilder.services.projects import delete_project
from appbuilder.services.users import delete_user, get_user_by_email
from tests.factories import make_generation, make_project, make_user


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("status", [ProjectStatus.GENERATING, ProjectStatus.DEPLOYING])
def test_a_busy_project_cannot_be_deleted(session: Session, status: ProjectStatus) -> None:
    project = make_project(session, make_user(session), status=status)
    session.commit()
    with pytest.raises(ConflictError, match=status.value) as caught:
        delete_project(session, project.id, owner_id=project.user_id)
    assert caught.value.details["status"] == status.value
    session.rollback()
    assert _count(session, Project) == 1


def test_deleting_a_project_removes_its_history(session: Session) -> None:
    project = make_project(session, make_user(session), status=ProjectStatus.READY)
    make_generation(session, project)
    session.commit()
    delete_project(session, project.id, owner_id=project.user_id)
    session.commit()
    assert (_count(session, Project), _count(session, Generation)) == (0, 0)


def test_only_the_owner_can_delete_a_project(session: Session) -> None:
    project = make_project(session, make_user(session))
    intruder = make_user(session)
    session.commit()
    with pytest.raises(NotFoundError):
        delete_project(session, project.id, owner_id=intruder.id)


def test_a_user_with_running_work_cannot_be_deleted(session: Session) -> None:
    user = make_user(session)
    make_project(session, user, status=ProjectStatus.GENERATING)
    session.commit()
    with pytest.raises(ConflictError, match="generating or deploying"):
        delete_user(session, user.id)


def test_the_last_super_admin_cannot_be_deleted(session: Session) -> None:
    root = make_user(session, role=UserRole.SUPER_ADMIN)
    session.commit()
    with pytest.raises(ConflictError, match="last super admin"):
        delete_user(session, root.id)
    second = make_user(session, role=UserRole.SUPER_ADMIN)
    session.commit()
    delete_user(session, root.id)
    session.commit()
    assert session.get(User, second.id) is not None
    assert session.get(User, root.id) is None


def test_deleting_a_user_removes_what_they_own(session: Session) -> None:
    user = make_user(session)
    make_generation(session, make_project(session, user, status=ProjectStatus.DEPLOYED))
    session.commit()
    delete_user(session, user.id)
    session.commit()
    assert [_count(session, m) for m in (User, Project, Generation)] == [0, 0, 0]


def test_email_lookup_is_case_insensitive(session: Session) -> None:
    make_user(session, email="mixed@example.com")
    found = get_user_by_email(session, "  MIXED@Example.com ")
    assert found is not None
    assert found.email == "mixed@example.com"


def test_a_failed_multi_step_write_leaves_nothing(engine: Engine) -> None:
    sessions = make_session_factory(engine)

    class BoomError(Exception):
        pass

    def write_then_fail() -> None:
        with transaction(sessions) as session:
            make_generation(session, make_project(session, make_user(session)))
            raise BoomError

    with pytest.raises(BoomError):
        write_then_fail()
    with transaction(sessions) as session:
        assert [_count(session, m) for m in (User, Project, Generation)] == [0, 0, 0]


def test_a_failing_statement_rolls_back_earlier_steps(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        make_user(session, email="taken@example.com")

    def write_then_clash() -> None:
        with transaction(sessions) as session:
            make_project(session, make_user(session, email="new@example.com"))
            make_user(session, email="taken@example.com")

    with pytest.raises(IntegrityError):
        write_then_clash()
    with transaction(sessions) as session:
        assert _count(session, User) == 1
        assert _count(session, Project) == 0


def test_reset_is_one_transaction(engine: Engine) -> None:
    """A reset whose seed step fails leaves the old data in place, schema and rows."""
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        make_project(session, make_user(session, email="keep@example.com"))
    with pytest.raises(ValidationError):
        reset_database(engine, password="short")  # refused by the demo data step, after the drop
    with transaction(sessions) as session:
        assert get_user_by_email(session, "keep@example.com") is not None
        assert _count(session, Project) == 1


def test_reset_without_seed_leaves_a_migrated_empty_database(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        make_user(session)
    assert reset_database(engine, with_seed=False) is None
    with transaction(sessions) as session:
        assert _count(session, User) == 0
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_concurrent_deletes_cannot_remove_both_last_super_admins(pg_engine: Engine) -> None:
    """Two requests each deleting one of the last two super admins: the second waits for
    the first (row locks) and then refuses, instead of both passing their checks."""
    sessions = make_session_factory(pg_engine)
    with transaction(sessions) as session:
        first = make_user(session, role=UserRole.SUPER_ADMIN).id
        second = make_user(session, role=UserRole.SUPER_ADMIN).id

    outcome: dict[str, BaseException | None] = {}
    started = threading.Event()

    def delete_second() -> None:
        started.set()
        try:
            with transaction(sessions) as session:
                session.execute(text("SET LOCAL lock_timeout = '20s'"))
                delete_user(session, second)
            outcome["second"] = None
        except BaseException as exc:
            outcome["second"] = exc

    with transaction(sessions) as session:
        delete_user(session, first)
        worker = threading.Thread(target=delete_second)
        worker.start()
        started.wait()
        worker.join(timeout=1)  # it must be blocked on our locks, not finished
        assert worker.is_alive()
    worker.join(timeout=30)
    assert isinstance(outcome["second"], ConflictError)
    with transaction(sessions) as session:
        assert session.get(User, second) is not None
        assert session.get(User, first) is None
