"""A suite's dataset at scale: its rows rendered in the worker processes, a few thousand at a time, and put straight into
the dataset's shards.

The rows are ``render.suite_row``'s, in the suite's order (its tasks in order, each task's test instances in order), as
``pipeline.suite_rows`` yields them one by one for ``medsreg eval``. Here they are cut into jobs of ``TABLES_PER_JOB``
tables of the writer's ``BATCH_ROWS`` rows, counted over the whole suite (a table may hold the end of a task and the
start of the next), so the tables are those the writer made of the row stream: the same bytes. Job j is piece j of the
shards. The test instances are already in memory (read while planning, to decontaminate against them): forked workers
inherit them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from typing import Any

from medsreg.build.plan import test_instances
from medsreg.build.render import suite_row
from medsreg.build.shards import Piece, Shards
from medsreg.build.suites import SuitePlan
from medsreg.build.workers import SHARED, in_workers
from medsreg.build.writer import BATCH_ROWS

TABLES_PER_JOB = 4
"""Tables of ``BATCH_ROWS`` rows a job renders: a few jobs per worker even for a small suite, little waiting per piece."""


def suite_pieces(plan: SuitePlan, schema: Any, shards: Shards, *, workers: int = 1) -> Iterator[Piece]:
    """Every row of the suite, put into ``shards`` by ``workers`` processes; the pieces, in order."""
    suite, pairs = plan
    categories = {id(entry): category.name for category in suite.categories for entry in category.tasks}
    parts = [(categories[id(entry)], entry, task, test_instances(task)) for entry, task in pairs]
    starts, total = [], 0
    for *_, pool in parts:
        starts.append(total)
        total += len(pool)
    job_rows = TABLES_PER_JOB * BATCH_ROWS
    jobs = -(-total // job_rows)
    state = {"suite": suite, "parts": parts, "starts": starts, "total": total, "schema": schema, "shards": shards}
    with in_workers(min(workers, jobs), state) as map_:
        yield from map_(_suite_piece, range(jobs))


def _suite_piece(job: int) -> Piece:
    import pyarrow as pa

    suite, parts, starts, schema = SHARED["suite"], SHARED["parts"], SHARED["starts"], SHARED["schema"]
    first = job * TABLES_PER_JOB * BATCH_ROWS
    last = min(first + TABLES_PER_JOB * BATCH_ROWS, SHARED["total"])
    rows = []
    part = bisect.bisect_right(starts, first) - 1
    row = first
    while row < last:
        category, entry, task, pool = parts[part]
        end = min(last, starts[part] + len(pool))
        rows.extend(suite_row(suite, category, entry, task, pool, position)
                    for position in range(row - starts[part], end - starts[part]))
        row, part = end, part + 1
    tables = [pa.Table.from_pylist(rows[at:at + BATCH_ROWS], schema=schema) for at in range(0, len(rows), BATCH_ROWS)]
    return SHARED["shards"].put(job, tables)
