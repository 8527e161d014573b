"""The SQL our API sends for its hot read routes, verbatim, so the reference servers
(bench/bare_app.py, bench/async_floor.py) run exactly what ours runs and nothing easier.

Captured again on 2026-11-29 (22:00 UTC) from the steps the routes run (``db.reads``), on
PostgreSQL, where they run on the async driver;
``tests/integration/api/test_hot_sql.py`` fails when ours sends anything else, and
``tests/integration/api/test_statement_counts.py`` asserts the counts:

- every route: the credential look-up (session token hash -> the session's columns and
  the user's columns but its password hash and encrypted model key), plus the
  ``last_used_at`` UPDATE at most once a minute per session;
- ``GET /api/me``: nothing more;
- ``GET /api/projects?limit=20``: one page of projects (limit + 1 rows);
- ``GET /api/projects/{id}``: the project with its owner's email and name, the latest run
  (the columns the page shows), one page of generations (limit + 1 rows);
- ``GET /api/usage``: five counts and sums (projects; this month's charged runs and runs at
  once; this month's tokens; apps live here; this month's model costs). Their constants
  (statuses, the deploy target, a sum's zero) are parameters too: ``USAGE_CONSTANTS``.

Statements are written in psycopg's ``%(name)s`` style, as SQLAlchemy sent them;
``numbered`` rewrites one into asyncpg's ``$1`` style with its parameter names in order.
"""

from __future__ import annotations

import re
from datetime import timedelta

#: our ``services.auth.TOUCH_INTERVAL``: a session's last use is written at most this often
TOUCH_INTERVAL = timedelta(minutes=1)

