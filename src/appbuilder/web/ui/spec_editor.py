"""Rendering the plan editor: the rows, and each problem of the spec beside the row it is
about (problems name entities and fields by name: ``entities.Task.fields.title``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from appbuilder.db.models import Project
from appbuilder.spec.problems import Problem
from appbuilder.web.ui import spec_form
from appbuilder.web.ui.render import render


class ProblemIndex:
    """Problems by the row they belong to; whatever matches no row is the app's."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def under(self, prefix: str) -> list[Problem]:
        return [p for p in self.problems if p.path == prefix or p.path.startswith(prefix + ".")]

    def of_entity(self, name: str) -> list[Problem]:
        """The entity's own problems (not those of one of its fields or relations)."""
        base = f"entities.{name}"
        return [
            p
            for p in self.under(base)
            if not p.path.startswith((f"{base}.fields.", f"{base}.relations."))
        ]


def editor_page(
    request: Request,
    project: Project,
    form: spec_form.SpecForm,
    problems: list[Problem],
    *,
    alert: str | None = None,
    status: int = 200,
) -> Response:
    spec = spec_form.to_spec(form)
    context = {
        "project": project,
        "form": form,
        "problems": ProblemIndex(problems),
        "alert": alert,
        "yaml": spec_form.as_yaml(spec),
        "rest_json": spec_form.rest_json,
        "field_types": spec_form.FIELD_TYPES,
        "relation_kinds": spec_form.RELATION_KINDS,
        "access_rules": spec_form.ACCESS_RULES,
        "operations": spec_form.OPERATIONS,
        "features": spec_form.FEATURES,
        "page_title": f"Plan of {project.name}",
    }
    return render(request, "plan.html", context, status)
