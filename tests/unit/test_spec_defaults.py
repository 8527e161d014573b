"""Defaults people write: the day or moment a row is stored, and JSON values of each row's own.

The spec keeps what the user wrote; the resolved model holds what the stack writes from it
(``today``/``now``, a JSON default as its JSON text), and the stack's filters turn that into
code that gives every row its own value.
"""

from __future__ import annotations

import json
from typing import Any

from appbuilder.enums import ProjectTemplate
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from appbuilder.stacks.fastapi.filters import column, default_factory, py_default, sql_default


def _fields(*fields: dict[str, Any]) -> Any:
    data = {
        "name": "Defaults",
        "entities": [{"name": "Entry", "fields": [{"name": "title"}, *fields]}],
    }
    return resolve(build_spec(data, template=ProjectTemplate.CUSTOM)).entities[0].fields[1:]


def test_today_and_now_are_taken_in_utc_when_the_row_is_stored() -> None:
    due, at = _fields(
        {"name": "due", "type": "date", "default": "today"},
        {"name": "at", "type": "datetime", "default": "now"},
    )
    assert default_factory(due) == "lambda: datetime.now(UTC).date()"
    assert default_factory(at) == "lambda: datetime.now(UTC)"
    assert "default=lambda: datetime.now(UTC).date()" in column(due)
    assert (sql_default(due), sql_default(at)) == ("sa.func.current_date()", "sa.func.now()")


def test_a_json_default_is_each_row_s_own_copy() -> None:
    [blob] = _fields({"name": "blob", "type": "json", "default": {"tags": [], "ok": True}})
    assert json.loads(str(blob.default)) == {"tags": [], "ok": True}
    assert py_default(blob) == "{'tags': [], 'ok': True}"
    # the model builds a fresh value per row; requests parse a fresh one per request
    assert "default=lambda: {'tags': [], 'ok': True}" in column(blob)
    assert default_factory(blob) == """lambda: loads('{"tags": [], "ok": true}')"""
