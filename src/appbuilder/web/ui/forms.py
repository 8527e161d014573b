"""Form input checked by the API's own request models, so a page shows exactly the
messages the API would send (one copy of every rule)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from appbuilder.errors import AppBuilderError, SpecError, ValidationError

Model = TypeVar("Model", bound=BaseModel)
#: field name -> message, shown beside the field
FieldErrors = dict[str, str]


class FormInvalid(Exception):  # noqa: N818 - carries the messages to show, not a failure
    def __init__(self, errors: FieldErrors) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def parse(model: type[Model], data: dict[str, Any]) -> Model:
    """``model`` from form values, or FormInvalid naming each bad field and its rule."""
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        errors: FieldErrors = {}
        for error in exc.errors():
            name = ".".join(str(p) for p in error["loc"]) or "form"
            errors.setdefault(name, _sentence(error["msg"]))
        raise FormInvalid(errors) from exc


def _sentence(message: str) -> str:
    message = message.removeprefix("Value error, ")
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def field_errors(exc: AppBuilderError) -> FieldErrors:
    """A service's refusal as messages per field (the API's details.fields, keyed by path)."""
    if isinstance(exc, SpecError):
        return {path: message for path, _rule, message in exc.problems}
    if isinstance(exc, ValidationError):
        return {exc.field: exc.message}
    field = exc.details.get("field")
    return {str(field) if field else "form": exc.message}
