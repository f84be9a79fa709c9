"""The build's worker processes: an ordered map over forked processes that inherit what they work on.

Every parallel step of a build (reading and rendering training tasks, writing the mixture's shuffle
buckets, rendering a suite) maps a function over job numbers with ``in_workers``. The workers are
forked after the parent has set ``SHARED``, so the tasks, their instances, the overlap index and the
shard sink reach them without being pickled; a job's result comes back pickled, so it stays small
(counts, paths, a placement). Jobs never depend on which worker runs them, so the bytes written do
not depend on the number of workers. Where fork is not available the jobs run one after the other
in this process, through the same functions.

The jobs (and a build as a whole) run with few garbage collections (``few_collections``): a job makes hundreds of
thousands of objects that form no cycle (a task's instances, its rendered rows), and at Python's default threshold
the collector runs every 700 of them and walks the young ones each time, and the old ones often.

A worker's Arrow buffers come from the system allocator (``_start_worker``), not pyarrow's default
mimalloc: a job makes a few hundred MB of short-lived buffers (a shuffle bucket gathered, joined,
framed), and mimalloc hands such large blocks back and maps them again as transparent huge pages,
each zeroed 2 MB at a time when first touched. And the system allocator is told to keep what it was
given (glibc's ``mallopt``: no block of its own mapping, no heap given back, one arena): by default
glibc maps every block over 32 MB afresh and unmaps it when freed, so each bucket's largest columns
(the messages' texts, the prompts) cost a page fault per page, every time; on the virtual machine
we measured (where a page the guest gave back must be backed again by the host) that was about 40%
of a bucket's time. Kept, the second bucket reuses the pages of the first. Which allocator made a
buffer never changes its bytes.

A value the parent makes after forking (the decontamination index, made while the workers read the
first training tasks) reaches them through ``Later``.

``in_steps`` runs the jobs of several datasets (``Step``: a mixture's buckets, then each suite's pieces) in one set of
workers, queued one after the other: the last buckets and the first suite pieces are made side by side, and the suite's
tables are made in memory the workers already hold (in a fresh process, every page of the heap costs a fault when first
touched: a worker's first bucket takes about twice the time of the next).
"""

from __future__ import annotations

import gc
import mmap
import multiprocessing
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

SHARED: dict[str, Any] = {}
"""What the jobs of the running ``in_workers`` read (set in the parent before the fork)."""


