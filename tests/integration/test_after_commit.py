"""After-commit hooks: run once when the transaction commits, never when it rolls back."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from appbuilder.db.session import make_session_factory
from appbuilder.services.after_commit import after_commit


def test_a_hook_runs_once_after_commit_and_not_after_a_rollback(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    ran: list[str] = []
    with sessions() as session:
        session.execute(text("SELECT 1"))
        after_commit(session, lambda: ran.append("rolled back"))
        session.rollback()
        session.commit()  # a later commit does not run what the rollback dropped
        assert ran == []

        with session.begin():
            after_commit(session, lambda: ran.append("committed"))
            with pytest.raises(RuntimeError), session.begin_nested():
                raise RuntimeError  # an inner savepoint's rollback keeps the outer hook
            assert ran == []
        assert ran == ["committed"]
        session.commit()
    assert ran == ["committed"]


def test_a_failing_hook_does_not_undo_the_commit(engine: Engine) -> None:
    sessions = make_session_factory(engine)

    def broken() -> None:
        raise OSError("disk gone")

    ran: list[str] = []
    with sessions.begin() as session:
        after_commit(session, broken)
        after_commit(session, lambda: ran.append("next"))
    assert ran == ["next"]
