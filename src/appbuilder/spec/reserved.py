"""Names a user may not give an entity or field, and why.

Each set is a reason a generated app would break or read badly: Python keywords cannot be
attributes, SQL reserved words need quoting in every hand-written query, and some names
are already taken by what the generator itself writes.
"""

from __future__ import annotations


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

#: Attribute and parameter names the generated models, services and routes already use.
FRAMEWORK_ATTRIBUTES = _words(
    "metadata registry query session id created_at updated_at self cls sort q limit offset"
)

#: Python builtins and names an entity's class, module or local variable would shadow.
SHADOWED_NAMES = _words(
    """
    class type date datetime decimal json object list dict str int float bool set enum field
    model base settings config session service router response request values data row rows
    """
)

#: Module, table and URL names the generated app owns (``app/<name>.py``, ``/<name>``).
GENERATED_MODULES = _words(
    """
    main db models schemas settings pages pagination security dependencies health healthz
    static templates routers tests web api auth admin email emails storage payments feed
    uploads keys api_keys users migrations alembic_version login logout signup app common
    home accounts docs redoc doc errors validators integrations mailer fakes factories
    conftest user_sessions payment upload
    """
)

#: Classes the generator writes when a feature is on, by feature.
FEATURE_CLASSES = {
    "auth": ("User", "UserSession"),
    "api_keys": ("ApiKey",),
    "payments": ("Payment",),
    "file_uploads": ("Upload",),
}
