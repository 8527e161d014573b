"""One model call as a Generation row: the same columns whether a plan or a run made it."""

from __future__ import annotations

from appbuilder.db.models import Generation
from appbuilder.db.types import utcnow
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.llm.client import CallRecord


def call_row(
    call: CallRecord,
    *,
    agent: AgentType,
    user_id: str,
    project_id: str,
    run_id: str | None = None,
    status: GenerationStatus = GenerationStatus.COMPLETED,
    error: str | None = None,
) -> Generation:
    return Generation(
        run_id=run_id,
        project_id=project_id,
        user_id=user_id,
        agent_type=agent,
        model=call.model,
        prompt=call.prompt,
        response=call.response,
        status=status,
        tokens_used=call.tokens,
        input_tokens=call.input_tokens,
        output_tokens=call.output_tokens,
        cost_usd=call.cost,
        duration_ms=call.duration_ms,
        error_message=error,
        completed_at=utcnow(),
    )
