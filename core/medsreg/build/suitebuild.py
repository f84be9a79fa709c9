"""A suite's dataset at scale: its rows made in the worker processes, a few thousand at a time, and put straight into
the dataset's shards.

The rows are ``render.suite_row``'s, in the suite's order (its tasks in order, each task's test instances in order), as
``pipeline.suite_rows`` yields them one by one for ``medsreg eval``. Here they are cut into jobs of ``TABLES_PER_JOB``
tables of the writer's ``BATCH_ROWS`` rows, counted over the whole suite (a table may hold the end of a task and the
start of the next), so the tables are those the writer made of the row stream: the same bytes. Job j is piece j of the
shards. The test instances are already in memory (read while planning, to decontaminate against them), and
``suite_step`` makes their Arrow arrays once: forked workers inherit both.

A table is not made of the rows' dicts: ``suite_table`` reads the rows' choices off numpy (``draws.suite_draws``), frames
their texts in Arrow (framing.py) and makes the other columns as ``from_pylist`` makes them, a column at a time; the
table equals ``from_pylist`` of ``suite_row``'s dicts, value for value, byte for byte and in ``nbytes``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np

from medsreg.build.framing import frame_rows, with_bitmaps
from medsreg.build.plan import test_instances
from medsreg.build.draws import input_groups, suite_draws
from medsreg.build.render import first_output
from medsreg.build.shards import Piece, Shards
from medsreg.build.suites import SuitePlan
from medsreg.build.workers import Step
from medsreg.build.writer import BATCH_ROWS
from medsreg.models import Instance, Suite, SuiteTask, Task

Part = tuple[str, SuiteTask, Task, list[Instance]]
"""A suite's task as its rows are made: (its category, its entry in the suite, the task, its test instances)."""

TABLES_PER_JOB = 4
"""Tables of ``BATCH_ROWS`` rows a job renders: a few jobs per worker even for a small suite, little waiting per piece."""


