"""User text reaches generated code only as inert data: no code, template or markup."""

from __future__ import annotations

from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve

HOSTILE = {
    "name": "Evil \"\"\" ''' \\ {{ 7*7 }} </p><script>alert(1)</script>",
    "description": "Desc \"\"\" {% raw %} {{ config }} \\ ''' \n second line",
    "features": ["auth", "rss", "email"],
    "entities": [{"name": "Note", "fields": [{"name": "title"}, {"name": "body", "type": "text"}]}],
}


def test_hostile_names_and_descriptions_stay_inert() -> None:
    spec = build_spec(HOSTILE)
    result = Orchestrator().generate(spec, resolve(spec))
    assert result.verification is not None
    assert result.succeeded, result.verification.failing_output
    home = result.files["app/templates/home.html"].decode()
    assert "{{ config" not in home
    assert "{% raw" not in home
    assert "<script>" not in home
    assert "&#123;&#123; config &#125;&#125;" in home
