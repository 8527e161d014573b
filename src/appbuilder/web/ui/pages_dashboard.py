"""The dashboard: the user's projects with their status and last run, and this month's
use of the tier's quota."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from appbuilder.services import quotas, runs
from appbuilder.services.pagination import PageRequest
from appbuilder.services.projects import list_user_projects
from appbuilder.web.deps import SessionDep
from appbuilder.web.ui.deps import UserDep, check_csrf, optional_principal
from appbuilder.web.ui.render import render

router = APIRouter(
    include_in_schema=False, dependencies=[Depends(check_csrf), Depends(optional_principal)]
)
#: projects shown on one dashboard page (the API pages through more)
DASHBOARD_PAGE = 100


@router.get("/dashboard")
def dashboard(
    request: Request, principal: UserDep, session: SessionDep, cursor: str | None = None
) -> Response:
    page = list_user_projects(
        session, principal.user.id, PageRequest(limit=DASHBOARD_PAGE, cursor=cursor)
    )
    latest = runs.latest_runs(session, [p.id for p in page.items])
    usage = quotas.usage(session, principal.user)
    lines = {line.limit: line for line in usage.lines}
    context = {
        "projects": page.items,
        "next_cursor": page.next_cursor,
        "latest": latest,
        "usage": usage,
        "lines": lines,
        "page_title": "Dashboard",
    }
    return render(request, "dashboard.html", context)
