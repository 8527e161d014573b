"""``uab llm check`` and ``uab plan``: the configured model, and words turned into a spec."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.markup import escape

from appbuilder.cli._runtime import console, err_console
from appbuilder.enums import ProjectTemplate
from appbuilder.services import planning
from appbuilder.settings import get_settings
from appbuilder.spec.diff import SpecDiff

app = typer.Typer(help="The language model that plans apps from words.", no_args_is_help=True)

ModelOption = Annotated[
    str | None,
    typer.Option("--model", "-m", help="Another model at the configured provider."),
]


def cost_text(cost: Decimal | None) -> str:
    return "cost unknown" if cost is None else f"${cost:.6f}"


@app.command()
def check(model: ModelOption = None) -> None:
    """Make one tiny call to the configured model; report model, latency and usage."""
    task, answer, records = planning.check_model(get_settings().llm, model=model)
    usage = planning.Usage.of(records)
    latency = sum(r.duration_ms for r in records)
    console.print(
        f"[green]ok[/]: {escape(task.choice.label)} answered {escape(repr(answer[:40]))} "
        f"in {latency} ms; {usage.input_tokens} tokens in, {usage.output_tokens} out, "
        f"{cost_text(usage.cost)}",
        highlight=False,
    )


@app.command()
def use(
    project: Annotated[str, typer.Option("--project", "-p", help="The project (its id).")],
    model: Annotated[
        str | None, typer.Argument(help="The model its plans and runs call, e.g. gpt-4o.")
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Go back to the provider's default model.")
    ] = False,
) -> None:
    """Pick the model a project's plans and runs call (at its owner's or the platform's
    provider); without a model, show the one it uses."""
    from appbuilder.cli._runtime import open_database  # noqa: PLC0415 - database commands only
    from appbuilder.services import projects, runs  # noqa: PLC0415

    if model is not None and default:
        raise typer.BadParameter("give a model or --default, not both", param_hint="--default")
    with open_database() as db, db.sessions.begin() as session:
        owner = runs.owner_of_project(session, project)
        if model is None and not default:
            chosen = projects.get_project(session, project, owner_id=owner.id).llm_model
        else:
            changes = projects.ProjectChanges(llm_model="" if default else model)
            chosen = projects.update_project(session, project, changes, owner_id=owner.id).llm_model
    shown = escape(chosen) if chosen else "the provider's default model"
    console.print(f"Project {escape(project)} uses {shown}.", highlight=False)


def plan(
    words: Annotated[str, typer.Argument(help="The app, described in your own words.")],
    template: Annotated[
        ProjectTemplate | None,
        typer.Option("--template", "-t", case_sensitive=False, help="Template to extend."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the spec here, not to stdout.")
    ] = None,
    model: ModelOption = None,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            help="Plan for this project (as its owner, with its model): a project with a spec "
            "is changed as the words ask, and the change is shown as a diff.",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="With --project: accept the plan and queue its run."),
    ] = False,
) -> None:
    """Plan an app from words: print its spec (YAML) to edit, then `uab generate --spec`.

    The plan is checked by the same rules as a spec file; what is still wrong after the
    model's last try is listed (and the exit status is 1). With --project, what the plan
    changes in the project's spec is printed first; --yes accepts it (queues a run)."""
    if yes and project is None:
        raise typer.BadParameter(
            "--yes accepts a project's plan: give --project", param_hint="--yes"
        )
    if project is not None and template is not None:
        raise typer.BadParameter("the project has its template", param_hint="--template")
    if project is not None:
        result = _plan_project(project, words, model)
    else:
        result = planning.plan(words, get_settings().llm, template=template, model=model)
    text = yaml.safe_dump(result.spec, sort_keys=False, allow_unicode=True)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    report_plan(result, output)
    if not result.valid:
        raise typer.Exit(1)
    if yes and project is not None:
        _accept(project, result.spec)


def _plan_project(project_id: str, words: str, model: str | None) -> planning.PlanResult:
    from appbuilder.cli._runtime import open_database  # noqa: PLC0415 - database commands only
    from appbuilder.services import runs  # noqa: PLC0415
    from appbuilder.services.project_plans import plan_project  # noqa: PLC0415

    with open_database() as db, db.sessions() as session:
        owner_id = runs.owner_of_project(session, project_id).id
        planned = plan_project(
            session, db.sessions, owner_id, project_id, words, db.settings.llm, model=model
        )
    return planned.result


def _accept(project_id: str, spec: dict[str, Any]) -> None:
    from appbuilder.cli.generate import run_project  # noqa: PLC0415 - --yes only

    run_project(project_id, spec, verify=True, follow=False)


def report_plan(result: planning.PlanResult, output: Path | None) -> None:
    """The plan's usage and its remaining problems, on stderr (stdout holds the spec)."""
    usage = result.usage
    where = f" to {escape(str(output))}" if output else ""
    err_console.print(
        f"Planned{where} in {usage.calls} model call(s): {usage.input_tokens} tokens in, "
        f"{usage.output_tokens} out, {cost_text(usage.cost)}.",
        highlight=False,
    )
    if result.diff is not None:
        report_diff(result.diff)
    for problem in result.problems:
        err_console.print(
            f"[yellow]problem[/] {escape(problem.path)}: {escape(problem.message)} "
            + escape(f"[{problem.rule}]"),
            highlight=False,
        )


#: how each kind of change is marked: sign and colour
MARKS = {"added": ("+", "green"), "removed": ("-", "red"), "changed": ("~", "yellow")}


def report_diff(diff: SpecDiff) -> None:
    """What a change request does to the project's spec, a coloured line per change, with
    changes that drop stored data called out (on stderr: stdout holds the spec)."""
    if diff.empty:
        err_console.print("The plan changes nothing in the project's spec.", highlight=False)
        return
    err_console.print(f"[bold]Changes to the project's spec[/] ({len(diff.changes)}):")
    for change in diff.changes:
        sign, colour = MARKS[change.kind]
        loss = " [bold red](loses data)[/]" if change.loses_data else ""
        err_console.print(f"  [{colour}]{sign} {escape(change.summary)}[/]{loss}", highlight=False)
    if diff.loses_data:
        err_console.print(
            "[bold red]Warning:[/] accepting this plan drops stored data (marked above).",
            highlight=False,
        )
