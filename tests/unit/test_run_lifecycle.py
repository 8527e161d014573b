"""The run state machine: every status change follows the table; ended runs stay ended."""

from __future__ import annotations

import pytest

from appbuilder.db.models import GenerationRun
from appbuilder.enums import RunStatus
from appbuilder.errors import ConflictError
from appbuilder.services.runs.lifecycle import TRANSITIONS, move

R = RunStatus


def run_in(status: RunStatus) -> GenerationRun:
    return GenerationRun(id="r1", status=status)


def test_the_table_covers_every_status_and_ends_are_final() -> None:
    assert set(TRANSITIONS) == set(RunStatus)
    for end in (R.COMPLETED, R.FAILED, R.CANCELLED):
        assert TRANSITIONS[end] == frozenset()


@pytest.mark.parametrize(
    ("start", "new"),
    [
        (R.QUEUED, R.RUNNING),
        (R.QUEUED, R.CANCELLED),
        (R.QUEUED, R.FAILED),
        (R.RUNNING, R.QUEUED),
        (R.RUNNING, R.COMPLETED),
        (R.RUNNING, R.FAILED),
        (R.RUNNING, R.CANCELLED),
        (R.COMPLETED, R.COMPLETED),  # the same status again changes nothing
    ],
)
def test_allowed_moves(start: RunStatus, new: RunStatus) -> None:
    run = run_in(start)
    move(run, new)
    assert run.status is new


@pytest.mark.parametrize(
    ("start", "new"),
    [
        (R.QUEUED, R.COMPLETED),
        (R.COMPLETED, R.RUNNING),
        (R.FAILED, R.QUEUED),
        (R.CANCELLED, R.FAILED),
    ],
)
def test_refused_moves_name_both_states(start: RunStatus, new: RunStatus) -> None:
    run = run_in(start)
    with pytest.raises(ConflictError) as refused:
        move(run, new)
    assert refused.value.details == {"run_status": start.value, "requested": new.value}
    assert run.status is start
