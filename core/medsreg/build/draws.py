"""The random choices of many rows at once: equal, row for row, to ``render.training_choices`` (a mixture's rows) and
``render.suite_choices`` (a suite's).

A row draws its instruction, whether it is zero-shot (a mixture's row), and its shots from its own
``render.RowRandom``: the BLAKE2b digest of the row's key gives eight 64-bit values, read in order (a digest of the next
block only when a row needs more). Drawn one row at a time in Python that is about 6 us a row, the largest cost of a
mixture's rows after their bytes. Here the one step that is per row, the digest, is made in Python, and the choices
are read off the rows' eight values with numpy, all rows at once, by the same rules in the same order:

* the instruction: the first value as a uniform draw against ``p_original``; a rewrite is ``randrange(1, count)`` of the
  next value (a suite draws it only when it takes rewrites);
* zero-shot: the next value against ``p_zero_shot`` (a mixture's row only);
* the shots (a pool of more than ``render.SMALL_POOL``): each further value is ``randrange(size)`` of it, a value past
  randrange's last whole multiple of ``size`` is skipped (randrange draws again), a position already drawn or the row's
  own is skipped, one with the row's input is drawn but not taken, until ``shots`` are taken.

A row that needs more than its first eight values, or whose shots come from a small pool's candidate list, is left to
render itself (a few rows in a thousand): the choices never depend on which path made them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter

import numpy as np

from medsreg.build.render import SMALL_POOL, first_blocks, row_rng, suite_choices, suite_shots, training_choices
from medsreg.models import Instance, Suite, SuiteTask, Task

_WORDS = 8
"""64-bit values in one digest block."""
_TWO_TO_64 = 1 << 64


def input_groups(pool: Sequence[Instance]) -> np.ndarray:
    """The ``groups`` the draws take: per instance, the position of the first instance with its input (equal exactly
    when the inputs are)."""
    first: dict[str, int] = {}
    return np.fromiter(map(first.setdefault, map(itemgetter("input"), pool), range(len(pool))), dtype=np.int64,
                       count=len(pool))


def _uniform(values: np.ndarray) -> np.ndarray:
    """``RowRandom.random`` of each value: its top 53 bits over 2**53 (exact in float64)."""
    return (values >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def _accepted(values: np.ndarray, n: int) -> np.ndarray:
    """Whether ``RowRandom.randrange(n)`` takes each value (below the last whole multiple of n under 2**64)."""
    limit = _TWO_TO_64 - _TWO_TO_64 % n
    return np.ones(values.shape, dtype=bool) if limit == _TWO_TO_64 else values < np.uint64(limit)


def training_draws(seed: int, task: str, definition: Sequence[str], ids: Sequence[str], positions: np.ndarray,
                   repeats: np.ndarray, groups: np.ndarray, *, p_original: float, p_zero_shot: float,
                   shots: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The choices of mixture rows (``render.training_choices``'s) of ``task`` for the instances at ``positions`` of a
    pool whose instances' inputs are equal exactly when their ``groups`` are, with ``ids`` (of those instances) and
    ``repeats``: (each row's instruction index, its number of shots, its shots' positions in the pool as an array of
    rows x ``shots``, -1 after its count)."""
    def one_by_one(row: int) -> tuple[int, list[int]]:
        return training_choices(row_rng(seed, task, ids[row], int(repeats[row])), list(definition), p_original,
                                p_zero_shot, shots, len(groups), int(positions[row]), groups)

    return _draws(seed, task, definition, ids, positions, repeats, groups, p_original=p_original,
                  p_zero_shot=p_zero_shot, shots=shots, one_by_one=one_by_one)


def suite_draws(suite: Suite, entry: SuiteTask, task: Task, pool: list[Instance], start: int, end: int,
                groups: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The choices of the evaluation rows (``render.suite_choices``'s) of ``pool[start:end]`` (``groups`` as
    ``training_draws`` takes them), as ``training_draws`` gives them: a suite's rows draw no zero-shot, and their
    instruction only when the suite takes rewrites."""
    positions = np.arange(start, end)
    return _draws(suite.seed, task.name, task.definition, [instance["id"] for instance in pool[start:end]], positions,
                  np.zeros(end - start, np.int64), groups, p_original=0.0 if suite.instruction == "rewrite" else None,
                  p_zero_shot=None, shots=suite_shots(suite, entry),
                  one_by_one=lambda row: suite_choices(suite, entry, task, pool, start + row))


def _draws(seed: int, task: str, definition: Sequence[str], ids: Sequence[str], positions: np.ndarray,
           repeats: np.ndarray, groups: np.ndarray, *, p_original: float | None, p_zero_shot: float | None, shots: int,
           one_by_one: Callable[[int], tuple[int, list[int]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``p_original`` None: no instruction is drawn (the original); ``p_zero_shot`` None: zero-shot is not drawn;
    ``one_by_one(row)``: the row's choices made by render itself, for the rows not read off their first eight values."""
    rows = len(positions)
    size = len(groups)
    words = np.frombuffer(first_blocks(seed, task, ids, repeats.tolist()), dtype="<u8").reshape(rows, _WORDS)
    instruction = np.zeros(rows, np.int64)
    used = np.zeros(rows, np.int64)  # values read so far
    slow = np.zeros(rows, dtype=bool)  # rows left to one_by_one
    if p_original is not None:
        used += 1  # the instruction's draw, made whether or not there are rewrites
        if len(definition) >= 2:
            rewrites = len(definition) - 1
            rewrite = _uniform(words[:, 0]) >= p_original
            accepted = _accepted(words[:, 1], rewrites)
            slow |= rewrite & ~accepted
            drawn = rewrite & accepted
            instruction[drawn] = 1 + (words[drawn, 1] % np.uint64(rewrites)).astype(np.int64)
            used[drawn] = 2
    drawing = ~slow
    if p_zero_shot is not None:
        drawing &= ~(_uniform(words[np.arange(rows), used]) < p_zero_shot)
        used += 1
    counts = np.zeros(rows, np.int64)
    chosen = np.full((rows, max(shots, 0)), -1, np.int64)
    if shots > 0 and size >= 2 and drawing.any():
        if size <= SMALL_POOL:
            slow |= drawing
        else:
            own = groups[positions]
            seen = np.full((rows, _WORDS), -1, np.int64)
            done = np.zeros(rows, dtype=bool)
            for column in range(int(used.min()), _WORDS):
                values = words[:, column]
                index = (values % np.uint64(size)).astype(np.int64)
                fresh = drawing & ~done & (column >= used) & _accepted(values, size) & (index != positions)
                fresh &= ~(seen[:, :column] == index[:, None]).any(axis=1)
                seen[fresh, column] = index[fresh]
                taken = np.flatnonzero(fresh & (groups[index] != own))
                chosen[taken, counts[taken]] = index[taken]
                counts[taken] += 1
                done[taken[counts[taken] == shots]] = True
            slow |= drawing & ~done
    for row in np.flatnonzero(slow).tolist():
        instruction[row], picked = one_by_one(row)
        counts[row] = len(picked)
        chosen[row] = -1
        chosen[row, : len(picked)] = picked
    return instruction, counts, chosen
