"""``resolve``: the only way from an AppSpec to an ``AppModel``.

It applies feature implications (``implications``), checks every rule (``rules`` and
``name_rules``, collecting every problem with its path and rule) and only then builds the
normalised model (``build``), whose joined-up names get a last check.
"""

from __future__ import annotations

from appbuilder.errors import SpecError
from appbuilder.spec.build import build_model, spec_hash
from appbuilder.spec.computed import attach_computed
from appbuilder.spec.implications import effective_spec
from appbuilder.spec.model import AppSpec
from appbuilder.spec.problems import Problem
from appbuilder.spec.resolved import AppModel
from appbuilder.spec.rules import check_members, check_spec
from appbuilder.spec.stock import attach_stock

__all__ = ["Problem", "effective_spec", "resolve", "spec_hash"]


def resolve(spec: AppSpec) -> AppModel:
    """Check every rule; return the normalised model or raise one SpecError listing all."""
    effective = effective_spec(spec)
    added = {e.name for e in effective.entities} - {e.name for e in spec.entities}
    problems: list[tuple[str, str, str]] = [*check_spec(effective)]
    if problems:
        raise SpecError(problems)
    model = build_model(spec, effective, added)
    problems = [*check_members(model)]
    if problems:
        raise SpecError(problems)
    model, found = attach_computed(effective, model)
    problems = [*found]
    if not problems:
        model, found = attach_stock(effective, model)
        problems = [*found]
    if problems:
        raise SpecError(problems)
    return model
