"""Wake-ups for live-progress streams on PostgreSQL: LISTEN/NOTIFY instead of polling.

Whoever appends a run event (a worker in any process or machine) also sends
``NOTIFY uab_run_events, '<run id>'`` in the same transaction, so the notice arrives when
the event is visible. Each server process holds one LISTEN connection (not one per
stream) and wakes the streams waiting on that run; a stream then reads the database as
before, so what it sends and its ``Last-Event-ID`` resume are unchanged.

A notice can be lost while the LISTEN connection is down: on every reconnect all waiting
streams are woken, and a waiting stream reads anyway after ``FALLBACK_SECONDS``. On SQLite
(one machine, no NOTIFY) streams poll as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
from sqlalchemy.engine import URL

CHANNEL = "uab_run_events"
#: a waiting stream reads after this long even without a notice. Notices are not lost while
#: the LISTEN connection is up, and a reconnect wakes every stream; this covers a connection
#: that died without a word before TCP keepalives notice. Long: 1,000 idle streams cost little.
FALLBACK_SECONDS = 120.0
#: a lost LISTEN connection is tried again after this long
RECONNECT_SECONDS = 1.0

log = logging.getLogger(__name__)


class EventNotices:
    """One process's LISTEN connection and the streams waiting on it."""

    def __init__(self, url: URL) -> None:
        # TCP keepalives: a connection dropped without a word (a NAT's idle timeout, a
        # failover) is noticed within about a minute, then listened on again
        alive = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10"}
        alive["keepalives_count"] = "3"
        self.conninfo = (
            url.set(drivername="postgresql")
            .update_query_dict({**alive, **url.query})  # the operator's own settings win
            .render_as_string(hide_password=False)
        )
        self.listening = False
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Listen in the background (call from the server's event loop)."""
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._listen())

    def wake_all_soon(self) -> None:
        """Wake every waiting stream (it sees the server is stopping); safe from a signal
        handler or another thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake, None)

    async def stop(self) -> None:
        self._wake(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.listening = False

    def subscribe(self, run_id: str) -> asyncio.Event:
        """An event set by each notice for ``run_id``: subscribe before reading, clear it
        before each read, and a notice sent meanwhile is not missed."""
        woken = asyncio.Event()
        self._waiting.setdefault(run_id, set()).add(woken)
        return woken

    def unsubscribe(self, run_id: str, woken: asyncio.Event) -> None:
        waiting = self._waiting.get(run_id, set())
        waiting.discard(woken)
        if not waiting:
            self._waiting.pop(run_id, None)

    def _wake(self, run_id: str | None) -> None:
        """Wake the streams of ``run_id`` (None: every stream)."""
        groups = self._waiting.values() if run_id is None else [self._waiting.get(run_id, set())]
        for waiting in list(groups):
            for woken in list(waiting):
                woken.set()

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.conninfo, autocommit=True
                ) as connection:
                    await connection.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    self._wake(None)  # anything sent while not listening is read now
                    async for notice in connection.notifies():
                        self._wake(notice.payload)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database restarted, the network dropped: listen again
                log.warning("listening for run events failed; retrying", exc_info=True)
            self.listening = False
            await asyncio.sleep(RECONNECT_SECONDS)
