"""``uab generate``: build an app from a template or spec, verify it, write it out."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from appbuilder.cli._runtime import Database, console, err_console
from appbuilder.cli.runs import ledger_table
from appbuilder.enums import AgentType, GenerationStatus, ProjectTemplate
from appbuilder.errors import AppBuilderError
from appbuilder.services import builds
from appbuilder.services.builds import Event, GenerationResult
from appbuilder.services.local_calls import LocalCalls
from appbuilder.settings import get_settings

DEFAULT_TIMEOUT = 600.0


class _Display:
    """A live line per agent, fed by the orchestrator's events from its worker threads."""

    def __init__(self, progress: Progress, agents: tuple[AgentType, ...], verify: bool) -> None:
        self.progress = progress
        self.tasks: dict[AgentType | None, TaskID] = {
            agent: progress.add_task(f"{agent.value.lower():<13} waiting", total=1)
            for agent in agents
        }
        if verify:
            self.tasks[None] = progress.add_task("verification  waiting", total=1)

    def __call__(self, event: Event) -> None:
        name = event.agent.value.lower() if event.agent else "verification"
        task = self.tasks.get(event.agent)
        if task is None:
            return
        if event.kind in {"agent_started", "verifying"}:
            self.progress.update(task, description=f"{name:<13} [cyan]running[/]")
        elif event.kind in {"agent_finished", "verified"}:
            self.progress.update(task, description=f"{name:<13} {event.detail}", completed=1)
        elif event.kind == "agent_failed":
            self.progress.update(task, description=f"{name:<13} [red]failed[/] {event.detail}")


def generate(
    template: Annotated[
        ProjectTemplate | None,
        typer.Option("--template", "-t", case_sensitive=False, help="Template to start from."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="The app's name.")] = None,
    spec_file: Annotated[
        Path | None,
        typer.Option("--spec", "-s", exists=True, dir_okay=False, help="YAML or JSON spec."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Folder to write (default ./<slug>).")
    ] = None,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Run the app's own checks and tests.")
    ] = True,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty folder.")] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds the verification may take.", min=10)
    ] = DEFAULT_TIMEOUT,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            "-p",
            help="Queue a run for this project (as its owner) instead of building locally; "
            "its files go to the project's history.",
        ),
    ] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="With --project: print the run's progress.")
    ] = False,
    prompt: Annotated[
        str | None,
        typer.Option(
            "--prompt",
            help="Describe the app in words: the configured model plans it (see `uab plan`), "
            "then it is built like a spec file; with --project, the plan (a change of the "
            "project's spec, when it has one) is recorded on the project and then run.",
        ),
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option(
            "--budget",
            min=1,
            help="The most tokens this build's model calls may spend, each call's worst "
            "case checked before it is sent (default: UAB_LLM_RUN_TOKEN_BUDGET, else none).",
        ),
    ] = None,
) -> None:
    """Generate an app, prove it works by running its own tests, and write it out.

    With --project, queue a run of that project instead (the API's POST /generate), and
    with --follow print its live progress until it ends."""
    if project is not None:
        clashing = {
            "--template": template is not None,
            "--name": name is not None,
            "--output": output is not None,
            "--force": force,
            "--timeout": timeout != DEFAULT_TIMEOUT,
            "--budget": budget is not None,
        }
        if any(clashing.values()):
            given = ", ".join(option for option, used in clashing.items() if used)
            raise typer.BadParameter(
                f"{given} can't be used with --project: the project has its template and "
                "name, its files go to its history, UAB_RUN_VERIFY_TIMEOUT_SECONDS bounds "
                "its verification and the plan with UAB_LLM_RUN_TOKEN_BUDGET its tokens.",
                param_hint="--project",
            )
        if prompt is not None and spec_file is not None:
            raise typer.BadParameter("give --prompt or --spec, not both", param_hint="--prompt")
        _run_project(project, spec_file, prompt, verify=verify, follow=follow)
        return
    if template is None and spec_file is None and prompt is None:
        raise typer.BadParameter(
            "give --template, --spec, --prompt or a template with either", param_hint="--template"
        )
    if prompt is not None and spec_file is not None:
        raise typer.BadParameter("give --prompt or --spec, not both", param_hint="--prompt")
    started = time.perf_counter()
    settings = get_settings()
    calls = LocalCalls(budget=budget or settings.llm.run_token_budget)
    if prompt is not None:
        try:
            spec, model = _planned(prompt, template, name, calls)
        except AppBuilderError:  # a provider error, the budget: what it spent, then why
            _print_ledger(calls)
            raise
    else:
        spec, model = builds.load_spec(spec_file, template=template, name=name)
    target = output or builds.default_target(model.slug)
    builds.check_target(target, force=force)
    plan = builds.plan(model)
    console.print(
        f"Building [bold]{escape(model.name)}[/] ({model.template.value}): "
        + " → ".join(" + ".join(a.value.lower() for a in stage) for stage in plan.stages),
        highlight=False,
    )
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            display = _Display(progress, plan.agents, verify)
            result = builds.build(
                spec,
                model,
                verify=verify,
                timeout=timeout,
                on_event=display,
                llm=settings.llm,
                verify_database_url=settings.verify_database_url,
                observer=calls.observer,
            )
    finally:
        _print_ledger(calls)  # what the model calls spent, whatever happened
    if verify and not result.succeeded:
        _report_failure(result, target)
        raise typer.Exit(1)
    written = builds.write_app(result, target, force=force)
    _summary(result, target, time.perf_counter() - started, written.kept)


