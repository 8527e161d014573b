"""Name rules for generated code: one spelling per use, derived once from the user's name.

A user writes ``blog post`` or ``BlogPost`` or ``blog_post``; the generator needs a class
name, a table, a module, a URL segment and labels. Deriving them all from one word list
here means two names that look different but generate the same identifier are caught once,
in validation, instead of as a crash in the generated app.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass
from functools import cache

_WORD_BOUNDARY = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_IDENTIFIER_CHARS = re.compile(r"^[A-Za-z][A-Za-z0-9 _-]*$")

_IRREGULAR_PLURALS = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "goose": "geese",
    "datum": "data",
}
_UNCOUNTABLE = frozenset({"data", "news", "series", "species", "equipment", "information"})


def words(name: str) -> list[str]:
    """Split ``BlogPost``, ``blog post``, ``blog-post`` and ``blog_post`` into the same words."""
    return [word.lower() for word in _WORD_BOUNDARY.findall(name)]


def is_wellformed(name: str) -> bool:
    """A name starts with a letter and holds only letters, digits, spaces, ``_`` and ``-``."""
    return bool(_IDENTIFIER_CHARS.match(name)) and bool(words(name))


def pluralize(word: str) -> str:
    """English plural of one lower-case word: enough for table names and labels."""
    if word in _UNCOUNTABLE:
        return word
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def _plural_words(parts: list[str]) -> list[str]:
    return [*parts[:-1], pluralize(parts[-1])] if parts else parts


@dataclass(frozen=True)
class Names:
    """Every spelling of one entity or field name the generated code uses."""

    pascal: str
    snake: str
    plural_snake: str
    kebab_plural: str
    label: str
    plural_label: str


@cache  # validation and generation ask for the same few names over and over
def names_for(name: str, label: str | None = None, plural_label: str | None = None) -> Names:
    """All spellings of ``name``; ``label`` overrides the human one (``CustomerOrder`` → Order)."""
    parts = words(name)
    plural = _plural_words(parts)
    human = label or " ".join(parts).capitalize()
    if plural_label:
        human_plural = plural_label
    elif label:
        # A label in words we can't pluralise (another script) is used as it is.
        human_plural = " ".join(_plural_words(words(label))).capitalize() or label
    else:
        human_plural = " ".join(plural).capitalize()
    return Names(
        pascal="".join(part.capitalize() for part in parts),
        snake="_".join(parts),
        plural_snake="_".join(plural),
        kebab_plural="-".join(plural),
        label=human,
        plural_label=human_plural,
    )


def slugify(name: str) -> str:
    """URL- and folder-safe slug of an app name: lower-case words joined by ``-``."""
    return "-".join(words(name))


def is_python_keyword(identifier: str) -> bool:
    """Hard keywords only: soft ones (match, case, type, _) are valid identifiers."""
    return keyword.iskeyword(identifier)