def default_workers() -> int:
    """Worker processes: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def context() -> Any:
    """The multiprocessing context the workers are made with (for locks and shared values they inherit)."""
    return multiprocessing.get_context("fork" if can_fork() else None)


class Later:
    """A value this process makes after forking its workers, while they start on work that does not need it yet: ``set``
    here, ``get`` in a worker (it waits until the value is set, and reads it once).

    The value goes through a temporary file opened before the fork and already unlinked (in ``folder``): the workers
    inherit its descriptor, no other process can open it by name, and there is no pipe a worker that never asks would
    leave full. It is pickled with its large buffers out of band (protocol 5): the parent writes them from where they
    are, and a worker maps the file and gets arrays over the mapped pages, without a copy (the decontamination index
    of a large test side is hundreds of MB)."""

    def __init__(self, folder: Path) -> None:
        self._file = tempfile.TemporaryFile(dir=folder)
        self._ready = context().Event()
        self._value: Any = None
        self._got = False

    def set(self, value: Any) -> None:
        buffers: list[pickle.PickleBuffer] = []
        head = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
        views = [buffer.raw() for buffer in buffers]
        spans, at = [], _ALIGN * -(-(len(head)) // _ALIGN)
        for view in views:  # each buffer at an aligned offset: numpy's views of them stay aligned
            spans.append((at, view.nbytes))
            at = _ALIGN * -(-(at + view.nbytes) // _ALIGN)
        layout = pickle.dumps((len(head), spans))
        self._file.write(len(layout).to_bytes(8, "little") + layout)
        base = self._file.tell()
        self._file.write(head)
        for (offset, _), view in zip(spans, views):
            self._file.seek(base + offset)
            self._file.write(view)
        self._file.flush()
        self._ready.set()

    def ready(self) -> bool:
        """Whether ``get`` would not wait."""
        return self._got or self._ready.is_set()

    def get(self) -> Any:
        if not self._got:
            self._ready.wait()
            mapped = memoryview(mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ))
            size = int.from_bytes(mapped[:8], "little")
            head_size, spans = pickle.loads(mapped[8 : 8 + size])
            base = 8 + size
            self._value = pickle.loads(mapped[base : base + head_size],
                                       buffers=[mapped[base + offset : base + offset + length] for offset, length in spans])
            self._got = True
        return self._value

    def close(self) -> None:
        self._file.close()


_ALIGN = 64


@contextmanager
def in_workers(count: int, shared: dict[str, Any]) -> Iterator[Callable]:
    """An ordered ``map(function, jobs)`` over ``count`` forked processes that see ``shared`` in ``SHARED``
    (or this process alone, with one worker or without fork)."""
    SHARED.clear()
    SHARED.update(shared)
    try:
        with few_collections():
            if count <= 1 or not can_fork():
                yield lambda function, jobs: map(function, jobs)
                return
            with context().Pool(count, initializer=_start_worker) as pool:
                # chunksize 1: jobs are whole tasks or buckets, and a job may wait for the one before it (shards.py)
                yield lambda function, jobs: pool.imap(function, jobs, chunksize=1)
    finally:
        SHARED.clear()


@dataclass(frozen=True)
class Step:
    """The jobs of one dataset: ``function(state, job)`` for each of ``jobs`` (a module-level function: forked workers
    find it by name), its results wanted in order."""

    state: Any
    function: Callable[[Any, Any], Any]
    jobs: Sequence[Any]


@contextmanager
def in_steps(count: int, steps: Sequence[Step]) -> Iterator[list[Iterator[Any]]]:
    """Each step's results (an iterator, in the order of its jobs), made by one set of ``count`` forked processes that
    take the jobs in order, step after step (or by this process, as each iterator is read)."""
    jobs = sum(len(step.jobs) for step in steps)
    if min(count, jobs) <= 1 or not can_fork():
        with few_collections():
            yield [map(partial(step.function, step.state), step.jobs) for step in steps]
        return
    keys = [f"step-{number}" for number in range(len(steps))]
    with in_workers(min(count, jobs), dict(zip(keys, (step.state for step in steps)))) as map_:
        yield [map_(_step_job, [(step.function, key, job) for job in step.jobs]) for key, step in zip(keys, steps)]


def _step_job(item: tuple[Callable[[Any, Any], Any], str, Any]) -> Any:
    function, key, job = item
    return function(SHARED[key], job)


def _start_worker() -> None:
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())
    _keep_freed_memory()


_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8
"""glibc's mallopt parameters (malloc.h)."""


def _keep_freed_memory() -> None:
    """Have glibc's malloc reuse what this process frees (the module docstring says why): blocks of any size from the
    heap rather than mappings of their own (whose pages are new at each mapping), the heap not trimmed (the process
    lives for one step of a build), and one arena, so that a thread's large block comes from the main heap too (other
    arenas' heaps are capped at 64 MB and could not hold it without a mapping). Elsewhere than glibc, nothing."""
    import ctypes

    try:
        if os.confstr("CS_GNU_LIBC_VERSION") is None:
            return
    except (AttributeError, ValueError, OSError):  # no confstr, or no such name: not glibc
        return
    mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    for parameter, value in ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2**31 - 1)):
        mallopt(parameter, value)


JOB_COLLECTION_THRESHOLD = 100_000
"""Allocations between two collections of the youngest generation while jobs run (Python's default: 700)."""


_COLLECTING = {"depth": 0}


@contextmanager
def few_collections() -> Iterator[None]:
    """Collect garbage rarely while a build runs and its jobs run: the forked workers inherit the threshold, and the
    objects this process holds are frozen first (never walked by a worker's collections, nor their pages copied by
    them), again at each inner use (before its workers fork). Only the outermost use thaws them and restores the
    threshold."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(JOB_COLLECTION_THRESHOLD, *threshold[1:])
    _COLLECTING["depth"] += 1
    try:
        yield
    finally:
        _COLLECTING["depth"] -= 1
        if not _COLLECTING["depth"]:
            gc.set_threshold(*threshold)
            gc.unfreeze()
