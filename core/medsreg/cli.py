"""The ``medsreg`` command line: parses options, calls library functions, maps errors to exit codes.

Exit codes: 0 fine, 1 problems found (or a ``MedsregError``), 2 usage. Heavy modules are
imported inside commands so that ``medsreg --help`` stays instant.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from medsreg import __version__
from medsreg.errors import MedsregError
from medsreg.options import source_option


class _Group(click.Group):
    """Turns library errors into one sentence and exit code 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MedsregError as error:
            click.echo(f"error: {error}", err=True)
            ctx.exit(1)


def _plugin_options(function: Callable) -> Callable:
    function = click.option("--strict", is_flag=True, help="Broken plugins (and, for validate, warnings) make the exit code 1.")(function)
    function = source_option(function)
    function = click.option(
        "--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(path_type=Path),
        help="Also load plugins from this folder without installing them (a plugin folder, a folder of them, or .py files).",
    )(function)
    return function


def _load(plugins_dirs: tuple[Path, ...], strict: bool):
    """Installed plugins plus --plugins-dir ones, as a catalog; broken plugins warned about on stderr."""
    from medsreg.catalog import check_configuration, load_installed
    from medsreg.plugins import get_plugin_manager

    plugin_set = get_plugin_manager(plugins_dirs)
    catalog = load_installed(plugin_set)
    check_configuration(catalog)
    for problem in catalog.findings.problems:
        if problem.severity != "note":
            click.echo(f"warning: {problem.location()}: {problem.message}", err=True)
    failed = strict and any(p.severity != "note" for p in catalog.findings.problems)
    return catalog, failed


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="medsreg")
def cli() -> None:
    """medsreg: contribute, assemble and evaluate medical instruction data (MedS-Ins, MedS-Bench, MMedBench).

    Every dataset or task is a plugin. Start with 'medsreg list', check a contribution with
    'medsreg validate PATH', and read CONTRIBUTING.md to add your own.
    """


