"""The training mixture at scale: one task at a time, in worker processes, through a seeded two-pass shuffle.

A mixture can be millions of rows from a hundred task files; nothing here holds more than one
task's instances and one shuffle bucket of rows at a time:

1. ``survey`` (planning, also for --dry-run): each training task is read, its decontaminated
   positions found, and its instances dropped again; the plan is made from the counts.
2. ``render_tasks`` (writing): each task is read again, its planned rows are rendered in the
   order of their shuffle bucket (``plan.row_buckets``) and written to a scratch Arrow file
   holding one record batch per bucket.
3. ``shuffled_tables``: for each bucket, its batch of every task file, permuted with
   ``plan.bucket_order``: the mixture, a table at a time, for the writer (which removes the
   scratch files with the rest of its scratch folder).

Steps 1 and 2 run tasks in forked worker processes (both cores of a small machine); every
random choice is seeded by the task, the row or the bucket, never by which worker ran what,
so the bytes do not depend on the number of workers. Where fork is not available the tasks run
one after the other in this process.
"""

from __future__ import annotations

import multiprocessing
import os
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
from medsreg.build.render import training_row
from medsreg.catalog import Catalog, LoadedTask
from medsreg.errors import MedsregError
from medsreg.models import Instance


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


def default_workers() -> int:
    """Worker processes: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# What forked workers inherit instead of receiving it pickled: the tasks and the overlap index.
_SHARED: dict[str, Any] = {}


@contextmanager
def _workers(count: int, shared: dict[str, Any]) -> Iterator[Callable]:
    """An ordered ``map`` over ``count`` forked processes sharing ``shared`` (or this process alone)."""
    _SHARED.clear()
    _SHARED.update(shared)
    try:
        if count <= 1 or "fork" not in multiprocessing.get_all_start_methods():
            yield lambda function, jobs: map(function, jobs)
            return
        with multiprocessing.get_context("fork").Pool(count) as pool:
            yield lambda function, jobs: pool.imap(function, jobs)
    finally:
        _SHARED.clear()


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


def _survey_one(position: int) -> Survey:
    item: LoadedTask = _SHARED["items"][position]
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
        index = _SHARED["index"]
        start = time.perf_counter()
        removed = overlapping(index, (instance["input"] for instance in pool)) if index is not None else []
        return Survey(available=len(pool), removed=removed, definition=list(task.definition), problems=problems,
                      decontamination_s=time.perf_counter() - start)


def survey(items: Sequence[LoadedTask], index: Any, *, workers: int = 1, progress: Any = None) -> list[Survey]:
    """Pass 1: read each task, find what overlaps ``index`` (an ``OverlapIndex``, or None), and drop the instances.

    The parent's tasks get back their definition and, when unreadable, why (``item.unavailable``).
    """
    found: list[Survey] = []
    with _workers(min(workers, len(items)), {"items": list(items), "index": index}) as map_:
        for item, result in zip(items, map_(_survey_one, range(len(items)))):
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


def _render_one(job: _RenderJob) -> int:
    import pyarrow as pa

    item: LoadedTask = _SHARED["items"][job.position]
    plan: Plan = _SHARED["plan"]
    schema, buckets, spec = _SHARED["schema"], _SHARED["buckets"], plan.spec
    task = item.task
    with _instances_of(item) as (instances, problems):
        removed = set(job.removed)
        pool = [instance for position, instance in enumerate(training_instances(task) if instances is not None else [])
                if position not in removed]
        if len(pool) != job.kept:
            raise MedsregError(f"{task.name}: its source changed while building ({len(pool):,} training instances "
                               f"kept now, {job.kept:,} when planning{'; ' + problems[0] if problems else ''}); "
                               "run the build again once the source is complete")
        positions, repeats = draws(spec.seed, task.name, job.kept, job.taken)
        bucket = row_buckets(spec.seed, task.name, len(positions), buckets)
        order = np.argsort(bucket, kind="stable")
        ends = np.cumsum(np.bincount(bucket, minlength=buckets))
        with pa.OSFile(job.path, "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
            start = 0
            for end in ends.tolist():  # one record batch per bucket, empty ones included: batch b is bucket b
                rows = [training_row(task, pool, position, repeat, seed=spec.seed, p_original=spec.p_original,
                                     p_zero_shot=spec.p_zero_shot, shots=spec.shots)
                        for position, repeat in zip(positions[order[start:end]].tolist(),
                                                    repeats[order[start:end]].tolist())]
                writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=schema))
                start = end
    return len(positions)


def render_tasks(plan: Plan, items: dict[str, LoadedTask], schema: Any, scratch: Path, *, workers: int = 1,
                 progress: Any = None) -> list[Path]:
    """Pass 2: one scratch Arrow file per task of the plan (in plan order), batch b holding its rows of bucket b."""
    scratch.mkdir(parents=True, exist_ok=True)
    shared = [items[row.task.name] for row in plan.rows]
    paths = [scratch / f"task-{number:05d}.arrow" for number in range(len(plan.rows))]
    jobs = [_RenderJob(position, plan.removed.get(row.task.name, []), row.kept, row.taken, str(path))
            for position, (row, path) in enumerate(zip(plan.rows, paths))]
    state = {"items": shared, "plan": plan, "schema": schema, "buckets": bucket_count(plan.total)}
    with _workers(min(workers, len(jobs)), state) as map_:
        for rows in map_(_render_one, jobs):
            if progress is not None:
                progress.update(rows)
    return paths


def shuffled_tables(plan: Plan, paths: list[Path], schema: Any) -> Iterator[Any]:
    """Pass 3: the mixture in its final order, one bucket (a pyarrow Table) at a time."""
    import pyarrow as pa

    for bucket in range(bucket_count(plan.total)):
        batches = []
        for path in paths:
            with pa.OSFile(str(path)) as source:  # read, not memory-mapped: the batch's pages are freed after
                batch = pa.ipc.open_file(source).get_batch(bucket)
            if batch.num_rows:
                batches.append(batch)
        table = pa.Table.from_batches(batches, schema=schema)
        yield table.take(bucket_order(plan.spec.seed, bucket, table.num_rows))
