"""Computed fields: parsed with ``ast`` (never evaluated) and checked name by name.

Two forms, both kept by the generated app in the transaction that changes their inputs:

- an aggregate over a one_to_many link, ``sum(items.quantity * items.product.price)``:
  ``sum``/``count``/``min``/``max`` of ``+ - * /`` over the child's numbers and the numbers
  of the child's many_to_one targets (``count(items)`` takes no expression); recomputed
  whenever a child is created, changed or deleted;
- a copy of a many_to_one target's field, ``product.price``: taken whenever a client writes
  the row (creates it, relinks it, changes its quantity), and left alone when the target
  changes later (an order item keeps the price it was ordered at).

Names resolve against the normalised model (a one_to_many's collection is only known
there), so this runs after ``build``; every problem names the field and the rule.
"""

from __future__ import annotations

import ast
import io
import keyword
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation

from appbuilder.spec.model import AppSpec, FieldType
from appbuilder.spec.names import entity_names, is_wellformed, names_for
from appbuilder.spec.problems import Problem
from appbuilder.spec.resolved import Aggregate, AppEntity, AppField, AppModel, Checkout, Copied

FUNCTIONS = ("sum", "count", "min", "max")
NUMBERS = frozenset({FieldType.INTEGER, FieldType.DECIMAL})
_OPERATORS: dict[type[ast.operator], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
}
#: Expressions past this many operands are refused: a computed field is a formula, not a program.
MAX_OPERANDS = 12


class ComputedError(ValueError):
    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class Parsed:
    """The shape of a computed expression before its names are checked."""

    function: str | None
    collection: str
    expression: str | None
    paths: tuple[tuple[str, ...], ...]
    decimal_only: bool


def parse(source: str) -> Parsed:
    """The expression's shape; raises ComputedError on anything but the two forms."""
    try:
        tree = ast.parse(_keywords_as_attributes(source.strip()), mode="eval").body
    except SyntaxError as error:
        raise ComputedError("syntax", f"is not an expression: {error.msg}") from None
    if isinstance(tree, ast.Attribute):
        path = _path(tree)
        if len(path) != 2:
            raise ComputedError("syntax", "a copied value is written link.field")
        return Parsed(None, path[0], None, (path[1:],), decimal_only=False)
    if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name)):
        raise ComputedError(
            "syntax", f"must be {', '.join(FUNCTIONS)}(...) over a one_to_many, or link.field"
        )
    function = tree.func.id
    if function not in FUNCTIONS or tree.keywords or len(tree.args) != 1:
        raise ComputedError("syntax", f"must call one of {', '.join(FUNCTIONS)} with one argument")
    return _aggregate(function, tree.args[0])


def _aggregate(function: str, argument: ast.expr) -> Parsed:
    if function == "count":
        if not isinstance(argument, ast.Name):
            raise ComputedError("syntax", "count takes a one_to_many's name only: count(items)")
        return Parsed("count", argument.id, None, (), decimal_only=False)
    paths: list[tuple[str, ...]] = []
    state = {"decimal": False}
    expression = _render(argument, paths, state)
    if isinstance(argument, ast.BinOp | ast.UnaryOp):
        expression = expression[1:-1]  # the outermost brackets say nothing
    collections = {p[0] for p in paths}
    if len(collections) != 1:
        raise ComputedError(
            "syntax", "every value must come from the same one_to_many, e.g. items.quantity"
        )
    if len(paths) > MAX_OPERANDS:
        raise ComputedError("syntax", f"at most {MAX_OPERANDS} values")
    return Parsed(
        function,
        collections.pop(),
        expression,
        tuple(p[1:] for p in paths),
        decimal_only=state["decimal"],
    )


