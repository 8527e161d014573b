"""Request ids the server makes: 16 hex digits, never the same twice in a process, and a
forked worker (``uab serve --workers``) does not repeat its parent's."""

from __future__ import annotations

import os
import re
import warnings

from appbuilder.web.observability import _IDS


def test_ids_are_sixteen_hex_digits_and_unique() -> None:
    made = [_IDS.next() for _ in range(10_000)]
    assert all(re.fullmatch(r"[0-9a-f]{16}", made_id) for made_id in made)
    assert len(set(made)) == len(made)


def test_a_forked_process_makes_ids_of_its_own() -> None:
    before = _IDS.next()
    reading, writing = os.pipe()
    with warnings.catch_warnings():  # 3.12+ warns of forking a threaded process; the
        warnings.simplefilter("ignore", DeprecationWarning)  # child only writes and exits
        child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(writing, _IDS.next().encode())
        os._exit(0)
    os.close(writing)
    childs = os.read(reading, 64).decode()
    os.close(reading)
    os.waitpid(child, 0)
    assert re.fullmatch(r"[0-9a-f]{16}", childs)
    assert childs[:6] != before[:6]  # its own prefix, not the parent's next count
    assert _IDS.next()[:6] == before[:6]
