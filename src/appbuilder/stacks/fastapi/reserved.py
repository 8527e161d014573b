"""Names the FastAPI stack's generated apps cannot give a user, and why.

Few are left: SQL words are quoted by SQLAlchemy and in the few hand-written checks,
keywords and library attributes become ``from_`` attributes with the user's JSON key
(``spec.names``), and entities spelled like the app's own classes get identifiers of their
own. What stays is what the app's JSON and URLs already hold.
"""

from __future__ import annotations

from appbuilder.stacks.base import ReservedNames


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Keys every row or list request of the generated app already has: a field of the same
#: name would be a second ``id`` in the JSON, or a filter shadowing ``?sort=``.
FRAMEWORK_ATTRIBUTES = _words("id created_at updated_at owner_id sort q limit offset")

#: ``<plural_snake>`` tables the generated app already owns (an entity whose words would
#: give one is renamed by ``spec.names.entity_names`` before this is asked).
TABLE_AND_URL_NAMES = _words("alembic_version")

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
    attributes=FRAMEWORK_ATTRIBUTES,
    tables_and_urls=TABLE_AND_URL_NAMES,
    feature_tables=FEATURE_TABLES,
    feature_classes=FEATURE_CLASSES,
)