def _keywords_as_attributes(source: str) -> str:
    """``lines.from`` as ``lines.from_``: a user's field may be a Python keyword, which
    ``ast`` cannot read after a dot; its attribute is the name with ``_`` (``spec/names``)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return source  # ast.parse says what is wrong
    out: list[str] = []
    for index, token in enumerate(tokens):
        after_dot = index > 0 and tokens[index - 1].string == "."
        named = token.type == tokenize.NAME and keyword.iskeyword(token.string)
        out.append(f"{token.string}_" if after_dot and named else token.string)
    return " ".join(part for part in out if part.strip())


def _attribute(part: str) -> str:
    """A field or link named in the user's words, as the model's attribute (``json`` is
    ``json_``); names that are not names at all are left for the lookups to refuse."""
    return names_for(part).snake if is_wellformed(part) else part


def _path(node: ast.expr) -> tuple[str, ...]:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(_attribute(node.attr))
        node = node.value
    if not isinstance(node, ast.Name):
        raise ComputedError("syntax", "values are names such as items.quantity")
    parts.append(node.id)
    return tuple(reversed(parts))


def _render(node: ast.expr, paths: list[tuple[str, ...]], state: dict[str, bool]) -> str:
    """Python over ``v0, v1, ...`` (one per value read), with the expression's brackets."""
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        if isinstance(node.op, ast.Div):
            state["decimal"] = True
        left = _render(node.left, paths, state)
        right = _render(node.right, paths, state)
        return f"({left} {_OPERATORS[type(node.op)]} {right})"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return f"(-{_render(node.operand, paths, state)})"
    if isinstance(node, ast.Constant) and type(node.value) in {int, float}:
        try:
            value = Decimal(str(node.value))
        except InvalidOperation:
            raise ComputedError("syntax", "numbers must be finite") from None
        if not value.is_finite() or abs(value) > 10**9:
            raise ComputedError("syntax", "numbers must be finite and below a billion")
        if isinstance(node.value, float):
            state["decimal"] = True
            return f'Decimal("{value}")'
        return str(node.value)
    if isinstance(node, ast.Attribute):
        path = _path(node)
        if len(path) not in {2, 3}:
            raise ComputedError(
                "syntax", "values are items.field or items.link.field, one link deep at most"
            )
        paths.append(path)
        return f"v{len(paths) - 1}"
    raise ComputedError(
        "syntax", "only + - * / of numbers and names such as items.quantity are allowed"
    )


def attach_computed(spec: AppSpec, model: AppModel) -> tuple[AppModel, list[Problem]]:
    """The model with every computed field resolved, and the problems found on the way."""
    problems: list[Problem] = []
    sources = {
        (entity_names(e.name).pascal, names_for(f.name).snake): f.computed
        for e in spec.entities
        for f in e.fields
        if f.computed is not None and is_wellformed(e.name) and is_wellformed(f.name)
    }
    entities = []
    for entity in model.entities:
        fields = []
        for field in entity.fields:
            source = sources.get((entity.names.pascal, field.names.snake))
            if source is None:
                fields.append(field)
                continue
            path = f"entities.{entity.names.pascal}.fields.{field.names.snake}.computed"
            try:
                computed = _resolve(model, entity, field, parse(source))
            except ComputedError as error:
                problems.append(Problem(path, error.rule, f"{source!r} {error}."))
                fields.append(field)
                continue
            problems += _check_field(path, entity, field, computed)
            fields.append(_with(field, computed))
        entities.append(replace(entity, fields=tuple(fields), checkout=_checkout(entity, fields)))
    model = replace(model, entities=tuple(entities))
    problems += _check_chains(model)
    return model, problems


def _checkout(entity: AppEntity, fields: list[AppField]) -> Checkout | None:
    """The checkout's amount and status as the entity's fields now are (computed or not)."""
    checkout = entity.checkout
    if checkout is None:
        return None
    by_name = {f.names: f for f in fields}
    status = checkout.status
    return replace(
        checkout,
        amount=by_name[checkout.amount.names],
        status=None if status is None else by_name[status.names],
    )


def _with(field: AppField, computed: Aggregate | Copied) -> AppField:
    """Sums and counts start at 0 (a new row has no children); the rest start empty."""
    start: int | Decimal | None = None
    if isinstance(computed, Aggregate) and computed.function in {"sum", "count"}:
        start = Decimal(0) if field.type is FieldType.DECIMAL else 0
    return replace(field, computed=computed, default=start)


def _resolve(
    model: AppModel, entity: AppEntity, field: AppField, parsed: Parsed
) -> Aggregate | Copied:
    if parsed.function is None:
        return _copied(model, entity, field, parsed)
    children = {c.inverse.snake: c for c in entity.children}
    link = children.get(parsed.collection)
    if link is None:
        known = ", ".join(sorted(children)) or "none"
        raise ComputedError(
            "unknown-name",
            f"{parsed.collection!r} is not a one_to_many of {entity.names.pascal} "
            f"(its one_to_many links: {known})",
        )
    child = model.entity(link.owner)
    reads_decimal = parsed.decimal_only
    for path in parsed.paths:
        reads_decimal |= _number(model, child, path).type is FieldType.DECIMAL
    if field.type not in NUMBERS:
        raise ComputedError("type", "a computed aggregate must be an integer or decimal field")
    if field.type is FieldType.INTEGER and reads_decimal:
        raise ComputedError(
            "type", "reads decimals or divides, so the field must be a decimal field"
        )
    return Aggregate(
        function=parsed.function,
        children=parsed.collection,
        child=child.names.pascal,
        link=link.names.snake,
        expression=parsed.expression,
        paths=tuple(".".join(p) for p in parsed.paths),
    )


def _number(model: AppModel, child: AppEntity, path: tuple[str, ...]) -> AppField:
    owner = child
    if len(path) == 2:
        links = {link.names.snake: link for link in child.links}
        link = links.get(path[0])
        if link is None:
            raise ComputedError(
                "unknown-name", f"{path[0]!r} is not a many_to_one link of {child.names.pascal}"
            )
        owner = model.entity(link.target)
    fields = {f.names.snake: f for f in owner.fields}
    found = fields.get(path[-1])
    if found is None or found.type not in NUMBERS:
        raise ComputedError(
            "unknown-name",
            f"{path[-1]!r} is not an integer or decimal field of {owner.names.pascal}",
        )
    return found


