"""The training mixture at scale: one task at a time, in worker processes, through a seeded two-pass shuffle.

A mixture can be millions of rows from a hundred task files; nothing here holds more than one
task's instances and one shuffle bucket of rows at a time (per worker):

1. ``survey`` (planning, also for --dry-run): each training task is read, its decontaminated
   positions found, and its instances dropped again; the plan is made from the counts. Given a
   ``pools`` folder (a build that writes), each task's training instances are kept there as read
   (a pickle: a tenth of the cost of parsing and checking the task file again).
2. ``render_tasks`` (writing): each task's instances (from ``pools``, else read again), its planned
   rows rendered in the order of their shuffle bucket (``plan.row_buckets``) and written to scratch
   Arrow files, one per bucket. The scratch holds what differs from row to row, each text once
   (``scratch_schema``): the rows repeat the system and user texts (``messages`` and ``prompt``) and
   the task's fields, which ``assemble`` adds back in Arrow, so half the bytes go to disk and back.
3. ``write_buckets``: for each bucket, its batch of every task file, made whole (``assemble``), permuted
   with ``plan.bucket_order`` and put straight into the dataset's shards (shards.py), bucket b as piece
   b; ``shuffled_tables`` gives the same tables to this process instead (for --tokenizer, which
   transforms the rows).

All three steps run in forked worker processes (workers.py), the largest tasks first; every random
choice is seeded by the task, the row or the bucket, never by which worker ran what, so the bytes do
not depend on the number of workers.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from medsreg.build.plan import (
    Plan,
    bucket_count,
    bucket_order,
    draws,
    left_out_reason,
    overlapping,
    row_buckets,
    training_instances,
)
from medsreg.build.render import training_parts
from medsreg.build.shards import Piece, Shards
from medsreg.build.workers import SHARED, in_workers
from medsreg.catalog import Catalog, LoadedTask
from medsreg.errors import MedsregError
from medsreg.models import Instance, Task


@dataclass
class Survey:
    """What reading one training task found."""

    available: int = 0
    """Training instances the task has."""
    removed: list[int] = field(default_factory=list)
    """Their positions whose input overlaps a test instance."""
    definition: list[str] = field(default_factory=list)
    """The instruction and its rewrites, as read (a source may provide them)."""
    unavailable: str | None = None
    """Why the instances could not be read, or None."""
    problems: list[str] = field(default_factory=list)
    """Errors reading found, and why instances its Split Type would train on are left out (warnings for the user)."""
    decontamination_s: float = 0.0
    """Seconds spent looking the task's inputs up in the overlap index (in whichever process read it)."""


# --------------------------------------------------------------------------- reading one task


def _read(item: LoadedTask) -> tuple[list[Instance] | None, list[str]]:
    """The task's instances (read from its source unless the plugin holds them) and the errors reading gave."""
    from medsreg.catalog import resolve_instances

    part = Catalog(tasks=[item])
    resolve_instances(part)
    problems = [f"{problem.location()}: {problem.message}" for problem in part.findings.problems
                if problem.severity == "error"]
    return item.task.instances, problems


@contextmanager
def _instances_of(item: LoadedTask) -> Iterator[tuple[list[Instance] | None, list[str]]]:
    """Read a task for the length of a ``with``; instances read from a source are dropped after it."""
    held = item.task.instances is not None
    try:
        yield _read(item)
    finally:
        if not held:
            item.task.instances = None


def pool_path(pools: Path, task: str) -> Path:
    """Where ``survey`` keeps a task's training instances for ``render_tasks``."""
    return pools / (task.replace("/", "--") + ".pickle")


