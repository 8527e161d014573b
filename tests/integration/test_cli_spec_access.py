"""`uab spec validate` on access rules, as a user runs it: warnings pass, problems fail."""

from __future__ import annotations

from pathlib import Path

from tests.integration.test_cli import ok, uab

PUBLIC_EMAIL = """name: People
features: [auth]
entities:
  - name: Person
    access: {read: public}
    fields:
      - {name: name}
      - {name: email, type: email}
"""


def test_a_publicly_readable_email_is_a_warning_and_the_spec_stays_valid(tmp_path: Path) -> None:
    spec = tmp_path / "people.yaml"
    spec.write_text(PUBLIC_EMAIL)
    out = ok("spec", "validate", str(spec))
    assert "valid" in out
    assert "warning: entities.Person.fields.email" in out
    spec.write_text(PUBLIC_EMAIL.replace("type: email}", "type: email, private: true}"))
    assert "warning" not in ok("spec", "validate", str(spec))


def test_access_rules_without_auth_are_refused_by_path(tmp_path: Path) -> None:
    spec = tmp_path / "people.yaml"
    spec.write_text(PUBLIC_EMAIL.replace("features: [auth]\n", "").replace("public", "owner"))
    refused = uab("spec", "validate", str(spec))
    assert refused.returncode == 1
    assert "entities.Person.access.read" in refused.stderr
    assert "[needs-auth]" in refused.stderr
