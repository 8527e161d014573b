"""Reading a followed deployment's log: the tail, then only what was written since, with a
character split between two writes arriving whole and nothing lost between the tail and
the first read."""

from __future__ import annotations

from pathlib import Path

from appbuilder.services.deployments.logs import LogReader


def test_a_reader_gives_the_tail_then_only_new_text_and_joins_split_characters(
    tmp_path: Path,
) -> None:
    log = tmp_path / "deploy.log"
    log.write_bytes(b"one\ntwo\n[deploy] started\n")
    reader = LogReader(log)
    assert reader.start(2) == "two\n[deploy] started\n"
    assert reader.read() == ""  # nothing new
    word = "caf\u00e9\n".encode()
    with log.open("ab") as handle:
        handle.write(word[:-2])  # "caf" and the first byte of "é"
    first = reader.read()
    with log.open("ab") as handle:
        handle.write(word[-2:])
    second = reader.read()
    assert first + second == "caf\u00e9\n"
    assert "\ufffd" not in first + second


def test_a_log_not_written_yet_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "deploy.log"
    reader = LogReader(log)
    assert reader.start(10) == ""
    assert reader.read() == ""
    log.write_text("[deploy] started\n")
    assert reader.read() == "[deploy] started\n"