@cli.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_plugin_options
@click.pass_context
def plugins_command(ctx: click.Context, as_json: bool, plugins_dirs: tuple[Path, ...], strict: bool) -> None:
    """List installed plugins: version, package, hooks, task count, and errors."""
    catalog, failed = _load(plugins_dirs, strict)
    rows = [
        {"name": p.name, "version": p.version, "package": p.package, "module": p.module, "origin": p.origin,
         "hooks": p.hooks, **catalog.counts(p.name), "ok": p.ok, "errors": p.errors}
        for p in catalog.plugins
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo("No plugins installed. Install one (pip install -e plugins/samples) or pass --plugins-dir.")
    else:
        for row in rows:
            state = "ok" if row["ok"] else "BROKEN"
            click.echo(f"{row['name']:<20} {row['version']:<10} {row['tasks']:>4} tasks  {state:<6} "
                       f"{','.join(row['hooks']) or '-'}  ({row['package'] or row['origin']})")
    ctx.exit(1 if failed else 0)


@cli.command("list")
@click.option("--category", help="Only tasks of this category, e.g. 'Named Entity Recognition'.")
@click.option("--language", help="Only tasks with this input or output language (name or ISO code).")
@click.option("--split", type=click.Choice(["train", "test", "train/test"]), help="Only tasks of this split.")
@click.option("--access", type=click.Choice(["public", "credentialed", "private"]), help="Only tasks of this access tier.")
@click.option("--status", type=click.Choice(["available", "empty", "not configured", "credentialed"]),
              help="Only tasks whose instances are available here, inline but empty, not configured, or credentialed and "
              "not configured.")
@click.option("--suites", "show_suites", is_flag=True, help="List the evaluation suites instead of tasks.")
@click.option("--mixtures", "show_mixtures", is_flag=True, help="List the named training mixtures instead of tasks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_plugin_options
@click.pass_context
def list_command(ctx: click.Context, category: str | None, language: str | None, split: str | None, access: str | None,
                 status: str | None, show_suites: bool, show_mixtures: bool, as_json: bool, plugins_dirs: tuple[Path, ...],
                 strict: bool) -> None:
    """List the tasks (or, with --suites, the suites) of installed plugins, with filters.

    STATUS says whether a task's instances can be read here: 'available', 'not configured'
    (set its source: see 'medsreg info TASK'), or 'credentialed' (not configured, and it needs
    a data-use agreement such as PhysioNet's). A task whose configured source folder does not
    exist says so after its languages (JSON: "note").
    """
    from medsreg.catalog import task_status
    from medsreg.vocabulary import (
        CATEGORIES,
        canonical_category,
        did_you_mean,
        language_code,
    )

    if category is not None and canonical_category(category)[0] is None:
        raise click.BadParameter(f"{category!r} is not a category.{did_you_mean(category, CATEGORIES)}", param_hint="--category")
    code = None
    if language is not None:
        code = language_code(language)
        if code is None:
            raise click.BadParameter(f"{language!r} is not a language name or ISO 639 code", param_hint="--language")
    catalog, failed = _load(plugins_dirs, strict)
    if show_suites:
        _list_suites(catalog, as_json)
        ctx.exit(1 if failed else 0)
    if show_mixtures:
        _list_mixtures(catalog, as_json)
        ctx.exit(1 if failed else 0)
    wanted_category = canonical_category(category)[0] if category else None
    rows = []
    for item in catalog.tasks:
        task = item.task
        if (wanted_category and wanted_category not in task.categories) or (split and task.split != split) \
                or (access and task.access != access) or (code and code not in task.input_languages + task.output_languages):
            continue
        state = task_status(task)
        if status and state != status:
            continue
        rows.append({
            "name": task.name, "legacy_id": task.legacy_id, "categories": task.categories,
            "languages": sorted(set(task.input_languages + task.output_languages)), "split": task.split,
            "access": task.access, "status": state,
            "instances": None if task.instances is None else len(task.instances),
            "note": _source_note(task) if state in ("not configured", "credentialed") else None,
        })
    rows.sort(key=lambda row: row["name"])
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        for row in rows:
            legacy = f"task{row['legacy_id']}" if row["legacy_id"] else "-"
            note = f"  ({row['note']})" if row["note"] else ""
            click.echo(f"{row['name']:<56} {legacy:<8} {row['split'] or '?':<6} {row['status']:<14} "
                       f"{', '.join(row['categories'])} [{', '.join(row['languages'])}]{note}")
        by_status = {state: sum(row["status"] == state for row in rows)
                     for state in ("available", "empty", "not configured", "credentialed")}
        summary = ", ".join(f"{count} {state}" for state, count in by_status.items() if count)
        click.echo(f"{len(rows)} of {len(catalog.tasks)} tasks ({summary or 'none'})", err=True)
        if catalog.suites:
            names = ", ".join(sorted(loaded.suite.name for loaded in catalog.suites))
            click.echo(f"{len(catalog.suites)} suites: {names} (medsreg list --suites)", err=True)
    ctx.exit(1 if failed else 0)


def _source_note(task) -> str | None:
    """Why a task that is not available is so although its source is configured: the configured folder does not exist
    (otherwise 'not configured' would send the user looking for a setting that is there)."""
    from medsreg.models import LocalSource
    from medsreg.sources import alternatives, folder_problem

    problems = [folder_problem(source.key) for source in alternatives(task.instances_from) if isinstance(source, LocalSource)]
    return next((problem for problem in problems if problem), None)


def _list_suites(catalog, as_json: bool) -> None:
    from medsreg.catalog import task_status

    by_name = {item.task.name: item.task for item in catalog.tasks}
    rows = []
    for loaded in sorted(catalog.suites, key=lambda loaded: loaded.suite.name):
        suite = loaded.suite
        names = suite.task_names()
        states = [task_status(by_name[name]) if name in by_name else "missing" for name in names]
        rows.append({
            "name": suite.name, "description": suite.description,
            "categories": [category.name for category in suite.categories], "tasks": len(names),
            **{state: states.count(state) for state in ("available", "not configured", "credentialed", "missing")},
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        counts = ", ".join(f"{row[state]} {state}" for state in ("available", "not configured", "credentialed", "missing") if row[state])
        click.echo(f"{row['name']:<28} {len(row['categories']):>3} categories {row['tasks']:>4} tasks ({counts})  {row['description']}")
    click.echo(f"{len(rows)} suites", err=True)


def _list_mixtures(catalog, as_json: bool) -> None:
    from medsreg.build.plan import select_tasks
    from medsreg.catalog import task_status
    from medsreg.errors import MedsregError

    rows = []
    for loaded in sorted(catalog.mixtures, key=lambda loaded: loaded.spec.name):
        try:
            states = [task_status(choice.item.task) for choice in select_tasks(loaded.spec, catalog, loaded.origin)]
        except MedsregError as error:  # a task it names is not installed: 'medsreg validate' says where
            rows.append({"name": loaded.spec.name, "description": loaded.spec.description, "tasks": None,
                         "problem": str(error)})
            continue
        rows.append({"name": loaded.spec.name, "description": loaded.spec.description, "tasks": len(states),
                     **{state: states.count(state) for state in ("available", "empty", "not configured", "credentialed")}})
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for row in rows:
        if row["tasks"] is None:
            click.echo(f"{row['name']:<28} {row['problem']}")
            continue
        counts = ", ".join(f"{row[state]} {state}" for state in ("available", "empty", "not configured", "credentialed")
                           if row[state])
        click.echo(f"{row['name']:<28} {row['tasks']:>4} tasks ({counts or 'none'})  {row['description']}")
    click.echo(f"{len(rows)} mixtures (medsreg build --mixture NAME builds one)", err=True)


@cli.command("info")
@click.argument("task")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_plugin_options
@click.pass_context
def info_command(ctx: click.Context, task: str, as_json: bool, plugins_dirs: tuple[Path, ...], strict: bool) -> None:
    """Show one task, by name ('samples/mcqa_drug_choice'), short name, or MedS-Ins id ('125', 'task125')."""
    from medsreg.catalog import Catalog, resolve_instances, task_status
    from medsreg.registry import registry_task

    catalog, failed = _load(plugins_dirs, strict)
    item = catalog.find(task)
    # read this task's sources (only this one's) so the counts are the real ones here
    one = Catalog(tasks=[item])
    resolve_instances(one)
    for problem in one.findings.problems:
        if problem.severity != "note":
            click.echo(f"warning: {problem.location()}: {problem.message}", err=True)
    summary = registry_task(item.task).model_dump(mode="json")
    summary["origin"] = item.origin
    if item.task.instances is not None:
        summary["status"] = "available" if item.task.instances else "empty"  # a source that gives none: not available
    elif item.unavailable:
        summary["status"] = "credentialed" if item.task.access == "credentialed" else "not configured"
    else:
        summary["status"] = task_status(item.task)
    if item.unavailable:
        summary["how_to_obtain"] = item.unavailable
    summary["instruction"] = item.task.instruction
    for key in ("instances_from", "instructions_from"):
        value = getattr(item.task, key)
        if value is not None:
            summary[key] = [s.model_dump(mode="json") for s in value] if isinstance(value, list) else value.model_dump(mode="json")
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        for key, value in summary.items():
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value) or "-"
            click.echo(f"{key + ':':<24}{value if value is not None else '-'}")
    ctx.exit(1 if failed else 0)


@cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--installed", is_flag=True, help="Check what installed plugins return (imports their code).")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github"]), default="text", show_default=True,
              help="'github' prints workflow annotations for pull requests.")
