"""The normalised app model the generator reads: names spelled once, relations from both sides.

Built only by ``validation.resolve``, so a value of these types is always a valid app.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from appbuilder.enums import ProjectTemplate
from appbuilder.spec.model import Deployment, FieldType, Integrations, OnDelete
from appbuilder.spec.names import Names


@dataclass(frozen=True)
class Aggregate:
    """``sum``/``count``/``min``/``max`` over the rows of a one_to_many link.

    ``expression`` is Python over one child row named ``item`` (``item.quantity *
    item.product.price``), written from the spec's parsed expression, never evaluated here;
    ``paths`` are the attribute paths it reads, so the app can skip a child missing one.
    """

    function: str
    children: str
    child: str
    link: str
    expression: str | None
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Copied:
    """A field of a many_to_one target, copied whenever a client writes the row."""

    link: str
    target: str
    field: str


@dataclass(frozen=True)
class AppField:
    names: Names
    type: FieldType
    required: bool
    unique: bool
    indexed: bool
    #: ``today``/``now`` for a date/datetime stored with the row's moment; JSON text for json.
    default: bool | int | Decimal | str | None
    max_length: int | None
    values: tuple[str, ...]
    # Value rules (``spec.value_rules``) and computed values (``spec.computed``).
    minimum: int | Decimal | date | datetime | None = None
    maximum: int | Decimal | date | datetime | None = None
    min_length: int | None = None
    pattern: str | None = None
    computed: Aggregate | Copied | None = None
    #: Only the row's owner and admins see it.
    private: bool = False
    #: Set by the server or by admins only.
    readonly: bool = False


@dataclass(frozen=True)
class Access:
    """Who may read, create, update and delete an entity's rows (``spec.access``).

    Each rule is ``public``, ``signed_in``, ``owner``, ``member`` (of the row's
    organisation), ``org_admin`` (its owner or admin) or ``admin``; admins pass every rule.
    """

    read: str = "public"
    create: str = "public"
    update: str = "public"
    delete: str = "public"

    @property
    def ownership_bearing(self) -> bool:
        """Rows that belong to someone: linking to one needs its owner (or an admin)."""
        return self.read != "public" and self.update == "owner"

    @property
    def linkable_when_shared(self) -> bool:
        """Any signed-in user may link to rows of this entity that someone else made."""
        return self.read in ("public", "signed_in") and not self.ownership_bearing

    @property
    def is_open(self) -> bool:
        return {self.read, self.create, self.update, self.delete} == {"public"}


@dataclass(frozen=True)
class Link:
    """A many-to-one link stored on ``owner`` as the column ``<names.snake>_id``."""

    names: Names
    owner: str
    target: str
    required: bool
    on_delete: OnDelete
    inverse: Names
    #: Part of a cycle of links, pointing at a table created after this one: its foreign
    #: key (named ``constraint``) is added once both tables exist.
    deferred: bool = False
    constraint: str = ""
    #: Only target rows whose fields hold these values may be linked (``linkable_if``):
    #: (snake field name, value) pairs.
    linkable_if: tuple[tuple[str, bool | str], ...] = ()


@dataclass(frozen=True)
class ManyToMany:
    """Rows linked through ``table``: its ``owner_column`` holds the owner's id and its
    ``target_column`` the target's (named after the link when both are one entity, as a
    person's ``friends`` are: ``person_id``, ``friends_id``)."""

    names: Names
    owner: str
    target: str
    table: str
    owner_column: str
    target_column: str
    #: As ``Link.linkable_if``.
    linkable_if: tuple[tuple[str, bool | str], ...] = ()

    @property
    def to_itself(self) -> bool:
        return self.owner == self.target


@dataclass(frozen=True)
class Stock:
    """What paying a row takes out of stock: ``quantity`` of each ``child`` row (linked to
    the paid row by ``link``) comes off the ``field`` of its ``product`` (a ``target``)."""

    children: str
    child: str
    link: str
    quantity: str
    product: str
    target: str
    field: str


@dataclass(frozen=True)
class Checkout:
    """How a row is paid: the amount to charge and the field that records payment."""

    amount: AppField
    status: AppField | None
    paid_value: str
    stock: Stock | None = None

    @property
    def closed_values(self) -> tuple[str, ...]:
        """Statuses of a row no longer open for payment: ``paid_value`` and the values after
        it in the enum (an order's ``shipped`` and ``cancelled``). Its amount is locked, it
        is not deleted or paid again, and it never moves back to an open status."""
        if self.status is None:
            return ()
        values = self.status.values
        return values[values.index(self.paid_value) :] if self.paid_value in values else ()


