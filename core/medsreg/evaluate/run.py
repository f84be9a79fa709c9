"""``run_eval``: the order of an evaluation, from options to predictions and submission files.

cheap checks of the backend (model folder, chat template, endpoint URL) -> the suite's rows
(rendered as build renders them, or read from a built suite folder; a partial suite runs over its
readable tasks unless ``--require complete``) and ``--limit`` -> the generation settings and their
hash -> what the output folder holds already (another model or other settings: refused; other
available tasks: noted) -> this rank's rows not yet done -> load the model -> batches, longest
prompts first, each appended to the predictions file as soon as it is generated -> merge the
ranks' files (rank 0, once every row has its prediction) -> the leaderboard's submission CSVs.

The suite's availability (which tasks it misses, and why) is recorded in config.json beside the
generation settings but outside their hash: it says which rows the run covers, as ``limit`` does,
not how a prediction is made, so a run resumed after a source was configured goes on (the new
tasks' rows are generated, the others reused) and a note says what changed.

``--shuffle-options N`` (N > 1) adds, after each row of an MCQA task, its N - 1 other cyclic orders of
the options (``permute``; permutation 0 is the row itself); N is in the hashed settings, the
submission CSVs hold permutation 0 only. ``--instructions K`` adds, after each row, the same instance under K
rewrites of its task's instruction (``rows.instruction_rows``; instruction 0 is the row itself); K is hashed too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError
from medsreg.evaluate.backends import (
    Backend,
    BackendSettings,
    GenerationError,
    GenerationOptions,
    make_backend,
)
from medsreg.evaluate.predictions import (
    PREDICTIONS,
    SUBMISSION,
    PredictionWriter,
    check_same_run,
    config_sha256,
    is_main,
    merge,
    prediction,
    prediction_files,
    rank_file,
    read_existing,
    recorded_availability,
    row_key,
    write_config,
    write_submission,
)
from medsreg.evaluate.rows import (
    Shard,
    SuiteRows,
    current_shard,
    first_per_task,
    instance_input,
    suite_rows_from_catalog,
    suite_rows_from_folder,
)

Echo = Callable[[str], None]
DEFAULT_MAX_NEW_TOKENS = 200
DEFAULT_MAX_INPUT_TOKENS = 2048
"""The official evaluation's settings (SEEDS.md §1.4), used for rows read with --data; a suite carries its own."""


@dataclass(kw_only=True)
class EvalOptions(BackendSettings):
    """What ``medsreg eval`` was asked for (the CLI's options, one to one; the backend's in ``BackendSettings``)."""

    model: str | None = None
    suite: str | None = None
    data: Path | None = None
    backend: str = "hf"
    output: Path | None = None
    limit: int | None = None
    max_new_tokens: int | None = None
    max_input_tokens: int | None = None
    merge: bool = False
    merge_wait: float = 3600.0
    """Seconds rank 0 waits for the other ranks' predictions before it leaves the merge to 'medsreg eval --merge'."""
    quiet: bool = False
    plugins_dirs: tuple[Path, ...] = ()
    require_complete: bool = False
    """``--require complete``: refuse a suite that misses a task instead of running its readable part."""
    shuffle_options: int = 1
    """``--shuffle-options N``: each MCQA row in N cyclic orders of its options (``permute``); 1: as the suite has it."""
    instructions: int = 0
    """``--instructions K``: each row also under K rewrites of its task's instruction (``rows.instruction_rows``)."""
    trained_on: Path | None = None
    """``--trained-on``: the model's training data (a build, its manifest.json, a mixture folder, a model folder);
    None: the model folder's own record, where ``medsreg train`` wrote one."""


@dataclass
class EvalResult:
    output: Path
    suite: str
    rows: int
    """Rows of the suite (after --limit; with --shuffle-options N, each MCQA row counted N times)."""
    shard: Shard = field(default_factory=Shard)
    planned: int = 0
    """Rows of this rank."""
    skipped: int = 0
    """Rows of this rank whose prediction the folder already held."""
    written: int = 0
    seconds: float = 0.0
    tokens: int | None = None
    merged: Path | None = None
    submission: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


