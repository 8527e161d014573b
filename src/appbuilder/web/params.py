"""Path and query parameters many routes share, each rule written once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from appbuilder.rules import ID_PATTERN, MAX_ID_LENGTH
from appbuilder.services.pagination import MAX_CURSOR_LENGTH, MAX_PAGE_SIZE

#: a row's id in the path; a malformed one is a 422 before any query runs
RowId = Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)]
