"""procrastinate's tables and functions, installed and removed with our own migrations.

They live beside ours in the default schema, so ``uab db upgrade`` is the one command that
prepares a PostgreSQL database for API servers and workers alike. Autogenerate and
``schema_drift`` leave them alone (``is_queue_object``).
"""

from __future__ import annotations

from sqlalchemy import Connection

PREFIX = "procrastinate_"

_UNINSTALL = r"""
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind = 'r'
             AND c.relname LIKE 'procrastinate\_%' LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.relname);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
           JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\_%' LOOP
    EXECUTE 'DROP FUNCTION IF EXISTS ' || r.signature || ' CASCADE';
  END LOOP;
  FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
           WHERE n.nspname = current_schema() AND t.typtype IN ('e', 'c')
             AND t.typname LIKE 'procrastinate\_%' LOOP
    EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
  END LOOP;
END $$;
"""


def is_queue_object(name: str | None) -> bool:
    return bool(name) and str(name).startswith(PREFIX)


def install(connection: Connection) -> None:
    """procrastinate's schema as shipped with the installed version (PostgreSQL only)."""
    from procrastinate.schema import SchemaManager  # noqa: PLC0415 - PostgreSQL only

    connection.exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def uninstall(connection: Connection) -> None:
    connection.exec_driver_sql(_UNINSTALL.replace("%", "%%"))
