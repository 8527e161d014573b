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
    """Every spelling of one entity or field name the generated code uses.

    ``key`` is the user's word as clients see it: a field's JSON key, column, query and
    form parameter and sort key. ``snake`` is the Python identifier the generated code
    binds: the same, or ``key`` and a ``_`` when the word is one Python or the libraries
    keep for themselves (``from`` → ``from_``, ``metadata`` → ``metadata_``).
    """

    pascal: str
    snake: str
    plural_snake: str
    kebab_plural: str
    label: str
    plural_label: str
    key: str

    @property
    def aliased(self) -> bool:
        """The Python attribute differs from the key clients use (``from_`` for ``from``)."""
        return self.snake != self.key


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words a generated class cannot bind as an attribute: Python's keywords, what SQLAlchemy's
#: declarative classes and pydantic's models keep for themselves (and ``model_*``), and the
#: type names that the fields' annotations after it in the same class body would then read.
_TAKEN_ATTRIBUTES = frozenset(word.lower() for word in keyword.kwlist) | _words(
    """
    metadata registry query session self cls copy dict json schema schema_json construct
    validate from_orm parse_obj parse_raw parse_file update_forward_refs fields
    bool int str float bytes list dict set tuple object date datetime decimal any json_value
    """
)

#: Entity words the generated apps keep for their own classes, modules, variables, tables
#: and URLs (``User`` is the app's accounts, ``Select`` a query, ``service`` a variable):
#: such an entity gets identifiers of its words and ``record`` (class ``UserRecord``, table
#: ``user_records``) while its URL, labels and pages say what the user wrote.
INTERNAL_ENTITY_WORDS = frozenset(word.lower() for word in keyword.kwlist) | _words(
    """
    class type date datetime decimal json object list dict str int float bool set enum field
    model base settings config session service router response request values data row rows
    timestamped mapped any text string integer boolean numeric column table foreign_key
    annotated literal base_model query depends select user user_session api_key payment
    upload login_failure main db models schemas pages pagination security dependencies health
    static templates routers tests web api auth admin storage payments feed uploads api_keys
    migrations app common home accounts errors validators integrations mailer fakes factories
    conftest crud computed logs middleware csrf cli
    """
)
#: ``/<kebab-plural>`` URLs the generated app already serves itself.
APP_URLS = _words("alembic-version static docs redoc admin login logout signup healthz api feed")


def _typographic(label: str | None) -> str | None:
    """An apostrophe in a label is shown as U+2019 (the typographic one): it reads right and
    needs no escaping in any language a label lands in (Python strings, HTML, TOML, Markdown)."""
    return label.replace("'", "\u2019") if label else label


def _plural_label(label: str) -> str:
    """``Customer's note`` → ``Customer's notes``: only the last word changes, the rest of
    the user's words and punctuation stay as written."""
    match = re.search(r"(\w+)$", label)
    if match is None or unspellable(match.group(1)):
        return label  # a label in words we can't pluralise (another script) is used as it is
    return label[: match.start()] + pluralize(match.group(1).lower())


@cache  # validation and generation ask for the same few names over and over
def names_for(name: str, label: str | None = None, plural_label: str | None = None) -> Names:
    """All spellings of ``name``; ``label`` overrides the human one (``CustomerOrder`` → Order)."""
    label, plural_label = _typographic(label), _typographic(plural_label)
    parts = words(name)
    plural = _plural_words(parts)
    spoken = human_words(name)
    human = label or " ".join(spoken).capitalize()
    if plural_label:
        human_plural = plural_label
    elif label and not re.fullmatch(r"[\w ]+", label):
        human_plural = _plural_label(label)
    elif label:
        # A label in words we can't pluralise (another script) is used as it is.
        plural_words = _plural_words(human_words(label))
        human_plural = label if unspellable(label) else " ".join(plural_words).capitalize() or label
    else:
        human_plural = " ".join(_plural_words(spoken)).capitalize()
    key = fit_identifier("_".join(parts), NAME_BYTES)
    return Names(
        pascal="".join(part.capitalize() for part in parts),
        snake=f"{key}_" if key in _TAKEN_ATTRIBUTES or key.startswith("model_") else key,
        plural_snake=fit_identifier("_".join(plural), NAME_BYTES),
        kebab_plural="-".join(plural),
        label=human,
        plural_label=human_plural,
        key=key,
    )


@cache
def entity_names(name: str, label: str | None = None, plural_label: str | None = None) -> Names:
    """An entity's spellings: ``names_for``'s, unless its words are ones the generated app
    keeps for itself; then its identifiers add ``record`` (``User`` → class ``UserRecord``,
    table ``user_records``, module ``user_record``) and its URL, labels and ``key`` stay the
    user's (``/users``, "User") unless the app already serves that URL."""
    names = names_for(name, label, plural_label)
    if names.key not in INTERNAL_ENTITY_WORDS and names.kebab_plural not in APP_URLS:
        return names
    inner = names_for(f"{name} record")
    kebab = inner.kebab_plural if names.kebab_plural in APP_URLS else names.kebab_plural
    return Names(
        pascal=inner.pascal,
        snake=inner.snake,
        plural_snake=inner.plural_snake,
        kebab_plural=kebab,
        label=names.label,
        plural_label=names.plural_label,
        key=names.key,
    )


def slugify(name: str) -> str:
    """URL- and folder-safe slug of an app name: lower-case words joined by ``-``."""
    return "-".join(words(name))


def is_python_keyword(identifier: str) -> bool:
    """Hard keywords only: soft ones (match, case, type, _) are valid identifiers."""
    return keyword.iskeyword(identifier)