@click.option("--list-checks", is_flag=True, help="List the checks with their help lines and exit.")
@click.option("--select", help="Comma-separated check ids to report (default: all).")
@click.option("--max-file-mb", type=click.FloatRange(min=0.001), default=100.0, show_default=True, help="Largest task file accepted.")
@click.option("--max-instances", type=click.IntRange(min=1), default=1_000_000, show_default=True, help="Most instances per task.")
@click.option("--min-instances", type=click.IntRange(min=0), default=10, show_default=True, help="Fewer instances than this warn.")
@click.option("--min-label-entropy", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Classification tasks whose normalized label entropy is lower warn.")
@click.option("--quiet-notes", is_flag=True, help="Hide notes (normalizations), show only errors and warnings.")
@_plugin_options
@click.pass_context
def validate_command(ctx: click.Context, paths: tuple[Path, ...], installed: bool, output_format: str, list_checks: bool,
                     select: str | None, max_file_mb: float, max_instances: int, min_instances: int, min_label_entropy: float,
                     quiet_notes: bool,
                     plugins_dirs: tuple[Path, ...], strict: bool) -> None:
    """Check task files and plugins: the gate a contribution passes in CI.

    PATH is a plugin folder, a folder of plugin folders (e.g. plugins/), or task files;
    none of their code is imported. --installed checks the loaded plugins instead.
    Exit code 0 when clean, 1 when problems are found (--strict: warnings too), 2 on usage errors.
    """
    from medsreg.validate.problems import Options
    from medsreg.validate.reporters import FORMATS
    from medsreg.validate.runner import all_checks, validate

    checks = all_checks()
    if list_checks:
        for check_ in checks:
            click.echo(f"{check_.id:<16} {check_.scope:<11} {check_.help}")
        return
    selected = None
    if select:
        selected = frozenset(part.strip() for part in select.split(",") if part.strip())
        known = {c.id for c in checks}
        unknown = sorted(selected - known)
        if unknown:
            from medsreg.vocabulary import did_you_mean

            raise click.BadParameter(f"unknown check {unknown[0]!r}.{did_you_mean(unknown[0], sorted(known))} "
                                     "'medsreg validate --list-checks' lists them", param_hint="--select")
    if not paths and not installed:
        raise click.UsageError("give PATH... (a plugin folder, plugins/, or task files) or --installed")
    options = Options(max_file_mb=max_file_mb, max_instances=max_instances, min_instances=min_instances,
                      min_label_entropy=min_label_entropy, select=selected)
    plugin_set = None
    if installed:
        from medsreg.plugins import get_plugin_manager

        plugin_set = get_plugin_manager(plugins_dirs)
    report = validate(paths, options, plugin_set)
    if quiet_notes:
        report.problems = [p for p in report.problems if p.severity != "note"]
    click.echo(FORMATS[output_format](report, strict))
    ctx.exit(1 if report.failed(strict) else 0)


@cli.command("registry")
@click.option("--check", "check_only", is_flag=True, help="Do not write: exit 1 if registry.json or schemas/ are stale.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=".", show_default=True,
              help="The repository root holding plugins/, schemas/ and registry.json.")
@click.option("--installed", type=click.Path(path_type=Path, dir_okay=False), metavar="OUTPUT",
              help="Instead, index the installed plugins with their configured sources read (real instance and "
              "instruction counts on this machine) into OUTPUT.")
@_plugin_options
@click.pass_context
def registry_command(ctx: click.Context, check_only: bool, root: Path, installed: Path | None,
                     plugins_dirs: tuple[Path, ...], strict: bool) -> None:
    """Regenerate registry.json (from plugins/, statically) and schemas/ (from the models).

    registry.json is the same on every machine: counts of data kept outside the repository are
    null there. --installed OUTPUT writes the index of what is installed and configured here.
    """
    from medsreg import registry

    if installed is not None:
        from medsreg.catalog import resolve_instances

        catalog, failed = _load(plugins_dirs, strict)
        resolve_instances(catalog)
        errors = [p for p in catalog.findings.problems if p.severity == "error"]
        for problem in errors:
            click.echo(f"error: {problem.location()}: {problem.message}", err=True)
        failed = failed or bool(errors)
        path = registry.write_installed(catalog, installed)
        counted = [item for item in catalog.tasks if item.task.instances is not None]
        click.echo(f"wrote {path}: {len(catalog.tasks)} tasks, {len(counted)} with instances read "
                   f"({sum(len(i.task.instances) for i in counted):,} instances, "
                   f"{sum(len(i.task.definition) for i in catalog.tasks):,} instructions)")
        ctx.exit(1 if failed else 0)

    if not (root / "plugins").is_dir():
        raise MedsregError(f"{root.resolve()} has no plugins/ folder; run this in the medsreg repository root or pass --root")
    if check_only:
        outdated = registry.stale(root)
        if outdated:
            names = ", ".join(str(p.relative_to(root)) for p in outdated)
            click.echo(f"error: {names} out of date; run '{registry.REGENERATE}' and commit the result", err=True)
            ctx.exit(1)
        click.echo("registry.json and schemas/ are up to date")
        return
    written, catalog = registry.write(root)
    if catalog.findings.has_errors:
        click.echo("warning: some task files have errors and are missing from registry.json; "
                   "run 'medsreg validate plugins/'", err=True)
    for path in written:
        click.echo(f"wrote {path.relative_to(root)}")
    if not written:
        click.echo("registry.json and schemas/ were already up to date")


@cli.command("import")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("plugins"), show_default=True,
              help="Folder in which the plugin folder is created.")
