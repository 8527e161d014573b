"""How a request hands a run to whichever queue this deployment uses."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from appbuilder.db.models import GenerationRun


class Dispatcher(Protocol):
    def enqueue(self, session: Session, run: GenerationRun) -> None:
        """Make the run's job, in ``session``'s transaction."""

    def cancel_waiting(self, session: Session, run: GenerationRun) -> None:
        """Withdraw the job of a run no worker has taken yet."""

    def job_ended(self, session: Session, run: GenerationRun) -> bool:
        """True when no worker will ever run this run's job again."""

    def notify(self) -> None:
        """Called after the transaction committed."""
