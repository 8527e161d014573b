"""Your usage against your tier's limits."""

from __future__ import annotations

from fastapi import APIRouter

from appbuilder.enums import ProjectTemplate
from appbuilder.services import quotas
from appbuilder.web.deps import PrincipalDep, SessionDep
from appbuilder.web.errors import AUTH_RESPONSES
from appbuilder.web.schemas import UsageLineOut, UsageOut

router = APIRouter(prefix="/api", tags=["usage"], responses=AUTH_RESPONSES)


@router.get("/usage", response_model=UsageOut)
def usage(principal: PrincipalDep, session: SessionDep) -> UsageOut:
    """Projects, generations and tokens this month, and runs at once, against your limits;
    what model calls cost this month."""
    report = quotas.usage(session, principal.user)
    return UsageOut(
        tier=report.tier,
        period_start=report.period_start,
        limits=[
            UsageLineOut(limit=line.limit, used=line.used, allowed=line.allowed)
            for line in report.lines
        ],
        templates=[t for t in ProjectTemplate if t in report.templates],
        deploy_targets=sorted(report.deploy_targets),
        cost_usd=report.cost_usd,
        calls_of_unknown_cost=report.calls_of_unknown_cost,
    )
