"""One problem found in a spec: where, which rule, and what the user can do about it."""

from __future__ import annotations

from typing import NamedTuple


class Problem(NamedTuple):
    """``path`` names entities and fields (``entities.Post.fields.title``), not list indexes."""

    path: str
    rule: str
    message: str