def run_eval(options: EvalOptions, *, say: Echo = print, warn: Echo = print) -> EvalResult:
    """Evaluate (or, with ``merge``, only merge and write the submission); ``say`` gets progress lines, ``warn`` problems."""
    if options.merge:
        return merge_eval(options, say=say, warn=warn)
    if not options.model:
        raise MedsregError("give --model (a local model folder, or the model name an --api-base endpoint serves)")
    shard = current_shard()
    generation = GenerationOptions(model=options.model, **options.backend_settings(), local_rank=shard.local_rank,
                                   distributed=shard.distributed, quiet=options.quiet or shard.rank != 0)
    backend = make_backend(options.backend, generation, warn)  # a bad model folder is reported before the suite is read
    suite = _suite(options, warn)
    generation.max_new_tokens = options.max_new_tokens or suite.max_new_tokens or DEFAULT_MAX_NEW_TOKENS
    generation.max_input_tokens = options.max_input_tokens or suite.max_input_tokens or DEFAULT_MAX_INPUT_TOKENS
    rows = _permuted(first_per_task(suite.rows, options.limit), options.shuffle_options, warn)
    if not rows:
        raise MedsregError(f"suite {suite.name} has no rows to evaluate")
    contamination = _contamination(options, rows, say, warn) if shard.rank == 0 else None
    config = backend.settings()
    if options.shuffle_options > 1:  # a plain run keeps its hash
        config = {**config, "shuffle_options": options.shuffle_options}
    if options.instructions > 0:
        config = {**config, "instructions": options.instructions}
    config_hash = config_sha256(config)
    output = options.output or default_output(options.model, suite.name)
    existing = read_existing(output)
    check_same_run(existing, output, options.model, config_hash, config)
    if existing.model is not None:
        changed = availability_change(recorded_availability(output), suite.availability)
        if changed:
            warn(f"note: {output} was evaluated on other tasks of {suite.name}: {changed}; the predictions made are kept, "
                 "the rows of the tasks available now are generated, and config.json records what is available now")
    mine = shard.take(rows)
    pending, seen = [], set(existing.records)
    for row in mine:
        key = row_key(row)
        if key not in seen:  # never twice, even if a suite listed the same prompt twice
            seen.add(key)
            pending.append(row)
    result = EvalResult(output=output, suite=suite.name, rows=len(rows), shard=shard, planned=len(mine),
                        skipped=len(mine) - len(pending), config=config)
    path = output / rank_file(shard.rank, shard.world_size)
    if pending:
        where = f" (rank {shard.rank} of {shard.world_size})" if shard.distributed else ""
        say(f"evaluating {options.model} on {suite.name}{where}: {len(pending):,} of {len(mine):,} rows to go"
            f"{f' ({result.skipped:,} already done)' if result.skipped else ''}, {backend.describe()}, into {path}")
        backend.load()  # before anything is written: a model that cannot be loaded leaves the folder as it was
    output.mkdir(parents=True, exist_ok=True)
    if shard.rank == 0:
        write_config(output, {"model": options.model, "config": config, "config_sha256": config_hash, "suite": suite.name,
                              "rows": len(rows), "limit": options.limit,
                              "data": None if options.data is None else str(options.data),
                              "availability": suite.availability})
        if contamination is not None:
            contamination.write(output)
    if pending:
        with PredictionWriter(path) as writer:
            if writer.torn:
                warn(f"note: cut off the torn last line of {path} (an evaluation killed while writing); that row is "
                     "generated again")
            _generate(backend, pending, writer, options, config_hash, result)
    else:
        say(f"nothing to generate: {output} holds the predictions of all {len(mine):,} rows{where_of(shard)}")
    result.notes = backend.notes()
    for note in result.notes:
        warn(f"note: {note}")
    _finish(result, rows, options, say, warn)
    return result


def _permuted(rows: list[dict[str, Any]], permutations: int, warn: Echo) -> list[dict[str, Any]]:
    """``--shuffle-options N``: each MCQA row followed by its N - 1 other cyclic orders (the others once, every row
    with its ``permutation``); the rows as they are for N = 1."""
    if permutations <= 1:
        return rows
    from medsreg.evaluate.permute import permute_rows

    permuted = permute_rows(rows, permutations)
    if not permuted.rotated:
        warn(f"note: --shuffle-options {permutations}: no row has options to rotate (no task scored with mcqa_accuracy "
             "whose inputs hold option lines 'A. ...'); every row is evaluated once")
    for note in permuted.notes(permutations):
        warn(f"note: {note}")
    return permuted.rows


