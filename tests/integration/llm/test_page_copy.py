"""The home page's words from a model (opt-in ``page_copy``): text, never markup, capped
and escaped (braces too: the page is itself a template); bad text sent back, bounded;
replayed on resume; without the option the template's words stay."""

from __future__ import annotations

from typing import Any

import pytest

from appbuilder.agents.lineup import agents_for
from appbuilder.agents.orchestrator import MemoryJournal, Orchestrator
from appbuilder.enums import AgentType
from appbuilder.errors import GenerationError, ModelNotConfiguredError
from appbuilder.services import builds
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.fake_llm import FakeLLM, tool
from tests.integration.llm.conftest import settings_for

SPEC: dict[str, Any] = {
    "name": "Plant log",
    "description": "keep track of watering",
    "page_copy": True,
    "entities": [{"name": "Plant", "fields": [{"name": "name"}]}],
}
HOSTILE = {
    "headline": "<script>alert(1)</script> {{ config }}",
    "intro": "Water on time & never guess {% raw %} again.",
}


def home(llm: FakeLLM, spec_data: dict[str, Any] = SPEC) -> str:
    spec = build_spec(spec_data)
    result = builds.build(spec, resolve(spec), verify=False, timeout=300, llm=settings_for(llm))
    return result.files["app/templates/home.html"].decode()


def test_the_words_are_escaped_into_the_home_page(llm: FakeLLM) -> None:
    llm.answer(tool(HOSTILE))
    page = home(llm)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#123;&#123; config &#125;&#125;" in page
    assert "Water on time &amp; never guess &#123;% raw %&#125; again." in page
    assert "<script>" not in page
    assert "keep track of watering" not in page  # the words replace the description
    sent = str(llm.requests[0]["messages"])
    assert "keep track of watering" in sent
    assert "It keeps: Plants" in sent


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({"headline": "x" * 81, "intro": "ok"}, "headline: 81 characters; at most 80"),
        ({"headline": "ok", "intro": "y" * 401}, "intro: 401 characters; at most 400"),
        ({"headline": " ", "intro": "ok"}, "headline: empty"),
        ({"headline": "a\x00b", "intro": "ok"}, "headline: must not contain NUL"),
        ({"headline": "a\x1bb", "intro": "ok"}, "headline: must not contain control characters"),
    ],
)
def test_bad_words_go_back_and_the_fixed_ones_are_kept(
    llm: FakeLLM, bad: dict[str, str], problem: str
) -> None:
    llm.answer(tool(bad), tool({"headline": "Never forget a plant", "intro": "Log it."}))
    assert "Never forget a plant" in home(llm)
    assert problem in str(llm.requests[1]["messages"])


def test_words_refused_on_every_try_fail_the_step(llm: FakeLLM) -> None:
    bad = {"headline": "x" * 81, "intro": "ok"}
    llm.answer(tool(bad), tool(bad), tool(bad))
    with pytest.raises(GenerationError, match="FRONTEND agent failed"):
        home(llm)
    assert len(llm.requests) == 3


def test_a_resumed_build_replays_the_words(llm: FakeLLM) -> None:
    llm.answer(tool(HOSTILE))
    spec = build_spec(SPEC)
    model = resolve(spec)
    journal = MemoryJournal()
    first = Orchestrator(agents_for(spec, settings_for(llm))).generate(
        spec, model, verify=False, journal=journal
    )
    journal.records.pop(AgentType.ORCHESTRATOR, None)
    again = Orchestrator(agents_for(spec, settings_for(llm))).generate(
        spec, model, verify=False, journal=journal
    )
    assert len(llm.requests) == 1
    assert again.tree_hash == first.tree_hash


def test_without_the_option_the_template_words_stay_and_no_model_is_needed() -> None:
    plain = {**SPEC, "page_copy": False}
    spec = build_spec(plain)
    result = builds.build(spec, resolve(spec), verify=False, timeout=300)
    assert "keep track of watering" in result.files["app/templates/home.html"].decode()
    with pytest.raises(ModelNotConfiguredError, match=r"page copy.*UAB_LLM_PROVIDER"):
        agents_for(build_spec(SPEC), None)