def suite_step(plan: SuitePlan, schema: Any, shards: Shards) -> Step:
    """Every row of the suite, put into ``shards`` by the workers (``workers.in_steps``), piece by piece."""
    suite, pairs = plan
    categories = {id(entry): category.name for category in suite.categories for entry in category.tasks}
    parts = [(categories[id(entry)], entry, task, test_instances(task)) for entry, task in pairs]
    starts, total = [], 0
    for *_, pool in parts:
        starts.append(total)
        total += len(pool)
    # the instances as Arrow arrays, made here once (forked workers inherit them) rather than in each worker
    arrays = {task.name: _PoolArrays.of(pool) for _, _, task, pool in parts}
    state = {"suite": suite, "parts": parts, "starts": starts, "total": total, "schema": schema, "shards": shards,
             "arrays": arrays}
    return Step(state, _suite_piece, range(-(-total // (TABLES_PER_JOB * BATCH_ROWS))))


def _suite_piece(state: dict[str, Any], job: int) -> Piece:
    suite, parts, starts, schema = state["suite"], state["parts"], state["starts"], state["schema"]
    first = job * TABLES_PER_JOB * BATCH_ROWS
    last = min(first + TABLES_PER_JOB * BATCH_ROWS, state["total"])
    tables = [suite_table(suite, _segments(parts, starts, start, min(start + BATCH_ROWS, last)), schema, state["arrays"])
              for start in range(first, last, BATCH_ROWS)]
    return state["shards"].put(job, tables)


def _segments(parts: list[Part], starts: list[int], first: int, last: int) -> list[tuple[Part, int, int]]:
    """Rows ``first`` to ``last`` of the suite (counted over its tasks, one after the other) as (part, start, end)."""
    segments = []
    part = bisect.bisect_right(starts, first) - 1
    row = first
    while row < last:
        pool = parts[part][3]
        end = min(last, starts[part] + len(pool))
        segments.append((parts[part], row - starts[part], end - starts[part]))
        row, part = end, part + 1
    return segments


@dataclass(frozen=True)
class _PoolArrays:
    """A task's test instances as the suite's tables gather from them (made once per process, for all its tables)."""

    ids: Any
    inputs: Any
    outputs: Any
    """Each instance's first output (a shot's)."""
    references: Any
    """Each instance's outputs."""
    groups: np.ndarray
    """Equal exactly when the inputs are (draws.py's shots never have the row's input)."""

    @classmethod
    def of(cls, pool: list[Instance]) -> _PoolArrays:
        import pyarrow as pa

        groups = input_groups(pool)
        return cls(pa.array([instance["id"] for instance in pool], type=pa.string()),
                   pa.array([instance["input"] for instance in pool], type=pa.string()),
                   pa.array([first_output(instance) for instance in pool], type=pa.string()),
                   pa.array([instance["output"] for instance in pool], type=pa.list_(pa.string())), groups)


def suite_table(suite: Suite, segments: list[tuple[Part, int, int]], schema: Any,
                arrays: dict[str, _PoolArrays] | None = None) -> Any:
    """The rows of ``segments`` ((category, entry, task, its test instances), first and end position) in order: the
    table ``pa.Table.from_pylist`` makes of ``render.suite_row``'s dicts, the framed texts made in Arrow (framing.py).
    ``arrays``: the tasks' instances as Arrow arrays made for earlier tables (filled in here)."""
    import pyarrow as pa

    arrays = {} if arrays is None else arrays
    instructions: list[str] = []
    instruction, counts, own, shots, gathered, references = [], [], [], [], [], []
    columns: dict[str, list] = {name: [] for name in ("metrics", "suite", "category", "group", "average", "task",
                                                      "legacy_id")}
    base = 0  # texts gathered for the segments before
    for (category, entry, task, pool), start, end in segments:
        rows = end - start
        held = arrays.get(task.name) or arrays.setdefault(task.name, _PoolArrays.of(pool))
        indices, numbers, drawn = suite_draws(suite, entry, task, pool, start, end, held.groups)
        instruction.append(indices + len(instructions))
        instructions.extend(task.definition)
        counts.append(numbers)
        chosen = drawn[np.arange(drawn.shape[1]) < numbers[:, None]]  # row by row, each row's shots in order
        needed, inverse = np.unique(np.concatenate([np.arange(start, end), chosen]), return_inverse=True)
        own.append(inverse[:rows] + base)
        shots.append(inverse[rows:] + base)
        base += len(needed)
        gathered.append((held, pa.array(needed)))
        references.append(held.references.take(pa.array(np.arange(start, end))))
        for name, value in (("metrics", list(entry.metrics)), ("suite", suite.name), ("category", category),
                            ("group", entry.group), ("average", entry.average), ("task", task.name),
                            ("legacy_id", task.legacy_id)):
            columns[name].extend([value] * rows)
    counts_array, own_array, shots_array = (np.concatenate(parts) for parts in (counts, own, shots))
    ids = pa.concat_arrays([held.ids.take(needed) for held, needed in gathered])
    message, prompt, _ = frame_rows([held.inputs.take(needed) for held, needed in gathered],
                                    [held.outputs.take(needed) for held, needed in gathered], instructions,
                                    np.concatenate(instruction), counts_array, shots_array, own_array,
                                    schema.field("messages").type, completion=False)
    shot_offsets = pa.array(np.concatenate([[0], np.cumsum(counts_array)]).astype(np.int32))
    built = {"messages": message,
             "prompt": prompt,
             "references": pa.concat_arrays(references),
             "instance_id": ids.take(pa.array(own_array)),
             "shot_ids": pa.ListArray.from_arrays(shot_offsets, ids.take(pa.array(shots_array)),
                                                  type=schema.field("shot_ids").type)}
    # the rest as from_pylist makes them (a column at a time, from the values), the built ones in its layout
    return pa.Table.from_arrays([with_bitmaps(built[name], False) if name in built
                                 else pa.array(columns[name], type=schema.field(name).type) for name in schema.names],
                                schema=schema)
