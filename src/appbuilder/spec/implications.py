"""Feature implications: what a spec asks for without saying it.

``admin`` and ``api_keys`` need ``auth``, a checkout needs ``payments``, an integration
turns its feature on, and ``tags``/``comments`` add their entity when the spec has none.
"""

from __future__ import annotations

from appbuilder.spec.model import (
    MAX_NAME_LENGTH,
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
IMPLIED = (("admin", "auth"), ("api_keys", "auth"), ("organizations", "auth"))


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
    known = {names_for(e.name).snake for e in entities if is_wellformed(e.name)}
    result = list(entities)
    if "tags" in features and "tag" not in known:
        result.append(EntitySpec(name=FEATURE_ENTITY["tags"], fields=[_TAG_NAME]))
        result[0] = _with_tags_link(result[0])
    if "comments" in features and "comment" not in known:
        result.append(_comment_entity(result[0], features))
    return result


_TAG_NAME = FieldSpec(name="name", max_length=50, unique=True)
_COMMENT_FIELDS = (
    FieldSpec(name="author_name", max_length=80),
    FieldSpec(name="body", type=FieldType.TEXT),
)


def _snakes(names: list[str]) -> set[str]:
    return {names_for(name).snake for name in names if is_wellformed(name)}


def _free(candidates: tuple[str, ...], taken: set[str]) -> str:
    """The first candidate whose identifier the user's names leave free (and that needs no
    attribute apart from its key, as a link named ``class`` would): what we add steps out
    of the way of what the user wrote, never the other way round."""
    fitting = (name[:MAX_NAME_LENGTH].rstrip("_ ") for name in candidates)  # snake may be longer
    return next(
        name
        for name in fitting
        if names_for(name).snake not in taken and not names_for(name).aliased
    )


def _with_tags_link(primary: EntitySpec) -> EntitySpec:
    tag = FEATURE_ENTITY["tags"]
    if any(r.kind is RelationKind.MANY_TO_MANY and r.target == tag for r in primary.relations):
        return primary
    taken = _snakes([f.name for f in primary.fields] + [r.name for r in primary.relations])
    name = _free(("tags", "tag_links", "tagged_with", "feature_tags"), taken)
    link = RelationSpec(name=name, kind=RelationKind.MANY_TO_MANY, target=tag)
    return primary.model_copy(update={"relations": [*primary.relations, link]})


def _comment_entity(primary: EntitySpec, features: set[str]) -> EntitySpec:
    owner = names_for(primary.name).snake if is_wellformed(primary.name) else "item"
    taken = _snakes([f.name for f in _COMMENT_FIELDS])
    name = _free((owner, f"on_{owner}", f"{owner}_commented", "commented_item"), taken)
    parent = RelationSpec(name=name, target=primary.name, required=True)
    # Comments are read by anyone and written by signed-in users, whatever they link to.
    access = (
        AccessSpec(read="public", create="signed_in", update="owner", delete="owner")
        if "auth" in features
        else AccessSpec()
    )
    return EntitySpec(
        name=FEATURE_ENTITY["comments"],
        fields=list(_COMMENT_FIELDS),
        relations=[parent],
        access=access,
    )