SESSION_LOOKUP = (
    "SELECT users.id, users.email, users.name, users.avatar, users.role, "
    "users.subscription_tier, users.subscription_status, users.stripe_customer_id, "
    "users.created_at, users.updated_at, users.last_login_at, users.llm_provider, "
    "users.llm_model, users.llm_base_url, users.stripe_subscription_id, "
    "users.subscription_period_end, users.subscription_grace_ends_at, "
    "users.billing_updated_at, users.tier_granted_by_id, users.tier_granted_at, "
    "auth_sessions.id AS credential_id, auth_sessions.expires_at AS credential_expires_at, "
    "auth_sessions.revoked_at AS credential_revoked_at, "
    "auth_sessions.last_used_at AS credential_last_used_at \n"
    "FROM auth_sessions JOIN users ON auth_sessions.user_id = users.id \n"
    "WHERE auth_sessions.token_hash = %(token_hash)s::VARCHAR"
)
#: skipped when another transaction holds the row (SKIP LOCKED), never waited for
TOUCH_SESSION = (
    "UPDATE auth_sessions SET last_used_at=%(now)s::TIMESTAMP WITH TIME ZONE "
    "WHERE auth_sessions.id = (SELECT auth_sessions.id \n"
    "FROM auth_sessions \n"
    "WHERE auth_sessions.id = %(row_id)s::VARCHAR FOR UPDATE SKIP LOCKED)"
)
#: the columns the project list and detail show (``services.projects.PROJECT_VIEW``)
_PROJECT_COLUMNS = (
    "projects.id, projects.name, projects.description, projects.template, projects.status, "
    "projects.config, projects.features, projects.repository_url, projects.repository_error, "
    "projects.deployment_url, projects.llm_model, projects.user_id, projects.created_at, "
    "projects.updated_at, projects.deployed_at"
)
PROJECT_PAGE = (
    f"SELECT {_PROJECT_COLUMNS} \n"
    "FROM projects \n"
    "WHERE projects.user_id = %(user_id)s::VARCHAR "
    "ORDER BY projects.created_at DESC, projects.id DESC \n"
    " LIMIT %(page_limit)s::INTEGER"
)
PROJECT_WITH_OWNER = (
    f"SELECT {_PROJECT_COLUMNS}, users.email, users.name AS owner_name \n"
    "FROM projects JOIN users ON projects.user_id = users.id \n"
    "WHERE projects.id = %(project_id)s::VARCHAR AND projects.user_id = %(owner_id)s::VARCHAR"
)
LATEST_RUN = (
    "SELECT generation_runs.id, generation_runs.project_id, generation_runs.user_id, "
    "generation_runs.status, generation_runs.previous_status, generation_runs.spec_hash, "
    "generation_runs.verify, generation_runs.cancel_requested, generation_runs.attempts, "
    "generation_runs.error_message, generation_runs.platform_failure, "
    "generation_runs.tree_hash, generation_runs.commit_sha, generation_runs.files_count, "
    "generation_runs.rollback_of, generation_runs.created_at, generation_runs.started_at, "
    "generation_runs.finished_at \n"
    "FROM generation_runs \n"
    "WHERE generation_runs.project_id = %(project_id)s::VARCHAR "
    "ORDER BY generation_runs.created_at DESC, generation_runs.id DESC \n"
    " LIMIT %(param_1)s::INTEGER"
)
GENERATION_PAGE = (
    "SELECT generations.id, generations.project_id, generations.user_id, "
    "generations.agent_type, generations.prompt, generations.response, generations.status, "
    "generations.tokens_used, generations.duration_ms, generations.error_message, "
    "generations.created_at, generations.completed_at, generations.run_id, generations.model, "
    "generations.input_tokens, generations.output_tokens, generations.cost_usd \n"
    "FROM generations \n"
    "WHERE generations.project_id = %(project_id)s::VARCHAR "
    "ORDER BY generations.created_at DESC, generations.id DESC \n"
    " LIMIT %(page_limit)s::INTEGER"
)
USAGE_PROJECTS = (
    "SELECT count(*) AS count_1 \nFROM projects \nWHERE projects.user_id = %(user_id)s::VARCHAR"
)
USAGE_RUNS = (
    "SELECT count(*) FILTER (WHERE generation_runs.created_at >= "
    "%(since)s::TIMESTAMP WITH TIME ZONE AND generation_runs.status != %(status_1)s AND "
    "generation_runs.platform_failure IS false AND generation_runs.rollback_of IS NULL) "
    "AS anon_1, count(*) FILTER (WHERE generation_runs.status = %(status_2)s OR "
    "generation_runs.status = %(status_3)s) AS anon_2 \n"
    "FROM generation_runs \n"
    "WHERE generation_runs.user_id = %(user_id)s::VARCHAR"
)
USAGE_TOKENS = (
    "SELECT coalesce(sum(generations.tokens_used), %(coalesce_2)s::INTEGER) AS coalesce_1 \n"
    "FROM generations \n"
    "WHERE generations.user_id = %(user_id)s::VARCHAR AND "
    "generations.created_at >= %(since)s::TIMESTAMP WITH TIME ZONE"
)
USAGE_LIVE_APPS = (
    "SELECT count(distinct(deployments.project_id)) AS count_1 \n"
    "FROM deployments JOIN projects ON deployments.project_id = projects.id \n"
    "WHERE projects.user_id = %(user_id)s::VARCHAR AND deployments.target = "
    "%(target_1)s::VARCHAR AND (deployments.status = %(status_1)s OR "
    "deployments.status = %(status_2)s)"
)
USAGE_COSTS = (
    "SELECT coalesce(sum(generations.cost_usd), %(coalesce_2)s::INTEGER) AS coalesce_1, "
    "count(*) FILTER (WHERE generations.model IS NOT NULL AND generations.cost_usd IS NULL) "
    "AS anon_1 \n"
    "FROM generations \n"
    "WHERE generations.user_id = %(user_id)s::VARCHAR AND "
    "generations.created_at >= %(since)s::TIMESTAMP WITH TIME ZONE"
)
#: the values the usage statements bind themselves, by statement (the two statuses of an
#: OR in either order: ours come from a set)
USAGE_CONSTANTS: dict[str, dict[str, object]] = {
    USAGE_RUNS: {"status_1": "CANCELLED", "status_2": "QUEUED", "status_3": "RUNNING"},
    USAGE_TOKENS: {"coalesce_2": 0},
    USAGE_LIVE_APPS: {"target_1": "local", "status_1": "IN_PROGRESS", "status_2": "SUCCEEDED"},
    USAGE_COSTS: {"coalesce_2": 0},
}

_PARAMETER = re.compile(r"%\((\w+)\)s")


def numbered(statement: str) -> tuple[str, tuple[str, ...]]:
    """asyncpg takes ``$1``-style parameters in order: the same statement, and the names
    each position stands for."""
    names: list[str] = []

    def position(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return _PARAMETER.sub(position, statement), tuple(names)
