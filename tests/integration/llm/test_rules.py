"""Rules written in words become hooks a model writes inside the app's custom folders:
the skeleton's services call them around every write, in the write's transaction; a
broken rule is a 422 naming the field, proven by the app's own tests (the model's ones
included) on the gate; without a model the spec fails fast naming the setting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from appbuilder.agents.lineup import agents_for
from appbuilder.enums import AgentType
from appbuilder.errors import ModelNotConfiguredError, SpecError
from appbuilder.services import builds
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.fake_llm import FakeLLM, tool
from tests.integration.conftest import PG_URL
from tests.integration.llm.conftest import settings_for

CODE = Path(__file__).parent / "custom_code"
MODULE = (CODE / "event_rules.py.txt").read_text(encoding="utf-8")
TESTS = (CODE / "test_event_rules.py.txt").read_text(encoding="utf-8")
RULES = [
    "an event ends after the day it starts",
    "the title must not be 'tbd'",
]
SPEC: dict[str, Any] = {
    "name": "Events",
    "features": ["auth"],
    "entities": [
        {
            "name": "Event",
            "fields": [
                {"name": "title", "max_length": 200},
                {"name": "start_date", "type": "date"},
                {"name": "end_date", "type": "date", "required": False},
            ],
            "rules": RULES,
        }
    ],
}


def code(module: str = MODULE, tests: str = TESTS, examples: str | None = None) -> dict[str, Any]:
    files = {"app/custom/event_rules.py": module, "tests/custom/test_event_rules.py": tests}
    files |= {"tests/custom/event_examples.py": examples} if examples else {}
    return {"files": [{"path": p, "content": c} for p, c in files.items()]}


#: the rule as its words say it: an event ends after the day it starts
STRICT = MODULE.replace("row.end_date < row.start_date", "row.end_date <= row.start_date").replace(
    "The end date must not be before the start date.", "An event must end after the day it starts."
)
#: (its own rows dated: only the skeleton's tests meet the skeleton's examples)
STRICT_TESTS = (
    TESTS.replace('end_date="2025-03-01"', 'end_date="2025-03-02"')
    .replace(
        "event = create_event(client)\n",
        'event = create_event(client, start_date="2025-03-01", end_date="2025-03-02")\n',
    )
    .replace('"end_date": "2025-03-01"}', '"end_date": "2025-03-02"}')
    .replace('event["end_date"] == "2025-03-01"', 'event["end_date"] == "2025-03-02"')
)
#: the skeleton's examples end the day they start; these end two days later
EXAMPLES = (
    '"""Example events end two days after they start, as the rules want."""\n\n'
    "from datetime import date, timedelta\nfrom typing import Any\n\n\n"
    "def example(payload: dict[str, Any], n: int) -> dict[str, Any]:\n"
    '    start = date.fromisoformat(payload["start_date"])\n'
    '    return {**payload, "end_date": (start + timedelta(days=2)).isoformat()}\n'
)


#: hooks that check nothing: the model's own tests must catch it
UNCHECKED = (
    '"""The events\' rules."""\n\nfrom app.hooks import Hooks\n\n\n'
    'class EventRules(Hooks):\n    """Checks nothing."""\n'
)


def test_rules_in_words_become_verified_hooks_with_their_tests(llm: FakeLLM) -> None:
    """Hooks that check nothing fail the app's own tests (so the hooks are called and the
    model's tests run); the failure goes back to the model. Its strict rule then refuses the
    skeleton's own example rows (an event ending the day it starts): that failure, in the
    skeleton's tests, carries the rule's message, so it goes back to the model too, which
    keeps the rule and changes the examples; the last fix is verified."""
    llm.answer(
        tool(code(module=UNCHECKED), input_tokens=2500, output_tokens=700),
        tool(code(STRICT, STRICT_TESTS), input_tokens=3000, output_tokens=800),
        tool(code(STRICT, STRICT_TESTS, EXAMPLES), input_tokens=3000, output_tokens=800),
    )
    spec = build_spec(SPEC)
    result = builds.build(
        spec,
        resolve(spec),
        verify=True,
        timeout=300,
        llm=settings_for(llm),
        # the app's suite on PostgreSQL too, when the tests have a server (as in CI)
        verify_database_url=PG_URL,
    )
    assert result.succeeded, result.verification and result.verification.failing_output
    assert result.verification is not None
    checks = {check.name for check in result.verification.checks}
    assert ("postgresql" in checks) is (PG_URL is not None)
    assert len(llm.requests) == 3
    repair = str(llm.requests[1]["messages"])
    assert "test_an_event_ending_before_it_starts_is_refused" in repair
    assert "Checks nothing." in repair  # its own files, sent back with the failure
    refused = str(llm.requests[2]["messages"])
    assert "tests/test_event_api.py" in refused  # the skeleton's test
    assert "FAILED tests/custom/" not in refused  # only the skeleton's: the message decides
    assert "An event must end after the day it starts." in refused
    assert "change the examples instead" in refused
    assert result.files["tests/custom/event_examples.py"].decode() == EXAMPLES
    service = result.files["app/services/event.py"].decode()
    assert "from app.custom.event_rules import EventRules" in service
    assert "hooks=EventRules()" in service
    assert "class Hooks" in result.files["app/hooks.py"].decode()
    # hooks are services' business, not a router's
    assert "event_rules" not in result.files["app/main.py"].decode()
    backend = next(r for r in result.records if r.agent is AgentType.BACKEND)
    assert backend.tokens_used == 3200 + 3800 + 3800
    sent = str(llm.requests[0]["messages"])
    assert "an event ends after the day it starts" in sent
    assert "def event_payload(" in sent  # the skeleton's examples the rules must keep
    assert "tests/custom/event_examples.py" in sent
    assert "app/hooks.py" in sent  # the base it extends, not the whole app
    assert "app/routers/event.py" not in sent
    assert "prompt version 2" in sent  # the rules prompt file


