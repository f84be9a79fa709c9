"""One shuffle bucket of a training mixture, made in Arrow from the tasks' pools and their rows' draws.

What a bucket is made of, on disk in the build's scratch:

* a task's **pool file** (``write_pool``, written once by the survey that read the task): its training instances as
  an Arrow IPC file, one column each of ids, inputs and first outputs, and ``group``: one number per distinct input
  (the position of its first instance), so that "another instance with the same input" is a comparison of numbers;
* a task's **rows file** (``write_rows``, pass 2): per planned row, ordered by shuffle bucket, its instance's position
  in the pool, its repeat, and its random choices (``draws.training_draws``: the instruction, the shots, drawn among the
  instances left after decontamination as ``render.training_row`` draws them), as int32 numbers; ``TaskRows.ends``
  says where each bucket's rows end.

``bucket_table`` makes bucket b: each task's rows there read as numbers, the texts they use gathered from the
memory-mapped pool, then every column in Arrow, in the bucket's final order (``plan.bucket_order``), the texts joined
into the official framing by framing.py. No Python string is made per row, and nothing is written between rendering
and the shards. The table equals, value for value and byte for byte, the one ``pa.Table.from_pylist`` makes of
``render.training_row``'s dicts taken in that order, with the same ``nbytes`` per column (``framing.with_bitmaps``),
which decides where ``save_to_disk`` starts a shard.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medsreg.build.draws import input_groups, training_draws
from medsreg.build.framing import frame_rows, with_bitmaps
from medsreg.build.plan import bucket_order
from medsreg.build.render import first_output
from medsreg.errors import MedsregError
from medsreg.models import Instance, MixtureSpec, Task


def pool_schema() -> Any:
    import pyarrow as pa

    # large strings: one task's texts may pass 2 GB; a bucket's columns are cast back to the output's strings
    return pa.schema([("id", pa.large_string()), ("input", pa.large_string()), ("output", pa.large_string()),
                      ("group", pa.int64())])


def write_pool(path: Path, pool: list[Instance]) -> None:
    """Keep a task's training instances for ``bucket_table`` (one record batch: read back without a copy)."""
    import pyarrow as pa

    groups = input_groups(pool)
    # the arrays made from their buffers, not by pa.array: its first call in a process imports pandas (half a second),
    # and the workers that read the tasks are forked before the build has imported it
    columns = [_large_strings([instance["id"] for instance in pool]),
               _large_strings([instance["input"] for instance in pool]),
               _large_strings([first_output(instance) for instance in pool]),
               pa.Array.from_buffers(pa.int64(), len(pool), [None, pa.py_buffer(groups)])]
    schema = pool_schema()
    batch = pa.RecordBatch.from_arrays(columns, schema=schema)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        writer.write_batch(batch)


def _large_strings(texts: list[str]) -> Any:
    import pyarrow as pa

    joined = "".join(texts)
    if joined.isascii():  # a flag of the string: a character is a byte, and the text is encoded in one copy
        data, sizes = joined.encode("ascii"), map(len, texts)
    else:
        encoded = [text.encode("utf-8") for text in texts]
        data, sizes = b"".join(encoded), map(len, encoded)
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(sizes, dtype=np.int64, count=len(texts)), out=offsets[1:])
    return pa.Array.from_buffers(pa.large_string(), len(texts), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def read_pool(path: Path) -> Any:
    """A pool file as a record batch, memory-mapped (its pages are read where the rows need them)."""
    import pyarrow as pa

    if not path.is_file():
        raise MedsregError(f"the build's scratch file {path} has gone (removed while building?); run the build again")
    return pa.ipc.open_file(pa.memory_map(str(path))).get_batch(0)


class OpenedPools:
    """The pools one process reads for a pass over the buckets, each opened once (opening an Arrow file costs more than
    the few rows a small task gives a bucket) and mapped; the pages a take touched are given back at once (the page cache
    keeps them), so that the process maps one pool's pages at a time, not every pool's, whatever the scale."""

    def __init__(self) -> None:
        self._pools: dict[Path, tuple[mmap.mmap, Any]] = {}

    def take(self, path: Path, positions: np.ndarray) -> Any:
        """The id, input and output of the pool's instances at ``positions`` (a record batch of copies)."""
        import pyarrow as pa

        held = self._pools.get(path)
        if held is None:
            if not path.is_file():
                raise MedsregError(f"the build's scratch file {path} has gone (removed while building?); run the build "
                                   "again")
            with open(path, "rb") as handle:
                mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            batch = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(mapped))).get_batch(0).select([0, 1, 2])
            held = self._pools[path] = (mapped, batch)
        taken = held[1].take(pa.array(positions))
        if hasattr(mmap, "MADV_DONTNEED"):  # elsewhere than Linux and the BSDs the pages simply stay mapped
            held[0].madvise(mmap.MADV_DONTNEED)
        return taken


