"""``uab llm check`` and ``uab plan``: the configured model, and words turned into a spec."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.markup import escape

from appbuilder.cli._runtime import console, err_console
from appbuilder.enums import ProjectTemplate
from appbuilder.services import planning
from appbuilder.settings import get_settings

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
) -> None:
    """Plan an app from words: print its spec (YAML) to edit, then `uab generate --spec`.

    The plan is checked by the same rules as a spec file; what is still wrong after the
    model's last try is listed (and the exit status is 1)."""
    result = planning.plan(words, get_settings().llm, template=template, model=model)
    text = yaml.safe_dump(result.spec, sort_keys=False, allow_unicode=True)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    report_plan(result, output)
    if not result.valid:
        raise typer.Exit(1)


def report_plan(result: planning.PlanResult, output: Path | None) -> None:
    """The plan's usage and its remaining problems, on stderr (stdout holds the spec)."""
    usage = result.usage
    where = f" to {escape(str(output))}" if output else ""
    err_console.print(
        f"Planned{where} in {usage.calls} model call(s): {usage.input_tokens} tokens in, "
        f"{usage.output_tokens} out, {cost_text(usage.cost)}.",
        highlight=False,
    )
    for problem in result.problems:
        err_console.print(
            f"[yellow]problem[/] {escape(problem.path)}: {escape(problem.message)} "
            + escape(f"[{problem.rule}]"),
            highlight=False,
        )
