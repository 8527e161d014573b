"""The SQL our API sends for its hot read routes, verbatim, so the reference servers
(bench/bare_app.py, bench/async_floor.py) run exactly what ours runs and nothing easier.

Captured again on 2026-11-30 (05:40 UTC) from the steps the routes run (``db.reads``), on
PostgreSQL, where they run on asyncpg (``db.async_reads``);
``tests/integration/api/test_hot_sql.py`` fails when ours sends anything else, and
``tests/integration/api/test_statement_counts.py`` asserts the counts:

- every route: the credential look-up (session token hash -> the session's columns and
  the user's columns but its password hash and encrypted model key), plus the
  ``last_used_at`` UPDATE at most once a minute per session;
- ``GET /api/me``: nothing more;
- ``GET /api/projects?limit=20``: one page of projects (limit + 1 rows);
- ``GET /api/projects/{id}``: the project with its owner's email and name, the latest run
  (the columns the page shows), one page of generations (limit + 1 rows);
- ``GET /api/runs/{id}/events`` (a finished run's whole stream): the run, checked to be
  the caller's; its events after ``Last-Event-ID`` (all of them: at most 500 a read);
- ``GET /api/projects/{id}/files``: the project, checked to be the caller's; its latest
  completed run's commit (then ``git ls-tree`` on it, one process);
- ``GET /api/usage``: five counts and sums (projects; this month's charged runs and runs at
  once; this month's tokens; apps live here; this month's model costs). Their constants
  (statuses, the deploy target, a sum's zero) are parameters too: ``USAGE_CONSTANTS``.

Statements are written in asyncpg's ``$1`` style, as SQLAlchemy's asyncpg dialect renders
them, each with its parameters' names in order; ``named`` rewrites one into psycopg's
``%(name)s`` style (``bench/bare_app.py`` runs them on psycopg).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import NamedTuple

#: our ``services.auth.TOUCH_INTERVAL``: a session's last use is written at most this often
TOUCH_INTERVAL = timedelta(minutes=1)


class Statement(NamedTuple):
    sql: str
    #: the name of each ``$n``, in order
    names: tuple[str, ...]


SESSION_LOOKUP = Statement(
    (
        "SELECT users.id, users.email, users.name, users.avatar, users.role, "
        "users.subscription_tier, users.subscription_status, users.stripe_customer_id, "
        "users.created_at, users.updated_at, users.last_login_at, users.llm_provider, "
        "users.llm_model, users.llm_base_url, users.stripe_subscription_id, "
        "users.subscription_period_end, users.subscription_grace_ends_at, "
        "users.billing_updated_at, users.tier_granted_by_id, users.tier_granted_at, "
        "auth_sessions.id AS credential_id, auth_sessions.expires_at AS "
        "credential_expires_at, auth_sessions.revoked_at AS credential_revoked_at, "
        "auth_sessions.last_used_at AS credential_last_used_at \n"
        "FROM auth_sessions JOIN users ON auth_sessions.user_id = users.id \n"
        "WHERE auth_sessions.token_hash = $1::VARCHAR"
    ),
    ("token_hash",),
)
TOUCH_SESSION = Statement(
    (
        "UPDATE auth_sessions SET last_used_at=$1::TIMESTAMP WITH TIME ZONE WHERE "
        "auth_sessions.id = (SELECT auth_sessions.id \n"
        "FROM auth_sessions \n"
        "WHERE auth_sessions.id = $2::VARCHAR FOR UPDATE SKIP LOCKED)"
    ),
    ("now", "row_id"),
)
PROJECT_PAGE = Statement(
    (
        "SELECT projects.id, projects.name, projects.description, projects.template, "
        "projects.status, projects.config, projects.features, projects.repository_url, "
        "projects.repository_error, projects.deployment_url, projects.llm_model, "
        "projects.user_id, projects.created_at, projects.updated_at, projects.deployed_at \n"
        "FROM projects \n"
        "WHERE projects.user_id = $1::VARCHAR ORDER BY projects.created_at DESC, projects.id "
        "DESC \n"
        " LIMIT $2::INTEGER"
    ),
    ("user_id", "page_limit"),
)
PROJECT_WITH_OWNER = Statement(
    (
        "SELECT projects.id, projects.name, projects.description, projects.template, "
        "projects.status, projects.config, projects.features, projects.repository_url, "
        "projects.repository_error, projects.deployment_url, projects.llm_model, "
        "projects.user_id, projects.created_at, projects.updated_at, projects.deployed_at, "
        "users.email, users.name AS owner_name \n"
        "FROM projects JOIN users ON projects.user_id = users.id \n"
        "WHERE projects.id = $1::VARCHAR AND projects.user_id = $2::VARCHAR"
    ),
    ("project_id", "owner_id"),
)
LATEST_RUN = Statement(
    (
        "SELECT generation_runs.id, generation_runs.project_id, generation_runs.user_id, "
        "generation_runs.status, generation_runs.previous_status, generation_runs.spec_hash, "
        "generation_runs.verify, generation_runs.cancel_requested, generation_runs.attempts, "
        "generation_runs.error_message, generation_runs.platform_failure, "
        "generation_runs.tree_hash, generation_runs.commit_sha, generation_runs.files_count, "
        "generation_runs.rollback_of, generation_runs.created_at, generation_runs.started_at,"
        " generation_runs.finished_at \n"
        "FROM generation_runs \n"
        "WHERE generation_runs.project_id = $1::VARCHAR ORDER BY generation_runs.created_at "
        "DESC, generation_runs.id DESC \n"
        " LIMIT $2::INTEGER"
    ),
    ("project_id", "param_1"),
)
GENERATION_PAGE = Statement(
    (
        "SELECT generations.id, generations.project_id, generations.user_id, "
        "generations.agent_type, generations.prompt, generations.response, "
        "generations.status, generations.tokens_used, generations.duration_ms, "
        "generations.error_message, generations.created_at, generations.completed_at, "
        "generations.run_id, generations.model, generations.input_tokens, "
        "generations.output_tokens, generations.cost_usd \n"
        "FROM generations \n"
        "WHERE generations.project_id = $1::VARCHAR ORDER BY generations.created_at DESC, "
        "generations.id DESC \n"
        " LIMIT $2::INTEGER"
    ),
    ("project_id", "page_limit"),
)
USAGE_PROJECTS = Statement(
    ("SELECT count(*) AS count_1 \nFROM projects \nWHERE projects.user_id = $1::VARCHAR"),
    ("user_id",),
)
USAGE_RUNS = Statement(
    (
        "SELECT count(*) FILTER (WHERE generation_runs.created_at >= $1::TIMESTAMP WITH TIME "
        "ZONE AND generation_runs.status != $2::run_status AND "
        "generation_runs.platform_failure IS false AND generation_runs.rollback_of IS NULL) "
        "AS anon_1, count(*) FILTER (WHERE generation_runs.status = $3::run_status OR "
        "generation_runs.status = $4::run_status) AS anon_2 \n"
        "FROM generation_runs \n"
        "WHERE generation_runs.user_id = $5::VARCHAR"
    ),
    ("since", "status_1", "status_2", "status_3", "user_id"),
)
USAGE_TOKENS = Statement(
    (
        "SELECT coalesce(sum(generations.tokens_used), $1::INTEGER) AS coalesce_1 \n"
        "FROM generations \n"
        "WHERE generations.user_id = $2::VARCHAR AND generations.created_at >= $3::TIMESTAMP "
        "WITH TIME ZONE"
    ),
    ("coalesce_2", "user_id", "since"),
)
USAGE_LIVE_APPS = Statement(
    (
        "SELECT count(distinct(deployments.project_id)) AS count_1 \n"
        "FROM deployments JOIN projects ON deployments.project_id = projects.id \n"
        "WHERE projects.user_id = $1::VARCHAR AND deployments.target = $2::VARCHAR AND "
        "(deployments.status = $3::deployment_status OR deployments.status = "
        "$4::deployment_status)"
    ),
    ("user_id", "target_1", "status_1", "status_2"),
)
USAGE_COSTS = Statement(
    (
        "SELECT coalesce(sum(generations.cost_usd), $1::INTEGER) AS coalesce_1, count(*) "
        "FILTER (WHERE generations.model IS NOT NULL AND generations.cost_usd IS NULL) AS "
        "anon_1 \n"
        "FROM generations \n"
        "WHERE generations.user_id = $2::VARCHAR AND generations.created_at >= $3::TIMESTAMP "
        "WITH TIME ZONE"
    ),
    ("coalesce_2", "user_id", "since"),
)

RUN_OF_OWNER = Statement(
    (
        "SELECT generation_runs.id \nFROM generation_runs \n"
        "WHERE generation_runs.id = $1::VARCHAR AND generation_runs.user_id = $2::VARCHAR"
    ),
    ("run_id", "owner_id"),
)
RUN_EVENTS = Statement(
    (
        "SELECT run_events.seq, run_events.kind, run_events.data \nFROM run_events \n"
        "WHERE run_events.run_id = $1::VARCHAR AND run_events.seq > $2::INTEGER "
        "ORDER BY run_events.seq \n LIMIT $3::INTEGER"
    ),
    ("run_id", "after", "param_1"),
)
PROJECT_OF_OWNER = Statement(
    (
        "SELECT projects.id \nFROM projects \n"
        "WHERE projects.id = $1::VARCHAR AND projects.user_id = $2::VARCHAR"
    ),
    ("project_id", "owner_id"),
)
LATEST_COMMIT = Statement(
    (
        "SELECT generation_runs.id, generation_runs.commit_sha \nFROM generation_runs \n"
        "WHERE generation_runs.project_id = $1::VARCHAR AND generation_runs.status = "
        "$2::run_status AND generation_runs.commit_sha IS NOT NULL "
        "ORDER BY generation_runs.finished_at DESC NULLS LAST, generation_runs.id DESC \n"
        " LIMIT $3::INTEGER"
    ),
    ("project_id", "status_1", "param_1"),
)

#: ``GET /api/usage``'s statements, in the order ours sends them
USAGE = (USAGE_PROJECTS, USAGE_RUNS, USAGE_TOKENS, USAGE_LIVE_APPS, USAGE_COSTS)
#: the values the usage statements bind themselves, by statement (the two statuses of an
#: OR in either order: ours come from a set)
USAGE_CONSTANTS: dict[Statement, dict[str, object]] = {
    USAGE_RUNS: {"status_1": "CANCELLED", "status_2": "QUEUED", "status_3": "RUNNING"},
    USAGE_TOKENS: {"coalesce_2": 0},
    USAGE_LIVE_APPS: {"target_1": "local", "status_1": "IN_PROGRESS", "status_2": "SUCCEEDED"},
    USAGE_COSTS: {"coalesce_2": 0},
}
#: the most events one read of a stream returns (our ``runs.events.MAX_EVENTS_PER_READ``)
EVENTS_PER_READ = 500

_POSITION = re.compile(r"\$(\d+)")


def named(statement: Statement) -> str:
    """``statement`` in psycopg's ``%(name)s`` style."""
    return _POSITION.sub(
        lambda match: f"%({statement.names[int(match.group(1)) - 1]})s", statement.sql
    )