@dataclass(frozen=True)
class AppEntity:
    names: Names
    description: str
    fields: tuple[AppField, ...]
    links: tuple[Link, ...] = ()
    many: tuple[ManyToMany, ...] = ()
    children: tuple[Link, ...] = ()
    added_by_feature: str | None = None
    checkout: Checkout | None = None
    access: Access = Access()
    #: rules in words: a model writes their checks as the entity's hooks (``app/custom``)
    rules: tuple[str, ...] = ()
    #: The column holding the row's organisation: ``id`` on the organisation entity,
    #: ``<link>_id`` on tenant entities, None elsewhere (``spec.tenancy``).
    tenant: str | None = None

    @property
    def is_organization(self) -> bool:
        return self.tenant == "id"

    @property
    def title_field(self) -> AppField | None:
        """The field that names a row in lists, links and selects (never a private one)."""
        for candidate in self.fields:
            if candidate.type in {FieldType.STRING, FieldType.EMAIL} and not candidate.private:
                return candidate
        return None

    @property
    def writable_fields(self) -> tuple[AppField, ...]:
        """Fields clients may set: a checkout's status changes only when Stripe confirms,
        and computed fields only when the rows they are computed from change."""
        status = self.checkout.status if self.checkout else None
        return tuple(
            f
            for f in self.fields
            if (status is None or f.names != status.names) and f.computed is None
        )

    @property
    def computed_fields(self) -> tuple[AppField, ...]:
        return tuple(f for f in self.fields if f.computed is not None)

    @property
    def open_fields(self) -> tuple[AppField, ...]:
        """Writable fields anyone allowed to write may send: not readonly ones."""
        return tuple(f for f in self.writable_fields if not f.readonly)

    @property
    def searchable(self) -> tuple[AppField, ...]:
        """Text fields ``q`` searches; private ones are left out so matches leak nothing."""
        textual = {FieldType.STRING, FieldType.TEXT, FieldType.EMAIL}
        return tuple(f for f in self.fields if f.type in textual and not f.private)

    @property
    def private_fields(self) -> tuple[AppField, ...]:
        return tuple(f for f in self.fields if f.private)

    @property
    def unique_per_owner(self) -> bool:
        """Rows only their owner reads: a unique value is unique among each owner's rows.
        Unique across everyone's, a refused value would tell a stranger that someone has it,
        and anyone could take another person's value first (a customer's email)."""
        return self.access.read == "owner"

    @property
    def stands_for_a_person(self) -> bool:
        """Rows with an email address are someone's profile (a blog's authors, a shop's
        customers)."""
        return any(f.type is FieldType.EMAIL for f in self.fields)

    @property
    def ownership_bearing(self) -> bool:
        """Linking to a row of this entity claims it: only its owner (or an admin) may.

        Rows only some may read and their owners change (an order's customer), and rows
        that stand for a person their owner changes even when anyone may read them: a
        blog post may name only an author the poster owns, while a comment may still be
        on anyone's post (posts are no one's identity).
        """
        person = self.stands_for_a_person and self.access.update == "owner"
        # An organisation's rows are linked by its members (``tenant``), whoever made them.
        return self.access.ownership_bearing or (person and self.tenant is None)

    @property
    def linkable_when_shared(self) -> bool:
        """Any signed-in user may link to rows of this entity that someone else made."""
        return self.access.read in ("public", "signed_in") and not self.ownership_bearing


@dataclass(frozen=True)
class AppModel:
    name: str
    slug: str
    template: ProjectTemplate
    description: str
    pages: bool
    features: frozenset[str]
    integrations: Integrations
    deployment: Deployment
    #: In creation order: every entity comes after the ones its links point at.
    entities: tuple[AppEntity, ...]
    spec_hash: str
    primary_name: str
    #: the stack that builds it (``stacks.registry``)
    stack: str = "fastapi"
    #: sample rows from a model, loaded by the app's ``make seed``
    sample_data: bool = False
    #: The entity whose rows are organisations (``organizations`` feature), by class name.
    organization_name: str | None = None

    def has(self, feature: str) -> bool:
        return feature in self.features

    @property
    def has_hooks(self) -> bool:
        """Whether custom code runs around writes (some entity has rules in words): only
        then does the app get its hooks module and the calls to it."""
        return any(e.rules for e in self.entities)

    @property
    def organization(self) -> AppEntity | None:
        return self.entity(self.organization_name) if self.organization_name else None

    @property
    def tenants(self) -> tuple[AppEntity, ...]:
        """Entities whose rows belong to an organisation (not the organisation itself)."""
        return tuple(e for e in self.entities if e.tenant not in (None, "id"))

    @property
    def payable(self) -> tuple[AppEntity, ...]:
        return tuple(e for e in self.entities if e.checkout is not None)

    def entity(self, pascal: str) -> AppEntity:
        return next(e for e in self.entities if e.names.pascal == pascal)

    @property
    def user_creatable(self) -> frozenset[str]:
        """Entities a signed-in non-admin can create rows of, links and all.

        A required link needs a target the user can create, or one an admin made that the
        user may read and link to (readable by any signed-in user and not owned).
        """
        creatable: set[str] = set()
        for entity in self.entities:  # creation order: targets come first
            linkable = all(
                link.target in creatable or self.entity(link.target).linkable_when_shared
                for link in entity.links
                if link.required
            )
            if entity.access.create != "admin" and linkable:
                creatable.add(entity.names.pascal)
        return frozenset(creatable)

    @property
    def primary(self) -> AppEntity:
        """The entity features such as RSS, comments and tags attach to: the first declared."""
        return self.entity(self.primary_name)
