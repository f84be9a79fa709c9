"""The corpus pipeline as datatrove stages, and a local run of it with an atomic output folder.

Stages (``stages()``); ``T`` tasks shard the input files, the same task numbers run stages 1 and 5:

1. ``filter`` (T tasks): read, keyword filter, write the kept documents (``work/kept``), and in the same
   pass the exact-dedup signature (datatrove's ``ExactDedupSignature``) and the MinHash signature
   (datatrove's ``MinhashDedupSignature`` over medsreg's numpy shingles) of each;
2. ``exact`` (1 task): datatrove's ``ExactFindDedups``: documents of equal text after the first;
3. ``buckets`` (one task per MinHash band): datatrove's ``MinhashDedupBuckets``: pairs of near duplicates;
4. ``clusters`` (1 task): datatrove's ``MinhashDedupCluster``: one document kept per cluster;
5. ``pack`` (T tasks): read the kept documents back, drop both kinds of duplicates, count tokens and
   write the 2048-token windows (``packed/``), and the final documents (``documents/``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsreg.corpus.keywords import KeywordFilter
from medsreg.corpus.packing import STRIDE, WINDOW, check_window
from medsreg.errors import MedsregError
from medsreg.progress import progress_bar


@dataclass
class MinhashSettings:
    """datatrove's defaults: 5-grams, 14 bands of 8 hashes (a pair of Jaccard 0.8 is caught with probability 0.92)."""

    n_grams: int = 5
    buckets: int = 14
    hashes_per_bucket: int = 8


@dataclass
class CorpusRun:
    """One run of the pipeline over one corpus."""

    output: Path
    language: str
    input: Path | None = None
    """A folder of corpus files (searched recursively) or one file."""
    loader: Callable[[], Iterable[str]] | None = None
    """Instead of ``input``: a plugin's documents loader."""
    name: str = "corpus"
    filters: dict[str, KeywordFilter] | None = None
    """Keyword filter per language; None: documents are not keyword-filtered (textbooks, curated sets)."""
    tokenizer: Path | None = None
    """Without one, documents are filtered and deduplicated but neither counted nor packed."""
    workers: int = 1
    tasks: int | None = None
    """Shards of the input; default: one per input file (the loader: one per worker)."""
    window: int = WINDOW
    stride: int = STRIDE
    minhash: MinhashSettings = field(default_factory=MinhashSettings)
    overwrite: bool = False
    describe: dict[str, Any] = field(default_factory=dict)
    """What the manifest records about the corpus (licence, access, source type)."""


def check_language(code: str | None) -> str:
    """``code`` if it is an ISO 639-1 code, else a sentence."""
    import langcodes

    code = (code or "").strip()
    if not code:
        raise MedsregError("the language is empty; give the corpus's ISO 639-1 code with --language (en, zh, ja, ru, es, fr ...)")
    if not re.fullmatch(r"[a-z]{2}", code) or not langcodes.tag_is_valid(code):
        raise MedsregError(f"{code!r} is not an ISO 639-1 language code; give a two-letter code such as en, zh, ja, ru, es or fr")
    return code


def input_files(path: Path) -> tuple[Path, list[str]]:
    """(folder, corpus files under it, relative and sorted); ``path`` may also be one file."""
    from medsreg.corpus.steps import SUFFIXES

    path = Path(path).expanduser()
    if path.is_file():
        if not path.name.lower().endswith(SUFFIXES):
            raise MedsregError(f"{path} is not a corpus file: medsreg reads {', '.join(SUFFIXES)}")
        return path.parent, [path.name]
    if not path.is_dir():
        raise MedsregError(f"corpus input {path} does not exist")
    files = sorted(str(file.relative_to(path).as_posix()) for file in path.rglob("*")
                   if file.is_file() and file.name.lower().endswith(SUFFIXES) and not file.name.startswith("."))
    if not files:
        raise MedsregError(f"{path} holds no corpus file ({', '.join(SUFFIXES)})")
    return path, files


@dataclass
class Stage:
    name: str
    pipeline: list
    tasks: int
    parallel: bool = True
    """False for the stages that datatrove runs as one task."""


