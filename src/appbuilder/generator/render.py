"""Rendering blueprint files: a sandboxed Jinja environment per stack.

Blueprints use ``[[ ]]`` and ``[% %]`` as delimiters so the files they produce can hold
``{{ }}`` (the generated app's own page templates) and Python braces untouched.
``StrictUndefined`` makes a missing variable an error instead of an empty string.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment


@cache
def environment(stack: str) -> SandboxedEnvironment:
    from appbuilder.generator import fastapi_stack  # noqa: PLC0415

    filters: Mapping[str, Callable[..., Any]] = {"fastapi": fastapi_stack.FILTERS}[stack]
    env = SandboxedEnvironment(
        loader=PackageLoader("appbuilder", f"blueprints/{stack}"),
        undefined=StrictUndefined,
        block_start_string="[%",
        block_end_string="%]",
        variable_start_string="[[",
        variable_end_string="]]",
        comment_start_string="[#",
        comment_end_string="#]",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,  # blueprints ship with the package: no stat per render
    )
    env.filters.update(filters)
    return env


def render(stack: str, template: str, context: Mapping[str, Any]) -> bytes:
    text = environment(stack).get_template(template).render(context)
    return text.encode("utf-8")