@click.option("--name", help="Plugin name (lower-case letters, digits, '-'); default: derived from the task.")
@click.option("--task", "task_name", metavar="NAME",
              help="Task name inside the plugin (lower-case letters, digits, '_', '.', '-'), e.g. drug_dose_extraction; "
              "default: the file's name, or for a workbook still named like the template, its Source and first category.")
@click.option("--overwrite", is_flag=True, help="Replace a plugin folder of the same name that an earlier import made (and holds nothing else).")
def import_command(source: Path, output: Path, name: str | None, task_name: str | None, overwrite: bool) -> None:
    """Turn a MedS-Ins contribution (task JSON or the Excel template) into a plugin folder.

    The task is named after the file unless --task names it; the plugin is named after the task
    unless --name names it. Reports what it normalized or guessed, and what the contributor still
    has to fill in before 'medsreg validate' passes.
    """
    from medsreg.importer import import_contribution

    report = import_contribution(source, output, name=name, task=task_name, overwrite=overwrite)
    for note in report.notes:
        click.echo(f"note: {note}")
    for item in report.todo:
        click.echo(f"todo: {item}")
    click.echo(f"wrote plugin {report.plugin_dir}; next: medsreg validate {report.plugin_dir}")


@cli.command("new")
@click.argument("name")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("plugins"), show_default=True,
              help="Folder in which the plugin folder is created.")