def rows(*dates: tuple[str, str]) -> dict[str, Any]:
    """The seeder's answer: an event per (start, end)."""
    events = [
        {"title": f"Event {n}", "start_date": start, "end_date": end}
        for n, (start, end) in enumerate(dates, 1)
    ]
    return {"entities": [{"entity": "Event", "rows": events}]}


def test_a_sample_row_a_rule_refuses_goes_back_to_the_seeder_not_the_rules(
    llm: FakeLLM,
) -> None:
    """The second sample event ends the day it starts: the spec's value rules let it in,
    the app's rule in words refuses it as the seed loads it, so the app's seed test fails
    naming the row. That failure goes to the seeder (it carries the rule's message, yet the
    rule is right), whose new rows are verified; the rules' code is not asked again."""
    llm.answer(
        tool(rows(("2025-05-01", "2025-05-03"), ("2025-06-01", "2025-06-01")), input_tokens=900),
        tool(code(STRICT, STRICT_TESTS, EXAMPLES), input_tokens=3000, output_tokens=800),
        tool(rows(("2025-05-01", "2025-05-03"), ("2025-06-01", "2025-06-02")), input_tokens=1100),
    )
    spec = build_spec({**SPEC, "sample_data": True})
    result = builds.build(spec, resolve(spec), verify=True, timeout=300, llm=settings_for(llm))
    assert result.succeeded, result.verification and result.verification.failing_output
    assert len(llm.requests) == 3
    repair = str(llm.requests[2]["messages"])
    assert "Error: Event row 2: end_date: An event must end after the day it starts." in repair
    assert '"2025-06-01"' in repair  # its rows, sent back with the refusal
    assert "in the same order" in repair
    shipped = json.loads(result.files["app/sample_data.json"])
    assert shipped["Event"][1]["end_date"] == "2025-06-02"
    by_agent = {record.agent: record for record in result.records}
    assert by_agent[AgentType.DATABASE].tokens_used > 900 + 1100  # both calls, with outputs
    assert "--- repair" in by_agent[AgentType.DATABASE].prompt
    assert by_agent[AgentType.BACKEND].tokens_used == 3800  # its one call: not repaired


def test_rules_code_outside_its_paths_is_refused_and_sent_back(llm: FakeLLM) -> None:
    stray = code()
    stray["files"].append({"path": "app/services/crud.py", "content": "x = 1\n"})
    llm.answer(tool(stray), tool(code()))
    spec = build_spec(SPEC)
    result = builds.build(spec, resolve(spec), verify=False, timeout=300, llm=settings_for(llm))
    assert result.files["app/custom/event_rules.py"].decode() == MODULE
    assert b"x = 1" not in result.files["app/services/crud.py"]
    assert "not a file this agent may write" in str(llm.requests[1]["messages"])


def test_rules_without_a_model_say_which_setting_to_set() -> None:
    with pytest.raises(ModelNotConfiguredError, match=r"rules written in words.*UAB_LLM_PROVIDER"):
        agents_for(build_spec(SPEC), None)


def test_apps_without_rules_have_no_hooks() -> None:
    plain = {**SPEC, "entities": [{**SPEC["entities"][0], "rules": []}]}
    spec = build_spec(plain)
    result = builds.build(spec, resolve(spec), verify=False, timeout=300)
    assert "app/hooks.py" not in result.files
    assert b"hooks" not in result.files["app/services/crud.py"]


@pytest.mark.parametrize(
    ("rules", "rule"),
    [
        (["same", "Same"], "duplicate"),
        (["a\x00b"], "text"),
        ([f"r{n}" for n in range(21)], "too-many"),
    ],
)
def test_bad_rules_are_refused_naming_the_rule(rules: list[str], rule: str) -> None:
    bad = {**SPEC, "entities": [{**SPEC["entities"][0], "rules": rules}]}
    with pytest.raises(SpecError) as caught:
        resolve(build_spec(bad))
    assert rule in {p[1] for p in caught.value.problems}
    assert any(p[0].startswith("entities.Event.rules") for p in caught.value.problems)
