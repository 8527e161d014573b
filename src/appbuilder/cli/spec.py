"""``uab spec`` and ``uab templates``: check specs and see what each template holds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from appbuilder.cli._runtime import console
from appbuilder.enums import ProjectTemplate
from appbuilder.services import builds

app = typer.Typer(help="Check AppSpec files and print their JSON Schema.", no_args_is_help=True)

TemplateOption = Annotated[
    ProjectTemplate | None,
    typer.Option("--template", "-t", case_sensitive=False, help="Template the spec extends."),
]


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML or JSON spec.")],
    template: TemplateOption = None,
) -> None:
    """Check a spec against every rule; list all problems at once."""
    spec, model = builds.load_spec(file, template=template)
    entities = ", ".join(e.names.pascal for e in model.entities)
    features = ", ".join(sorted(model.features)) or "none"
    console.print(
        f"[green]valid[/]: {escape(repr(spec.name))} ({spec.template.value}), "
        f"{len(model.entities)} entities ({escape(entities)}); features: {features}; "
        f"spec hash {model.spec_hash[:12]}",
        highlight=False,
    )
    for problem in builds.spec_warnings(model):
        console.print(
            f"[yellow]warning[/]: {escape(problem.path)}: {escape(problem.message)}",
            highlight=False,
        )


@app.command()
def schema() -> None:
    """Print the AppSpec JSON Schema, for editors and other tools."""
    typer.echo(json.dumps(builds.spec_schema(), indent=2, sort_keys=True))


def templates() -> None:
    """List the templates with the entities and features each starts with.

    Entities show their label and, where it differs, the name a spec uses to extend or
    change them (``Order`` is ``CustomerOrder``)."""
    table = Table(title="Templates")
    for column in ("Template", "Description", "Entities (name in a spec)", "Features"):
        table.add_column(column, overflow="fold")
    for summary in builds.template_summaries():
        entities = [
            label if label == name else f"{label} ({name})" for label, name in summary.entities
        ]
        table.add_row(
            summary.template.value,
            summary.description or "Only the entities you describe.",
            escape(", ".join(entities)) or "only the ones you describe",
            ", ".join(summary.features),
        )
    console.print(table)
