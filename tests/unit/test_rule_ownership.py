"""Whose failure it is: a skeleton test that failed on a message of the model's rules is
the model's to fix (its examples, or its rule); what the skeleton says itself, the sample
rows' test and messages too short to tell are not."""

from __future__ import annotations

from appbuilder.agents.code_rules import problems_in
from appbuilder.agents.coder import refused_by_rules, rule_messages

RULES = """
from app.errors import FieldError

def check(row, limit):
    if row.end_date <= row.start_date:
        raise FieldError("end_date", "An event must end after the day it starts.")
    if row.title == "tbd":
        raise FieldError(field="title", message="'tbd' is not a title for an event.")
    if row.seats > limit:
        raise FieldError("seats", f"An event seats at most {limit} people in this hall.")
    if row.note == "x":
        raise FieldError("note", "Too short.")
    raise errors.FieldError("room", "The room is booked that day already.")
"""
SKELETON_FAILURE = """\
____________________ test_a_row_is_created ____________________
tests/test_event_api.py:20: in test_a_row_is_created
    assert response.status_code == 201, response.text
E   AssertionError: {"detail":[{"loc":["body","end_date"],"msg":"An event must end after \
the day it starts.","type":"value_error"}]}
FAILED tests/test_event_api.py::test_a_row_is_created - AssertionError
"""
SEED_FAILURE = """\
____________________ test_make_seed_loads ____________________
tests/test_seed.py:40: in test_make_seed_loads
    assert main([], app.state.settings) == 0
E   app.seed.SeedError: Event row 2: end_date: An event must end after the day it starts.
FAILED tests/test_seed.py::test_make_seed_loads - app.seed.SeedError: Event row 2: end_date: \
An event must end after the day it starts.
"""


def test_the_messages_of_a_rules_module_are_its_constant_texts() -> None:
    assert sorted(rule_messages(RULES)) == sorted(
        [
            "An event must end after the day it starts.",
            "'tbd' is not a title for an event.",
            "An event seats at most ",  # an f-string's constant parts
            " people in this hall.",
            "The room is booked that day already.",  # through a module, too
        ]
    )  # "Too short." is too short to tell whose it is
    assert rule_messages("def broken(:\n") == []


def test_a_skeleton_test_refused_by_a_rule_is_the_rules() -> None:
    assert refused_by_rules(SKELETON_FAILURE, RULES, skeleton="")


def test_the_sample_rows_test_is_not_the_rules() -> None:
    """The rows are the DATABASE agent's: the model writing rules cannot change them."""
    assert not refused_by_rules(SEED_FAILURE, RULES, skeleton="")
    assert refused_by_rules(SEED_FAILURE + SKELETON_FAILURE, RULES, skeleton="")


def test_a_message_the_skeleton_says_itself_decides_nothing() -> None:
    skeleton = 'raise FieldError(field, "An event must end after the day it starts.")'
    assert not refused_by_rules(SKELETON_FAILURE, RULES, skeleton)


def test_an_optional_file_may_be_left_out_but_is_checked_when_written() -> None:
    allowed = ("app/custom/event_rules.py", "tests/custom/test_event_rules.py")
    optional = ("tests/custom/event_examples.py",)
    files = {path: "x = 1\n" for path in allowed}
    assert problems_in(files, allowed, optional) == []
    bad = {**files, optional[0]: "import subprocess\n"}
    found = problems_in(bad, allowed, optional)
    assert any(p.startswith("tests/custom/event_examples.py: ") for p in found), found
    stray = {**files, "tests/custom/task_examples.py": "x = 1\n"}
    assert problems_in(stray, allowed, optional) == [
        "tests/custom/task_examples.py: not a file this agent may write"
    ]
    assert problems_in({allowed[0]: "x = 1\n"}, allowed, optional) == [
        "tests/custom/test_event_rules.py: missing"
    ]
