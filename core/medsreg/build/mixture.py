"""The training mixture at scale: one task at a time, in worker processes, through a seeded two-pass shuffle.

A mixture can be millions of rows from a hundred task files; nothing here holds more than one
task's instances and one shuffle bucket of rows at a time (per worker):

1. ``survey`` (planning, also for --dry-run): each training task is read, its decontaminated
   positions found, and its instances dropped again; the plan is made from the counts. Given a
   ``pools`` folder (a build that writes), each task's training instances are kept there as read,
   as an Arrow file (``bucket.write_pool``: a fraction of the cost of parsing and checking the task
   file again, and read back memory-mapped, without a copy); the decontamination index is then made
   while the workers read, and a task read before it is ready is scanned from its pool file.
2. ``task_rows`` (writing): each task's planned rows (``plan.draws``), ordered by shuffle bucket
   (``plan.row_buckets``), with their random choices (``bucket.write_rows``), saved as numbers:
   nothing is rendered yet.
3. ``bucket_step``: each bucket made in Arrow in its final order (``bucket.bucket_table``: the rows'
   texts gathered from the memory-mapped pools and framed) and put straight into the dataset's shards
   (shards.py), bucket b as piece b; ``shuffled_tables`` gives the same tables to this process instead
   (for --tokenizer, which transforms the rows).

All three steps run in forked worker processes (workers.py); every random
choice is seeded by the task, the row or the bucket, never by which worker ran what, so the bytes do
not depend on the number of workers.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.pool import IMapIterator
from pathlib import Path
from typing import Any

import numpy as np

from medsreg.build.plan import (
    Plan,
    bucket_count,
    draws,
    left_out_reason,
    overlapping,
    row_buckets,
    training_instances,
)
from medsreg.build.bucket import OpenedPools, TaskRows, bucket_table, read_pool, write_pool, write_rows
from medsreg.build.shards import Piece, Shards
from medsreg.build.workers import SHARED, Later, Step, can_fork, in_workers
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
    scanned: bool = True
    """Whether ``removed`` is known: false for a task read before the index was made (``survey`` scans it after)."""


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
    """Where ``survey`` keeps a task's training instances for the mixture's buckets (``bucket.write_pool``)."""
    return pools / (task.replace("/", "--") + ".arrow")


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
            write_pool(pool_path(SHARED["pools"], task.name), pool)
        found = Survey(available=len(pool), definition=list(task.definition), problems=problems)
        index = SHARED["index"]
        if isinstance(index, Later):
            if not index.ready():  # scanned later from its pool file, once the index is made: read the next task now
                found.scanned = False
                return found
            index = index.get()
        _scan(found, index, [instance["input"] for instance in pool])
        return found


def _scan(found: Survey, index: Any, inputs: list[str]) -> None:
    start = time.perf_counter()
    found.removed = overlapping(index, inputs) if index is not None else []
    found.decontamination_s = time.perf_counter() - start


def _scan_pool(position: int) -> Survey:
    """A task read before the index was made, scanned from the inputs ``_survey_one`` kept in its pool file."""
    item: LoadedTask = SHARED["items"][position]
    inputs = read_pool(pool_path(SHARED["pools"], item.task.name)).column(1).to_pylist()
    found = Survey(available=len(inputs))
    _scan(found, SHARED["index"].get(), inputs)
    return found


def survey(items: Sequence[LoadedTask], index: Callable[[], Any], *, workers: int = 1, progress: Any = None,
           pools: Path | None = None, meanwhile: Callable[[], Any] | None = None) -> list[Survey]:
    """Pass 1: read each task, find what overlaps the index (``index()`` makes it: an ``OverlapIndex``, or None), and drop
    the instances (keeping the training ones in ``pools``, when given, for the buckets).

    With workers and ``pools`` (a build that writes), the index is made here while the workers read the tasks, and
    handed to them (``workers.Later``, through a file in ``pools``): it takes seconds for a large test side, and the
    reading does not need it. A task read before it is ready is scanned after the others are read, from its pool file.
    The parent's tasks get back their definition and, when unreadable, why (``item.unavailable``). ``meanwhile``: work
    for this process while the workers read or scan (once they are forked: nothing it does reaches them), done when
    it would otherwise wait for them.
    """
    count = min(workers, len(items))
    later = Later(pools) if pools is not None and count > 1 and can_fork() else None
    found: list[Survey] = []
    try:
        with in_workers(count, {"items": list(items), "index": later or index(), "pools": pools}) as map_:
            results = map_(_survey_one, range(len(items)))
            if later is not None:
                later.set(index())
            for item in items:
                result, meanwhile = _next(results, meanwhile)
                if result.definition:
                    item.task.definition = result.definition
                if result.unavailable is not None:
                    item.unavailable = result.unavailable
                found.append(result)
                if progress is not None and result.scanned:
                    progress.update(1)
            waiting = [position for position, result in enumerate(found) if not result.scanned]
            scans = map_(_scan_pool, waiting)
            if meanwhile is not None:
                meanwhile()
            for position, scan in zip(waiting, scans):
                found[position].removed, found[position].decontamination_s = scan.removed, scan.decontamination_s
                found[position].scanned = True
                if progress is not None:
                    progress.update(1)
    finally:
        if later is not None:
            later.close()
    return found


def _next(results: Iterator[Any], meanwhile: Callable[[], Any] | None) -> tuple[Any, Callable[[], Any] | None]:
    """(the next of the workers' results, ``meanwhile`` if still to do): ``meanwhile()`` is done first when the result
    is not there yet (a worker pool's results wait with a timeout; this process's own map makes it when asked)."""
    if meanwhile is not None and isinstance(results, IMapIterator):
        try:
            return results.next(timeout=0), meanwhile
        except multiprocessing.TimeoutError:
            meanwhile()
            meanwhile = None
    return next(results), meanwhile


# --------------------------------------------------------------------------- the rows of each task, by bucket


@dataclass
class _RowsJob:
    position: int
    """Of the task in the plan."""
    removed: list[int]
    available: int
    kept: int
    taken: int
    stem: str


def _rows_one(job: _RowsJob) -> TaskRows:
    plan: Plan = SHARED["plan"]
    task = plan.rows[job.position].task
    pool = pool_path(SHARED["pools"], task.name)
    batch = read_pool(pool)
    if batch.num_rows != job.available:
        raise MedsregError(f"{task.name}: its kept instances changed while building ({batch.num_rows:,} training instances "
                           f"now, {job.available:,} when planning); run the build again")
    positions, repeats = draws(plan.spec.seed, task.name, job.kept, job.taken)
    bucket = row_buckets(plan.spec.seed, task.name, len(positions), SHARED["buckets"])
    order = np.argsort(bucket, kind="stable")
    rows = Path(job.stem + ".rows")
    kept = np.delete(np.arange(job.available, dtype=np.int64), job.removed) if job.removed else None
    write_rows(rows, task, plan.spec, batch, positions[order], repeats[order], kept)
    ends = np.cumsum(np.bincount(bucket, minlength=SHARED["buckets"]))
    return TaskRows(task=task, pool=pool, rows=rows, ends=tuple(ends.tolist()))


def task_rows(plan: Plan, scratch: Path, pools: Path, *, workers: int = 1, progress: Any = None,
              meanwhile: Callable[[], Any] | None = None) -> list[TaskRows]:
    """Pass 2: per task of the plan, its rows (``plan.draws``) ordered by shuffle bucket (``plan.row_buckets``), in
    ``scratch``; returns them in plan order. Only numbers: the rows are rendered with their buckets. ``meanwhile``: work
    for this process, done while the workers make the rows (or at the end)."""
    scratch.mkdir(parents=True, exist_ok=True)
    jobs = [_RowsJob(position, plan.removed.get(row.task.name, []), row.available, row.kept, row.taken,
                     str(scratch / f"task-{position:05d}")) for position, row in enumerate(plan.rows)]
    found: list[TaskRows] = []
    state = {"plan": plan, "pools": pools, "buckets": bucket_count(plan.total)}
    with in_workers(min(workers, len(jobs)), state) as map_:
        results = map_(_rows_one, jobs)
        for job in jobs:
            rows, meanwhile = _next(results, meanwhile)
            found.append(rows)
            if progress is not None:
                progress.update(job.taken)
    if meanwhile is not None:
        meanwhile()
    return found


# --------------------------------------------------------------------------- the buckets, in their final order


def shuffled_tables(plan: Plan, parts: list[TaskRows], schema: Any) -> Iterator[Any]:
    """Pass 3 in this process: the mixture in its final order, one bucket (a pyarrow Table) at a time."""
    opened = OpenedPools()
    for bucket in range(bucket_count(plan.total)):
        yield bucket_table(plan.spec, parts, schema, bucket, opened)


def bucket_step(plan: Plan, parts: list[TaskRows], schema: Any, shards: Shards) -> Step:
    """Pass 3 in the workers (``workers.in_steps``): each bucket in its final order put into ``shards`` as piece
    ``bucket``."""
    state = {"spec": plan.spec, "parts": parts, "schema": schema, "shards": shards, "opened": OpenedPools()}
    return Step(state, _write_bucket, range(bucket_count(plan.total)))


def _write_bucket(state: dict[str, Any], bucket: int) -> Piece:
    table = bucket_table(state["spec"], state["parts"], state["schema"], bucket, state["opened"])
    return state["shards"].put(bucket, [table])
