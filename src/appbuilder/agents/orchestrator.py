"""ORCHESTRATOR: plan the agents, run independent ones concurrently, assemble, verify.

The plan is a dependency graph DATABASE → BACKEND + AUTH → FRONTEND + INTEGRATIONS →
DEVOPS with the roles the app's stack says it does not need left out. Each agent's files
are merged into one tree; two agents writing one path is a bug and fails the run. What
agents register (routers, ...) is written by the assembly step (the stack's ``assemble``)
into files no agent owns, so an agent adds a router without touching another's file.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, Protocol

from appbuilder.agents.base import (
    Agent,
    AgentInput,
    AgentOutput,
    Plan,
    StepRecord,
    TemplateAgent,
)
from appbuilder.agents.repairs import Repairs
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.errors import (
    AppBuilderError,
    GenerationError,
    ModelCallError,
    QuotaExceededError,
    RunCancelled,
    UnsafePathError,
)
from appbuilder.generator.files import FileTree, check_path, manifest, tree_hash
from appbuilder.generator.formatting import format_tree
from appbuilder.generator.render import render
from appbuilder.generator.verify import Verification, verify_tree
from appbuilder.spec.model import AppSpec
from appbuilder.spec.resolved import AppModel
from appbuilder.stacks.registry import stack_for

DEPENDS_ON: Mapping[AgentType, tuple[AgentType, ...]] = {
    AgentType.DATABASE: (),
    AgentType.BACKEND: (AgentType.DATABASE,),
    AgentType.AUTH: (AgentType.DATABASE,),
    AgentType.FRONTEND: (AgentType.BACKEND, AgentType.AUTH),
    AgentType.INTEGRATIONS: (AgentType.BACKEND, AgentType.AUTH),
    AgentType.DEVOPS: (AgentType.FRONTEND, AgentType.INTEGRATIONS),
}

#: the agents whose model's work a failing check may go back to, in the order they are asked
REPAIRERS = (AgentType.DATABASE, AgentType.BACKEND)

EventKind = Literal[
    "planned",
    "agent_started",
    "agent_finished",
    "agent_failed",
    "verifying",
    "verified",
    "repairing",
    "repair_stopped",
]


@dataclass(frozen=True)
class Event:
    kind: EventKind
    agent: AgentType | None = None
    detail: str = ""
    #: the finished or failed step's record
    record: StepRecord | None = None


class Journal(Protocol):
    """Where a run keeps its progress, so a later attempt can resume it.

    The orchestrator asks it which steps an earlier attempt finished (their outputs are
    recomputed, as agents are deterministic, and checked against the recorded manifest,
    but not recorded again) and tells it when steps start and end. ``cancel`` is set when
    the run should stop; ``checkpoint`` raises ``RunCancelled`` between steps.
    """

    cancel: threading.Event

    def completed(self, agent: AgentType) -> StepRecord | None: ...

    def started(self, agent: AgentType) -> None: ...

    def finished(self, record: StepRecord) -> None: ...

    def checkpoint(self) -> None: ...


@dataclass
class MemoryJournal:
    """A run that lives only as long as this process: ``uab generate`` on the command line."""

    cancel: threading.Event = field(default_factory=threading.Event)
    records: dict[AgentType, StepRecord] = field(default_factory=dict)

    def completed(self, agent: AgentType) -> StepRecord | None:
        record = self.records.get(agent)
        return record if record and record.status is GenerationStatus.COMPLETED else None

    def started(self, agent: AgentType) -> None:
        pass

    def finished(self, record: StepRecord) -> None:
        self.records[record.agent] = record

    def checkpoint(self) -> None:
        if self.cancel.is_set():
            raise RunCancelled("The run was cancelled.")


@dataclass
class GenerationResult:
    spec: AppSpec
    model: AppModel
    plan: Plan
    files: dict[str, bytes]
    tree_hash: str
    records: list[StepRecord]
    verification: Verification | None
    duration_ms: int
    #: the orchestrator's own work between the agents and verification: merge and format
    assemble_ms: int = 0
    #: why the model's code was not repaired (further), when verification failed
    repair_stopped: str | None = None

    @property
    def succeeded(self) -> bool:
        """Only a verified tree counts; ``--no-verify`` runs are unverified, not successful."""
        return self.verification is not None and self.verification.passed


def default_agents() -> dict[AgentType, Agent]:
    """A template agent per role: each renders what the app's stack says the role owns."""
    return {role: TemplateAgent(role) for role in DEPENDS_ON}


