"""Local deployments: time from "deploy" to healthy for the BLOG app (warm environment
cache: the app's lock file was installed before), and failed requests while a load loop
hits the app during redeploys.

Run from the repository root (SQLite for the platform, in a temporary folder):

    .venv/bin/python bench/deploy_bench.py [rounds]

Each round: a cold-start deploy of a stopped app (new process, migrations checked,
health-checked), then a redeploy of a changed spec (a new column: a schema migration) while
one client GETs /api/authors in a loop, each request on a new connection. The figures are
the median deploy-to-healthy time and the failed/total requests over all redeploys.
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import URL, create_engine
from tests.deploying import LoadLoop, completed_run
from tests.factories import make_project, make_user

from appbuilder.db import migrate
from appbuilder.db.session import make_session_factory
from appbuilder.enums import ProjectTemplate, SubscriptionTier
from appbuilder.services import deployments


def main(rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="deploy-bench-"))
    engine = create_engine(URL.create("sqlite", database=str(root / "platform.db")))
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    ctx = deployments.DeployContext(sessions, root / "projects", root / "deployments")
    with sessions.begin() as session:
        user = make_user(session, subscription_tier=SubscriptionTier.ENTERPRISE)
        project = make_project(session, user, template=ProjectTemplate.BLOG, name="Bench blog")
        user_id, project_id = user.id, project.id
    completed_run(sessions, ctx.projects_dir, user_id, project_id)
    warm = deployments.deploy_now(ctx, user_id, project_id, "local")  # installs if needed
    assert warm.status.value == "SUCCEEDED", warm.log
    cold, redeploy, failed, total = [], [], 0, 0
    for number in range(rounds):
        with sessions.begin() as session:
            (live,) = deployments.live_of_project(session, project_id)
            deployments.stop(session, live.id, owner_id=None)
        began = time.perf_counter()
        started = deployments.deploy_now(ctx, user_id, project_id, "local")
        cold.append(time.perf_counter() - began)
        assert started.status.value == "SUCCEEDED", started.log
        # additive changes (each round adds a column): the old version keeps working on
        # the migrated table until it stops
        fields = [{"name": f"note{n}", "required": False} for n in range(number + 1)]
        spec = {
            "name": "Bench blog",
            "template": "BLOG",
            "entities": [{"name": "Author", "fields": fields}],
        }
        completed_run(sessions, ctx.projects_dir, user_id, project_id, spec)
        with LoadLoop(f"{started.url}api/authors") as load:
            time.sleep(0.5)
            began = time.perf_counter()
            again = deployments.deploy_now(ctx, user_id, project_id, "local")
            redeploy.append(time.perf_counter() - began)
            time.sleep(0.5)
        assert again.status.value == "SUCCEEDED", again.log
        failed += len(load.failures)
        total += load.ok + len(load.failures)
        print(
            f"round {number + 1}: deploy {cold[-1]:.2f} s, redeploy {redeploy[-1]:.2f} s, "
            f"{len(load.failures)} failed of {load.ok + len(load.failures)} {load.failures[:3]}"
        )
    with sessions.begin() as session:
        for live in deployments.live_of_project(session, project_id):
            deployments.stop(session, live.id, owner_id=None)
    print(f"\n{platform.node()} {platform.python_version()} {datetime.now(UTC):%Y-%m-%d}")
    print(f"deploy to healthy (warm cache), median of {rounds}: {statistics.median(cold):.2f} s")
    print(f"redeploy with a migration, median: {statistics.median(redeploy):.2f} s")
    print(f"requests during redeploys: {failed} failed of {total}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
