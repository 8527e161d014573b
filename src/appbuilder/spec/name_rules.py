"""Rules for the names users give entities, fields and links.

A name is refused when the stack's generated code would break with it (``ReservedNames``:
a keyword, an SQL word, a name the generated modules already use); every refusal of a
well-formed name suggests one that is accepted, so a user is never left without a way on.
Two names clash when a spelling the generator derives from them is the same.
"""

from __future__ import annotations

from collections.abc import Iterable

from appbuilder.spec.names import entity_names, is_wellformed, names_for, unspellable
from appbuilder.spec.problems import Problem
from appbuilder.spec.stack_rules import ReservedNames

#: Words put in front of a refused entity name (``Order`` → ``CustomerOrder``) and after a
#: refused field or link name (``date`` → ``date_value``) to suggest one that works.
_ENTITY_PREFIXES = ("Customer", "App", "My")
_MEMBER_SUFFIXES = ("value", "info", "entry")


def check_name(
    path: str, name: str, what: str, features: Iterable[str], reserved: ReservedNames
) -> Iterable[Problem]:
    """Refuse a malformed or reserved name; a reserved one comes with a suggestion."""
    foreign = unspellable(name)
    if foreign:
        yield Problem(
            path,
            "name-format",
            f"{what} name {name!r}: {', '.join(map(repr, foreign))} has letters with no ASCII "
            "spelling, and the generated code's identifiers are ASCII; give an ASCII name "
            f"and keep your words as its label (label: {name!r}).",
        )
        return
    if not is_wellformed(name):
        yield Problem(
            path,
            "name-format",
            f"{what} name {name!r} must start with a letter and "
            "hold only letters, digits, spaces, '_' or '-'.",
        )
        return
    features = tuple(features)
    reason = refusal(name, what, features, reserved)
    if reason is not None:
        yield Problem(
            path, "reserved-word", f"{reason}{_suggestion(name, what, features, reserved)}"
        )


def refusal(name: str, what: str, features: Iterable[str], reserved: ReservedNames) -> str | None:
    """Why a well-formed ``name`` can't be used, or None.

    Most words users reach for work: SQL words are quoted, a field spelled like a Python
    keyword or a library's attribute becomes ``from_`` with the JSON key ``from``, and an
    entity spelled like one of the app's own classes gets identifiers of its own
    (``names.entity_names``). What is left cannot be made to work: a JSON key or query
    parameter the app's rows and lists already have, and a link whose name would be a
    keyword (its attribute names the linked row in code users write).
    """
    if what == "entity":
        return _entity_refusal(name, features, reserved)
    names = names_for(name)
    if what == "relation" and names.aliased:
        return (
            f"{name!r} is a Python keyword or a name the generated models keep, and a link's "
            "name is the attribute holding the linked row"
        )
    if names.key in reserved.attributes:
        return (
            f"{name!r} is a key every row or list request already has "
            f"({', '.join(sorted(reserved.attributes))})"
        )
    return None


def _entity_refusal(name: str, features: Iterable[str], reserved: ReservedNames) -> str | None:
    """Entities are renamed out of the way of the app's own classes, except those a feature
    the stack does not know about yet adds (they are listed per feature)."""
    names = entity_names(name)
    feature_tables = {t for f in features for t in reserved.feature_tables.get(f, ())}
    if names.plural_snake in reserved.tables_and_urls | feature_tables:
        return f"{name!r} clashes with the table or URL {names.plural_snake!r} the app has"
    for feature in features:
        if names.pascal in reserved.feature_classes.get(feature, ()):
            return f"{name!r} clashes with the {names.pascal} model the {feature!r} feature adds"
    return None


def _suggestion(name: str, what: str, features: tuple[str, ...], reserved: ReservedNames) -> str:
    names = entity_names(name) if what == "entity" else names_for(name)
    if what == "entity":
        candidates = [f"{prefix}{names.pascal}" for prefix in _ENTITY_PREFIXES]
    else:
        candidates = [f"{names.key}_{suffix}" for suffix in _MEMBER_SUFFIXES]
    for candidate in candidates:
        if refusal(candidate, what, features, reserved) is None:
            return f"; try a longer name such as {candidate!r}."
    return "; choose another name."  # pragma: no cover - every stack accepts some suffix


def check_duplicate(
    path: str, name: str, seen: dict[str, str], *, entity: bool = False
) -> Iterable[Problem]:
    """Two names clash if a spelling the generator uses is the same: for entities the
    class, table and module (``Item2`` and ``Item 2``; ``Specie`` and ``Species``)."""
    if not is_wellformed(name):
        return
    names = entity_names(name) if entity else names_for(name)
    spellings = (names.snake, names.pascal, names.plural_snake) if entity else (names.snake,)
    for spelling in dict.fromkeys(spellings):
        if spelling in seen:
            if seen[spelling] == name:
                yield Problem(path, "duplicate", f"{name!r} is declared twice.")
            else:
                yield Problem(
                    path,
                    "same-identifier",
                    f"{name!r} and {seen[spelling]!r} both become {spelling!r}.",
                )
            return
    for spelling in spellings:
        seen[spelling] = name
