"""Name rules for generated code: one spelling per use, derived once from the user's name.

A user writes ``blog post`` or ``BlogPost`` or ``blog_post``; the generator needs a class
name, a table, a module, a URL segment and labels. Deriving them all from one word list
here means two names that look different but generate the same identifier are caught once,
in validation, instead of as a crash in the generated app.

Names may hold letters beyond ASCII (``Café``): labels keep them, identifiers are spelled
in ASCII (``cafe``, by removing accents and a few letters' usual spellings, ``ß`` → ``ss``).
A name with a letter that has no ASCII spelling (another script) needs an ASCII name and a
label for its words.
"""

from __future__ import annotations

import hashlib
import keyword
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

# Run on a name's shape (``A`` upper-case, ``a`` lower-case letter or digit, `` `` other):
# the spans found are the words of the name itself, in any script.
_WORD_BOUNDARY = re.compile(r"A?a+|A+(?!a)")
_SEPARATORS = frozenset(" _-")

#: Letters whose ASCII spelling is not the letter without its accents.
_SPELLED = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "\u0131": "i",  # dotless i
}

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


def _shape(char: str) -> str:
    if char.isupper():
        return "A"
    return "a" if char.isalnum() else " "


def human_words(name: str) -> list[str]:
    """``Café au lait``, ``CaféAuLait`` and ``café_au_lait`` → ``[café, au, lait]``."""
    shape = "".join(_shape(char) for char in name)
    return [name[m.start() : m.end()].lower() for m in _WORD_BOUNDARY.finditer(shape)]


def ascii_word(word: str) -> str:
    """``café`` → ``cafe``; letters with no ASCII spelling are left out."""
    spelled = "".join(_SPELLED.get(char, char) for char in word)
    decomposed = unicodedata.normalize("NFKD", spelled)
    return "".join(char for char in decomposed if char.isascii() and char.isalnum()).lower()


def words(name: str) -> list[str]:
    """Split ``BlogPost``, ``blog post``, ``blog-post`` and ``blog_post`` into the same words,
    spelled in ASCII (identifiers are built from these)."""
    return [spelled for word in human_words(name) if (spelled := ascii_word(word))]


def unspellable(name: str) -> list[str]:
    """The words of ``name`` that have no complete ASCII spelling (``Книга``, ``日本``)."""
    return [
        word
        for word in human_words(name)
        if any(char.isalpha() and not ascii_word(char) for char in word)
    ]


def is_wellformed(name: str) -> bool:
    """A name starts with a letter, holds only letters, digits, spaces, ``_`` and ``-``, and
    every letter has an ASCII spelling."""
    return (
        bool(name)
        and name[0].isalpha()
        and all(char.isalnum() or char in _SEPARATORS for char in name)
        and not unspellable(name)
        and bool(words(name))
    )


#: PostgreSQL cuts identifiers (tables, columns, constraints) at 63 bytes, silently: two
#: long names sharing a beginning would become one.
IDENTIFIER_BYTES = 63
#: Room left after an entity's or field's identifier for the ``_ids`` of a column.
NAME_BYTES = IDENTIFIER_BYTES - len("_ids")


def fit_identifier(text: str, limit: int = IDENTIFIER_BYTES) -> str:
    """``text`` if it fits ``limit`` bytes, else its beginning and a stable hash of all of
    it: the same name always gives the same identifier, and two names sharing a long
    beginning stay distinct."""
    if len(text.encode()) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[: limit - len(digest) - 1].rstrip('_')}_{digest}"


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
    spoken = human_words(name)
    human = label or " ".join(spoken).capitalize()
    if plural_label:
        human_plural = plural_label
    elif label:
        # A label in words we can't pluralise (another script) is used as it is.
        plural_words = _plural_words(human_words(label))
        human_plural = label if unspellable(label) else " ".join(plural_words).capitalize() or label
    else:
        human_plural = " ".join(_plural_words(spoken)).capitalize()
    return Names(
        pascal="".join(part.capitalize() for part in parts),
        snake=fit_identifier("_".join(parts), NAME_BYTES),
        plural_snake=fit_identifier("_".join(plural), NAME_BYTES),
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
