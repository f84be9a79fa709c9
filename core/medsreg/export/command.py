"""The ``medsreg export`` click group and its ``lm-eval`` subcommand: options in, ``lmeval.export_lmeval`` called, lines out.

Imports click only (the writer is imported when the command runs). A ``MedsregError`` raised here is turned into one
sentence and exit code 1 by the ``medsreg`` group.
"""

from __future__ import annotations

from pathlib import Path

import click

from medsreg.options import require_option, source_option


@click.group("export")
def export_command() -> None:
    """Write an installed suite out for another evaluation tool, with medsreg's prompts and scoring."""


@export_command.command("lm-eval")
@click.option("--suite", required=True, metavar="NAME", help="The installed suite to export (e.g. meds-bench), rendered "
              "as 'medsreg eval --suite' renders it: its readable tasks (partial, and said so) unless --require complete.")
@require_option
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path), metavar="DIR",
              help="Folder for the task YAMLs, data files and utils.py: new, empty, or an earlier export (replaced).")
@click.option("--prompt", type=click.Choice(["chat", "plain"]), default="chat", show_default=True,
              help="chat: the system and user messages, for lm_eval --apply_chat_template (the model's chat template, as "
              "medsreg eval does); plain: the row's prompt string as 'medsreg build' writes it, for models run without one.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), help="Tokens generated at most per prompt (lm-eval's "
              "max_gen_toks; default: the suite's, 200 as the official evaluation).")
@source_option
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Also load plugins from this folder without installing them (recorded: lm-eval loads its metrics "
              "from it too).")
def lmeval_command(suite: str, output: Path, prompt: str, max_new_tokens: int | None, plugins_dirs: tuple[Path, ...],
                   require: str | None) -> None:
    """Export a suite as EleutherAI lm-evaluation-harness tasks: the prompts 'medsreg eval' sends, medsreg's metrics.

    Writes one task per suite task, a group per category and one for the suite (the command to run is printed);
    'lm_eval --include_path DIR --tasks <group>' then gives the figures 'medsreg score' gives on the same outputs.
    docs/lm-eval.md says how names are formed and what lm-eval does its own way.
    """
    from medsreg.export.lmeval import export_lmeval

    def warn(line: str) -> None:
        click.echo(line, err=True)

    result = export_lmeval(suite, output, plugins_dirs=plugins_dirs, require_complete=require == "complete",
                           prompt=prompt, max_new_tokens=max_new_tokens, warn=warn)
    plan = result.plan
    for note in plan.notes:
        warn(f"note: {note}")
    categories = sum(group.kind == "category" for group in plan.groups)
    click.echo(f"{'replaced the export in' if result.replaced else 'wrote'} {result.output}: {plan.suite} as lm-eval "
               f"group {plan.group}, {categories} categories, {len(plan.tasks)} tasks, {plan.rows:,} rows "
               f"(max_gen_toks {result.settings.max_new_tokens}, prompt {result.settings.prompt})")
    click.echo(f"run: {result.command()}")