def new_command(name: str, output: Path) -> None:
    """Scaffold a plugin package NAME from plugins/_template (pyproject, README, a task file, a test)."""
    from medsreg.scaffold import new_plugin

    folder = new_plugin(name, output)
    click.echo(f"created {folder}; edit its task file, then: medsreg validate {folder}")


@cli.command("score")
@click.argument("predictions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--compat", type=click.Choice(["fixed", "official"]), default="fixed", show_default=True,
              help="'official' gives the official MedS-Bench / MMedBench scripts' figures, bugs included; 'fixed' "
              "corrects them (docs/metrics.md lists each fix).")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown", "csv"]), default="text",
              show_default=True, help="How to print the scores (json: a list when several files are scored).")
@click.option("--output", "-o", type=click.Path(path_type=Path), help="Also write the results as JSON (what "
              "'medsreg leaderboard' reads): this file, or with several PREDICTIONS a folder, one <name>.results.json "
              "per file.")
@click.option("--allow-empty", is_flag=True, help="Score empty outputs as wrong instead of refusing the file "
              "(--compat official needs no such flag: it does what the scripts do).")
@click.option("--workers", type=click.IntRange(min=1), help="Processes that score (default: every CPU).")
@click.option("--per-sample", is_flag=True, help="Also record, per task, each instance's id and its own score(s) in the "
              "JSON (--output, --format json): accuracies 100/0, F1 / BLEU-1 / ROUGE-L computed on the instance alone. "
              "'medsreg leaderboard' shows them on its per-task pages.")
@click.option("--ci", is_flag=True, help="Give every task and category score a 95% bootstrap interval (1,000 resamples "
              "of the instances; a category resamples within each of its tasks), in every format; 'medsreg "
              "leaderboard' then marks the models it cannot separate from a column's best.")
