"""Reading specs from YAML or JSON and laying a user's spec over a template preset.

Every way into an AppSpec ends in ``build_spec``, so a file, an API body and a CLI flag get
the same merge rules and the same errors (paths name entities and fields, not list indexes).
"""

from __future__ import annotations

import copy
import difflib
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from appbuilder.enums import ProjectTemplate
from appbuilder.errors import SpecError
from appbuilder.spec.model import (
    AppSpec,
    CheckoutSpec,
    Deployment,
    EntitySpec,
    FieldSpec,
    Integrations,
    RelationSpec,
)
from appbuilder.spec.names import is_wellformed, names_for
from appbuilder.spec.resolved import AppModel
from appbuilder.spec.validation import resolve

MAX_SPEC_BYTES = 1_000_000


def preset(template: ProjectTemplate) -> dict[str, Any]:
    """The preset spec of a template, as plain data ready to be merged (the caller's own
    copy: parsing the YAML took ~1 ms of every check of a model's plan)."""
    return copy.deepcopy(_parsed_preset(template))


@cache
def _parsed_preset(template: ProjectTemplate) -> dict[str, Any]:
    text = resources.files("appbuilder.spec").joinpath("presets", f"{template.lower()}.yaml")
    data: dict[str, Any] = yaml.safe_load(text.read_text(encoding="utf-8"))
    return data


def read_spec_file(path: Path) -> dict[str, Any]:
    """Parse a ``.yaml``/``.yml``/``.json`` spec file into plain data, with clear errors."""
    raw = path.read_bytes()
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([("file", "max-size", f"{path} is larger than {MAX_SPEC_BYTES} bytes.")])
    try:
        text = raw.decode("utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
        raise SpecError(
            [("file", "syntax", f"{path} could not be parsed: {_why(error)}")]
        ) from error
    if not isinstance(data, dict):
        raise SpecError([("file", "type", f"{path} must hold a mapping at its top level.")])
    return data


def _why(error: Exception) -> str:
    """The parser's reason with the line and column where it has them."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem or error.context} (line {mark.line + 1}, column {mark.column + 1})"
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} (line {error.lineno}, column {error.colno})"
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _key(item: Any) -> str | None:
    name = item.get("name") if isinstance(item, dict) else None
    return names_for(name).snake if isinstance(name, str) and is_wellformed(name) else None


def _merge_named(base: list[Any], extra: list[Any], nested: tuple[str, ...]) -> list[Any]:
    """Merge two lists of named mappings: same name → merged (``nested`` lists recursively).

    An item that changes its ``type`` or ``kind`` replaces the preset's item whole, so the
    preset's settings for the old type (a string's max_length) don't linger.
    """
    result = [dict(item) if isinstance(item, dict) else item for item in base]
    index = {_key(item): i for i, item in enumerate(result) if _key(item) is not None}
    for item in extra:
        key = _key(item)
        if key is None or key not in index:
            result.append(item)
            continue
        old = result[index[key]]
        defaults = {"type": "string", "kind": "many_to_one"}  # the models' own defaults
        changed = isinstance(old, dict) and any(
            key in item and item[key] != old.get(key, default) for key, default in defaults.items()
        )
        merged = dict(item) if changed else {**old, **item}
        for name in nested:
            if isinstance(result[index[key]].get(name), list) and isinstance(item.get(name), list):
                merged[name] = _merge_named(result[index[key]][name], item[name], ())
        result[index[key]] = merged
    return result


def merge_specs(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Lay ``extra`` over ``base``: entities merge by name, features add up, the rest overrides."""
    merged = {**base, **extra}
    if isinstance(base.get("entities"), list) and isinstance(extra.get("entities"), list):
        merged["entities"] = _merge_named(
            base["entities"], extra["entities"], ("fields", "relations")
        )
    if isinstance(base.get("features"), list) and isinstance(extra.get("features"), list):
        merged["features"] = list(dict.fromkeys([*base["features"], *extra["features"]]))
    for section in ("integrations", "deployment"):
        if isinstance(base.get(section), dict) and isinstance(extra.get(section), dict):
            merged[section] = {**base[section], **extra[section]}
    return merged


def build_spec(
    data: dict[str, Any] | None = None,
    *,
    template: ProjectTemplate | None = None,
    name: str | None = None,
) -> AppSpec:
    """The AppSpec for user data over its template's preset (``template`` wins over the data's)."""
    data = dict(data or {})
    chosen = template or _template_of(data)
    if template is not None and "template" in data and _template_of(data) is not template:
        raise SpecError(
            [
                (
                    "template",
                    "conflict",
                    f"The spec says template {data['template']!r} but the template chosen "
                    f"(--template, or the project's) is {template.value!r}; drop one of them.",
                )
            ]
        )
    combined = merge_specs(preset(chosen), data)
    combined["template"] = chosen.value
    if name is not None:
        combined["name"] = name
    try:
        return AppSpec.model_validate(combined)
    except PydanticValidationError as error:
        raise SpecError(_problems(combined, error)) from error


