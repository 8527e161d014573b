"""One run, start to end: the single code path behind both queues.

``execute_run`` claims the run (a fresh token; every later write checks it, so an execution
that lost the run to a retry can't overwrite it), replays the steps an earlier attempt
finished, runs the rest, commits the tree to the project's history and settles the run,
its Generation rows and the project in one transaction. Calling it again for a finished
run does nothing, so a job delivered twice is harmless.

A model-backed agent is given the run's call observer (``ledger.RunCalls``: a row per call,
the run's budget and the owner's quota checked before each) and the journal's cancel
event, so a cancel abandons a call in flight. Failures of the app (a step failing,
verification failing, a budget or quota spent) end the run FAILED and the project ERROR;
a failing app's message says why repair stopped and ends with the last failure.

Failures of the platform (the database going away) propagate, so the queue retries the
run with backoff; the retry resumes where this one stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from appbuilder.agents.lineup import agents_for
from appbuilder.agents.orchestrator import Event, GenerationResult, Orchestrator
from appbuilder.agents.repairs import trimmed
from appbuilder.db.models import GenerationRun, Project, User
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, RunStatus
from appbuilder.errors import (
    AppBuilderError,
    GenerationError,
    ModelNotConfiguredError,
    RunCancelled,
)
from appbuilder.services.quotas import run_token_budget
from appbuilder.services.repository import Places, push_after_run
from appbuilder.services.runs.claims import claim_run
from appbuilder.services.runs.journal import (
    DbJournal,
    LeaseLost,
    Released,
    RunContext,
    settle_cancelled_by,
    settle_completed,
    settle_failed,
    settle_released,
)
from appbuilder.services.runs.ledger import RunCalls
from appbuilder.spec.model import AppSpec
from appbuilder.spec.validation import resolve

log = logging.getLogger(__name__)
#: how much of the last failure a FAILED run's message carries
FAILURE_IN_MESSAGE = 1_500


def execute_run(ctx: RunContext, run_id: str) -> RunStatus | None:
    """Run (or resume) a run to its end; None when another execution holds it."""
    claim = claim_run(ctx.sessions, run_id)
    if claim is None:
        return None
    journal = DbJournal(ctx, run_id, claim)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(ctx, journal, stop), name=f"run-{run_id}-heartbeat", daemon=True
    )
    beat.start()
    try:
        return _execute(ctx, run_id, journal)
    except LeaseLost:
        log.warning("run %s: another execution took it over; this one stops", run_id)
        return None
    finally:
        stop.set()
        beat.join()


def _heartbeat(ctx: RunContext, journal: DbJournal, stop: threading.Event) -> None:
    """Keeps the lease fresh while a long step (verification) runs, and turns a cancel
    request into the event that kills the verification's processes."""
    while not stop.wait(ctx.heartbeat_seconds):
        if ctx.stopping.is_set():
            journal.cancel.set()  # stops the verification; checkpoint then releases the run
        try:
            with ctx.sessions.begin() as session:
                journal.renew(session)
        except LeaseLost:
            return
        except DBAPIError:
            log.warning("run %s: heartbeat failed; retrying", journal.run_id, exc_info=True)


def _execute(ctx: RunContext, run_id: str, journal: DbJournal) -> RunStatus:
    with ctx.sessions() as session:
        run = session.get_one(GenerationRun, run_id)
        spec = AppSpec.model_validate(run.spec)
        verify, project_id = run.verify, run.project_id
        project = session.get_one(Project, project_id)
        project_name, model = project.name, project.llm_model
        budget = run_token_budget(session.get_one(User, run.user_id), _budget_setting(ctx))
    if journal.done:
        journal.log("Resuming: " + ", ".join(sorted(a.value for a in journal.done)) + " done.")
    outcome = _generate(ctx, journal, spec, verify, budget=budget, model=model)
    if isinstance(outcome, RunStatus):
        return outcome
    if outcome.verification is not None and not outcome.verification.passed:
        return settle_failed(journal, _failure_message(outcome), result=outcome)
    return _keep(ctx, journal, outcome, project_id, project_name)


def _budget_setting(ctx: RunContext) -> int | None:
    return ctx.llm.run_token_budget if ctx.llm is not None else None