def make_plan(model: AppModel) -> Plan:
    """The agents this app needs, staged so each stage depends only on earlier ones."""
    reasons = stack_for(model.stack).roles(model)
    depth: dict[AgentType, int] = {}
    for agent in DEPENDS_ON:  # declared in dependency order
        if agent in reasons:
            earlier = [depth[d] + 1 for d in _needs(agent, reasons)]
            depth[agent] = max(earlier, default=0)
    stages = tuple(
        tuple(a for a in DEPENDS_ON if depth.get(a) == level)
        for level in range(max(depth.values()) + 1)
    )
    return Plan(stages=tuple(s for s in stages if s), reasons=reasons)


def _needs(agent: AgentType, chosen: Mapping[AgentType, str]) -> set[AgentType]:
    """The chosen agents ``agent`` waits for, looking through the ones left out."""
    needs: set[AgentType] = set()
    for dependency in DEPENDS_ON[agent]:
        needs |= {dependency} if dependency in chosen else _needs(dependency, chosen)
    return needs


class Orchestrator:
    def __init__(
        self,
        agents: Mapping[AgentType, Agent] | None = None,
        on_event: Callable[[Event], None] | None = None,
        verify_database_url: str | None = None,
    ) -> None:
        """``verify_database_url``: a PostgreSQL server the verification also runs the
        app's suite on (in a scratch database); None: SQLite only."""
        self.agents = dict(agents or default_agents())
        self.on_event = on_event or (lambda _event: None)
        self.verify_database_url = verify_database_url
        self.timeout = 600.0

    def generate(
        self,
        spec: AppSpec,
        model: AppModel,
        *,
        verify: bool = True,
        timeout: float = 600,
        journal: Journal | None = None,
    ) -> GenerationResult:
        """Build, or with a journal from an earlier attempt, finish building the app.

        Raises GenerationError when a step fails (verification failing is not an error:
        the result says so) and RunCancelled when the journal's run is cancelled.
        """
        journal = journal or MemoryJournal()
        started = time.perf_counter()
        plan = make_plan(model)
        journal.started(AgentType.ORCHESTRATOR)
        self.on_event(
            Event(
                "planned",
                detail=" → ".join(" + ".join(a.value for a in stage) for stage in plan.stages),
            )
        )
        records: list[StepRecord] = []
        outputs = self._run_stages(spec, model, plan, records, journal)
        assembling = time.perf_counter()
        outputs[AgentType.ORCHESTRATOR] = self._assemble(spec, model, outputs)
        files = format_tree(self._merge(outputs, records))
        assemble_ms = _ms(assembling)
        digest = tree_hash(files)
        verification = None
        # the seeder first: a failure naming a sample row the app refused is about the rows,
        # even where the rules' code or messages show in it too
        repairs = Repairs((kind, self.agents.get(kind)) for kind in REPAIRERS)
        if verify:
            self.timeout = timeout
            verification = self._verify(files, timeout, journal)
            repaired = self._repair(
                spec,
                model,
                plan,
                repairs,
                outputs=outputs,
                records=records,
                verification=verification,
                journal=journal,
            )
            if repaired is not None:
                files, records, verification = dict(repaired[0]), repaired[1], repaired[2]
                digest = tree_hash(files)
        record = self._record(
            model=model,
            plan=plan,
            files=files,
            assembled=sorted(outputs[AgentType.ORCHESTRATOR].files),
            digest=digest,
            verification=verification,
            started=started,
        )
        records.append(record)
        return GenerationResult(
            spec=spec,
            model=model,
            plan=plan,
            files=files,
            tree_hash=digest,
            records=records,
            verification=verification,
            duration_ms=_ms(started),
            assemble_ms=assemble_ms,
            repair_stopped=repairs.stopped,
        )

    def _repair(
        self,
        spec: AppSpec,
        model: AppModel,
        plan: Plan,
        repairs: Repairs,
        *,
        outputs: dict[AgentType, AgentOutput],
        records: list[StepRecord],
        verification: Verification,
        journal: Journal,
    ) -> tuple[FileTree, list[StepRecord], Verification] | None:
        """Send failures in a model's code back to it (see ``repairs``); the last state.
        A budget, quota or provider refusing the repair's call stops repairing, with the
        last failure standing."""
        files: FileTree | None = None
        while found := repairs.next_failure(verification, outputs):
            owner, failure = found
            task = AgentInput(spec, model, plan, {a: o.files for a, o in outputs.items()})
            self.on_event(Event("repairing", owner, f"attempt {repairs.done[owner]}"))
            try:
                outputs[owner] = repairs.repair(owner, task, outputs[owner], failure)
            except (QuotaExceededError, ModelCallError) as error:
                repairs.stop(error.message)
                break
            journal.finished(outputs[owner].record)
            records = [*(r for r in records if r.agent is not owner), outputs[owner].record]
            files = format_tree(self._merge(outputs, records))
            verification = self._verify(files, self.timeout, journal)
        if repairs.stopped is not None and not verification.passed:
            self.on_event(Event("repair_stopped", None, repairs.stopped))
        return None if files is None else (files, records, verification)

    def _verify(self, files: FileTree, timeout: float, journal: Journal) -> Verification:
        journal.checkpoint()
        self.on_event(Event("verifying"))
        verification = verify_tree(
            files, timeout=timeout, cancel=journal.cancel, database_url=self.verify_database_url
        )
        journal.checkpoint()
        self.on_event(Event("verified", detail=verification.summary()))
        return verification

    def _run_stages(
        self,
        spec: AppSpec,
        model: AppModel,
        plan: Plan,
        records: list[StepRecord],
        journal: Journal,
    ) -> dict[AgentType, AgentOutput]:
        outputs: dict[AgentType, AgentOutput] = {}
        for stage in plan.stages:
            journal.checkpoint()
            task = AgentInput(spec, model, plan, {a: o.files for a, o in outputs.items()})
            with ThreadPoolExecutor(max_workers=len(stage)) as pool:
                futures = {
                    agent: pool.submit(self._run_or_replay, agent, task, journal) for agent in stage
                }
            for agent, future in futures.items():
                output = future.result()
                records.append(output.record)
                outputs[agent] = output
            failed = [
                o.record
                for o in outputs.values()
                if o.record.status is not GenerationStatus.COMPLETED
            ]
            if failed:
                raise GenerationError(
                    f"The {failed[0].agent.value} agent failed: {failed[0].error}", records
                )
        return outputs

    @staticmethod
    def _assemble(
        spec: AppSpec, model: AppModel, outputs: Mapping[AgentType, AgentOutput]
    ) -> AgentOutput:
        """The files the stack writes from every agent's registrations, in plan order."""
        registrations = tuple(r for o in outputs.values() for r in o.registrations)
        assembled = stack_for(model.stack).assemble(model, registrations)
        base = {"app": model, "spec": spec}
        files = {
            item.path: render(model.stack, item.template, {**base, **item.extra})
            for item in assembled.files
        }
        record = StepRecord(
            AgentType.ORCHESTRATOR, "assemble", "", GenerationStatus.COMPLETED, 0, 0
        )
        return AgentOutput(files, record)

    def _run_or_replay(self, agent: AgentType, task: AgentInput, journal: Journal) -> AgentOutput:
        done = journal.completed(agent)
        if done is None:
            journal.started(agent)
            output = self._run_one(agent, task)
            journal.finished(output.record)
            return output
        # Finished by an earlier attempt: recompute its files (a model's output comes back
        # from the record, never by asking again), keep its record.
        replay = getattr(self.agents[agent], "replay", None)
        output = replay(task, done) if replay is not None else self.agents[agent].run(task)
        recorded = _recorded_manifest(done)
        if recorded is not None and recorded != manifest(output.files):
            message = (
                f"The {agent.value} agent's output differs from what an earlier attempt "
                "recorded; the run cannot resume safely."
            )
            return AgentOutput(files={}, record=StepRecord.failed(agent, done.prompt, message))
        return AgentOutput(output.files, done, output.registrations)

    def _run_one(self, agent: AgentType, task: AgentInput) -> AgentOutput:
        self.on_event(Event("agent_started", agent))
        started = time.perf_counter()
        try:
            output = self.agents[agent].run(task)
        except RunCancelled:
            raise  # a call in flight was abandoned: the run ends, not just this step
        except Exception as error:
            message = (
                error.message
                if isinstance(error, AppBuilderError)
                else f"{type(error).__name__}: {error}"
            )
            record = StepRecord.failed(agent, f"{agent.value} step", message, _ms(started))
            self.on_event(Event("agent_failed", agent, message, record))
            return AgentOutput(files={}, record=record)
        self.on_event(Event("agent_finished", agent, f"{len(output.files)} files", output.record))
        return output

    @staticmethod
    def _merge(outputs: Mapping[AgentType, AgentOutput], records: list[StepRecord]) -> FileTree:
        merged: dict[str, bytes] = {}
        owner: dict[str, AgentType] = {}
        for agent, output in outputs.items():
            for path, content in output.files.items():
                # The one check for every agent, template or LLM: nothing past this point
                # can name a path outside the app's folder.
                try:
                    check_path(path)
                except UnsafePathError as error:
                    message = f"The {agent.value} agent wrote an unsafe path: {error.message}"
                    raise GenerationError(message, records) from error
                if path in owner:
                    raise GenerationError(
                        f"The {owner[path].value} and {agent.value} agents both wrote {path!r}.",
                        records,
                    )
                owner[path] = agent
                merged[path] = content
        return dict(sorted(merged.items()))

    @staticmethod
    def _record(
        *,
        model: AppModel,
        plan: Plan,
        files: FileTree,
        assembled: list[str],
        digest: str,
        verification: Verification | None,
        started: float,
    ) -> StepRecord:
        response = {
            "plan": [[a.value for a in stage] for stage in plan.stages],
            "reasons": {a.value: r for a, r in plan.reasons.items()},
            "files": len(files),
            # what the assembly step wrote from the agents' registrations (app/main.py,
            # app/models.py, the migration, app/settings.py, .env.example, the tests' settings)
            "assembled": manifest({path: files[path] for path in assembled}),
            "tree_hash": digest,
            "verification": None
            if verification is None
            else {
                "passed": verification.passed,
                "tests_passed": verification.tests_passed,
                "tests_failed": verification.tests_failed,
                "duration_ms": verification.duration_ms,
                "network_isolated": verification.network_isolated,
                "checks": [
                    {"name": c.name, "passed": c.passed, "duration_ms": c.duration_ms}
                    for c in verification.checks
                ],
            },
        }
        failed = verification is not None and not verification.passed
        return StepRecord(
            agent=AgentType.ORCHESTRATOR,
            prompt=f"Build {model.name!r} ({model.template.value}), spec {model.spec_hash[:12]}",
            response=json.dumps(response, separators=(",", ":")),
            status=GenerationStatus.FAILED if failed else GenerationStatus.COMPLETED,
            tokens_used=0,
            duration_ms=_ms(started),
            error=verification.failing_output[-4000:] if failed and verification else None,
        )


def _recorded_manifest(record: StepRecord) -> object:
    try:
        return json.loads(record.response)["files"]
    except (ValueError, KeyError, TypeError):
        return None


def _ms(since: float) -> int:
    return round((time.perf_counter() - since) * 1000)
