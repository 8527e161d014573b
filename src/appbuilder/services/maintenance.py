"""Whole-database operations that span several steps and must succeed or fail as one."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from appbuilder.db import migrate
from appbuilder.services.seed import SeedReport, seed


def reset_database(
    engine: Engine, *, with_seed: bool = True, password: str | None = None
) -> SeedReport | None:
    """Drop everything, migrate to head and (optionally) seed, in one transaction: if any
    step fails, for example the demo data on a bad password, the database is left as it was."""
    with migrate.migration_transaction(engine) as connection:
        migrate.drop_everything(connection)
        migrate.upgrade(connection)
        if not with_seed:
            return None
        with Session(bind=connection) as session:
            report = seed(session, password)
            session.flush()
        return report
