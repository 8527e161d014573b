"""Users: look-ups and the rules for removing an account."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from appbuilder.db.models import Project, User
from appbuilder.enums import BUSY_PROJECT_STATUSES, UserRole
from appbuilder.errors import ConflictError, NotFoundError

LATEST_PROJECTS = 10


@dataclass(frozen=True)
class UserWithProjects:
    user: User
    latest_projects: list[Project]


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("User", user_id)
    return user


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def normalise_email(email: str) -> str:
    """One spelling per mailbox: surrounding blanks dropped, compared case-insensitively."""
    return email.strip().lower()


def get_user_with_latest_projects(
    session: Session, user_id: str, limit: int = LATEST_PROJECTS
) -> UserWithProjects:
    """A user and their latest projects, newest first (a profile page's query)."""
    user = get_user(session, user_id)
    projects = session.scalars(
        select(Project)
        .where(Project.user_id == user_id)
        .order_by(Project.created_at.desc(), Project.id.desc())
        .limit(limit)
    ).all()
    return UserWithProjects(user=user, latest_projects=list(projects))


def other_super_admins(session: Session, user_id: str) -> int:
    """Super admins besides this user, with their rows locked until the transaction ends:
    two requests removing the last two super admins at once are serialised, and the
    second one sees that it would remove the last."""
    others = session.scalars(
        select(User.id)
        .where(User.role == UserRole.SUPER_ADMIN, User.id != user_id)
        .with_for_update()
    ).all()
    return len(others)


def _refuse_while_busy(session: Session, user_id: str) -> None:
    """Locks the user's projects too: none may start generating between this check and the
    delete."""
    statuses = session.scalars(
        select(Project.status).where(Project.user_id == user_id).with_for_update()
    ).all()
    busy = sum(status in BUSY_PROJECT_STATUSES for status in statuses)
    if busy:
        raise ConflictError(
            f"User {user_id!r} has {busy} project(s) generating or deploying; "
            "wait for them to finish or cancel them first.",
            user_id=user_id,
            busy_projects=busy,
        )


def delete_user(session: Session, user_id: str) -> None:
    """Delete an account and everything it owns (projects, generations, deployments, keys).

    Refused while one of its projects is generating or deploying (work would be cut off
    mid-write), and for the last super admin (nobody could manage roles any more).
    """
    user = session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFoundError("User", user_id)
    _refuse_while_busy(session, user_id)
    if user.role is UserRole.SUPER_ADMIN and not other_super_admins(session, user_id):
        raise ConflictError(
            "This is the last super admin; make another user SUPER_ADMIN first.",
            user_id=user_id,
        )
    session.delete(user)
    session.flush()
