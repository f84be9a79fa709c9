"""Packing into continued-pretraining windows: EOS appended, short documents padded, windows every stride,
the last one right-aligned (SEEDS.md §5), with a small window and at the seed's 2048 / 1536."""

from __future__ import annotations

import numpy as np
import pytest

from medsreg.corpus.packing import pack, window_starts
from medsreg.errors import MedsregError

PAD = -1


def _seed_windows(ids: list[int], window: int, stride: int) -> list[list[int]]:
    """The rule as MMedLM's data preparation loop states it (pad to the window when shorter; else a window every
    stride while it ends before the document, then the last ``window`` tokens, and stop)."""
    if len(ids) < window:
        return [ids + [PAD] * (window - len(ids))]
    windows = []
    for start in range(0, len(ids), stride):
        if start + window < len(ids):
            windows.append(ids[start : start + window])
        else:
            windows.append(ids[-window:])
            break
    return windows


@pytest.mark.parametrize("length", [1, 2, 5, 7, 8, 9, 10, 13, 14, 15, 19, 20, 21, 26, 27, 40])
def test_small_windows_follow_the_rule(length):
    window, stride = 8, 6
    ids = list(range(100, 100 + length))
    windows, mask = pack(ids, window, stride, pad_id=PAD)
    assert windows.tolist() == _seed_windows(ids, window, stride)
    assert mask.tolist() == [[int(token != PAD) for token in row] for row in windows.tolist()]
    covered = {token for row in windows.tolist() for token in row if token != PAD}
    assert covered == set(ids)  # no token skipped
    if length > window:
        starts = window_starts(length, window, stride)
        assert starts[:-1] == list(range(0, starts[-2] + 1, stride)) and starts[-1] == length - window
        assert windows[-1, -1] == ids[-1] and mask.all()  # right-aligned: no padding in long documents
        assert all(later - earlier <= stride for earlier, later in zip(starts, starts[1:]))


def test_a_document_of_exactly_the_window_is_one_unpadded_window():
    windows, mask = pack(list(range(8)), 8, 6, pad_id=PAD)
    assert windows.tolist() == [list(range(8))] and mask.all()


@pytest.mark.parametrize("stride", [1, 3, 8])
def test_other_strides(stride):
    ids = list(range(23))
    assert pack(ids, 8, stride, pad_id=PAD)[0].tolist() == _seed_windows(ids, 8, stride)


@pytest.mark.parametrize("length", [1, 1000, 2047, 2048, 2049, 3583, 3584, 3585, 5000, 5120, 5121, 10_000])
def test_the_seed_2048_1536_rule_on_an_integer_sequence(length):
    ids = np.arange(length)  # a document whose token at position i is i: no tokenizer involved
    windows, mask = pack(ids, 2048, 1536, pad_id=PAD)
    if length <= 2048:
        assert windows.shape == (1, 2048)
        assert windows[0, :length].tolist() == list(range(length)) and (windows[0, length:] == PAD).all()
        assert mask[0].sum() == length
        return
    starts = list(range(0, length - 2048, 1536)) + [length - 2048]
    assert windows[:, 0].tolist() == starts
    for row, start in zip(windows, starts):
        assert row.tolist() == list(range(start, start + 2048))
    assert windows[-1, -1] == length - 1 and mask.all()
    assert windows.tolist() == _seed_windows(list(range(length)), 2048, 1536)
    # e.g. 2049 tokens: [0, 2048) and [1, 2049); 3584 = 2048 + 1536: [0, 2048) and [1536, 3584), no repeat
    if length == 2049:
        assert starts == [0, 1]
    if length == 3584:
        assert starts == [0, 1536]


def test_bad_windows_are_sentences():
    with pytest.raises(MedsregError, match="stride must be between 1 and the window"):
        pack([1, 2, 3], 4, 5)
    with pytest.raises(MedsregError, match="at least one token"):
        pack([1, 2, 3], 0, 1)
    with pytest.raises(MedsregError, match="without any token"):
        pack([], 4, 2)
