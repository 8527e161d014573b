"""The stacks the generator knows, by the name a spec's ``stack:`` gives."""

from __future__ import annotations

from appbuilder.errors import NotFoundError
from appbuilder.spec.stack_rules import register_rules
from appbuilder.stacks.base import Stack
from appbuilder.stacks.fastapi import FastapiStack

_STACKS: dict[str, Stack] = {}


def register(stack: Stack) -> None:
    """Make ``stack`` available to specs (``stack: <its name>``) and to validation."""
    _STACKS[stack.name] = stack
    register_rules(stack)


register(FastapiStack())


def known_stacks() -> tuple[str, ...]:
    return tuple(sorted(_STACKS))


def stack_for(name: str) -> Stack:
    try:
        return _STACKS[name]
    except KeyError:
        raise NotFoundError("Stack", name) from None