@click.option("--seed", type=int, default=0, show_default=True, help="The bootstrap's seed (with --ci).")
@_plugin_options
def score_command(predictions: tuple[Path, ...], compat: str, output_format: str, output: Path | None,
                  allow_empty: bool, workers: int | None, per_sample: bool, ci: bool, seed: int,
                  plugins_dirs: tuple[Path, ...], strict: bool) -> None:
    """Score PREDICTIONS (predictions.jsonl from 'medsreg eval', or submission CSVs: task_id,input,GT,output).

    Prints each category's score (the mean of its tasks, as the leaderboard reports it), each
    task's, and the pooled groups' (e.g. MedS-Bench's CT and MRI summarization). Several files
    (several models, or one model's per-category CSVs) are scored in one run, sharing the work.
    """
    from medsreg.predictions import read_predictions
    from medsreg.score import RENDERERS, render_json, score_many

    targets = _results_paths(predictions, output) if output is not None else []
    catalog, _ = _load(plugins_dirs, strict)
    official = compat == "official"
    found = [read_predictions(path, catalog, allow_empty=allow_empty, official=official) for path in predictions]
    metrics = {metric.name: metric for _, metric in catalog.metrics}
    results = score_many(found, metrics, official=official, workers=workers, per_sample=per_sample, ci=ci, seed=seed)
    for path, result in zip(predictions, results):
        result.predictions = str(path.resolve())
    if targets:
        from medsreg.files import write_text_atomically

        for target, result in zip(targets, results):
            target.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomically(target, render_json(result) + "\n")
    if len(results) == 1:
        click.echo(RENDERERS[output_format](results[0]))
    elif output_format == "json":
        import json

        click.echo(json.dumps([result.as_json() for result in results], indent=2, ensure_ascii=False))
    else:
        click.echo("\n\n".join(f"== {path}\n{RENDERERS[output_format](result)}" for path, result in zip(predictions, results)))


def _results_paths(predictions: tuple[Path, ...], output: Path) -> list[Path]:
    """Where --output puts each file's results: the file itself for one, else <output>/<name>.results.json, named after
    the predictions file (and its folder when two share a name, as eval's predictions.jsonl do)."""
    if len(predictions) == 1:
        return [output]
    if output.exists() and not output.is_dir():
        raise MedsregError(f"{output} is a file; with several PREDICTIONS, --output names a folder for one "
                           "<name>.results.json per file")
    names = [path.stem for path in predictions]
    if len(set(names)) < len(names):
        names = [f"{path.resolve().parent.name}-{path.stem}" for path in predictions]
    if len(set(names)) < len(names):
        raise MedsregError("two PREDICTIONS files have the same folder and file name; give distinct files, or score "
                           "them one at a time with their own --output")
    return [output / f"{name}.results.json" for name in names]


@cli.command("leaderboard")
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--output", "-o", type=click.Path(path_type=Path), default=Path("leaderboard"), show_default=True,
              help="Folder for leaderboard.md, leaderboard.csv, leaderboard.png and index.html.")
@click.option("--title", default="MedS-Bench leaderboard", show_default=True, help="Title of the page and the chart.")
def leaderboard_command(results: tuple[Path, ...], output: Path, title: str) -> None:
    """Compare models: RESULTS files (from 'medsreg score --output') as a table, a web page and a chart."""
    from medsreg.leaderboard import write_leaderboard

    for path in write_leaderboard(list(results), output, title):
        click.echo(f"wrote {path}")


# 'medsreg build' lives in its own package; its module imports click only (datasets is imported when it runs)
from medsreg.build.command import build_command

cli.add_command(build_command, "build")

# 'medsreg eval' likewise: its module imports click only (torch / transformers are imported when it runs)
from medsreg.evaluate.command import eval_command

cli.add_command(eval_command, "eval")

# 'medsreg train' likewise: its module imports click only (torch / transformers / peft are imported when it runs)
from medsreg.train.command import train_command

cli.add_command(train_command, "train")

# 'medsreg corpus' likewise: its module imports click only (datatrove is imported when it runs)
from medsreg.corpus.command import corpus_command

cli.add_command(corpus_command, "corpus")

from medsreg.export.command import export_command  # 'medsreg export': imports click only

cli.add_command(export_command, "export")



def main() -> None:
    """Console entry point: anything unexpected becomes a short message, not a traceback."""
    try:
        cli(prog_name="medsreg")
    except MedsregError as error:  # raised outside a command (e.g. during parsing)
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:  # Ctrl-C: what was written is kept (builds and evals resume), no traceback
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as error:  # a bug in medsreg itself
        if os.environ.get("MEDSREG_DEBUG"):
            raise
        click.echo(f"internal error: {type(error).__name__}: {error}. This is a bug in medsreg; please report it "
                   "with the command you ran (set MEDSREG_DEBUG=1 to see the traceback).", err=True)
        sys.exit(1)
