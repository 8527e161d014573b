"""Your usage against your tier's limits."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from appbuilder.db.reads import Steps
from appbuilder.enums import ProjectTemplate
from appbuilder.services import quotas
from appbuilder.services.auth import Principal
from appbuilder.web.deps import Bearer
from appbuilder.web.errors import AUTH_RESPONSES
from appbuilder.web.one_hop import answer_reads, to_json
from appbuilder.web.schemas import UsageLineOut, UsageOut

router = APIRouter(prefix="/api", tags=["usage"], responses=AUTH_RESPONSES)


def _usage(principal: Principal) -> Steps[bytes]:
    report = yield from quotas.usage_steps(principal.user)
    return to_json(
        UsageOut(
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
    )


@router.get("/usage", response_model=UsageOut)
async def usage(request: Request, credential: Bearer) -> Response:
    """Projects, generations and tokens this month, and runs at once, against your limits;
    what model calls cost this month."""
    return await answer_reads(request, credential, _usage, scope=None)
