"""The supervisor: runs requested deployments in the background and watches the apps that
run, for as long as ``uab serve`` runs.

Apps are not its children in any way that matters: each runs in a session of its own, so
it outlives a platform restart. A new supervisor re-adopts them from their rows (pid,
the kernel's start time of that pid, ports); the first check after a restart is the same
as every later one: a row whose process is gone, or whose pid now names another process,
is a crash, recorded as FAILED with the end of the app's log, and its project goes to
ERROR unless another of its versions is serving.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import select

from appbuilder.db.models import Deployment, Project
from appbuilder.db.types import utcnow
from appbuilder.enums import DeploymentStatus, ProjectStatus
from appbuilder.services.deployments import processes, queries
from appbuilder.services.deployments.commands import DeployContext, carry_out
from appbuilder.services.deployments.logs import row_tail
from appbuilder.services.project_lifecycle import change_status

log = logging.getLogger(__name__)
D = DeploymentStatus
#: a deployment still IN_PROGRESS after this was cut short, whoever carries it out
STALE_AFTER = timedelta(minutes=30)
#: the process carrying out a deployment touches its log every few seconds
#: (``commands.heartbeat``); a deployment whose log has not moved for this long (and is
#: older than this) lost its process
QUIET_AFTER = timedelta(seconds=60)


class Supervisor:
    def __init__(self, ctx: DeployContext, interval: float = 2.0) -> None:
        self.ctx = ctx
        self.interval = interval
        #: the running deployments seen alive by the last check
        self.watching: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._work: dict[str, threading.Thread] = {}

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="deploy-supervisor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (the apps go on running: the next supervisor re-adopts them)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def submit(self, deployment_id: str) -> None:
        """Carry out a requested deployment in the background."""
        worker = threading.Thread(
            target=self._carry_out, args=(deployment_id,), name=f"deploy-{deployment_id}"
        )
        self._work = {k: t for k, t in self._work.items() if t.is_alive()}
        self._work[deployment_id] = worker
        worker.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until the deployments submitted so far are done (tests, shutdown)."""
        for worker in list(self._work.values()):
            worker.join(timeout)

    def _carry_out(self, deployment_id: str) -> None:
        try:
            carry_out(self.ctx, deployment_id)
        except Exception:
            log.exception("deployment %s could not be recorded", deployment_id)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # a database hiccup: try again at the next tick
                log.exception("the deployment check failed")
            self._stop.wait(self.interval)

    def check(self) -> list[str]:
        """One pass: re-adopt what runs, record what crashed; returns the crashed ids."""
        with self.ctx.sessions() as session:
            rows = session.execute(
                select(Deployment.id, Deployment.pid, Deployment.process_started).where(
                    Deployment.target == "local", Deployment.status == D.SUCCEEDED
                )
            ).all()
        crashed = [row.id for row in rows if not processes.is_running(row.pid, row.process_started)]
        self.watching = {row.id for row in rows} - set(crashed)
        for deployment_id in crashed:
            self._record_crash(deployment_id)
        self._fail_stale()
        return crashed

    def _gone(self, deployment: Deployment) -> bool:
        """Whether no process carries out this IN_PROGRESS deployment any more: its log
        has not moved for ``QUIET_AFTER`` (none beats for it), or it is older than
        ``STALE_AFTER`` whatever its log does."""
        now = utcnow()
        if deployment.created_at < now - STALE_AFTER:
            return True
        if deployment.id in self._work and self._work[deployment.id].is_alive():
            return False
        if deployment.created_at > now - QUIET_AFTER:
            return False  # requested a moment ago: its process may not have started it yet
        try:
            moved = self.ctx.log_path(deployment).stat().st_mtime
        except OSError:
            return True
        return moved < (now - QUIET_AFTER).timestamp()

    def _record_crash(self, deployment_id: str) -> None:
        with self.ctx.sessions.begin() as session:
            deployment = session.get_one(Deployment, deployment_id, with_for_update=True)
            if deployment.status is not D.SUCCEEDED:
                return  # stopped or superseded meanwhile: not a crash
            if processes.is_running(deployment.pid, deployment.process_started):
                return
            deployment.status = D.FAILED
            deployment.finished_at = utcnow()
            tail = row_tail(self.ctx.log_path(deployment))
            deployment.log = (
                f"{tail}[supervisor] The app's process (pid {deployment.pid}) exited.\n"
            )
            project = session.get_one(Project, deployment.project_id, with_for_update=True)
            others = [
                d for d in queries.live_of_project(session, project.id) if d.id != deployment.id
            ]
            if project.status is ProjectStatus.DEPLOYED and not others:
                change_status(project, ProjectStatus.ERROR)
            log.warning("deployment %s crashed", deployment_id)

    def _fail_stale(self) -> None:
        cutoff = utcnow() - QUIET_AFTER
        with self.ctx.sessions.begin() as session:
            waiting = session.scalars(
                select(Deployment).where(
                    Deployment.status == D.IN_PROGRESS, Deployment.created_at < cutoff
                )
            ).all()
            for deployment in (d for d in waiting if self._gone(d)):
                deployment.status = D.FAILED
                deployment.finished_at = utcnow()
                deployment.log += "[supervisor] Cut short: the deploying process went away.\n"
                project = session.get_one(Project, deployment.project_id)
                if project.status is ProjectStatus.DEPLOYING:
                    live = queries.live_of_project(session, project.id)
                    change_status(project, ProjectStatus.DEPLOYED if live else ProjectStatus.ERROR)
