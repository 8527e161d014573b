"""Feature implications: what a spec asks for without saying it.

``admin`` and ``api_keys`` need ``auth``, a checkout needs ``payments``, an integration
turns its feature on, and ``tags``/``comments`` add their entity when the spec has none.
"""

from __future__ import annotations

from appbuilder.spec.model import (
    AccessSpec,
    AppSpec,
    EntitySpec,
    FieldSpec,
    FieldType,
    Integrations,
    RelationKind,
    RelationSpec,
)
from appbuilder.spec.names import is_wellformed, names_for

#: (feature, the feature it needs)
IMPLIED = (("admin", "auth"), ("api_keys", "auth"))


def effective_spec(spec: AppSpec) -> AppSpec:
    """The spec with implied features and integrations, and the entities features add."""
    features: set[str] = {f for f in spec.features if f not in spec.without_features}
    for feature, needs in IMPLIED:
        if feature in features:
            features.add(needs)
    if any(e.checkout for e in spec.entities):
        features.add("payments")
    without = set(spec.without_features)
    stripe = (spec.integrations.stripe and "payments" not in without) or "payments" in features
    smtp = (spec.integrations.smtp and "email" not in without) or "email" in features
    s3 = spec.integrations.s3
    features |= {name for name, on in (("payments", stripe), ("email", smtp)) if on}
    if s3:
        features.add("file_uploads")
    entities = _with_feature_entities(spec.entities, features)
    return spec.model_copy(
        update={
            "features": sorted(features),  # valid names: FEATURES and their implications
            "integrations": Integrations(stripe=stripe, smtp=smtp, s3=s3),
            "entities": entities,
        }
    )


#: The entity a feature adds when the spec has none of that name.
FEATURE_ENTITY = {"tags": "Tag", "comments": "Comment"}


def _with_feature_entities(entities: list[EntitySpec], features: set[str]) -> list[EntitySpec]:
    if not entities:
        return entities
    primary = entities[0]
    known = {names_for(e.name).snake for e in entities if is_wellformed(e.name)}
    result = list(entities)
    owner = names_for(primary.name).snake if is_wellformed(primary.name) else "item"
    if "tags" in features and "tag" not in known:
        tag = FieldSpec(name="name", max_length=50, unique=True)
        result.append(EntitySpec(name=FEATURE_ENTITY["tags"], fields=[tag]))
        if not any(r.name == "tags" for r in primary.relations):
            link = RelationSpec(
                name="tags", kind=RelationKind.MANY_TO_MANY, target=FEATURE_ENTITY["tags"]
            )
            result[0] = primary.model_copy(update={"relations": [*primary.relations, link]})
    if "comments" in features and "comment" not in known:
        fields = [
            FieldSpec(name="author_name", max_length=80),
            FieldSpec(name="body", type=FieldType.TEXT),
        ]
        parent = RelationSpec(name=owner, target=primary.name, required=True)
        # Comments are read by anyone and written by signed-in users, whatever they link to.
        access = (
            AccessSpec(read="public", create="signed_in", update="owner", delete="owner")
            if "auth" in features
            else AccessSpec()
        )
        result.append(
            EntitySpec(
                name=FEATURE_ENTITY["comments"], fields=fields, relations=[parent], access=access
            )
        )
    return result