def _print_ledger(calls: LocalCalls) -> None:
    if calls.calls:
        spent = f"{calls.tokens} tokens" + (f" of {calls.budget}" if calls.budget else "")
        console.print(f"Model calls ({spent}):")
        console.print(ledger_table(calls.ledger()))


def _planned(
    words: str, template: ProjectTemplate | None, name: str | None, calls: LocalCalls
) -> tuple[builds.AppSpec, builds.AppModel]:
    """Plan from words with the configured model; a plan still wrong stops here."""
    from appbuilder.cli.llm import report_plan  # noqa: PLC0415 - only with --prompt
    from appbuilder.services import planning  # noqa: PLC0415

    watch = calls.observer(AgentType.ORCHESTRATOR)
    result = planning.plan(words, get_settings().llm, template=template, observer=watch)
    report_plan(result, None)
    if not result.valid:
        _print_ledger(calls)
        err_console.print(
            "[bold red]Error:[/] the plan still has problems after the model's last try; "
            "run `uab plan` to get the spec, fix it, and generate with --spec.",
            highlight=False,
        )
        raise typer.Exit(1)
    return builds.spec_from_data(result.spec, template=template, name=name)


def _planned_for_project(db: Database, project_id: str, words: str) -> dict[str, Any]:
    from appbuilder.cli.llm import report_plan  # noqa: PLC0415 - only with --prompt
    from appbuilder.services import runs  # noqa: PLC0415
    from appbuilder.services.project_plans import plan_project  # noqa: PLC0415

    with db.sessions() as session:
        owner_id = runs.owner_of_project(session, project_id).id
        planned = plan_project(session, db.sessions, owner_id, project_id, words, db.settings.llm)
    report_plan(planned.result, None)
    if not planned.result.valid:
        err_console.print(
            "[bold red]Error:[/] the plan still has problems after the model's last try; "
            "nothing was queued. Fix the spec and run with --spec.",
            highlight=False,
        )
        raise typer.Exit(1)
    return planned.result.spec


def _run_project(
    project_id: str, spec_file: Path | None, prompt: str | None, *, verify: bool, follow: bool
) -> None:
    override = builds.read_spec_file(spec_file) if spec_file is not None else None
    run_project(project_id, override, prompt=prompt, verify=verify, follow=follow)


