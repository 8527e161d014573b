"""Starting and cancelling runs, as users (API and command line) ask for them.

Starting a run is one transaction: quotas are checked under the user's lock (for a spec a
model builds, that the month's tokens still hold a model's answer), the run and
its PENDING steps are inserted, the project becomes GENERATING and the job is enqueued; the
queue is told once it commits. A project can't have two active runs: the check here names
the running one, and a partial unique index catches the race two simultaneous requests
would otherwise win together. A spec sent with the request becomes the project's spec
(``config.spec``), so the next plain run builds the same app.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from appbuilder.agents.coder import MAX_OUTPUT_TOKENS
from appbuilder.agents.lineup import needs_model
from appbuilder.agents.orchestrator import make_plan
from appbuilder.db.models import Generation, GenerationRun, Project, User
from appbuilder.enums import AgentType, GenerationStatus, ProjectStatus
from appbuilder.errors import ConflictError, NotFoundError, SpecError
from appbuilder.services.after_commit import after_commit
from appbuilder.services.project_lifecycle import change_status
from appbuilder.services.projects import check_config, get_project
from appbuilder.services.quotas import ensure_can_start_generation, ensure_tokens_available
from appbuilder.services.runs import events
from appbuilder.services.runs.dispatch import Dispatcher
from appbuilder.services.runs.lifecycle import settle_cancelled
from appbuilder.services.runs.queries import active_run, owned_by
from appbuilder.spec.loading import build_spec
from appbuilder.spec.model import AppSpec
from appbuilder.spec.resolved import AppModel
from appbuilder.spec.validation import resolve

ORCHESTRATOR_PROMPT = "Plan the agents, merge their files, verify the app, commit it."


def spec_for(project: Project, override: dict[str, Any] | None) -> AppSpec:
    """The project's spec: its template's preset, the spec saved in its config (or the
    request's), its name, description (else the template's) and features."""
    saved = project.config.get("spec", {}) if isinstance(project.config, dict) else {}
    if override is None and not isinstance(saved, dict):
        problem = ("config.spec", "dict_type", "The project's config.spec must be an object.")
        raise SpecError([problem])
    data = dict(override if override is not None else saved)
    if data.get("template") == project.template.value:
        del data["template"]  # saying the project's own template again is fine
    if project.description:  # else the template's own description stands
        data.setdefault("description", project.description)
    asked = data.get("features", [])
    if not isinstance(asked, list) or not all(isinstance(f, str) for f in asked):
        raise SpecError([("features", "list_type", "features must be a list of feature names.")])
    data["features"] = list(dict.fromkeys([*asked, *project.features]))
    return build_spec(data, template=project.template, name=project.name)


def _keep_spec(project: Project, spec: dict[str, Any]) -> None:
    """The request's spec becomes the project's (``config.spec``), within the config limits."""
    config = dict(project.config) if isinstance(project.config, dict) else {}
    config["spec"] = spec
    check_config(config)
    project.config = config


def _refuse_busy(session: Session, project: Project) -> None:
    running = active_run(session, project.id)
    if running is not None:
        raise ConflictError(
            f"Project {project.id!r} is already generating (run {running.id!r}); "
            "wait for it or cancel it.",
            run_id=running.id,
            run_status=running.status.value,
        )
    if project.status is ProjectStatus.DEPLOYING:
        raise ConflictError(
            f"A {project.status.value} project can't start a generation.",
            status=project.status.value,
        )


def start_run(
    session: Session,
    dispatcher: Dispatcher,
    user: User,
    project_id: str,
    *,
    spec: dict[str, Any] | None = None,
    verify: bool = True,
) -> GenerationRun:
    """Queue a run of the project (in the caller's transaction); the queue hears of it
    once that commits."""
    project = get_project(session, project_id, owner_id=user.id, for_update=True)
    _refuse_busy(session, project)
    chosen = spec_for(project, spec)
    model = resolve(chosen)  # SpecError (422) lists every problem
    ensure_can_start_generation(session, user, project.template)
    if needs_model(chosen):  # 402 now rather than a run failing at its first call
        ensure_tokens_available(session, user, MAX_OUTPUT_TOKENS)
    if spec is not None:
        _keep_spec(project, spec)
    run = _insert_run(session, project, chosen, model, verify=verify)
    _add_steps(session, run, model)
    dispatcher.enqueue(session, run)
    session.flush()
    after_commit(session, dispatcher.notify)
    return run


def _insert_run(
    session: Session, project: Project, spec: AppSpec, model: AppModel, *, verify: bool
) -> GenerationRun:
    """The run row, the project GENERATING; a simultaneous start is a 409."""
    # GENERATING with no active run (data from before runs existed, or demo data): there is
    # no earlier status to give back on cancel, so DRAFT stands in for it
    previous = ProjectStatus.DRAFT if project.status is ProjectStatus.GENERATING else project.status
    change_status(project, ProjectStatus.GENERATING)
    run = GenerationRun(
        project_id=project.id,
        user_id=project.user_id,
        previous_status=previous,
        spec=spec.model_dump(mode="json"),
        spec_hash=model.spec_hash,
        verify=verify,
    )
    session.add(run)
    try:
        session.flush()
    except IntegrityError as error:  # the partial unique index: a simultaneous start won
        raise ConflictError(f"Project {project.id!r} is already generating.") from error
    return run


def _add_steps(session: Session, run: GenerationRun, model: AppModel) -> None:
    """The run's PENDING steps in plan order, and its ``queued`` event."""
    plan = make_plan(model)
    steps = [(a, plan.reasons[a]) for a in plan.agents]
    steps.append((AgentType.ORCHESTRATOR, ORCHESTRATOR_PROMPT))
    session.add_all(
        Generation(
            run_id=run.id,
            project_id=run.project_id,
            user_id=run.user_id,
            agent_type=agent,
            prompt=prompt,
            response="",
            status=GenerationStatus.PENDING,
        )
        for agent, prompt in steps
    )
    events.append(
        session,
        run.id,
        "queued",
        plan=[[a.value for a in stage] for stage in plan.stages],
        spec_hash=model.spec_hash,
        verify=run.verify,
    )


def owner_of_project(session: Session, project_id: str) -> User:
    """For the command line, which acts as the project's owner (it has the database)."""
    project = get_project(session, project_id, owner_id=None)
    return session.get_one(User, project.user_id)


def cancel_run(
    session: Session, dispatcher: Dispatcher, run_id: str, *, owner_id: str | None
) -> GenerationRun:
    """A queued run ends CANCELLED at once; a running one is asked to stop, and its worker
    ends it at the next step boundary (or kills its verification). Cancelling a run that
    already ended is a 409 naming its state."""
    run = session.scalar(
        select(GenerationRun)
        .where(GenerationRun.id == run_id, owned_by(owner_id))
        .with_for_update()
    )
    if run is None:
        raise NotFoundError("Run", run_id)
    if not run.active:
        raise ConflictError(
            f"Run {run.id!r} already ended {run.status.value}.", run_status=run.status.value
        )
    if run.cancel_requested:
        return run
    run.cancel_requested = True
    if run.claim is None or dispatcher.job_ended(session, run):
        # nobody has taken it, or its job will never run again: no worker will end it
        dispatcher.cancel_waiting(session, run)
        settle_cancelled(session, run)
    else:
        events.append(session, run.id, "log", line="Cancel requested; stopping at the next step.")
    session.flush()
    return run
