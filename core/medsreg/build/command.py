"""The ``medsreg build`` click command: options in, ``pipeline.run_build`` called, lines out.

Imports click only: the pipeline (and through it datasets) is imported when the command runs,
so ``medsreg --help`` stays instant. A ``MedsregError`` raised here is turned into one sentence
and exit code 1 by the ``medsreg`` group.
"""

from __future__ import annotations

from pathlib import Path

import click

from medsreg.options import require_option, source_option, trust_remote_code_option


@click.command("build")
@click.option("--spec", "spec", type=click.Path(path_type=Path, dir_okay=False),
              help="Mixture spec (.json, .yaml): include / exclude entries (task, category or plugin, each with weight, n "
              "or fraction, cap), temperature, total, seed; built into mixture/. Default: each registered mixture with a "
              "readable task, into mixtures/<plugin>--<name>/ (without one: every available training task, into mixture/).")
@click.option("--mixture", metavar="NAME", help="Build this registered mixture (e.g. meds-ins/meds-ins; 'medsreg list "
              "--mixtures' lists them) instead of --spec.")
@click.option("--suite", "suites", multiple=True, metavar="NAME",
              help="Build this evaluation suite (e.g. meds-bench); repeatable. Default: every suite with a test set "
              "available here. A suite is built over its readable tasks (partial, and said so) unless --require complete.")
@require_option
@click.option("--output", "-o", type=click.Path(path_type=Path, file_okay=True), default=Path("build"), show_default=True,
              help="Output folder: mixture/ (or mixtures/<name>/), suites/<suite>/, README.md, manifest.json.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder (only once the new build is complete).")
@click.option("--dry-run", is_flag=True, help="Print the plan (rows available, decontaminated, taken, factor per task); write nothing.")
@click.option("--seed", type=int, help="Seed of the mixture's sampling and rendering (overrides the spec's); suites keep their own seed.")
@click.option("--total", type=click.IntRange(min=1), help="Rows in the mixture (overrides the spec's).")
@click.option("--export", type=click.Choice(["parquet", "jsonl"]), help="Also write each dataset as Parquet or JSON Lines under export/.")
@click.option("--tokenizer", type=click.Path(path_type=Path), help="Local tokenizer folder: add input_ids / labels (prompt masked) "
              "with its chat template.")
@click.option("--max-length", type=click.IntRange(min=1), default=2048, show_default=True, help="With --tokenizer: truncate (or pack) to this many tokens.")
@click.option("--pack", is_flag=True, help="With --tokenizer: pack whole examples into --max-length blocks.")
@trust_remote_code_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bars and no progress lines.")
@click.option("--workers", type=click.IntRange(min=1), help="Processes reading and rendering training tasks "
              "(default: every CPU available); the output does not depend on it.")
@source_option
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Also load plugins from this folder without installing them.")
def build_command(spec: Path | None, mixture: str | None, suites: tuple[str, ...], output: Path, overwrite: bool, dry_run: bool,
                  seed: int | None, total: int | None, export: str | None, tokenizer: Path | None, max_length: int,
                  pack: bool, trust_remote_code: bool, quiet: bool, workers: int | None, plugins_dirs: tuple[Path, ...],
                  require: str | None) -> None:
    """Assemble the training mixture and the evaluation suites as Hugging Face datasets.

    With no options: each registered mixture with a training task readable here, each its own
    dataset (or, without one, a mixture of every available training task), decontaminated against
    every test set that can be read here, and every suite with a readable test set, into build/.
    On a fresh clone that is the bundled sample plugins.
    """
    from medsreg.build.pipeline import BuildOptions, run_build

    if spec is not None and mixture is not None:
        raise click.UsageError("give --spec FILE or --mixture NAME, not both")
    if pack and tokenizer is None:
        raise click.UsageError("--pack needs --tokenizer (packing works on token ids)")
    options = BuildOptions(spec=spec, mixture=mixture, suites=suites, output=output, overwrite=overwrite, dry_run=dry_run, seed=seed,
                           total=total, export=export, tokenizer=tokenizer, max_length=max_length, pack=pack,
                           trust_remote_code=trust_remote_code, quiet=quiet, plugins_dirs=plugins_dirs, workers=workers,
                           require_complete=require == "complete")
    run_build(options, say=(lambda line: None) if quiet and not dry_run else click.echo,
              warn=lambda line: click.echo(line, err=True))