def run_project(
    project_id: str,
    override: dict[str, Any] | None,
    *,
    prompt: str | None = None,
    verify: bool,
    follow: bool,
) -> None:
    """Queue a run of the project (with ``override`` as its spec, or the plan of
    ``prompt``), and with ``follow`` print its progress until it ends."""
    from appbuilder.cli._runtime import open_database  # noqa: PLC0415 - database commands only
    from appbuilder.cli.runs import follow_until_end, warn_without_workers  # noqa: PLC0415
    from appbuilder.jobs import setup  # noqa: PLC0415
    from appbuilder.services import runs  # noqa: PLC0415

    with open_database() as db:
        settings = db.settings
        if prompt is not None:  # plan first (recorded on the project), then run the plan
            override = _planned_for_project(db, project_id, prompt)
        # On the embedded queue, a follower executes the run itself (unless a server or
        # worker on the same database takes it first): nothing else needs to be running.
        runner = (
            None
            if settings.uses_procrastinate or not follow
            else setup.embedded_runner(settings, db.sessions, threads=1)
        )
        dispatcher = setup.dispatcher(settings, runner)
        with db.sessions.begin() as session:
            owner = runs.owner_of_project(session, project_id)
            run = runs.start_run(
                session, dispatcher, owner, project_id, spec=override, verify=verify
            )
            run_id = run.id
        console.print(f"Run [bold]{run_id}[/] queued for project {escape(project_id)}.")
        if runner is None:
            warn_without_workers(settings, db.sessions)
        if not follow:
            hint = "`uab worker`" if settings.uses_procrastinate else "`uab serve` or `uab worker`"
            console.print(f"It runs under {hint}; watch it with `uab runs follow {run_id}`.")
            return
        if runner is not None:
            runner.start()
        try:
            status = follow_until_end(settings, db.sessions, run_id)
        finally:
            if runner is not None:
                runner.stop(grace=1)
    if status != "COMPLETED":
        raise typer.Exit(1)


def _report_failure(result: GenerationResult, target: Path) -> None:
    assert result.verification is not None  # noqa: S101 - only called after verifying
    # A fresh folder each time: never replace something the user has under that name.
    kept = builds.keep_failed_tree(result, target)
    err_console.print(result.verification.failing_output[-6000:], markup=False, highlight=False)
    err_console.print(
        f"[bold red]Error:[/] the generated app failed its own checks "
        f"({escape(result.verification.summary())}). Nothing was written to "
        f"{escape(str(target))}; the failing tree is in {escape(str(kept))} for inspection.",
        highlight=False,
    )


def _summary(result: GenerationResult, target: Path, seconds: float, kept: tuple[str, ...]) -> None:
    table = Table(show_header=False, box=None)
    table.add_row("App", f"{escape(result.model.name)} ({result.model.template.value})")
    table.add_row("Folder", escape(str(target)))
    if kept:
        table.add_row("Kept", escape(", ".join(kept)) + " (your local files)")
    table.add_row("Files", f"{len(result.files)} ({builds.line_count(result.files)} lines)")
    steps = [f"{r.agent.value.lower()} {r.duration_ms} ms" for r in result.records[:-1]]
    steps.append(f"orchestrator {result.assemble_ms} ms (merge, format)")
    table.add_row("Agents", ", ".join(steps))
    if result.verification is None:
        table.add_row("Verification", "[yellow]skipped (--no-verify): not proven to work[/]")
    else:
        table.add_row("Verification", f"[green]{result.verification.summary()}[/]")
    for record in result.records:
        if record.error and record.status is GenerationStatus.COMPLETED:  # less than asked
            table.add_row("Warning", f"[yellow]{escape(record.error)}[/]")
    table.add_row("Tree hash", result.tree_hash)
    table.add_row("Time", f"{seconds:.1f} s")
    console.print(table)
    console.print(
        f"Start it: [bold]cd {escape(str(target))} && make run[/]  (then open http://127.0.0.1:8000)"
    )
