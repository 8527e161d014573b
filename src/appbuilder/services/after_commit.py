"""Side effects that must wait for the transaction: files removed after a delete commits,
a local runner woken after a run is queued.

A service registers a hook on its session; it runs once the transaction commits and is
dropped if it rolls back, so a failed delete keeps its files and a rolled-back start wakes
no one. Callers (routes, commands) only commit: the service owns what follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

_KEY = "appbuilder.after_commit"

Hook = Callable[[], None]


def after_commit(session: Session, hook: Hook) -> None:
    """Run ``hook`` once the session's current transaction commits (never if it rolls back)."""
    session.info.setdefault(_KEY, []).append(hook)


@event.listens_for(Session, "after_commit")
def _run_hooks(session: Session) -> None:
    hooks: list[Hook] = session.info.pop(_KEY, [])
    for hook in hooks:
        try:
            hook()
        except Exception:  # the commit stands; a failed side effect is logged, not raised
            log.exception("an after-commit step failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_hooks(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is not None:
        return  # an inner savepoint rolled back; the outer transaction may still commit
    session.info.pop(_KEY, None)
