"""The design document's two "Common Queries" and pagination: right rows, right order, and a number
of SQL statements that does not grow with the number of rows (no N+1)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from appbuilder.errors import NotFoundError, ValidationError
from appbuilder.services.pagination import MAX_PAGE_SIZE, PageRequest
from appbuilder.services.projects import (
    OwnerSummary,
    get_project_with_generations,
    list_project_generations,
    list_user_projects,
)
from appbuilder.services.users import get_user_with_latest_projects
from tests.factories import make_generation, make_project, make_user, spaced_times
from tests.integration.conftest import StatementCounter


def _user_with_projects(session: Session, count: int) -> tuple[str, list[str]]:
    user = make_user(session)
    other = make_user(session)
    ids = [make_project(session, user, created_at=t).id for t in spaced_times(count)]
    make_project(session, other)
    session.commit()
    return user.id, ids


@pytest.mark.parametrize("count", [3, 25])
def test_user_with_latest_projects(
    session: Session, statements: StatementCounter, count: int
) -> None:
    user_id, ids = _user_with_projects(session, count)
    session.expunge_all()
    statements.reset()

    result = get_user_with_latest_projects(session, user_id)

    assert result.user.id == user_id
    assert [p.id for p in result.latest_projects] == ids[::-1][:10]
    assert statements.count == 2  # the user, then their projects; whatever `count` is


@pytest.mark.parametrize("count", [1, 30])
def test_project_with_generations(
    session: Session, statements: StatementCounter, count: int
) -> None:
    user = make_user(session, name="Grace")
    project = make_project(session, user)
    made = [make_generation(session, project, created_at=t).id for t in spaced_times(count)]
    make_generation(session, make_project(session, user))  # another project's history
    session.commit()
    session.expunge_all()
    statements.reset()

    result = get_project_with_generations(session, project.id, owner_id=user.id)

    assert result.project.id == project.id
    assert [g.id for g in result.generations] == made[::-1]
    assert result.owner == OwnerSummary(id=user.id, email=user.email, name="Grace")
    assert statements.count == 2


def test_project_with_generations_selects_only_the_owner_s_public_fields(
    session: Session, statements: StatementCounter
) -> None:
    project = make_project(session, make_user(session))
    session.commit()
    statements.reset()
    get_project_with_generations(session, project.id, owner_id=None)
    first = statements.statements[0].lower()
    assert "users.email" in first
    assert "password_hash" not in first
    assert "stripe_customer_id" not in first


def test_another_user_s_project_is_not_found(session: Session) -> None:
    owner, intruder = make_user(session), make_user(session)
    project = make_project(session, owner)
    session.commit()
    with pytest.raises(NotFoundError):
        get_project_with_generations(session, project.id, owner_id=intruder.id)
    with pytest.raises(NotFoundError):
        list_project_generations(session, project.id, PageRequest(), owner_id=intruder.id)
    with pytest.raises(NotFoundError):
        get_project_with_generations(session, "does-not-exist", owner_id=None)


@pytest.mark.parametrize("count", [0, 7, 45])
def test_paging_through_projects_yields_each_once_newest_first(
    session: Session, statements: StatementCounter, count: int
) -> None:
    user_id, ids = _user_with_projects(session, count)
    statements.reset()
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = list_user_projects(session, user_id, PageRequest(limit=10, cursor=cursor))
        pages += 1
        seen += [p.id for p in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ids[::-1]
    assert pages == max(1, -(-count // 10))
    assert statements.count == pages  # one statement per page


def test_paging_is_stable_when_timestamps_tie(session: Session) -> None:
    user = make_user(session)
    moment = spaced_times(1)[0]
    ids = sorted(
        (make_project(session, user, created_at=moment).id for _ in range(9)), reverse=True
    )
    session.commit()
    first = list_user_projects(session, user.id, PageRequest(limit=4))
    second = list_user_projects(session, user.id, PageRequest(limit=4, cursor=first.next_cursor))
    third = list_user_projects(session, user.id, PageRequest(limit=4, cursor=second.next_cursor))
    assert [p.id for p in first.items + second.items + third.items] == ids
    assert third.next_cursor is None


def test_paging_through_generations(session: Session, statements: StatementCounter) -> None:
    project = make_project(session, make_user(session))
    ids = [make_generation(session, project, created_at=t).id for t in spaced_times(23)]
    session.commit()
    statements.reset()
    first = list_project_generations(session, project.id, PageRequest(limit=20), owner_id=None)
    rest = list_project_generations(
        session, project.id, PageRequest(limit=20, cursor=first.next_cursor), owner_id=None
    )
    assert [g.id for g in first.items + rest.items] == ids[::-1]
    assert rest.next_cursor is None
    assert statements.count == 4  # per page: the project check and the page


def test_page_size_is_capped(session: Session) -> None:
    with pytest.raises(ValidationError, match=str(MAX_PAGE_SIZE)):
        list_user_projects(session, "anyone", PageRequest(limit=MAX_PAGE_SIZE + 1))


def test_generations_of_a_missing_project_are_not_found_even_for_admins(session: Session) -> None:
    with pytest.raises(NotFoundError):
        list_project_generations(session, "no-such-project", PageRequest(), owner_id=None)