_FIXED = 4
"""Columns of a rows file before the shots: pool position, repeat, instruction index, shot count."""


def write_rows(path: Path, task: Task, spec: MixtureSpec, pool: Any, positions: np.ndarray, repeats: np.ndarray,
               kept: np.ndarray | None) -> None:
    """Draw the random choices of a task's rows (``draws.training_draws``) and keep them in ``path`` for the buckets, a
    row of int32 per mixture row: its instance's position in the pool file, its repeat, its instruction index, its
    number of shots and the shots' positions in the pool file (``spec.shots`` columns, -1 after the number).

    ``pool``: the task's pool file, read (``read_pool``). ``positions`` are among the ``kept`` positions of the pool
    (all of them when None): the rows and their shots are drawn among the instances left after decontamination.
    ``positions`` and ``repeats`` come in the order of the buckets.
    """
    import pyarrow as pa

    groups = pool.column(3).to_numpy()
    full = positions if kept is None else kept[positions]
    ids = pool.column(0).take(pa.array(full)).to_pylist()
    instruction, counts, shots = training_draws(
        spec.seed, task.name, task.definition, ids, positions, repeats, groups if kept is None else groups[kept],
        p_original=spec.p_original, p_zero_shot=spec.p_zero_shot, shots=spec.shots)
    if kept is not None:
        shots = np.where(shots >= 0, kept[np.maximum(shots, 0)], -1)
    table = np.column_stack([full, repeats, instruction, counts, shots]).astype(np.int32)
    table.tofile(path)


@dataclass(frozen=True)
class TaskRows:
    """Where a bucket finds one task's rows: its pool, its rows file (``write_rows``) and where each bucket's rows end."""

    task: Task
    pool: Path
    rows: Path
    ends: tuple[int, ...]
    """Where each bucket's rows end in ``rows``."""

    def span(self, bucket: int) -> tuple[int, int]:
        return (self.ends[bucket - 1] if bucket else 0), self.ends[bucket]


@dataclass
class _Drawn:
    """One task's rows in a bucket: their choices, and the texts they need gathered from its pool."""

    task: Task
    own: np.ndarray
    """Each row's instance, as an index into ``texts``."""
    instruction: np.ndarray
    counts: np.ndarray
    shots: np.ndarray
    """The rows' shots, one after the other, as indices into ``texts``."""
    repeats: np.ndarray
    texts: Any
    """The pool's id, input and output of every instance the rows use (a record batch of large strings)."""


def _gather(part: TaskRows, shots: int, start: int, end: int, opened: OpenedPools) -> _Drawn:
    width = _FIXED + shots
    if not part.rows.is_file():
        raise MedsregError(f"the build's scratch file {part.rows} has gone (removed while building?); run the build again")
    rows = np.fromfile(part.rows, dtype=np.int32, count=(end - start) * width, offset=start * width * 4)
    rows = rows.reshape(end - start, width).astype(np.int64)
    counts = rows[:, 3]
    chosen = rows[:, _FIXED:][np.arange(shots) < counts[:, None]]  # row by row, each row's shots in order
    needed, inverse = np.unique(np.concatenate([rows[:, 0], chosen]), return_inverse=True)
    texts = opened.take(part.pool, needed)
    return _Drawn(part.task, inverse[: end - start], rows[:, 2], counts, inverse[end - start :], rows[:, 1], texts)