def _failure_message(outcome: GenerationResult) -> str:
    """Why the run failed: the checks' summary, why repair stopped, the last failure."""
    assert outcome.verification is not None  # noqa: S101 - only verified results fail so
    message = f"Verification failed: {outcome.verification.summary()}"
    reason = _last_line(outcome.verification.failing_output)
    if reason:
        message += f" ({reason})"
    if outcome.repair_stopped:
        message += f". Repair stopped: {outcome.repair_stopped}."
        failure = trimmed(outcome.verification.failing_output)[-FAILURE_IN_MESSAGE:]
        message += f"\n\nLast failure:\n{failure}"
    return message


def _keep(
    ctx: RunContext, journal: DbJournal, outcome: GenerationResult, project_id: str, name: str
) -> RunStatus:
    """Commit the tree to the project's history (the store's, when there is one), push it
    to the project's remote, and settle the run COMPLETED. A refused push is said in the
    run's log and on the project; the run's files stand."""
    where = Places(ctx.projects_dir, ctx.project_store, ctx.remotes)
    with journal.tx():  # still ours: an execution that lost the run must not commit for it
        pass
    try:
        history = where.history(project_id)
        sha = history.commit(
            outcome.files,
            _commit_message(journal.run_id, name, outcome),
            when=utcnow(),
            marker=f"Run: {journal.run_id}",
            # only a run that got this far before can have committed already (on this
            # machine or, through the store, on another)
            retry=bool(journal.done),
        )
        where.publish(history, project_id)
    except AppBuilderError as error:  # git missing or failing: ours, said on the run
        return settle_failed(journal, f"Could not keep the files: {error.message}", ours=True)
    journal.log(f"Committed {sha[:12]} ({len(outcome.files)} files).")
    pushed = push_after_run(ctx.sessions, where, project_id)
    if pushed is not None:
        journal.log(pushed)
    return settle_completed(journal, outcome, sha, history.path)


def _generate(
    ctx: RunContext,
    journal: DbJournal,
    spec: AppSpec,
    verify: bool,
    *,
    budget: int | None,
    model: str | None,
) -> GenerationResult | RunStatus:
    """The orchestrator's result, or the run's end when it stopped early; ``model`` is the
    project's own pick, if any."""

    def observer(agent: AgentType) -> RunCalls:
        return RunCalls(journal, agent, budget)

    try:
        agents = ctx.agents or agents_for(
            spec, ctx.llm, model=model, observer=observer, cancel=journal.cancel
        )
    except ModelNotConfiguredError as error:  # the spec asks for a model this platform lacks
        return settle_failed(journal, error.message)
    orchestrator = Orchestrator(
        agents, on_event=_narrator(journal), verify_database_url=ctx.verify_database_url
    )
    try:
        return orchestrator.generate(
            spec,
            resolve(spec),
            verify=verify,
            timeout=ctx.verify_timeout,
            journal=journal,
        )
    except Released:
        return settle_released(journal)
    except RunCancelled:
        # a stopping process kills its verification the way a cancel does: tell them apart
        return settle_released(journal) if ctx.stopping.is_set() else settle_cancelled_by(journal)
    except GenerationError as error:
        return settle_failed(journal, error.message)
    except (LeaseLost, DBAPIError):
        raise
    except AppBuilderError as error:
        return settle_failed(journal, error.message)


def _last_line(text: str, limit: int = 300) -> str:
    """The last non-empty line of a check's output: "[tests timed out after 10 s]", or
    pytest's summary."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


def _commit_message(run_id: str, project_name: str, result: GenerationResult) -> str:
    verified = result.verification.summary() if result.verification is not None else "not verified"
    return (
        f"Generate {project_name}\n\n"
        f"Run: {run_id}\n"
        f"Spec: {result.model.spec_hash}\n"
        f"Tree: {result.tree_hash}\n"
        f"Verification: {verified}\n"
    )


def _narrator(journal: DbJournal) -> Callable[[Event], None]:
    def narrate(event: Event) -> None:
        if event.kind == "planned":
            journal.log(f"Plan: {event.detail}")
        elif event.kind == "verifying":
            journal.log("Verifying: compile, lint, format, the app's own tests...")
        elif event.kind == "verified":
            journal.log(f"Verification {event.detail}")
        elif event.kind == "repair_stopped":
            journal.log(f"Repair stopped: {event.detail}.")

    return narrate
