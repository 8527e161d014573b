"""Each thread keeps its event loop and SDK clients between tasks: connections are reused,
never shared between keys or threads, and closed once their thread has ended."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr
from pydantic_ai import Agent, RunContext

from appbuilder.llm import lanes
from appbuilder.llm.calls import run_task
from appbuilder.services import planning
from tests.fake_llm import Answer, FakeLLM, text, tool
from tests.integration.llm.conftest import KEY, settings_for

REPO = Path(__file__).resolve().parents[3]
TODO = {"name": "Todo", "entities": [{"name": "Task", "fields": [{"name": "title"}]}]}


def test_a_thread_sends_its_calls_over_one_connection(llm: FakeLLM) -> None:
    settings = settings_for(llm)
    llm.answer(text("OK"), tool(TODO), text("OK"))
    planning.check_model(settings)
    planning.plan("a todo app", settings)
    planning.check_model(settings)
    assert len(llm.peers) == 3
    assert len(set(llm.peers)) == 1  # one client, its connection kept open between tasks


def test_each_key_has_its_own_client_and_sends_only_its_own_key(llm: FakeLLM) -> None:
    mine = settings_for(llm)
    theirs = replace(mine, api_key=SecretStr("sk-someone-else-000000"))
    llm.answer(text("OK"), text("OK"), text("OK"))
    planning.check_model(mine)
    planning.check_model(theirs)
    planning.check_model(mine)
    sent = [h["authorization"] for h in llm.headers]
    assert sent == [f"Bearer {KEY}", "Bearer sk-someone-else-000000", f"Bearer {KEY}"]
    assert llm.peers[0] == llm.peers[2]
    assert llm.peers[1] != llm.peers[0]


def test_threads_have_their_own_lanes_and_an_ended_threads_lane_is_closed(
    llm: FakeLLM,
) -> None:
    settings = settings_for(llm)
    seen: list[lanes.Lane] = []

    def call() -> None:
        planning.check_model(settings)
        seen.append(lanes.lane())

    llm.answer(text("OK"), text("OK"))
    first = threading.Thread(target=call)
    first.start()
    first.join()
    assert seen[0].models  # its client stays open while the thread may call again
    second = threading.Thread(target=call)
    second.start()
    second.join()
    ended, other = seen
    assert other is not ended
    assert llm.peers[0] != llm.peers[1]  # no connection crosses threads
    assert not ended.models  # closed by the next thread to open a lane
    with pytest.raises(RuntimeError, match="closed"):
        ended.runner.get_loop()


def test_a_lane_keeps_a_bounded_number_of_clients(llm: FakeLLM) -> None:
    settings = settings_for(llm)
    for n in range(lanes.CLIENTS_PER_LANE + 2):
        llm.answer(text("OK"))
        planning.check_model(replace(settings, api_key=SecretStr(f"sk-key-{n:020d}")))
    assert len(lanes.lane().models) == lanes.CLIENTS_PER_LANE


def test_checks_of_answers_reuse_helper_threads(llm: FakeLLM) -> None:
    ran_on: list[int] = []

    def check(_context: RunContext[None], answer: str) -> str:
        ran_on.append(threading.get_ident())
        return answer

    agent: Agent[None, str] = Agent(instructions="Answer OK.")
    agent.output_validator(check)
    task = planning.task_for(settings_for(llm))
    for _ in range(3):
        llm.answer(text("OK"))
        assert run_task(agent, "Are you there?", task, deps=None)[0] == "OK"
    assert len(ran_on) == 3
    assert len(set(ran_on)) == 1  # one helper thread, not a new one per task
    assert ran_on[0] != threading.get_ident()  # still off the loop, as pydantic-ai runs it


def test_a_process_interrupted_mid_call_goes_on_and_exits_without_leaking(
    llm: FakeLLM,
) -> None:
    """Ctrl-C cancels the call in flight and the next call works (on a fresh lane); the
    clients and loops still open at exit are closed then: no ResourceWarning (an unclosed
    socket, transport or loop) even with every warning an error."""
    llm.answer(text("OK"), Answer(text="late", delay=8.0), text("OK"), tool(TODO))
    script = textwrap.dedent(
        f"""
        import signal, threading
        # Ctrl-C as in a terminal: a child inherits an ignored SIGINT from its parent (a test
        # worker whose SIGINT something set to ignore), and Python then never raises for it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from pydantic import SecretStr
        from appbuilder.services import planning
        from appbuilder.settings import LLMProvider, LLMSettings

        settings = LLMSettings(
            provider=LLMProvider.OPENAI_COMPATIBLE, model="gpt-4o-mini",
            base_url={llm.url!r}, api_key=SecretStr("k"), timeout_seconds=10.0,
            max_retries=0, prices_file=None, plan_attempts=1,
        )
        planning.check_model(settings)
        try:
            planning.check_model(settings)  # Ctrl-C comes while the server holds its answer
            raise SystemExit("not interrupted")
        except KeyboardInterrupt:
            pass
        assert planning.check_model(settings)[1] == "OK"
        worker = threading.Thread(target=planning.plan, args=("a todo app", settings))
        worker.start()
        worker.join()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-W", "error", "-c", script],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        # the interrupt when the second call is in flight (the server has its request and
        # holds the answer 8 s), not after a fixed time: a loaded machine moves both
        for _ in range(600):
            if len(llm.requests) >= 2 or child.poll() is not None:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # its request read: the client now waits for the answer
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    done = subprocess.CompletedProcess(child.args, child.returncode, "", stderr)
    assert done.returncode == 0, done.stderr
    assert len(llm.requests) == 4
    assert "Warning" not in done.stderr
    assert "Exception ignored" not in done.stderr
