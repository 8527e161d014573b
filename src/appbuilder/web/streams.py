"""Streams held open per account (live progress, a deployment's log followed), capped.

An open Server-Sent Events stream costs the server a task and a database read every poll;
one account opening hundreds (tabs, a script reconnecting in a loop) would slow every
other user's. The count is per server process (``uab serve --workers N`` allows N times
the cap), which bounds what one process spends, the point of the cap.

A stream is counted while its slot is alive: the stream gives the slot back when it ends
or its client goes away, and a response that was never started drops its slot with it
(the weak set forgets a collected slot), so a slot cannot leak.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import AsyncIterator
from typing import TypeVar

from starlette.requests import Request

from appbuilder.errors import TooManyStreamsError

T = TypeVar("T")


class Slot:
    """One open stream's place in the count (held by the stream, weakly by the count)."""


class StreamSlots:
    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._open: dict[str, weakref.WeakSet[Slot]] = {}
        self._lock = threading.Lock()

    def take(self, user_id: str) -> Slot:
        """A slot for one more stream of ``user_id``, or 429 when the cap is reached."""
        with self._lock:
            streams = self._open.setdefault(user_id, weakref.WeakSet())
            if len(streams) >= self.per_user:
                raise TooManyStreamsError(
                    f"{len(streams)} live progress streams are already open for this account "
                    f"(at most {self.per_user} at once): close one, e.g. another tab "
                    "following a run, and try again.",
                    limit=self.per_user,
                )
            slot = Slot()
            streams.add(slot)
            return slot

    def give_back(self, user_id: str, slot: Slot) -> None:
        with self._lock:
            streams = self._open.get(user_id)
            if streams is not None:
                streams.discard(slot)
                if not streams:
                    del self._open[user_id]

    async def counted(self, user_id: str, slot: Slot, stream: AsyncIterator[T]) -> AsyncIterator[T]:
        """``stream``, giving ``slot`` back however it ends."""
        try:
            async for chunk in stream:
                yield chunk
        finally:
            self.give_back(user_id, slot)


def counted(request: Request, user_id: str, stream: AsyncIterator[T]) -> AsyncIterator[T]:
    """``stream`` in one of ``user_id``'s slots of this server (``app.state.streams``):
    429 when they are all taken."""
    slots: StreamSlots = request.app.state.streams
    slot = slots.take(user_id)
    return slots.counted(user_id, slot, stream)
