"""Every error the platform raises has an HTTP status chosen on purpose, found by its class."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import appbuilder
from appbuilder import errors
from appbuilder.web.errors import SERVER_ERRORS, STATUS_BY_ERROR, mapped_class, status_for


def _all_error_classes() -> list[type[errors.AppBuilderError]]:
    """Every AppBuilderError subclass of the package, after importing all of its modules."""
    for module in pkgutil.walk_packages(appbuilder.__path__, "appbuilder."):
        if not any(part in module.name for part in (".blueprints", ".migrations", "__main__")):
            importlib.import_module(module.name)
    found: list[type[errors.AppBuilderError]] = []
    pending = [errors.AppBuilderError]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub.__module__.startswith("appbuilder"):
                found.append(sub)
                pending.append(sub)
    return found


ERROR_CLASSES = _all_error_classes()


def test_every_error_class_lives_in_errors_py() -> None:
    elsewhere = [f"{c.__module__}.{c.__qualname__}" for c in ERROR_CLASSES]
    assert [name for name in elsewhere if not name.startswith("appbuilder.errors.")] == []


@pytest.mark.parametrize("error_type", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_has_a_deliberate_status(error_type: type[errors.AppBuilderError]) -> None:
    nearest = mapped_class(error_type)
    assert nearest is not errors.AppBuilderError, f"map {error_type.__name__} in STATUS_BY_ERROR"
    status = STATUS_BY_ERROR[nearest]
    assert status != 500 or nearest in SERVER_ERRORS


def test_an_unlisted_subclass_takes_its_nearest_mapped_ancestors_status() -> None:
    class GoneError(errors.NotFoundError):
        pass

    class TooManyError(errors.ConcurrencyLimitError):
        pass

    class OddError(errors.AppBuilderError):
        pass

    assert status_for(GoneError("Thing", "x1")) == 404
    assert status_for(TooManyError("busy")) == 429  # not QuotaExceededError's 402
    assert status_for(errors.SpecError([("a", "rule", "bad")])) == 422
    assert status_for(OddError("?")) == 500  # the root's: no silent guess by code string