def bucket_table(spec: MixtureSpec, parts: list[TaskRows], schema: Any, bucket: int,
                 opened: OpenedPools | None = None) -> Any:
    """Bucket ``bucket`` of the mixture in its final order: a pyarrow Table of ``schema`` (``training_row``'s columns).

    ``opened``: the pools this process has opened for earlier buckets of this pass (a pool file of the same name in a
    later build is another file)."""
    import pyarrow as pa

    opened = opened if opened is not None else OpenedPools()
    spans = [(part, *part.span(bucket)) for part in parts]
    drawn = [_gather(part, spec.shots, start, end, opened) for part, start, end in spans if end > start]
    if not drawn:
        return pa.Table.from_batches([], schema=schema)
    # the rows in plan order (task after task), as indices into the tasks' gathered texts laid end to end
    bases = np.cumsum([0] + [len(one.texts) for one in drawn[:-1]])
    own = np.concatenate([one.own + base for one, base in zip(drawn, bases)])
    counts = np.concatenate([one.counts for one in drawn])
    shots = np.concatenate([one.shots + base for one, base in zip(drawn, bases)])
    repeats = np.concatenate([one.repeats for one in drawn])
    instruction = np.concatenate([one.instruction for one in drawn])
    task_rows = np.repeat(np.arange(len(drawn)), [len(one.own) for one in drawn])
    starts = np.cumsum(counts) - counts
    # ... then in the bucket's order
    order = bucket_order(spec.seed, bucket, len(own))
    own, counts, repeats, instruction, task_rows, starts = (
        column[order] for column in (own, counts, repeats, instruction, task_rows, starts))
    shot_ends = np.cumsum(counts)
    shots = shots[np.repeat(starts, counts) + np.arange(int(shot_ends[-1])) - np.repeat(shot_ends - counts, counts)]

    tasks = [one.task for one in drawn]
    instruction_bases = np.cumsum([0] + [len(task.definition) for task in tasks[:-1]])
    # the pools' large strings as the output's strings: one cast per bucket, of the offsets only (the text is shared)
    ids = pa.concat_arrays([one.texts.column(0) for one in drawn]).cast(pa.string())
    inputs, outputs = [one.texts.column(1) for one in drawn], [one.texts.column(2) for one in drawn]
    del drawn
    message, prompt, completion = frame_rows(
        inputs, outputs, [text for task in tasks for text in task.definition], instruction + instruction_bases[task_rows],
        counts, shots, own, schema.field("messages").type, completion=True)
    shot_offsets = pa.array(np.concatenate([[0], shot_ends]).astype(np.int32))
    by_task = pa.array(task_rows)

    def constant(values: list, name: str) -> Any:
        return pa.array(values, type=schema.field(name).type).take(by_task)

    columns = {
        "messages": message,
        "prompt": prompt,
        "completion": completion,
        "task": constant([task.name for task in tasks], "task"),
        "legacy_id": constant([task.legacy_id for task in tasks], "legacy_id"),
        "category": constant([task.categories[0] if task.categories else "" for task in tasks], "category"),
        "source": constant([", ".join(task.source) for task in tasks], "source"),
        "license": constant([task.license for task in tasks], "license"),
        "instance_id": ids.take(pa.array(own)),
        "instruction_index": pa.array(instruction, type=schema.field("instruction_index").type),
        "shot_ids": pa.ListArray.from_arrays(shot_offsets, ids.take(pa.array(shots)),
                                             type=schema.field("shot_ids").type),
        "zero_shot": pa.array(counts == 0),  # no shot to give makes a row zero-shot too
        "repeat": pa.array(repeats, type=schema.field("repeat").type),
    }
    # as take made them: every text and list with its validity bitmap
    return pa.Table.from_arrays([with_bitmaps(columns[name], True) for name in schema.names], schema=schema)
