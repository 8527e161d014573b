"""Rendering one blueprint file of a stack: the stack owns its Jinja environment.

Kept as the engine's one entry to rendering, so agents name a stack and a blueprint and
never build environments themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from appbuilder.stacks.registry import stack_for


def render(stack: str, template: str, context: Mapping[str, Any]) -> bytes:
    return stack_for(stack).render(template, context)