def _problems(data: dict[str, Any], error: PydanticValidationError) -> list[tuple[str, str, str]]:
    """Every problem, including those inside a misspelt block (read under the key it
    most likely meant, ``feilds`` as ``fields``), so one round reports them all."""
    problems = [_problem(data, e) for e in error.errors()]
    corrected, renamed = _corrected(data, error)
    if not renamed:
        return problems
    try:
        AppSpec.model_validate(corrected)
    except PydanticValidationError as again:
        for found in again.errors():
            problem = _problem(corrected, found)
            inside = next((r for r in renamed if problem[0].startswith(r + ".")), None)
            if inside is not None and found["type"] != "extra_forbidden":
                note = f" (inside {renamed[inside]!r}, read as {inside.rsplit('.', 1)[-1]!r})"
                problems.append((problem[0], problem[1], problem[2] + note))
    return problems


def _corrected(data: dict[str, Any], error: PydanticValidationError) -> tuple[Any, dict[str, str]]:
    """A copy of ``data`` with each unknown key that is close to an allowed, absent one
    renamed to it; and the renamed paths (as ``_problem`` spells them) with the old key."""
    corrected = copy.deepcopy(data)
    renamed: dict[str, str] = {}
    for found in error.errors():
        if found["type"] != "extra_forbidden":
            continue
        *parents, key = found["loc"]
        node: Any = corrected
        try:
            for loc in parents:
                node = node[loc]
        except (KeyError, IndexError, TypeError):
            continue
        path = _problem(corrected, found)[0]
        guess = _closest(str(key), _allowed(path))
        if isinstance(node, dict) and guess is not None and guess not in node:
            node[guess] = node.pop(key)
            renamed[path.rsplit(".", 1)[0] + "." + guess if "." in path else guess] = str(key)
    return corrected, renamed


def load(
    path: Path | None = None,
    *,
    template: ProjectTemplate | None = None,
    name: str | None = None,
) -> tuple[AppSpec, AppModel]:
    """Read, merge, validate and normalise: the one call the CLI and services make."""
    spec = build_spec(read_spec_file(path) if path else None, template=template, name=name)
    return spec, resolve(spec)


def _template_of(data: dict[str, Any]) -> ProjectTemplate:
    raw = data.get("template", ProjectTemplate.CUSTOM.value)
    try:
        return ProjectTemplate(str(raw).upper())
    except ValueError:
        allowed = ", ".join(t.value for t in ProjectTemplate)
        raise SpecError([("template", "enum", f"{raw!r} is not a template ({allowed}).")]) from None


def _problem(data: Any, error: Any) -> tuple[str, str, str]:
    """A pydantic error as (path naming entities/fields, rule, message)."""
    path = ""
    node = data
    for loc in error["loc"]:
        if isinstance(loc, int) and isinstance(node, list) and 0 <= loc < len(node):
            node = node[loc]
            name = node.get("name") if isinstance(node, dict) else None
            if isinstance(name, str) and name:
                path += f".{name}"
            else:
                path += f"[{node!r}]" if isinstance(node, str) else f"[{loc}]"
        else:
            path += f".{loc}"
            node = node.get(loc) if isinstance(node, dict) else None
    message = error["msg"]
    path = path.lstrip(".") or "spec"
    if error["type"] == "extra_forbidden":
        allowed = _allowed(path)
        guess = _closest(path.rsplit(".", 1)[-1], allowed)
        message += f"; did you mean {guess!r}?" if guess else ""
        message += f" (allowed here: {', '.join(allowed)})"
    return (path, error["type"], message)


_KEYS: dict[str, type[BaseModel]] = {
    ".relations.": RelationSpec,
    ".fields.": FieldSpec,
    ".checkout.": CheckoutSpec,
    "entities.": EntitySpec,
    "integrations.": Integrations,
    "deployment.": Deployment,
}


def _allowed(path: str) -> list[str]:
    """The keys allowed where the key at ``path`` was found."""
    parent = path.rsplit(".", 1)[0] + "." if "." in path else ""
    for marker, model in _KEYS.items():
        if marker in "." + parent:
            return list(model.model_fields)
    return list(AppSpec.model_fields)


def _closest(word: str, allowed: list[str]) -> str | None:
    """The allowed key a misspelt one most likely meant (difflib), if any is close."""
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    return close[0] if close else None
