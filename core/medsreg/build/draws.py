"""The random choices of many training rows at once: equal, row for row, to ``render.training_choices``.

A mixture row draws its instruction, whether it is zero-shot, and its shots from its own ``render.RowRandom``: the
BLAKE2b digest of the row's key gives eight 64-bit values, read in order (a digest of the next block only when a row
needs more). Drawn one row at a time in Python that is about 6 us a row, the largest cost of a mixture's rows after
their bytes. Here the one step that is per row, the digest, is made in Python, and the choices are read off the rows'
eight values with numpy, all rows at once, by the same rules in the same order:

* the instruction: the first value as a uniform draw against ``p_original``; a rewrite is ``randrange(1, count)`` of the
  next value;
* zero-shot: the next value against ``p_zero_shot``;
* the shots (a pool of more than ``render._SMALL_POOL``): each further value is ``randrange(size)`` of it, a value past
  randrange's last whole multiple of ``size`` is skipped (randrange draws again), a position already drawn or the row's
  own is skipped, one with the row's input is drawn but not taken, until ``shots`` are taken.

A row that needs more than its first eight values, or whose shots come from a small pool's candidate list, is left to
``render.training_choices`` itself (a few rows in a thousand): the choices never depend on which path made them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medsreg.build.render import _SMALL_POOL, first_blocks, row_rng, training_choices

_WORDS = 8
"""64-bit values in one digest block."""
_TWO_TO_64 = 1 << 64


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
    """The choices of the rows of ``task`` for the instances at ``positions`` of a pool whose instances' inputs are
    equal exactly when their ``groups`` are, with ``ids`` (of those instances) and ``repeats``: (each row's instruction
    index, its number of shots, its shots' positions in the pool as an array of rows x ``shots``, -1 after its count)."""
    rows = len(positions)
    size = len(groups)
    words = np.frombuffer(first_blocks(seed, task, ids, repeats.tolist()), dtype="<u8").reshape(rows, _WORDS)
    instruction = np.zeros(rows, np.int64)
    used = np.ones(rows, np.int64)  # values read: the instruction's draw, made whether or not there are rewrites
    slow = np.zeros(rows, dtype=bool)  # rows left to render.training_choices
    if len(definition) >= 2:
        rewrites = len(definition) - 1
        rewrite = _uniform(words[:, 0]) >= p_original
        accepted = _accepted(words[:, 1], rewrites)
        slow |= rewrite & ~accepted
        drawn = rewrite & accepted
        instruction[drawn] = 1 + (words[drawn, 1] % np.uint64(rewrites)).astype(np.int64)
        used[drawn] = 2
    every = np.arange(rows)
    drawing = ~(_uniform(words[every, used]) < p_zero_shot) & ~slow
    used += 1
    counts = np.zeros(rows, np.int64)
    chosen = np.full((rows, max(shots, 0)), -1, np.int64)
    if shots > 0 and size >= 2 and drawing.any():
        if size <= _SMALL_POOL:
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
        rng = row_rng(seed, task, ids[row], int(repeats[row]))
        instruction[row], picked = training_choices(rng, list(definition), p_original, p_zero_shot, shots, size,
                                                    int(positions[row]), groups)
        counts[row] = len(picked)
        chosen[row] = -1
        chosen[row, : len(picked)] = picked
    return instruction, counts, chosen