def stages(run: CorpusRun, root: str, files: list[str] | None = None, tasks: int = 1) -> list[Stage]:
    """The five stages writing under ``root`` (a local folder, or any fsspec URL on a cluster)."""
    from datatrove.pipeline.dedup.exact_dedup import ExactDedupConfig, ExactFindDedups
    from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    from medsreg.corpus import steps

    work = f"{root}/work"
    exact = ExactDedupConfig(content_getter=steps.document_text)
    minhash = MinhashConfig(n_grams=run.minhash.n_grams, num_buckets=run.minhash.buckets,
                            hashes_per_bucket=run.minhash.hashes_per_bucket)
    if run.loader is not None:
        reader = steps.LoaderReader(run.loader, run.name)
    else:
        folder, _ = input_files(run.input)  # type: ignore[arg-type]
        reader = steps.CorpusFileReader(str(folder), files or [])
    first = [reader]
    if run.filters is not None:
        first.append(steps.KeywordFilterStep(run.filters, run.language))
    first += [
        JsonlWriter(f"{work}/kept", output_filename="${rank}.jsonl", compression=None),
        steps.ExactSignatures(f"{work}/exact-signatures", config=exact),
        steps.Shingles(f"{work}/minhash-signatures", config=minhash),
    ]
    last = [steps.RankReader(f"{work}/kept"), steps.DropDuplicates(f"{work}/exact-duplicates", f"{work}/minhash-remove", run.minhash.n_grams)]
    if run.tokenizer is not None:
        last.append(steps.TokenizePack(str(run.tokenizer), f"{root}/packed", run.window, run.stride))
    last.append(JsonlWriter(f"{root}/documents", output_filename="${rank}.jsonl", compression=None))
    return [
        Stage("filter", first, tasks),
        Stage("exact", [ExactFindDedups(f"{work}/exact-signatures", f"{work}/exact-duplicates", config=exact)], 1, False),
        Stage("buckets", [MinhashDedupBuckets(f"{work}/minhash-signatures", f"{work}/minhash-buckets", config=minhash)],
              run.minhash.buckets),
        Stage("clusters", [MinhashDedupCluster(f"{work}/minhash-buckets", f"{work}/minhash-remove", config=minhash)], 1, False),
        Stage("pack", last, tasks),
    ]


# --------------------------------------------------------------------------- the local run


