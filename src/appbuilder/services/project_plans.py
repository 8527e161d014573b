"""Planning a project from words through the API: quota first, the model, then the ledger.

No database transaction is held while the model thinks: the project and the quota are
read in a short transaction, and each call goes through the same ledger as a run's
(``call_rows.CallLedger``): checked against the month's token quota and written as a
Generation row of the ORCHESTRATOR, holding its worst case, before it is made; settled
with its model, tokens and cost when it ends, failed ones included.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.agents.planner import PLAN_MAX_OUTPUT_TOKENS
from appbuilder.db.models import Generation, Project, User
from appbuilder.db.types import UTCDateTime, utcnow
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.errors import ModelCallError, NotFoundError, ValidationError
from appbuilder.services import quotas
from appbuilder.services.call_rows import CallLedger, Transaction, interrupted_closing
from appbuilder.services.llm_settings import choice_for
from appbuilder.services.planning import PlanResult, plan
from appbuilder.settings import LLMSettings
from appbuilder.spec.model import AppSpec

#: tokens reserved per call for the answer besides what is sent: the most it may take
ANSWER_RESERVE = PLAN_MAX_OUTPUT_TOKENS
#: a rough count of tokens in text sent (about four characters each, rounded up)
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class ProjectPlan:
    result: PlanResult
    generation_ids: list[str]


def plan_project(  # noqa: PLR0917 - who, what, with which model: all needed, all distinct
    session: Session,
    sessions: sessionmaker[Session],
    user_id: str,
    project_id: str,
    words: str | None,
    settings: LLMSettings,
    *,
    model: str | None = None,
    idle: AbstractContextManager[object] | None = None,
    tx: Transaction | None = None,
) -> ProjectPlan:
    """Plan ``project_id`` (owned by ``user_id``) from ``words``, or from its description.

    A project that already has a spec (``config.spec``) is changed as the words ask (a
    change request) rather than planned anew. The spec is returned, not stored: the person
    accepts it by sending it with ``POST /generate``. The model is ``model``, else the
    project's own (``llm_model``), else the provider's default.

    ``session`` is the caller's (the request's); its transaction ends here once the
    project and the quota are read, because the model may think for minutes and no lock
    (a credential's last-used time, on SQLite the database) may be held meanwhile. Later
    reads and the ledger use short transactions of ``sessions`` (or ``tx``). ``idle`` is
    entered for that wait: the web gives back its request's database place meanwhile, and
    its ``tx`` takes the place again around each of the ledger's transactions."""
    project, owner = _project_and_owner(session, project_id, user_id)
    text = (words or project.description or "").strip()
    if not text:
        raise ValidationError(
            "prompt",
            "required",
            "Describe the app: send a prompt, or give the project a description.",
        )
    template, stored = project.template, project.config.get("spec")
    model = model or project.project_model  # the request's pick, else the project's own
    quotas.ensure_tokens_available(session, owner, _estimate(text))
    choice = choice_for(owner, settings)  # the user's own model, else the platform's
    session.commit()
    current = AppSpec.model_validate(stored) if isinstance(stored, dict) else None
    assert not session.in_transaction()  # noqa: S101 - idle and tx rely on it
    calls = CallLedger(
        tx or sessions.begin,
        agent=AgentType.ORCHESTRATOR,
        user_id=user_id,
        project_id=project_id,
        # in the first call's reservation, which writes anyway: no write transaction here
        tidy=lambda written: close_abandoned_plan_calls(written, user_id, settings),
    )
    try:
        with idle or nullcontext():
            result = plan(
                text,
                settings,
                template=template,
                current=current,
                model=model,
                choice=choice,
                observer=calls,
            )
    except ModelCallError as error:
        _record_failure(sessions, user_id, project_id, error.message)
        raise
    return ProjectPlan(result, calls.rows)


# what a plan reads before the model: built once, as the ledger's statements
_PROJECT_AND_OWNER = (
    select(
        Project.description,
        Project.template,
        Project.config,
        Project.llm_model.label("project_model"),
        User.id,
        User.subscription_tier,
        User.subscription_status,
        User.subscription_grace_ends_at,
        User.llm_provider,
        User.llm_model,
        User.llm_base_url,
        User.llm_api_key,
    )
    .join_from(Project, User, Project.user_id == User.id)
    .where(Project.id == bindparam("project"), Project.user_id == bindparam("owner"))
)


@dataclass(frozen=True, slots=True)
class _Owner(quotas.SubscriberRow):
    """The owner's columns a plan needs: the limits in force, and their own model."""

    llm_provider: str | None
    llm_model: str | None
    llm_base_url: str | None
    llm_api_key: str | None


def _project_and_owner(session: Session, project_id: str, user_id: str) -> tuple[Row[Any], _Owner]:
    """``get_project`` and the owner's row in one statement of only the columns needed (the
    two entities, built and keyed anew for every plan, cost ~1 ms of CPU here)."""
    session.flush()  # what the caller changed is read too (a no-op when nothing is)
    values = {"project": project_id, "owner": user_id}
    row = session.connection().execute(_PROJECT_AND_OWNER, values).first()
    if row is None:
        raise NotFoundError("Project", project_id)
    return row, _Owner(*row[4:])


#: past a call's longest possible life (every try timing out), a little more for backoff
ABANDONED_MARGIN = timedelta(minutes=5)


# before each plan's first call: built once, as the ledger's own statements
_CLOSE_ABANDONED = interrupted_closing(
    Generation.user_id == bindparam("owner"),
    Generation.run_id.is_(None),
    Generation.created_at < bindparam("cutoff", type_=UTCDateTime()),
)


def close_abandoned_plan_calls(session: Session, user_id: str, settings: LLMSettings) -> int:
    """Close the owner's plan calls still RUNNING past any call's longest life: the server
    that sent them died mid-call (a run's calls are closed by the run's resume instead).
    Their reservation stays counted, as for a run's interrupted call."""
    longest = timedelta(seconds=settings.timeout_seconds * (settings.max_retries + 1))
    now = utcnow()
    values = {"owner": user_id, "cutoff": now - longest - ABANDONED_MARGIN, "now": now}
    closed = session.connection().execute(_CLOSE_ABANDONED, values)
    return int(closed.rowcount or 0)


def _estimate(text: str) -> int:
    return len(text) // CHARS_PER_TOKEN + 1 + ANSWER_RESERVE


def _record_failure(
    sessions: sessionmaker[Session], user_id: str, project_id: str, failure: str
) -> None:
    """A plan that failed: a row saying why beside its calls' rows (it holds no tokens)."""
    with sessions.begin() as session:
        session.add(
            Generation(
                project_id=project_id,
                user_id=user_id,
                agent_type=AgentType.ORCHESTRATOR,
                prompt="plan from words",
                response="",
                status=GenerationStatus.FAILED,
                tokens_used=0,
                error_message=failure,
                completed_at=utcnow(),
            )
        )
