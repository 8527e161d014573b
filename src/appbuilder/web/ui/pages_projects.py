"""Projects: start one (from words or a template), its page with runs and the live
timeline, cancel, change requests."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from appbuilder.web.ui.deps import check_csrf, optional_principal

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(check_csrf), Depends(optional_principal)]
)
