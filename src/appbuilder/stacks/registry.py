"""The stacks the generator knows, by the name a spec's ``stack:`` gives.

Stacks are installed as entry points (group ``appbuilder.stacks``) and loaded by the spec
layer, which validates specs against them; this module hands the same objects out as
stacks, and ``register`` adds one at run time.
"""

from __future__ import annotations

from typing import cast

from appbuilder.errors import NotFoundError
from appbuilder.spec import stack_rules
from appbuilder.stacks.base import Stack


def register(stack: Stack) -> None:
    """Make ``stack`` available to specs (``stack: <its name>``) and to validation."""
    stack_rules.register_rules(stack)


def known_stacks() -> tuple[str, ...]:
    return stack_rules.known_stacks()


def stack_for(name: str) -> Stack:
    rules = stack_rules.rules_for(name)
    if rules is None:
        raise NotFoundError("Stack", name)
    # every registered object is a whole stack: register() and the entry points take only stacks
    return cast(Stack, rules)