def _contamination(options: EvalOptions, rows: list[dict[str, Any]], say: Echo, warn: Echo) -> Any:
    """Which evaluated instances overlap the model's training data (``medsreg.contamination``): from ``--trained-on``,
    else from the model folder's ``medsreg-train.json`` where ``medsreg train`` wrote one with its build; None when
    neither says (a record without a build: a note)."""
    from medsreg.contamination import (
        RECORD,
        dirty_instances,
        recorded_training,
        resolve_training,
    )

    if options.trained_on is not None:
        training = resolve_training(options.trained_on)  # a broken one is refused before anything is generated
    else:
        folder = Path(options.model or "")
        if options.backend == "openai" or not (folder / RECORD).is_file():
            return None
        training, why = recorded_training(folder)
        if training is None:  # trained on data outside a build: nothing to compare with
            warn(f"note: clean vs dirty: {folder / RECORD} names no build ({why}); give --trained-on BUILD to split "
                 "the scores")
            return None
    tests = [(row["task"], row["instance_id"], instance_input(row)) for row in rows if is_main(row)]
    found = dirty_instances(tests, training)
    dirty = sum(len(ids) for ids in found.dirty.values())
    say(f"clean vs dirty: {dirty:,} of {len(tests):,} test instances overlap the training data ({training.description})")
    return found


def where_of(shard: Shard) -> str:
    return f" of rank {shard.rank}" if shard.distributed else ""


def default_output(model: str, suite: str) -> Path:
    """``eval/<suite>/<model>``: the suite's short name and the model folder's (or API model's) name."""
    def slug(text: str) -> str:
        return re.sub(r"[^\w.-]+", "_", text).strip("._") or "model"

    name = Path(model.rstrip("/\\")).name or model
    return Path("eval") / slug(suite.split("/", 1)[-1]) / slug(name)


def _suite(options: EvalOptions, warn: Echo) -> SuiteRows:
    if (options.suite is None) == (options.data is None):
        raise MedsregError("give either --suite NAME (an installed suite, rendered as build renders it) or --data DIR "
                           "(a suite folder written by 'medsreg build'), not both")
    if options.data is not None:
        if options.instructions > 0:
            raise MedsregError("--instructions renders each instance under its task's rewritten instructions, which a "
                               "built suite folder does not hold: give --suite NAME instead of --data")
        return suite_rows_from_folder(options.data, options.plugins_dirs, warn, require_complete=options.require_complete)
    return suite_rows_from_catalog(options.suite, options.plugins_dirs, warn, require_complete=options.require_complete,
                                   instructions=options.instructions)


def availability_change(before: dict[str, Any] | None, now: dict[str, Any] | None) -> str:
    """What differs between the tasks a folder's run had and those it has now ('' when nothing, or unknown)."""
    if before is None or now is None:
        return ""
    then = {entry["task"] for entry in before.get("missing", [])}
    missing = {entry["task"] for entry in now.get("missing", [])}
    if then == missing:
        return ""
    parts = [f"{before.get('tasks')} of {before.get('of')} tasks then, {now.get('tasks')} of {now.get('of')} now"]
    for label, names in (("newly available", then - missing), ("no longer available", missing - then)):
        if names:
            ordered = sorted(names)
            parts.append(f"{label}: {', '.join(ordered[:3])}{f' and {len(ordered) - 3} more' if len(ordered) > 3 else ''}")
    return "; ".join(parts)


def _generate(backend: Backend, pending: list[dict[str, Any]], writer: PredictionWriter, options: EvalOptions,
              config_hash: str, result: EvalResult) -> None:
    from medsreg.progress import progress_bar

    model = options.model
    quiet = options.quiet or result.shard.rank != 0
    # the chat template and the tokenizer over every prompt: a minute or more for a large suite, so it reports too
    with progress_bar("preparing prompts", len(pending), quiet, unit=" prompts") as bar:
        prepared = []
        for row in pending:
            prepared.append(backend.prepare(row["messages"]))
            bar.update(1)
    order = sorted(range(len(pending)), key=lambda index: -backend.cost(prepared[index]))  # longest first, stable
    start = time.perf_counter()
    with progress_bar("generating", len(pending), quiet) as bar:
        position = 0
        while position < len(order):
            chunk = order[position:position + backend.batch_size]
            try:
                texts = backend.generate([prepared[index] for index in chunk])
            except GenerationError as error:  # keep what the batch did get, then stop with the sentence
                writer.append([prediction(pending[chunk[i]], text, model, config_hash) for i, text in sorted(error.done.items())])
                result.written = writer.written
                kept = result.skipped + writer.written
                raise MedsregError(f"{error}; the {kept:,} predictions made so far are kept in {writer.path}: run the same "
                                   "command again to go on from there") from None
            writer.append([prediction(pending[index], text, model, config_hash) for index, text in zip(chunk, texts)])
            position += len(chunk)
            bar.update(len(chunk))
            if backend.generated_tokens:
                bar.set_postfix_str(f"{backend.generated_tokens / max(time.perf_counter() - start, 1e-9):,.0f} new tokens/s")
    result.written = writer.written
    result.seconds = time.perf_counter() - start
    result.tokens = backend.generated_tokens
    backend.close()