def _executor_class():
    from datatrove.executor.local import LocalPipelineExecutor

    class QuietLocalExecutor(LocalPipelineExecutor):
        """datatrove's local executor, its per-task console logging sent to the task log files only."""

        def _run_for_rank(self, rank: int, local_rank: int = 0, node_rank: int = -1):
            saved = sys.stderr
            sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (bound by loguru's sinks for the task)
            try:
                return super()._run_for_rank(rank, local_rank, node_rank)
            finally:
                sys.stderr = saved

    return QuietLocalExecutor


@contextlib.contextmanager
def _quiet():
    """No datatrove console output in this process (its log files keep everything)."""
    from datatrove.utils.logging import setup_default_logger
    from loguru import logger

    logger.remove()
    saved = sys.stderr
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115 (tqdm bars of the single-task stages)
    try:
        yield
    finally:
        sys.stderr.close()
        sys.stderr = saved
        setup_default_logger()


@contextlib.contextmanager
def _count_completed(folder: Path, bar: Any, every: float = 1.0):
    """Move ``bar`` to the number of tasks done, counted from datatrove's completion markers (one file per finished
    task in ``folder``): the tasks run in datatrove's worker processes, and the markers are what they leave here
    that can be read without hooking into its pool."""
    stop = threading.Event()

    def catch_up() -> None:
        try:
            done = sum(1 for _ in folder.iterdir())
        except OSError:  # not created before the first task finishes
            done = 0
        if done > bar.n:
            bar.update(done - bar.n)

    def watch() -> None:
        while not stop.wait(every):
            catch_up()

    thread = threading.Thread(target=watch, name=f"progress: {folder}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        catch_up()


def _totals(stats) -> dict[str, dict[str, float]]:
    """{step name: {metric: total}} of a stage's merged datatrove stats."""
    result: dict[str, dict[str, float]] = {}
    for step in getattr(stats, "stats", []) or []:
        totals = result.setdefault(step.name, {})
        for key, metric in step.stats.items():
            totals[key] = totals.get(key, 0) + metric.total
    return result


def _temporary(output: Path) -> Path:
    return output.parent / f".{output.name}.tmp-{os.getpid()}"


def run_corpus(run: CorpusRun, say: Callable[[str], None] = lambda line: None, *, quiet: bool = False) -> dict[str, Any]:
    """Run the five stages locally with ``run.workers`` processes; write ``run.output`` only once all succeeded.

    ``run.output`` gets ``documents/`` (JSON Lines), ``packed/`` (Parquet windows, with a tokenizer),
    ``manifest.json`` (settings and counts) and ``logs/`` (datatrove's, per stage). Each stage's tasks done are
    shown as a bar on a terminal, else as a line every ``MEDSREG_PROGRESS_INTERVAL`` seconds; nothing with ``quiet``.
    """
    check_language(run.language)
    check_window(run.window, run.stride)
    if run.workers < 1:
        raise MedsregError(f"--workers must be at least 1 (got {run.workers})")
    output = Path(run.output).expanduser()
    if output.exists() and not run.overwrite:
        raise MedsregError(f"{output} already exists; pass --overwrite to replace it (once the new run is complete)")
    if run.tokenizer is not None:
        from medsreg.corpus.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(run.tokenizer)  # fail before any work: no EOS, unreadable folder
        run.tokenizer = Path(tokenizer.path).resolve()
    files: list[str] = []
    if run.loader is None:
        if run.input is None:
            raise MedsregError("give the corpus's documents: a folder of files (--input) or a registered corpus (--corpus)")
        _, files = input_files(run.input)
        tasks = run.tasks or len(files)
    else:
        tasks = run.tasks or run.workers
    if tasks < 1:
        raise MedsregError(f"--tasks must be at least 1 (got {tasks})")
    if run.loader is None and tasks > len(files):
        say(f"note: {len(files)} input file(s) for {tasks} tasks: the tasks past {len(files)} have nothing to read")

    temporary = _temporary(output)
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    executor_class = _executor_class()
    counts: dict[str, dict[str, dict[str, float]]] = {}
    timings: dict[str, float] = {}
    started = time.perf_counter()
    current = ""
    try:
        for stage in stages(run, str(temporary.resolve()), files, tasks):
            current = stage.name
            workers = min(run.workers, stage.tasks) if stage.parallel else 1
            say(f"{stage.name}: {stage.tasks} task(s) on {workers} worker(s)")
            began = time.perf_counter()
            logs = temporary / "logs" / stage.name
            executor = executor_class(stage.pipeline, tasks=stage.tasks, workers=workers, skip_completed=False,
                                      logging_dir=str(logs))
            # the bar before _quiet(): it keeps the real stderr (and decides terminal or log) while datatrove's goes to null
            with progress_bar(f"{stage.name} stage", stage.tasks, quiet, unit=" tasks") as bar, \
                    _count_completed(logs / "completions", bar), _quiet():
                stats = executor.run()
            timings[stage.name] = round(time.perf_counter() - began, 3)
            counts[stage.name] = _totals(stats)
        shutil.rmtree(temporary / "work", ignore_errors=True)
        manifest = _manifest(run, files, tasks, counts, timings, time.perf_counter() - started)
        (temporary / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        _replace(temporary, output)
    except MedsregError:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    except Exception as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise MedsregError(f"the corpus pipeline failed in its {current!r} stage ({type(error).__name__}"
                           f"{': ' + detail if detail else ''}); datatrove's logs are in {temporary / 'logs' / current}") from error
    return manifest


def _replace(temporary: Path, output: Path) -> None:
    """Put the finished run in place: renames only, so ``output`` is never half written."""
    old = None
    if output.exists():
        old = output.parent / f".{output.name}.old-{os.getpid()}"
        output.rename(old)
    temporary.rename(output)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _manifest(run: CorpusRun, files: list[str], tasks: int, counts: dict, timings: dict, seconds: float) -> dict[str, Any]:
    import datatrove

    def total(stage: str, step_prefix: str, metric: str) -> int:
        for step, metrics in counts.get(stage, {}).items():
            if step_prefix in step:
                return int(metrics.get(metric, 0))
        return 0

    read = total("filter", "medsreg corpus", "documents")
    kept = total("filter", "medsreg keyword filter", "forwarded") if run.filters is not None else read
    result: dict[str, Any] = {
        "corpus": run.name,
        "language": run.language,
        **run.describe,
        "input": None if run.input is None else str(Path(run.input).expanduser().resolve()),
        "input_files": len(files),
        "filter": None if run.filters is None else {
            language: {"min_hits": f.min_hits, "min_ratio": f.min_ratio, "keywords": len(f.keywords)}
            for language, f in sorted(run.filters.items())},
        "minhash": vars(run.minhash),
        "documents": {
            "read": read,
            "kept_by_filter": kept,
            "exact_duplicates": total("pack", "drop duplicates", "exact_duplicates"),
            "near_duplicates": total("pack", "drop duplicates", "dropped") - total("pack", "drop duplicates", "exact_duplicates"),
            "written": total("pack", "drop duplicates", "forwarded"),
        },
        "tokenizer": None if run.tokenizer is None else str(run.tokenizer),
        "tokens": None, "windows": None, "window": run.window, "stride": run.stride,
        "tasks": tasks, "workers": run.workers, "seconds": round(seconds, 3), "stage_seconds": timings,
        "datatrove": datatrove.__version__ if hasattr(datatrove, "__version__") else _version("datatrove"),
    }
    if run.tokenizer is not None:
        result["tokens"] = total("pack", "tokenize and pack", "tokens")
        result["windows"] = total("pack", "tokenize and pack", "windows")
        result["padding_tokens"] = total("pack", "tokenize and pack", "padding")
    return result


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None