def _survey_one(position: int) -> Survey:
    item: LoadedTask = SHARED["items"][position]
    with _instances_of(item) as (instances, problems):
        task = item.task
        if instances is None or not task.definition:
            why = item.unavailable or f"{task.name}: its instances or instruction could not be read"
            return Survey(unavailable=why, problems=problems)
        pool = training_instances(task)
        left_out = left_out_reason(task)
        if left_out is not None:  # a warning even when the task is skipped: a skip note names only its first task
            problems = [*problems, left_out]
        if not pool:  # a task without a training instance is not available: it would show as 0 rows in the plan
            where = f" ({item.data_path})" if item.data_path else ""
            return Survey(unavailable=left_out or f"{task.name}: its source gives no training instance{where}; check "
                          "that it is the complete release", problems=problems)
        if SHARED["pools"] is not None:  # every training instance, decontaminated or not: mixtures may differ on that
            with open(pool_path(SHARED["pools"], task.name), "wb") as handle:
                pickle.dump(pool, handle, protocol=pickle.HIGHEST_PROTOCOL)
        index = SHARED["index"]
        start = time.perf_counter()
        removed = overlapping(index, (instance["input"] for instance in pool)) if index is not None else []
        return Survey(available=len(pool), removed=removed, definition=list(task.definition), problems=problems,
                      decontamination_s=time.perf_counter() - start)


def survey(items: Sequence[LoadedTask], index: Any, *, workers: int = 1, progress: Any = None,
           pools: Path | None = None, meanwhile: Callable[[], Any] | None = None) -> list[Survey]:
    """Pass 1: read each task, find what overlaps ``index`` (an ``OverlapIndex``, or None), and drop the instances
    (keeping the training ones in ``pools``, when given, for ``render_tasks``).

    The parent's tasks get back their definition and, when unreadable, why (``item.unavailable``). ``meanwhile``:
    work for this process while the workers read (once they are forked: nothing it does reaches them).
    """
    found: list[Survey] = []
    with in_workers(min(workers, len(items)), {"items": list(items), "index": index, "pools": pools}) as map_:
        results = map_(_survey_one, range(len(items)))
        if meanwhile is not None:
            meanwhile()
        for item, result in zip(items, results):
            if result.definition:
                item.task.definition = result.definition
            if result.unavailable is not None:
                item.unavailable = result.unavailable
            found.append(result)
            if progress is not None:
                progress.update(1)
    return found


# --------------------------------------------------------------------------- rendering one task


@dataclass
class _RenderJob:
    position: int
    """Of the task in the shared items."""
    removed: list[int]
    kept: int
    taken: int
    path: str
    last_use: bool = True
    """No later mixture of the build takes the task: its kept instances are deleted once loaded."""


def _training_pool(item: LoadedTask, pools: Path | None, last_use: bool) -> tuple[list[Instance], list[str]]:
    """The task's training instances: as ``survey`` kept them, else read again (and the errors reading gave)."""
    kept = pool_path(pools, item.task.name) if pools is not None else None
    if kept is not None and kept.is_file():
        with open(kept, "rb") as handle:
            pool = pickle.load(handle)  # written by this build's survey, in its own scratch folder
        if last_use:  # its pages go back for the rows written next
            kept.unlink()
        return pool, []
    with _instances_of(item) as (instances, problems):
        return (training_instances(item.task) if instances is not None else []), problems


