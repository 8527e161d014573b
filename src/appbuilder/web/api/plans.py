"""Planning a project from words with the platform's language model."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request

from appbuilder.security.scopes import Scope
from appbuilder.services.auth import Principal
from appbuilder.spec.diff import SpecDiff
from appbuilder.web.deps import (
    SessionDep,
    SessionmakerDep,
    in_planning_thread,
    plan_in_request,
    require,
)
from appbuilder.web.errors import AUTH_RESPONSES, NOT_FOUND, QUOTA, Responses, describe, merge
from appbuilder.web.params import RowId
from appbuilder.web.plan_schemas import (
    PlanIn,
    PlanOut,
    PlanUsageOut,
    ProblemOut,
    SpecChangeOut,
    SpecDiffOut,
)

router = APIRouter(prefix="/api", tags=["runs"], responses=AUTH_RESPONSES)

Planner = Annotated[Principal, Depends(require(Scope.GENERATIONS_WRITE))]
MODEL_ERRORS: Responses = {
    502: describe("The model's provider failed (the message says what to check)"),
    503: describe(
        "No language model is configured (the message names the setting), or the server "
        "is planning as many apps as it does at once (planners_busy, see Retry-After)"
    ),
}


@router.post(
    "/projects/{project_id}/plan",
    response_model=PlanOut,
    responses=merge(NOT_FOUND, QUOTA, MODEL_ERRORS),
)
async def plan(
    project_id: RowId,
    principal: Planner,
    session: SessionDep,
    sessions: SessionmakerDep,
    request: Request,
    body: PlanIn = PlanIn(),  # noqa: B008 - immutable pydantic default: no body, the description
) -> PlanOut:
    """Plan the project's app from words (or its description) with the platform's model.

    The spec comes back with what is still wrong after the model's last try, the tokens
    and cost; nothing is stored but the model calls (Generation rows). Accept the plan by
    sending its spec with `POST /api/projects/{id}/generate`. A project that has a spec
    already is changed as the words ask, and `diff` lists what the change adds, removes
    and changes (`loses_data` marks what drops stored rows or values)."""
    outcome = await in_planning_thread(
        request,
        partial(
            plan_in_request,
            request,
            session,
            sessions,
            principal.user.id,
            project_id,
            body.prompt,
            model=body.model,
        ),
    )
    usage = outcome.result.usage
    return PlanOut(
        spec=outcome.result.spec,
        valid=outcome.result.valid,
        problems=[
            ProblemOut(path=p.path, rule=p.rule, message=p.message) for p in outcome.result.problems
        ],
        usage=PlanUsageOut(
            calls=usage.calls,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            tokens=usage.tokens,
            cost_usd=usage.cost,
        ),
        diff=_diff_out(outcome.result.diff),
        generation_ids=outcome.generation_ids,
    )


def _diff_out(diff: SpecDiff | None) -> SpecDiffOut | None:
    if diff is None:
        return None
    changes = [
        SpecChangeOut.model_validate(change, from_attributes=True) for change in diff.changes
    ]
    return SpecDiffOut(changes=changes, loses_data=diff.loses_data)
