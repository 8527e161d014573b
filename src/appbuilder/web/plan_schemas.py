"""Request and response models of planning from words: the plan, what is still wrong,
what it cost, and for a change request the diff a person reads before accepting it."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from appbuilder.rules import Text

MAX_PROMPT_LENGTH = 20_000


class PlanIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"prompt": "a todo list app with tasks and due dates"}]},
    )
    #: the app in words; the project's description when left out
    prompt: Annotated[Text, Field(min_length=1, max_length=MAX_PROMPT_LENGTH)] | None = None
    #: another model at the platform's provider (the platform's default when left out)
    model: Annotated[Text, Field(min_length=1, max_length=200)] | None = None


class ProblemOut(BaseModel):
    path: str
    rule: str
    message: str


class PlanUsageOut(BaseModel):
    calls: int
    input_tokens: int
    output_tokens: int
    tokens: int
    #: USD; None when a model's price is unknown
    cost_usd: Decimal | None


class SpecChangeOut(BaseModel):
    """One difference a change request makes to the project's spec."""

    kind: Literal["added", "removed", "changed"]
    #: app, feature, entity, field, relation, access, action or rule
    part: str
    #: where in the spec, e.g. entities.Task.fields.due_date
    path: str
    #: the value before and after (JSON; null when absent; for a change, the attributes changed)
    before: Any
    after: Any
    #: the change in one sentence
    summary: str
    #: accepting it drops stored data (an entity's rows, a field's values)
    loses_data: bool


class SpecDiffOut(BaseModel):
    changes: list[SpecChangeOut]
    #: any change drops stored data: read those before accepting
    loses_data: bool


class PlanOut(BaseModel):
    """The planned spec, to accept by sending it with POST /generate (or to edit first)."""

    spec: dict[str, Any]
    valid: bool
    #: what is still wrong after the model's last try (empty when valid)
    problems: list[ProblemOut]
    #: for a project that has a spec: what the plan changes in it (null when planned anew)
    diff: SpecDiffOut | None = None
    usage: PlanUsageOut
    #: the Generation rows recording each model call
    generation_ids: list[str]
