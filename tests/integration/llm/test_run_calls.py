"""Model calls inside generation runs, executed the way a worker executes them (on SQLite
and PostgreSQL) against a scripted model server on loopback: a Generation row per call,
the run's token budget and the month's quota checked before every call, a call in flight
abandoned on cancel, provider errors ending the run with a sentence, why repair stopped."""

from __future__ import annotations

import dataclasses
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from appbuilder.db.models import Generation, GenerationRun, User
from appbuilder.db.session import make_session_factory
from appbuilder.enums import (
    AgentType,
    GenerationStatus,
    ProjectTemplate,
    RunStatus,
    SubscriptionTier,
)
from appbuilder.errors import QuotaExceededError
from appbuilder.jobs import setup
from appbuilder.jobs.runner import EmbeddedDispatcher
from appbuilder.llm.client import CallRecord, Reservation
from appbuilder.services import quotas, runs
from appbuilder.services.call_rows import INTERRUPTED, close_interrupted
from appbuilder.services.runs.claims import claim_run
from appbuilder.services.runs.execution import execute_run
from appbuilder.services.runs.journal import DbJournal, LeaseLost, RunContext
from appbuilder.services.runs.ledger import LOST, RunCalls
from appbuilder.settings import LLMSettings, get_settings
from tests.factories import make_project, make_user
from tests.fake_llm import Answer, FakeLLM, error, tool
from tests.integration.llm.conftest import settings_for
from tests.integration.llm.test_coder import MODULE, SPEC, code

FREE_MONTH = 100_000  # the FREE tier's tokens per month


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


def queue(sessions: sessionmaker[Session], *, verify: bool = False, tier: str = "PRO") -> str:
    with sessions.begin() as session:
        user = make_user(session, subscription_tier=tier)
        project = make_project(session, user, template=ProjectTemplate.CUSTOM, name="Todo")
        run = runs.start_run(
            session, EmbeddedDispatcher(), user, project.id, spec=SPEC, verify=verify
        )
        return run.id


def context(sessions: sessionmaker[Session], llm: LLMSettings) -> RunContext:
    base = setup.run_context(get_settings(), sessions)
    return dataclasses.replace(base, heartbeat_seconds=0.2, llm=llm, verify_timeout=300)


def rows(sessions: sessionmaker[Session], run_id: str) -> tuple[list[Generation], list[Generation]]:
    """The run's step rows and call rows."""
    with sessions() as session:
        found = runs.get_run_detail(session, run_id, owner_id=None)
        return found.steps, found.calls


def run_row(sessions: sessionmaker[Session], run_id: str) -> GenerationRun:
    with sessions() as session:
        return session.get_one(GenerationRun, run_id)


def spend(sessions: sessionmaker[Session], run_id: str, tokens: int) -> None:
    """The run's owner has used ``tokens`` this month (a plan's call, say)."""
    with sessions.begin() as session:
        run = session.get_one(GenerationRun, run_id)
        session.execute(
            insert(Generation).values(
                id="g" * 25,
                project_id=run.project_id,
                user_id=run.user_id,
                agent_type=AgentType.ORCHESTRATOR,
                model="gpt-4o-mini",
                prompt="",
                response="",
                tokens_used=tokens,
            )
        )