def _finish(result: EvalResult, rows: list[dict[str, Any]], options: EvalOptions, say: Echo, warn: Echo) -> None:
    """The summary line; the merge (single process: only if ranks' files are there; rank 0: once all rows are done);
    the submission files."""
    shard, output = result.shard, result.output
    if result.written:
        rate = f"{result.written / result.seconds:,.2f} rows/s" if result.seconds else ""
        if result.tokens:
            rate += f", {result.tokens / result.seconds:,.0f} new tokens/s"
        say(f"generated {result.written:,} predictions in {result.seconds:,.1f} s ({rate})")
    if shard.distributed and shard.rank != 0:
        say(f"rank {shard.rank} done; rank 0 merges the ranks' files into {output / PREDICTIONS}")
        return
    if shard.distributed and not _wait_for_ranks(output, rows, options.merge_wait, say):
        warn(f"note: some rows of the other ranks still have no prediction after {options.merge_wait:g} s; once every rank "
             "is done, run the same command with --merge to merge their files and write the submission")
        return
    _merge_and_submit(result, rows, say)


def _merge_and_submit(result: EvalResult, rows: list[dict[str, Any]], say: Echo) -> None:
    output = result.output
    if any(path.name != PREDICTIONS for path in prediction_files(output)):
        result.merged, count = merge(output, rows)
        say(f"merged the ranks' predictions into {result.merged} ({count:,} lines)")
    existing = read_existing(output)
    outputs = {key: record["output"] for key, record in existing.records.items()}
    # the leaderboard's files: the suite's own prompts only (permutation 0 and instruction 0 of a robustness run)
    result.submission = write_submission(output, [row for row in rows if is_main(row)], outputs)
    done = sum(row_key(row) in outputs for row in rows)
    say(f"{output / PREDICTIONS}: {done:,} of {len(rows):,} rows predicted; submission files in {output / SUBMISSION}: "
        + ", ".join(f"{name} ({count:,} rows)" for name, count in result.submission.items()))


def _wait_for_ranks(output: Path, rows: list[dict[str, Any]], wait: float, say: Echo) -> bool:
    """Rank 0: wait until the folder holds a prediction for every row (the other ranks are done); False on time out."""
    keys = {row_key(row) for row in rows}
    deadline = time.monotonic() + wait
    told = False
    while True:
        missing = len(keys - set(read_existing(output).records))
        if not missing:
            return True
        if time.monotonic() >= deadline:
            return False
        if not told:
            say(f"waiting for the other ranks: {missing:,} rows without a prediction yet")
            told = True
        time.sleep(max(0.0, min(5.0, deadline - time.monotonic())))


def merge_eval(options: EvalOptions, *, say: Echo = print, warn: Echo = print) -> EvalResult:
    """``medsreg eval --merge``: fold the ranks' files into predictions.jsonl and write the submission; nothing generated.

    Takes the run's --suite / --data and --limit (for the row order and the prompts of the CSVs); every row must
    have its prediction."""
    suite = _suite(options, warn)
    rows = _permuted(first_per_task(suite.rows, options.limit), options.shuffle_options, lambda line: None)
    if options.output is None and not options.model:
        raise MedsregError("--merge needs the evaluation's folder: give --output DIR (or the --model it was run with)")
    output = options.output or default_output(options.model or "", suite.name)
    existing = read_existing(output)
    if existing.model is None:
        raise MedsregError(f"{output} holds no predictions to merge; give --output the folder the evaluation wrote")
    if options.model and options.model != existing.model:
        raise MedsregError(f"{output} holds predictions of model {existing.model!r}, not {options.model!r}; give the folder "
                           "of that model's evaluation")
    missing = [row for row in rows if row_key(row) not in existing.records]
    if missing:
        first = missing[0]
        raise MedsregError(f"{len(missing):,} of {len(rows):,} rows of {suite.name} have no prediction in {output} yet (e.g. "
                           f"{first['task']} instance {first['instance_id']}); finish the evaluation first: the same launch "
                           "again goes on where it stopped (with the same --limit, --shuffle-options and --instructions as "
                           "the run)")
    result = EvalResult(output=output, suite=suite.name, rows=len(rows))
    _merge_and_submit(result, rows, say)
    return result
