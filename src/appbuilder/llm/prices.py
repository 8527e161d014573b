"""What a call cost: pydantic-ai's price data for known models, an operator's file for others.

An unknown model's cost is None (recorded as unknown), never guessed: a self-hosted model
costs what its operator says in the prices file (``0`` is a fine answer), and a hosted
model the price data does not know yet stays unknown until someone adds it there.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path

import yaml

from appbuilder.errors import ConfigurationError

PER_MILLION = Decimal(1_000_000)


def load_prices(path: Path | None) -> Mapping[str, tuple[Decimal, Decimal]]:
    """``{model: (input, output)}`` in USD per million tokens, from a YAML file like::

    llama3.1:8b: {input: 0, output: 0}
    my-finetune: {input: 0.5, output: 1.5}
    """
    if path is None:
        return {}
    return _load(path.expanduser().absolute())


@cache
def _load(path: Path) -> Mapping[str, tuple[Decimal, Decimal]]:
    where = f"UAB_LLM_PRICES_FILE ({path})"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigurationError(f"{where} cannot be read: {error}") from error
    if not isinstance(data, dict):
        raise ConfigurationError(f"{where} must map model names to {{input, output}} prices.")
    prices = {}
    for model, price in data.items():
        try:
            prices[str(model)] = (_price(price["input"]), _price(price["output"]))
        except (TypeError, KeyError, InvalidOperation, ValueError) as error:
            raise ConfigurationError(
                f"{where}: {model!r} needs input and output prices (USD per million "
                f"tokens, numbers >= 0): {error}"
            ) from error
    return prices


def _price(value: object) -> Decimal:
    price = Decimal(str(value))
    if not price.is_finite() or price < 0:
        raise ValueError(f"{value!r} is not a price")
    return price


def cost_of(
    model: str,
    input_tokens: int,
    output_tokens: int,
    known: Decimal | None,
    overrides: Mapping[str, tuple[Decimal, Decimal]],
) -> Decimal | None:
    """The call's cost in USD: the operator's price first, then the price data's, else None."""
    if model in overrides:
        per_input, per_output = overrides[model]
        return (per_input * input_tokens + per_output * output_tokens) / PER_MILLION
    return known