def _render_one(job: _RenderJob) -> int:
    import pyarrow as pa

    item: LoadedTask = SHARED["items"][job.position]
    plan: Plan = SHARED["plan"]
    scratch, buckets, spec = SHARED["scratch"], SHARED["buckets"], plan.spec
    task = item.task
    instances, problems = _training_pool(item, SHARED["pools"], job.last_use)
    removed = set(job.removed)
    pool = [instance for position, instance in enumerate(instances) if position not in removed] if removed else instances
    if len(pool) != job.kept:
        raise MedsregError(f"{task.name}: its source changed while building ({len(pool):,} training instances "
                           f"kept now, {job.kept:,} when planning{'; ' + problems[0] if problems else ''}); "
                           "run the build again once the source is complete")
    positions, repeats = draws(spec.seed, task.name, job.kept, job.taken)
    bucket = row_buckets(spec.seed, task.name, len(positions), buckets)
    order = np.argsort(bucket, kind="stable")
    ends = np.cumsum(np.bincount(bucket, minlength=buckets))
    start = 0
    for number, end in enumerate(ends.tolist()):  # a file per bucket with rows: pass 3 deletes each once it is used
        if end > start:
            chosen, repeated = positions[order[start:end]], repeats[order[start:end]]
            parts = [training_parts(task, pool, position, repeat, seed=spec.seed, p_original=spec.p_original,
                                    p_zero_shot=spec.p_zero_shot, shots=spec.shots)
                     for position, repeat in zip(chosen.tolist(), repeated.tolist())]
            system, user, completion, instruction, shot_ids = zip(*parts)
            columns = [system, user, completion, [pool[position]["id"] for position in chosen.tolist()], instruction,
                       shot_ids, repeated]
            batch = pa.RecordBatch.from_arrays(
                [pa.array(column, type=field.type) for column, field in zip(columns, scratch)], schema=scratch)
            with pa.OSFile(str(bucket_file(Path(job.path), number)), "wb") as sink, \
                    pa.ipc.new_stream(sink, scratch) as writer:
                writer.write_batch(batch)
        start = end
    return len(positions)


def bucket_file(stem: Path, bucket: int) -> Path:
    """The scratch file of a task's rows in one bucket (none when it has no row there)."""
    return stem.with_name(f"{stem.name}-{bucket:05d}.arrow")


def scratch_schema(schema: Any) -> Any:
    """The columns of a task's rendered rows in the scratch files: what differs from row to row, each text once (the
    mixture's rows hold the system and user texts twice, in ``messages`` and in ``prompt``, and the task's fields
    on every row; ``assemble`` adds them back once the bucket is shuffled)."""
    import pyarrow as pa

    text = pa.string()
    return pa.schema([("system", text), ("user", text), ("completion", text), schema.field("instance_id"),
                      schema.field("instruction_index"), schema.field("shot_ids"), schema.field("repeat")])


