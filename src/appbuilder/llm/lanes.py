"""One event loop, and one SDK client per model choice, for each thread that calls models.

Why: a fresh ``asyncio.run`` loop and SDK client per task cost more than the whole < 5 ms
budget per call (a new loop starts its own helper threads; a new client probes the
platform in a thread, and opens a new connection, which to a hosted provider is also a
TLS handshake). A thread's lane serves only that thread: a task still runs in the
caller's thread, as under ``asyncio.run`` (Ctrl-C in the main thread cancels it; a slow
quota check blocks only its own call), and a client stays on the loop its connections
were opened on.

A lane keeps at most ``CLIENTS_PER_LANE`` clients, closing the least recently used. A
lane whose thread has ended is closed by the next thread that opens a lane, and the
remaining ones at exit; after a fork the parent's lanes are left alone (their
connections are the parent's), and the child opens its own.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from pydantic_ai.models import Model

from appbuilder.llm.client import Client, build_model
from appbuilder.llm.config import ModelChoice

T = TypeVar("T")
log = logging.getLogger(__name__)

#: clients a thread keeps open (a user's own key is a choice of its own)
CLIENTS_PER_LANE = 4
#: threads for agents' sync callbacks, shared by every lane of the process
HELPER_THREADS = 4


class Lane:
    """A thread's event loop and its open clients."""

    def __init__(self) -> None:
        self.thread = threading.current_thread()
        self.pid = os.getpid()
        # a loop factory: the runner then leaves the thread's "current loop" alone
        self.runner = asyncio.Runner(loop_factory=asyncio.new_event_loop)
        self.models: OrderedDict[ModelChoice, tuple[Model, Client]] = OrderedDict()

    async def model(self, choice: ModelChoice) -> Model:
        """The model for ``choice``, over a client this lane keeps open."""
        found = self.models.pop(choice, None)
        if found is None:
            found = build_model(choice)
            while len(self.models) >= CLIENTS_PER_LANE:
                _, (_, oldest) = self.models.popitem(last=False)
                await oldest.close()
        self.models[choice] = found
        return found[0]

    async def _close_clients(self) -> None:
        while self.models:
            _, (_, client) = self.models.popitem()
            await client.close()

    def close(self) -> None:
        """Close its clients and its loop; a failure is logged, never raised: closing is
        tidying up after another call or at exit, which must not fail because of it."""
        try:
            self.runner.run(self._close_clients())
        except Exception:
            log.warning("closing a model client failed", exc_info=True)
        finally:
            self.runner.close()


_local = threading.local()
_lanes: list[Lane] = []
#: a forked child's copies of its parent's lanes: never closed here, never collected
_parents: list[Lane] = []
_lanes_lock = threading.Lock()


def lane() -> Lane:
    """The calling thread's lane, opened on its first call (and anew in a forked child)."""
    current: Lane | None = getattr(_local, "lane", None)
    if current is not None and current.pid == os.getpid():
        return current
    for ended in _take_ended():
        ended.close()
    current = Lane()
    _local.lane = current
    with _lanes_lock:
        _lanes.append(current)
    return current


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to its end on the calling thread's loop."""
    current = lane()
    try:
        return current.runner.run(coroutine)
    except KeyboardInterrupt:
        # the runner cancelled the task; it also counts the Ctrl-C for good (it would take
        # a later task's cancellation for another), so the thread's next call starts afresh
        _local.lane = None
        with _lanes_lock:
            _lanes.remove(current)
        current.close()
        raise


_helpers: tuple[int, ThreadPoolExecutor] | None = None


def helpers() -> ThreadPoolExecutor:
    """Where an agent's sync callbacks (its checks of an answer) run: pydantic-ai's default
    starts threads for each task on a loop and stops them when the task ends. One pool per
    process (a forked child's copy of its parent's would wait for threads it lacks)."""
    global _helpers  # noqa: PLW0603 - one pool per process, made on first use
    with _lanes_lock:
        if _helpers is None or _helpers[0] != os.getpid():
            pool = ThreadPoolExecutor(HELPER_THREADS, thread_name_prefix="uab-llm-helper")
            _helpers = (os.getpid(), pool)
        return _helpers[1]


def _take_ended(*, everything: bool = False) -> list[Lane]:
    """Lanes of this process whose thread has ended (or all that may be closed, at exit),
    taken off the list; a parent process's lanes are set aside, not closed."""
    pid, here = os.getpid(), threading.current_thread()
    with _lanes_lock:
        ours = [one for one in _lanes if one.pid == pid]
        ended = [
            one for one in ours if not one.thread.is_alive() or (everything and one.thread is here)
        ]
        _parents.extend(one for one in _lanes if one.pid != pid)
        _lanes[:] = [one for one in ours if one not in ended]
    return ended


@atexit.register
def _close_at_exit() -> None:
    for ended in _take_ended(everything=True):
        ended.close()


__all__ = ["CLIENTS_PER_LANE", "HELPER_THREADS", "Lane", "helpers", "lane", "run"]
