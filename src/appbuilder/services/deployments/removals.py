"""What a redeploy's migration takes away from the version still running.

The local target runs the new version beside the old one until it is healthy. That is
safe for a migration that only adds; one that drops or renames a column or a table pulls
it from under the old version's queries (every request it answers on that table fails).
The target asks this module, and stops the old version first when anything is found. (A
new NOT NULL column without a default is left out on purpose: on a table with rows the
migration itself fails, and stopping the old version first would leave nothing running.)

The migration is read as Python (``ast``), not by pattern: alembic writes operations in
several shapes (``op.drop_column(table, column)``, ``batch_op.drop_column(column)`` inside
``with op.batch_alter_table(table) as batch_op``, keyword arguments, calls split over
lines), and only ``upgrade`` counts.
"""

from __future__ import annotations

import ast

#: operation -> its positional parameters as alembic names them (``op.*`` form)
_PARAMETERS = {
    "drop_column": ("table_name", "column_name"),
    "drop_table": ("table_name",),
    "rename_table": ("old_table_name", "new_table_name"),
    "alter_column": ("table_name", "column_name"),
}


def removals(migration: str) -> list[str]:
    """What the migration's ``upgrade`` removes for the version before it, in words
    (``column notes.mood``, ``table tags``, ``column notes.title (renamed)``), in the order
    written. A migration that is not valid Python is assumed to remove something."""
    try:
        tree = ast.parse(migration)
    except SyntaxError:
        return ["the schema"]
    upgrade = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "upgrade"), None
    )
    if upgrade is None:
        return []
    found: list[str] = []
    _walk(upgrade.body, {}, found)
    return found


def _walk(body: list[ast.stmt], batches: dict[str, str], found: list[str]) -> None:
    for statement in body:
        if isinstance(statement, ast.With):
            inner = dict(batches)
            for item in statement.items:
                table = _batch_table(item.context_expr)
                if table is not None and isinstance(item.optional_vars, ast.Name):
                    inner[item.optional_vars.id] = table
            _walk(statement.body, inner, found)
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Call):
                said = _described(node, batches)
                if said is not None:
                    found.append(said)


def _batch_table(expression: ast.expr) -> str | None:
    if isinstance(expression, ast.Call) and _name(expression) == "batch_alter_table":
        return _argument(expression, 0, "table_name")
    return None


def _described(call: ast.Call, batches: dict[str, str]) -> str | None:
    operation = _name(call)
    if operation not in _PARAMETERS:
        return None
    owner = call.func.value if isinstance(call.func, ast.Attribute) else None
    batch = batches.get(owner.id) if isinstance(owner, ast.Name) else None
    names = _PARAMETERS[operation]
    # op.<operation>(table, second, ...); batch_op.<operation>(second, ...) in its block
    table = batch or _argument(call, 0, names[0]) or "?"
    second = (_argument(call, 0 if batch else 1, names[1]) if len(names) > 1 else None) or "?"
    if operation == "drop_table":
        return f"table {table}"
    if operation == "rename_table":
        return f"table {table} (renamed)"
    if operation == "drop_column":
        return f"column {table}.{second}"
    if _keyword(call, "new_column_name") is not None:  # alter_column, renaming
        return f"column {table}.{second} (renamed)"
    return None


def _name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _argument(call: ast.Call, position: int, name: str) -> str | None:
    """A string argument given at ``position`` or as ``name=``; None if not a literal."""
    value = call.args[position] if len(call.args) > position else _keyword(call, name)
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return None