def test_each_model_call_is_a_generation_row_and_the_run_has_a_ledger(
    llm: FakeLLM, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    prices = tmp_path / "prices.yaml"
    prices.write_text("my-local-llama: {input: 0.25, output: 1}\n", encoding="utf-8")
    refused = code(module="import os\n" + MODULE)
    llm.answer(tool(refused, input_tokens=3000, output_tokens=700), tool(code(), output_tokens=800))
    run_id = queue(sessions)
    priced = settings_for(llm, model="my-local-llama", prices=prices)
    assert execute_run(context(sessions, priced), run_id) is RunStatus.COMPLETED
    steps, calls = rows(sessions, run_id)
    assert [(c.agent_type, c.status) for c in calls] == [
        (AgentType.BACKEND, GenerationStatus.COMPLETED)
    ] * 2
    first, second = calls
    assert (first.model, first.input_tokens, first.output_tokens) == ("my-local-llama", 3000, 700)
    assert first.tokens_used == 3700
    assert "sets status to done; owner only" in first.prompt
    assert "imports os" in second.prompt  # the refusal went back: the second call's words
    assert "task_actions.py" in second.response
    # USD per million tokens: 3000 * 0.25 + 700 * 1
    assert first.cost_usd == Decimal("0.00145")
    assert all(c.duration_ms is not None for c in calls)
    # the step row holds what the step made (replayed on resume), its calls the tokens
    backend = next(s for s in steps if s.agent_type is AgentType.BACKEND)
    assert backend.tokens_used == 0
    assert "app/custom/task_actions.py" in backend.response
    with sessions() as session:
        (line,) = runs.get_run_detail(session, run_id, owner_id=None).ledger
        usage = quotas.usage(session, session.get_one(User, first.user_id))
    assert (line.agent, line.calls, line.tokens) == (AgentType.BACKEND, 2, 3700 + 120 + 800)
    assert line.cost_usd == first.cost_usd + (second.cost_usd or Decimal(0))
    month = next(u for u in usage.lines if u.limit == "tokens_per_month")
    assert month.used == line.tokens  # each token counted once


def test_out_of_monthly_tokens_the_run_asks_no_model_and_fails_saying_so(
    llm: FakeLLM, sessions: sessionmaker[Session]
) -> None:
    llm.answer(tool(code()))
    run_id = queue(sessions, tier="FREE")
    spend(sessions, run_id, FREE_MONTH - 5_000)  # spent after the run was queued
    assert execute_run(context(sessions, settings_for(llm)), run_id) is RunStatus.FAILED
    assert llm.requests == []
    message = run_row(sessions, run_id).error_message or ""
    assert "The BACKEND agent failed: Your FREE plan allows 100000 tokens per month" in message
    assert "Upgrade to STARTER" in message
    assert rows(sessions, run_id)[1] == []  # no call, no row


def test_starting_a_model_run_without_tokens_left_is_refused(
    sessions: sessionmaker[Session],
) -> None:
    run_id = queue(sessions, tier="FREE")
    spend(sessions, run_id, FREE_MONTH - 5_000)
    runs_project = run_row(sessions, run_id).project_id
    with sessions.begin() as session:
        run = session.get_one(GenerationRun, run_id)
        runs.cancel_run(session, EmbeddedDispatcher(), run_id, owner_id=None)
        user = session.get_one(User, run.user_id)
        with pytest.raises(QuotaExceededError, match="tokens per month") as refused:
            runs.start_run(session, EmbeddedDispatcher(), user, runs_project, spec=SPEC)
    assert refused.value.details["limit"] == "tokens_per_month"


def test_the_run_stops_at_its_token_budget_before_the_call_that_could_pass_it(
    llm: FakeLLM, sessions: sessionmaker[Session]
) -> None:
    refused = code(module="import os\n" + MODULE)
    llm.answer(tool(refused, input_tokens=38_000, output_tokens=5_000), tool(code()))
    run_id = queue(sessions)
    budget = dataclasses.replace(settings_for(llm), run_token_budget=50_000)
    assert execute_run(context(sessions, budget), run_id) is RunStatus.FAILED
    assert len(llm.requests) == 1  # the second call was never sent
    message = run_row(sessions, run_id).error_message or ""
    assert "token budget of 50000 spent: 43000 used" in message
    assert [c.tokens_used for c in rows(sessions, run_id)[1]] == [43_000]


def test_a_failure_the_model_cannot_repair_within_the_budget_ends_the_run_saying_why(
    llm: FakeLLM, sessions: sessionmaker[Session]
) -> None:
    undefined = code(module=MODULE + "\n\ndef _later() -> object:\n    return missing_name\n")
    llm.answer(tool(undefined, input_tokens=40_000), tool(code()))
    run_id = queue(sessions, verify=True)
    budget = dataclasses.replace(settings_for(llm), run_token_budget=50_000)
    assert execute_run(context(sessions, budget), run_id) is RunStatus.FAILED
    assert len(llm.requests) == 1
    message = run_row(sessions, run_id).error_message or ""
    assert message.startswith("Verification failed: ")
    assert "failing: lint" in message
    assert "Repair stopped: The run's token budget of 50000 spent" in message
    assert "Last failure:" in message
    assert "app/custom/task_actions.py" in message
    assert "F821" in message
    with sessions() as session:
        lines = [e.data.get("line", "") for e in runs.poll_events(session, run_id, 0)[0]]
    assert any(line.startswith("Repair stopped: The run's token budget") for line in lines)


def test_cancel_abandons_a_call_in_flight(llm: FakeLLM, sessions: sessionmaker[Session]) -> None:
    llm.answer(Answer(tool_args=code(), delay=60))  # the model thinks for a minute
    run_id = queue(sessions)
    slow = dataclasses.replace(settings_for(llm), timeout_seconds=120)
    ended: list[RunStatus | None] = []
    worker = threading.Thread(
        target=lambda: ended.append(execute_run(context(sessions, slow), run_id))
    )
    worker.start()
    deadline = time.monotonic() + 30
    while not llm.requests:
        assert time.monotonic() < deadline, "the model was never asked"
        time.sleep(0.05)
    with sessions.begin() as session:
        runs.cancel_run(session, EmbeddedDispatcher(), run_id, owner_id=None)
    worker.join(30)  # far less than the model's minute or its 120 s timeout
    assert not worker.is_alive(), "the cancelled run went on waiting for the model"
    assert ended == [RunStatus.CANCELLED]
    steps, calls = rows(sessions, run_id)
    assert [(c.status, c.error_message) for c in calls] == [
        (GenerationStatus.CANCELLED, "cancelled while the model was answering")
    ]
    backend = next(s for s in steps if s.agent_type is AgentType.BACKEND)
    assert backend.status is GenerationStatus.CANCELLED


@pytest.mark.parametrize(
    ("script", "asked", "call_status", "words"),
    [
        # rate limited once: the client waits as told and asks again; one call, answered
        ([error(429, **{"Retry-After": "0"}), tool(code())], 2, ["COMPLETED"], None),
        # the server keeps failing: bounded retries, then a sentence
        ([error(500), error(500)], 2, ["FAILED"], "answered with an error"),
        # answers that are not the asked shape count as failed tries
        ([Answer(raw="this is not json")], 1, ["FAILED"], "could not be read"),
        ([tool({"nonsense": 1})] * 3, 3, ["COMPLETED"] * 3, "kept answering in a shape"),
    ],
    ids=["429", "500", "garbage", "off-schema"],
)
def test_provider_errors_inside_a_run_end_with_a_sentence(  # noqa: PLR0917 - the cases
    llm: FakeLLM,
    sessions: sessionmaker[Session],
    script: list[Answer],
    asked: int,
    call_status: list[str],
    words: str | None,
) -> None:
    llm.answer(*script)
    run_id = queue(sessions)
    status = execute_run(context(sessions, settings_for(llm, retries=1)), run_id)
    assert len(llm.requests) == asked  # bounded
    assert [c.status.value for c in rows(sessions, run_id)[1]] == call_status
    run = run_row(sessions, run_id)
    if words is None:
        assert status is RunStatus.COMPLETED, run.error_message
        return
    assert status is RunStatus.FAILED
    message = run.error_message or ""
    assert words in message
    assert "Traceback" not in message
    assert "sk-test" not in message


def test_every_call_row_belongs_to_the_run_owner(
    llm: FakeLLM, sessions: sessionmaker[Session]
) -> None:
    llm.answer(tool(code()))
    run_id = queue(sessions)
    execute_run(context(sessions, settings_for(llm)), run_id)
    with sessions() as session:
        run = session.get_one(GenerationRun, run_id)
        owners = session.scalars(
            select(Generation.user_id).where(Generation.run_id == run_id).distinct()
        ).all()
    assert owners == [run.user_id]


def test_two_runs_reserving_at_once_near_the_months_limit_only_one_call_goes_out(
    sessions: sessionmaker[Session],
) -> None:
    """Two runs of one owner, each about to call a model, with room left this month for
    one call's worst case: the check and the reservation are one step per owner, so
    exactly one passes. Each check waits (up to a second) for the other to be inside it
    too: unserialised, both would read the same usage and both pass."""
    pro_month = quotas.TIER_LIMITS[SubscriptionTier.PRO].tokens_per_month or 0
    with sessions.begin() as session:
        user = make_user(session, subscription_tier="PRO")
        run_ids = [
            runs.start_run(session, EmbeddedDispatcher(), user, project.id, spec=SPEC).id
            for project in (
                make_project(session, user, template=ProjectTemplate.CUSTOM, name=name)
                for name in ("Todo", "Chores")
            )
        ]
    spend(sessions, run_ids[0], pro_month - 15_000)  # room for one call of 10,000
    ctx = setup.run_context(get_settings(), sessions)
    inside = [threading.Event(), threading.Event()]
    outcomes: list[str] = []

    def reserve(me: int) -> None:
        claim = claim_run(sessions, run_ids[me])
        assert claim is not None
        calls = RunCalls(DbJournal(ctx, run_ids[me], claim), AgentType.BACKEND, None)
        within_budget = calls.check
        assert within_budget is not None

        def meet_the_other(session: Session, reservation: Reservation) -> None:
            inside[me].set()
            inside[1 - me].wait(1)
            within_budget(session, reservation)

        calls.check = meet_the_other
        try:
            calls.before(Reservation("gpt-4o-mini", "a todo app", 2_000, 8_000))
        except QuotaExceededError:
            outcomes.append("refused")
        else:
            outcomes.append("reserved")

    threads = [threading.Thread(target=reserve, args=(me,)) for me in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["refused", "reserved"]
    with sessions() as session:
        owner = session.get_one(User, user.id)
        month = {line.limit: line.used for line in quotas.usage(session, owner).lines}
        held = session.scalars(
            select(Generation).where(Generation.status == GenerationStatus.RUNNING)
        ).all()
    assert month["tokens_per_month"] == pro_month - 15_000 + 10_000
    assert [(row.tokens_used, row.input_tokens, row.output_tokens) for row in held] == [
        (10_000, 2_000, 8_000)
    ]


@pytest.mark.parametrize("closed_first", [False, True], ids=["running", "closed-as-interrupted"])
def test_a_call_answered_after_its_run_was_taken_over_counts_its_real_usage(
    sessions: sessionmaker[Session], closed_first: bool
) -> None:
    """A worker presumed dead (its run claimed by another) whose model call still answers:
    nothing of the run is written, but the call's row holds what the provider reported,
    not the worst case reserved, whether the new owner closed it as interrupted or not."""
    run_id = queue(sessions)
    claim = claim_run(sessions, run_id)
    assert claim is not None
    ctx = setup.run_context(get_settings(), sessions)
    calls = RunCalls(DbJournal(ctx, run_id, claim), AgentType.BACKEND, None)
    ticket = calls.before(Reservation("gpt-4o-mini", "a todo app", 2_000, 8_000))
    with sessions.begin() as session:  # another execution takes the run over
        session.execute(
            update(GenerationRun).where(GenerationRun.id == run_id).values(claim="someone-else")
        )
        if closed_first:
            assert close_interrupted(session, Generation.run_id == run_id) == 1
    answered = CallRecord(
        model="gpt-4o-mini",
        prompt="a todo app",
        response="{}",
        input_tokens=1_200,
        output_tokens=300,
        cost=Decimal("0.00036"),
        duration_ms=900,
    )
    with pytest.raises(LeaseLost):
        calls.after(answered, ticket)
    _, call_rows = rows(sessions, run_id)
    assert [(c.status, c.tokens_used, c.input_tokens, c.output_tokens) for c in call_rows] == [
        (GenerationStatus.FAILED, 1_500, 1_200, 300)
    ]
    assert call_rows[0].cost_usd == Decimal("0.00036")
    assert call_rows[0].response == ""  # the answer was not used
    assert call_rows[0].error_message == (INTERRUPTED if closed_first else LOST)