def assemble(rendered: Any, task: Task, schema: Any) -> Any:
    """The record batch of ``schema`` (``training_row``'s columns) that scratch batch ``rendered`` (``scratch_schema``'s,
    rows of ``task``) stands for, made in Arrow: the same arrays as ``RecordBatch.from_pylist`` of the rows, so that the
    shuffled table has the same bytes and the same ``nbytes`` (Arrow's take gives the chunks of a table validity
    buffers by rules of its own: the batches are made wide before it, as they were before the scratch was narrow)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = rendered.num_rows
    system, user, completion = (rendered.column(name) for name in ("system", "user", "completion"))
    # messages: [system, user, assistant] per row, its contents interleaved from the three text columns
    thirds = (np.arange(rows, dtype=np.int64)[:, None] + np.array([0, rows, 2 * rows])).ravel()
    content = pa.concat_arrays([system, user, completion]).take(pa.array(thirds))
    roles = pa.array(["system", "user", "assistant"]).take(pa.array(np.tile(np.arange(3, dtype=np.int32), rows)))
    message_type = schema.field("messages").type
    messages = pa.ListArray.from_arrays(
        pa.array(np.arange(0, 3 * rows + 1, 3, dtype=np.int32)),
        pa.StructArray.from_arrays([roles, content], fields=list(message_type.value_type)), type=message_type)

    def constant(value: Any, name: str) -> Any:
        return pa.array([value] * rows, type=schema.field(name).type)

    shot_ids = rendered.column("shot_ids")
    columns = {
        "messages": messages,
        "prompt": pc.binary_join_element_wise(system, user, "\n"),
        "completion": completion,
        "task": constant(task.name, "task"),
        "legacy_id": constant(task.legacy_id, "legacy_id"),
        "category": constant(task.categories[0] if task.categories else "", "category"),
        "source": constant(", ".join(task.source), "source"),
        "license": constant(task.license, "license"),
        "instance_id": rendered.column("instance_id"),
        "instruction_index": rendered.column("instruction_index"),
        "shot_ids": shot_ids,
        "zero_shot": pc.equal(pc.list_value_length(shot_ids), 0),  # no shot to give makes a row zero-shot too
        "repeat": rendered.column("repeat"),
    }
    return pa.RecordBatch.from_arrays([columns[name] for name in schema.names], schema=schema)


def render_tasks(plan: Plan, items: dict[str, LoadedTask], schema: Any, scratch: Path, *, workers: int = 1,
                 progress: Any = None, pools: Path | None = None, later: frozenset[str] = frozenset()) -> list[Path]:
    """Pass 2: per task of the plan, a scratch Arrow file of its rows in each bucket (``bucket_file``); returns the
    tasks' file stems, in plan order.

    ``pools``: the folder ``survey`` kept the training instances in (tasks missing there are read again); ``later``:
    the tasks a mixture written after this one takes (their instances are kept for it)."""
    scratch.mkdir(parents=True, exist_ok=True)
    shared = [items[row.task.name] for row in plan.rows]
    paths = [scratch / f"task-{number:05d}" for number in range(len(plan.rows))]
    jobs = [_RenderJob(position, plan.removed.get(row.task.name, []), row.kept, row.taken, str(path),
                       row.task.name not in later) for position, (row, path) in enumerate(zip(plan.rows, paths))]
    # the largest tasks first, so that no worker is left with a big one while the others wait (the files are named by
    # plan position: the order they are made in changes nothing)
    jobs.sort(key=lambda job: -job.taken)
    state = {"items": shared, "plan": plan, "scratch": scratch_schema(schema), "buckets": bucket_count(plan.total),
             "pools": pools}
    with in_workers(min(workers, len(jobs)), state) as map_:
        for rows in map_(_render_one, jobs):
            if progress is not None:
                progress.update(rows)
    return paths


# --------------------------------------------------------------------------- the buckets, in their final order


def bucket_table(plan: Plan, paths: list[Path], schema: Any, bucket: int) -> Any:
    """Bucket ``bucket`` of the mixture in its final order: the tasks' rows there, in plan order, permuted (a pyarrow
    Table of ``schema``). Its scratch files are deleted: each bucket is made once."""
    import pyarrow as pa

    files = [(number, path) for number, path in ((number, bucket_file(stem, bucket)) for number, stem in enumerate(paths))
             if path.exists()]
    # memory-mapped: the take reads the rows where the page cache holds them, instead of from a copy in fresh memory;
    # deleted once taken, so that the shards written next reuse their pages (the mappings go with the batches)
    batches = [assemble(pa.ipc.open_stream(pa.memory_map(str(path))).read_next_batch(), plan.rows[number].task, schema)
               for number, path in files]
    table = pa.Table.from_batches(batches, schema=schema)
    table = table.take(bucket_order(plan.spec.seed, bucket, table.num_rows))
    for _, path in files:
        path.unlink()
    return table


def shuffled_tables(plan: Plan, paths: list[Path], schema: Any) -> Iterator[Any]:
    """Pass 3 in this process: the mixture in its final order, one bucket (a pyarrow Table) at a time."""
    for bucket in range(bucket_count(plan.total)):
        yield bucket_table(plan, paths, schema, bucket)


def _write_bucket(bucket: int) -> Piece:
    table = bucket_table(SHARED["plan"], SHARED["paths"], SHARED["schema"], bucket)
    return SHARED["shards"].put(bucket, [table])


def write_buckets(plan: Plan, paths: list[Path], schema: Any, shards: Shards, *, workers: int = 1) -> Iterator[Piece]:
    """Pass 3 in the workers: each bucket in its final order put into ``shards`` as piece ``bucket``; the pieces, in order."""
    buckets = bucket_count(plan.total)
    state = {"plan": plan, "paths": paths, "schema": schema, "shards": shards}
    with in_workers(min(workers, buckets), state) as map_:
        yield from map_(_write_bucket, range(buckets))
