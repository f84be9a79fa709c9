"""The ``medsreg corpus`` click commands: options in, ``pipeline.run_corpus`` called, lines out.

Imports click only: datatrove, tokenizers and pyahocorasick are imported when a command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from medsreg.options import source_option


@click.group("corpus")
def corpus_command() -> None:
    """MMedC-style pretraining corpora: list the registered ones, filter, deduplicate and pack one."""


@corpus_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@source_option
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Also load plugins from this folder without installing them.")
def list_command(as_json: bool, plugins_dirs: tuple[Path, ...]) -> None:
    """List the corpora that installed plugins register: language, source type, licence, access, tokens."""
    import json

    from medsreg.corpus.registered import corpus_rows, installed_corpora

    rows = corpus_rows(installed_corpora(plugins_dirs))
    if as_json:
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return
    if not rows:
        click.echo("no corpus is registered; install a corpus plugin such as medsreg-mmedc")
        return
    for row in rows:
        tokens = f"{row['token_estimate'] / 1e9:.2f}B tokens" if row["token_estimate"] else "tokens unknown"
        click.echo(f"{row['name']:<32} {row['language']:<3} {row['source_type']:<14} {row['license'] or '-':<16} "
                   f"{row['access'] or '-':<12} {tokens:<16} {row['status']}")


@corpus_command.command("run")
@click.option("--corpus", "corpus_name", metavar="NAME", help="A registered corpus ('medsreg corpus list'), e.g. mmedc/en-web.")
@click.option("--input", "input_path", type=click.Path(path_type=Path),
              help="Instead of --corpus: a folder of corpus files (.jsonl with a \"text\" field, .txt, .parquet; also .gz), or one file.")
@click.option("--language", help="ISO 639-1 code of the documents (a document's own \"language\" field wins); with --corpus, its language.")
@click.option("--output", "-o", type=click.Path(path_type=Path), required=True,
              help="Output folder: documents/, packed/ (with --tokenizer), manifest.json, logs/.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Processes running tasks at once.")
@click.option("--tasks", type=click.IntRange(min=1), help="Shards of the input (default: one per input file).")
@click.option("--tokenizer", type=click.Path(path_type=Path), help="Local tokenizer folder: count tokens and pack windows.")
@click.option("--window", type=click.IntRange(min=1), default=2048, show_default=True, help="Tokens per packed window.")
@click.option("--stride", type=click.IntRange(min=1), default=1536, show_default=True, help="Tokens between window starts.")
@click.option("--keywords", "keywords_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Keyword list (one a line) for --language, instead of the installed corpus plugins' list.")
@click.option("--no-filter", is_flag=True, help="Skip the keyword filter (textbooks, websites, curated datasets).")
@click.option("--min-hits", type=click.IntRange(min=0), help="Distinct keywords a kept document holds (default: the seed's H).")
@click.option("--min-ratio", type=click.FloatRange(min=0), help="Keyword characters per character (default: the seed's R).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output folder (once the new run is complete).")
@click.option("--quiet", "-q", is_flag=True, help="Print the summary only.")
@source_option
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Also load plugins from this folder without installing them.")
def run_command(corpus_name: str | None, input_path: Path | None, language: str | None, output: Path, workers: int,
                tasks: int | None, tokenizer: Path | None, window: int, stride: int, keywords_file: Path | None,
                no_filter: bool, min_hits: int | None, min_ratio: float | None, overwrite: bool, quiet: bool,
                plugins_dirs: tuple[Path, ...]) -> None:
    """Filter, deduplicate, count and pack one corpus with datatrove's local executor.

    Keeps the documents that pass the seed's keyword filter, removes exact and near (MinHash)
    duplicates, and with --tokenizer writes 2048-token windows (stride 1536, last window
    right-aligned, short documents padded) as Parquet. The output folder appears only once every
    stage has succeeded.
    """
    from medsreg.corpus.registered import prepare_run

    if (corpus_name is None) == (input_path is None):
        raise click.UsageError("give exactly one of --corpus NAME or --input PATH")
    run = prepare_run(corpus_name=corpus_name, input_path=input_path, language=language, output=output,
                      workers=workers, tasks=tasks, tokenizer=tokenizer, window=window, stride=stride,
                      keywords_file=keywords_file, no_filter=no_filter, min_hits=min_hits, min_ratio=min_ratio,
                      overwrite=overwrite, plugins_dirs=plugins_dirs)
    from medsreg.corpus.pipeline import run_corpus

    manifest = run_corpus(run, say=(lambda line: None) if quiet else click.echo, quiet=quiet)
    documents = manifest["documents"]
    line = (f"{documents['read']} documents read, {documents['kept_by_filter']} kept by the filter, "
            f"{documents['exact_duplicates']} exact and {documents['near_duplicates']} near duplicates removed, "
            f"{documents['written']} written")
    if manifest["tokens"] is not None:
        line += f"; {manifest['tokens']} tokens in {manifest['windows']} windows of {manifest['window']}"
    click.echo(f"{line} to {output} ({manifest['seconds']:.1f} s)")
