"""Rules for what people send us, defined once: ids, text and length limits.

The web's request models (through the annotated types here) and the services (through the
plain checks and numbers) apply the same rules, so a caller that is not HTTP (the command
line, a job) meets the limits the API documents. This module sits at the bottom of the
layers, beside ``errors``, so every layer that takes input may use it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field

#: ids are cuid2 strings; anything else cannot name a row (and never reaches the database)
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_ID_LENGTH = 64
ROW_ID = re.compile(ID_PATTERN)

MAX_EMAIL_LENGTH = 320
#: a size guard for request bodies; the password rules themselves (services.auth) are stricter
MAX_PASSWORD_LENGTH = 200
MAX_PERSON_NAME_LENGTH = 200
MAX_PROJECT_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 10_000
MAX_FEATURES = 50
MAX_KEY_NAME_LENGTH = 100
MAX_SEARCH_LENGTH = 200
#: a model's name as providers spell them: gpt-4o-mini, llama3.1:8b, meta-llama/Llama-3-8B
MAX_MODEL_NAME_LENGTH = 200
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*")


def text_problem(value: str) -> str | None:
    """What PostgreSQL (NUL) or UTF-8 (unpaired surrogates) would refuse later, refused on
    both databases alike; None for text that can be stored."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no unpaired surrogates)"
    return None


def has_unstorable_text(value: object) -> bool:
    """Whether any string in a JSON-like value (keys included) breaks ``text_problem``."""
    if isinstance(value, str):
        return text_problem(value) is not None
    if isinstance(value, dict):
        return any(has_unstorable_text(k) or has_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_unstorable_text(item) for item in value)
    return False


def _storable(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


#: text from clients, checked by ``text_problem``. Length limits come before that check in
#: each type below, so pydantic reports them as string_too_short / string_too_long.
_Storable = AfterValidator(_storable)
Text = Annotated[str, _Storable]
Password = Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH), _Storable]
PersonName = Annotated[str, Field(max_length=MAX_PERSON_NAME_LENGTH), _Storable]
ProjectName = Annotated[str, Field(min_length=1, max_length=MAX_PROJECT_NAME_LENGTH), _Storable]
Description = Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH), _Storable]
KeyName = Annotated[str, Field(min_length=1, max_length=MAX_KEY_NAME_LENGTH), _Storable]
ModelName = Annotated[str, Field(min_length=1, max_length=MAX_MODEL_NAME_LENGTH), _Storable]
