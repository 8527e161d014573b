"""Names the FastAPI stack's generated code already uses, so a user may not give them, and why.

Each set is a reason a generated app would break or read badly: Python keywords cannot be
attributes, SQL reserved words need quoting in every hand-written query, and some names
are already taken by what the generator itself writes.
"""

from __future__ import annotations

from appbuilder.stacks.base import ReservedNames


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


SQL_RESERVED = _words(
    """
    all analyse analyze and any array as asc asymmetric authorization between binary both case
    cast check collate column constraint create cross current_date current_role current_time
    current_timestamp current_user date default deferrable desc distinct do else end except
    false fetch for foreign freeze from full grant group having ilike in initially inner
    intersect interval into is isnull join lateral leading left like limit localtime
    localtimestamp natural not notnull null offset on only or order outer overlaps placing
    primary references returning right select session_user similar some symmetric table
    tablesample then time timestamp to trailing true type union unique user using values
    variadic verbose when where window with
    """
)

#: Attribute names the generated models, schemas and services already use.
FRAMEWORK_ATTRIBUTES = _words(
    """
    metadata registry query session id created_at updated_at self cls sort q limit offset
    """
)

#: Builtins and imported names that field annotations refer to: a field spelled like one
#: would shadow it for the fields after it in the same class.
ANNOTATION_NAMES = _words(
    "bool int str float bytes list dict set tuple object date datetime decimal any json_value"
)

#: Names an entity's class or its ``<snake>`` variable would shadow.
SHADOWED_NAMES = _words(
    """
    class type date datetime decimal json object list dict str int float bool set enum field
    model base settings config session service router response request values data row rows
    """
)

#: Classes the generated modules import or define beside the entity classes.
RESERVED_CLASSES = _words(
    """
    Base Timestamped Mapped Any Decimal Text String Integer Boolean Numeric Date DateTime Json
    Column Table ForeignKey Annotated Literal Field BaseModel Request Response Query Depends
    Select Session Settings
    """
)

#: ``app/{routers,services,schemas,pages}/<snake>.py`` and names ``app/main.py`` imports.
MODULE_NAMES = _words(
    """
    main db models schemas settings pages pagination security dependencies health static
    templates routers tests web api auth admin storage payments feed uploads api_keys
    migrations app common home accounts errors validators integrations mailer fakes
    factories conftest
    """
)

#: ``<plural_snake>`` tables and ``/<kebab-plural>`` URLs the generated app already owns.
TABLE_AND_URL_NAMES = _words(
    "alembic_version static docs redoc admin login logout signup healthz api feed"
)

#: Tables a feature adds, by feature.
FEATURE_TABLES = {
    "auth": ("users", "user_sessions"),
    "api_keys": ("api_keys",),
    "payments": ("payments",),
    "file_uploads": ("uploads",),
    "organizations": ("memberships", "invitations"),
}

#: Classes the generator writes when a feature is on, by feature.
FEATURE_CLASSES = {
    "auth": ("User", "UserSession"),
    "api_keys": ("ApiKey",),
    "payments": ("Payment",),
    "file_uploads": ("Upload",),
    "organizations": ("Membership", "Invitation"),
}

RESERVED = ReservedNames(
    sql_words=SQL_RESERVED,
    attributes=FRAMEWORK_ATTRIBUTES,
    annotations=ANNOTATION_NAMES,
    shadowed=SHADOWED_NAMES,
    classes=RESERVED_CLASSES,
    modules=MODULE_NAMES,
    tables_and_urls=TABLE_AND_URL_NAMES,
    feature_tables=FEATURE_TABLES,
    feature_classes=FEATURE_CLASSES,
)