def _copied(model: AppModel, entity: AppEntity, field: AppField, parsed: Parsed) -> Copied:
    links = {link.names.snake: link for link in entity.links}
    link = links.get(parsed.collection)
    if link is None:
        raise ComputedError(
            "unknown-name",
            f"{parsed.collection!r} is not a many_to_one link of {entity.names.pascal}",
        )
    target = model.entity(link.target)
    name = parsed.paths[0][0]
    source = next((f for f in target.fields if f.names.snake == name), None)
    if source is None or source.type is not field.type:
        raise ComputedError(
            "unknown-name",
            f"{name!r} is not a {field.type.value} field of {target.names.pascal}",
        )
    if field.required and not link.required:
        raise ComputedError(
            "required",
            f"the link {link.names.snake!r} may be empty, so the field must be required: false",
        )
    if field.required and not source.required:
        raise ComputedError(
            "required",
            f"{target.names.pascal}.{name} may be empty, so the field must be required: false",
        )
    return Copied(link=link.names.snake, target=target.names.pascal, field=name)


def _check_field(
    path: str, entity: AppEntity, field: AppField, computed: Aggregate | Copied
) -> Iterable[Problem]:
    field_path = path.removesuffix(".computed")
    if isinstance(computed, Aggregate) and computed.function in {"min", "max"} and field.required:
        yield Problem(
            f"{field_path}.required",
            "required",
            f"{computed.function} of no rows is empty: a {computed.function} field must be "
            "required: false.",
        )
    rules = (field.unique, field.minimum is not None, field.maximum is not None)
    if any(rules):
        yield Problem(
            field_path,
            "not-applicable",
            "A computed field takes no unique, min or max: its value is the server's.",
        )
    status = entity.checkout.status if entity.checkout else None
    if status is not None and status.names == field.names:
        yield Problem(path, "not-applicable", "A checkout's status field cannot be computed.")


def _check_chains(model: AppModel) -> Iterable[Problem]:
    """Computed values read plain fields or copies, and an aggregate may also read its
    children's aggregates (a customer's lifetime value = sum(orders.total)): the app
    recomputes up the chain in the same transaction. Copies and reads through a link's
    target never read an aggregate (nothing would tell them it changed), and no chain may
    come back to where it started."""
    for entity in model.entities:
        if not entity.writable_fields:
            yield Problem(
                f"entities.{entity.names.pascal}.fields",
                "no-writable-field",
                "An entity needs at least one field clients can set (not computed).",
            )
        for field in entity.fields:
            path = f"entities.{entity.names.pascal}.fields.{field.names.snake}.computed"
            for owner, name, direct in _reads(model, field):
                source = next(f for f in owner.fields if f.names.snake == name)
                if not isinstance(source.computed, Aggregate):
                    continue
                if not (direct and isinstance(field.computed, Aggregate)):
                    yield Problem(
                        path,
                        "not-supported",
                        f"{owner.names.pascal}.{name} is itself an aggregate; only an "
                        "aggregate over its own children may read it (compute from what "
                        "it is computed from).",
                    )
                elif _comes_back(model, (entity.names.pascal, field.names.snake)):
                    yield Problem(
                        path,
                        "cycle",
                        f"{owner.names.pascal}.{name} is computed, through its children, "
                        "from this field.",
                    )


def _comes_back(model: AppModel, start: tuple[str, str]) -> bool:
    """Whether aggregates reading their children's aggregates lead from ``start`` back to it."""
    seen: set[tuple[str, str]] = set()
    stack = [start]
    while stack:
        pascal, name = stack.pop()
        field = next(f for f in model.entity(pascal).fields if f.names.snake == name)
        for owner, read, direct in _reads(model, field):
            source = next(f for f in owner.fields if f.names.snake == read)
            if direct and isinstance(source.computed, Aggregate):
                key = (owner.names.pascal, read)
                if key == start:
                    return True
                if key not in seen:
                    seen.add(key)
                    stack.append(key)
    return False


def _reads(model: AppModel, field: AppField) -> Iterable[tuple[AppEntity, str, bool]]:
    """(entity, field) pairs ``field`` reads, and whether each is a child's own field."""
    computed = field.computed
    if isinstance(computed, Copied):
        yield model.entity(computed.target), computed.field, False
    elif isinstance(computed, Aggregate):
        child = model.entity(computed.child)
        links = {link.names.snake: link for link in child.links}
        for path in computed.paths:
            *link, name = path.split(".")
            if link:
                yield model.entity(links[link[0]].target), name, False
            else:
                yield child, name, True
