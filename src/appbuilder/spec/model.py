"""AppSpec: the single source of truth for one generated app, as users write it.

This module holds the shape (what the JSON Schema shows); ``validation`` holds the rules
that need more than one field at a time, and ``resolved`` the normalised view the
generator reads. The shape is versioned by ``spec_version`` so stored specs stay readable.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from appbuilder.enums import ProjectTemplate

SPEC_VERSION: Literal[1] = 1

MAX_ENTITIES = 30
MAX_FIELDS = 40
MAX_RELATIONS = 20
MAX_ENUM_VALUES = 50
MAX_NAME_LENGTH = 40
MAX_STRING_LENGTH = 10_000
DEFAULT_STRING_LENGTH = 200
MAX_PATTERN_LENGTH = 200

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]
# Labels and enum values appear verbatim in generated Python strings and HTML, so they hold
# only letters, digits and a little punctuation; no quotes, braces or angle brackets.
Label = Annotated[
    str, StringConstraints(min_length=1, max_length=60, pattern=r"^[^\W_][\w ,.()/'\u2019-]*$")
]
EnumValue = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[^\W_][\w .-]*$")
]

#: A ``min``/``max``: a number, or an ISO date or datetime as text.
Bound = Annotated[
    Annotated[int, Field(strict=True)] | Decimal | str, Field(union_mode="left_to_right")
]

Feature = Literal[
    "auth",
    "admin",
    "search",
    "pagination",
    "file_uploads",
    "comments",
    "tags",
    "markdown",
    "rss",
    "api_keys",
    "payments",
    "email",
    "organizations",
]


class FieldType(StrEnum):
    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    EMAIL = "email"
    URL = "url"
    ENUM = "enum"
    JSON = "json"


#: Types whose values are short strings with a maximum length.
SIZED_TYPES = frozenset({FieldType.STRING, FieldType.EMAIL, FieldType.URL})


class RelationKind(StrEnum):
    MANY_TO_ONE = "many_to_one"
    ONE_TO_MANY = "one_to_many"
    MANY_TO_MANY = "many_to_many"


class OnDelete(StrEnum):
    CASCADE = "cascade"
    SET_NULL = "set_null"
    RESTRICT = "restrict"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


AccessRule = Literal["public", "signed_in", "owner", "member", "org_admin", "admin"]


#: A JSON default's list, described with typed items: providers' strict schema checks
#: (Anthropic's) refuse an untyped ``items: {}``; pydantic still accepts any JSON value.
JsonList = Annotated[
    list[Any],
    WithJsonSchema(
        {
            "type": "array",
            "items": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "number"},
                    {"type": "boolean"},
                    {"type": "object"},
                    {"type": "null"},
                ]
            },
        }
    ),
]


class FieldSpec(_Strict):
    """One column of an entity."""

    name: Name
    type: FieldType = FieldType.STRING
    label: Label | None = None
    required: bool = True
    unique: bool = False
    indexed: bool = False
    default: bool | int | Decimal | str | dict[str, Any] | JsonList | None = Field(
        default=None,
        description=(
            "Used when a create request leaves the field out: a value of the field's type, "
            "'today' for a date and 'now' for a datetime (taken when the row is stored, in "
            "UTC), an object or list for json (each row gets its own copy)."
        ),
    )
    max_length: Annotated[int, Field(ge=1, le=MAX_STRING_LENGTH)] | None = Field(
        default=None, description=f"For string, email and url; {DEFAULT_STRING_LENGTH} if unset."
    )
    values: list[EnumValue] = Field(
        default_factory=list, description="The allowed values of an enum field."
    )
    # Value rules and computed values: checked by ``spec.value_rules`` and ``spec.computed``.
    min: Bound | None = Field(
        default=None,
        description="Smallest value allowed: a number for integer and decimal fields, "
        "an ISO date or datetime (UTC if no offset) for date and datetime fields.",
    )
    max: Bound | None = Field(default=None, description="Largest value allowed; as for min.")
    min_length: Annotated[int, Field(ge=1, le=MAX_STRING_LENGTH)] | None = Field(
        default=None, description="For string, text, email and url: the fewest characters."
    )
    pattern: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_PATTERN_LENGTH)] | None
    ) = Field(
        default=None,
        description="For string and text: a regular expression the whole value must match "
        "(no look-around or back-references, so matching takes linear time).",
    )
    computed: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None,
        description="Kept by the server, never sent by clients: an aggregate over a one_to_many "
        "link, 'sum(items.quantity * items.product.price)' (sum, count, min, max), or a field "
        "of a many_to_one target copied whenever a client writes the row (creates, relinks "
        "or changes it) and kept when the target changes, 'product.price'.",
    )
    private: bool = Field(
        default=False,
        description="Only the row's owner and admins see it; left out of other callers' "
        "JSON and pages (needs auth).",
    )
    readonly: bool = Field(
        default=False,
        description="Set by the server or by admins only: others sending it get 422 "
        "(needs auth, and a default or required: false).",
    )

    @field_validator("min", "max", mode="before")
    @classmethod
    def _iso_bound(cls, value: object) -> object:
        """YAML reads ``2024-01-01`` as a date: keep bounds as the ISO text users wrote."""
        if isinstance(value, date | datetime):
            return value.isoformat()
        return value


class RelationSpec(_Strict):
    """A link from this entity to another.

    ``many_to_one`` adds a ``<name>_id`` column here; ``one_to_many`` is the same link
    declared from the other side (the target gets the column, named after this entity or
    ``inverse``); ``many_to_many`` adds a link table.
    """

    name: Name
    kind: RelationKind = RelationKind.MANY_TO_ONE
    target: Name
    required: bool = Field(default=False, description="many_to_one only: the link must be set.")
    on_delete: OnDelete | None = Field(
        default=None,
        description="What deleting the target does to rows that point at it; "
        "cascade for required links and set_null for optional ones if unset.",
    )
    inverse: Name | None = Field(
        default=None, description="one_to_many only: the link's name on the target."
    )
    linkable_if: (
        Annotated[dict[Name, bool | EnumValue], Field(min_length=1, max_length=5)] | None
    ) = Field(
        default=None,
        description="many_to_one and many_to_many only: which target rows may be linked, as "
        "boolean or enum fields of the target and the value each must hold, e.g. {active: "
        "true} (a shop's withdrawn products). Linking a row that holds another value, on "
        "create or by changing the link, is refused with 422 naming the link ('not "
        "available'), and forms offer only the rows that hold it; rows already linked stay "
        "as they are and readable.",
    )


class StockSpec(_Strict):
    """Paying a row takes its children's quantities out of their targets' stock.

    For an order: ``{items: order_items, quantity: quantity, product: product, field:
    stock}`` - each order item's quantity comes off its product's stock once, when Stripe
    confirms the payment; a checkout asking for more than is in stock is refused.
    """

    items: Name = Field(description="The paid entity's one_to_many link to its items.")
    quantity: Name = Field(description="The item's integer field holding how many.")
    product: Name = Field(description="The item's many_to_one link to what is stocked.")
    field: Name = Field(description="The stocked entity's integer field counting what is left.")


class CheckoutSpec(_Strict):
    """Rows of this entity can be paid through Stripe Checkout (turns on ``payments``).

    With a ``status_field`` (an enum), its values before ``paid_value`` are open (the row can
    be paid; one Checkout at a time), and ``paid_value`` and the values after it are closed
    (an order's ``paid, shipped, cancelled``): the amount is locked, the row is neither paid
    again nor deleted, and it never moves back to an open value. Only Stripe's confirmation
    sets ``paid_value``; admins move the status among the other values (ship, cancel); other
    users never set it.
    """

    amount_field: Name = Field(description="A decimal field holding the amount to charge.")
    status_field: Name | None = Field(
        default=None, description="An enum field set to ``paid_value`` once Stripe confirms."
    )
    paid_value: EnumValue = "paid"
    stock: StockSpec | None = Field(
        default=None, description="Stock taken when a row is paid (needs status_field)."
    )


class ActionSpec(_Strict):
    """Something a person does to one row, written in words; a language model writes its
    code (a route and its tests) inside the app's custom folders."""

    name: Name
    description: Annotated[str, StringConstraints(min_length=1, max_length=1000)] = Field(
        description="What the action does and who may do it, e.g. 'sets status to published "
        "and published_at to now; owner only'."
    )


#: A rule in words, e.g. "end date must be after start date"; a model writes its check.
RuleText = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class AccessSpec(_Strict):
    """Who may read, create, change and delete an entity's rows.

    ``public``: anyone; ``signed_in``: any signed-in user; ``owner``: the user who created
    the row (for ``create``, any signed-in user, who then owns it); ``member``: a member of
    the row's organisation (any role; for ``create``, of the organisation the new row links
    to); ``org_admin``: an owner or admin of the row's organisation; ``admin``: platform
    admins only. ``member`` and ``org_admin`` need the ``organizations`` feature.
    Admins may always do everything. Unset rules take the entity's default: ``owner`` for
    everything on entities holding people's data (an email field, or a link to such an
    entity), else public read, signed-in create and owner update and delete; with
    ``organizations``, ``member`` for everything on tenant entities (those with a required
    many_to_one link to the organisation entity) and, on the organisation entity, member
    read, signed-in create and org_admin update and delete.
    """

    read: AccessRule | None = None
    create: AccessRule | None = None
    update: AccessRule | None = None
    delete: AccessRule | None = None


class EntitySpec(_Strict):
    """A kind of record the app stores, lists and edits."""

    name: Name
    label: Label | None = None
    plural_label: Label | None = None
    description: Annotated[str, StringConstraints(max_length=500)] = ""
    fields: list[FieldSpec] = Field(default_factory=list)
    relations: list[RelationSpec] = Field(default_factory=list)
    checkout: CheckoutSpec | None = None
    access: AccessSpec = Field(
        default_factory=AccessSpec,
        description="Who may read, create, update and delete rows; anything but public "
        "needs the auth feature.",
    )
    actions: list[ActionSpec] = Field(
        default_factory=list,
        description="What a person does to one row, in words; needs a language model.",
    )
    rules: list[RuleText] = Field(
        default_factory=list,
        description="What must hold for a row to be saved, in words, e.g. 'end date must be "
        "after start date'; a language model writes the checks (422 naming the field).",
    )
    organization: bool = Field(
        default=False,
        description="This entity's rows are organisations (tenants): needs the organizations "
        "feature, one such entity per app. Its creator becomes its owner; members (roles "
        "owner, admin, member) are added at /api/<entities>/{id}/members or invited at "
        "/api/<entities>/{id}/invitations. Entities "
        "with a required many_to_one link to it are tenant entities, their rows scoped to it.",
    )


class Integrations(_Strict):
    stripe: bool = False
    smtp: bool = False
    s3: bool = False


class Deployment(_Strict):
    docker: bool = True
    ci: bool = True


class AppSpec(_Strict):
    """Everything the generator needs to build one app; the same spec gives the same app."""

    spec_version: Literal[1] = 1
    name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    slug: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        default=None, description="Folder and package-safe name; derived from name if unset."
    )
    template: ProjectTemplate = ProjectTemplate.CUSTOM
    stack: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")] = Field(
        default="fastapi", description="The kind of app built; 'fastapi' is the one shipped."
    )
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    prompt: Annotated[str, StringConstraints(max_length=20_000)] = Field(
        default="", description="The user's own words; kept for planners that read free text."
    )
    pages: bool = Field(default=True, description="Server-rendered HTML pages (off for APIs).")
    entities: list[EntitySpec] = Field(default_factory=list)
    features: list[Feature] = Field(default_factory=list)
    without_features: list[Feature] = Field(
        default_factory=list, description="Template features this app leaves out."
    )
    integrations: Integrations = Field(default_factory=Integrations)
    deployment: Deployment = Field(default_factory=Deployment)
    sample_data: bool = Field(
        default=False,
        description="Realistic sample rows written by a language model (checked against the "
        "spec's value rules), loaded with the app's `make seed`; needs a language model.",
    )
    page_copy: bool = Field(
        default=False,
        description="The home page's headline and text written by a language model from the "
        "description (escaped, length-capped); needs a language model.",
    )
