"""Continued-pretraining windows, as MMedC's were cut (SEEDS.md §5).

Each document is tokenized and EOS is appended. A document of at most ``window`` tokens makes one
window, padded on the right up to ``window``; a longer one is cut into windows starting every
``stride`` tokens for as long as a window ends before the document does, and its last window is
right-aligned: it ends at the document's last token (and so overlaps the window before it by
more than ``window - stride`` tokens, unless the document's length falls exactly on the grid).
With the seed's 2048 / 1536 a document of 2049 tokens gives the windows [0, 2048) and [1, 2049).
Documents are never joined: a window holds tokens of one document only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from medsreg.errors import MedsregError

WINDOW = 2048
STRIDE = 1536


def check_window(window: int, stride: int) -> None:
    if window < 1:
        raise MedsregError(f"the window must hold at least one token (got {window})")
    if not 1 <= stride <= window:
        raise MedsregError(f"the stride must be between 1 and the window ({window}), got {stride}: a larger stride "
                           "would skip tokens")


def window_starts(length: int, window: int = WINDOW, stride: int = STRIDE) -> list[int]:
    """Where each window of a document of ``length`` tokens (EOS included) starts."""
    if length <= window:
        return [0]
    return [*range(0, length - window, stride), length - window]


def pack(ids: Sequence[int] | np.ndarray, window: int = WINDOW, stride: int = STRIDE, pad_id: int = 0
         ) -> tuple[np.ndarray, np.ndarray]:
    """The windows of one document's token ids (EOS already appended): ``(input_ids, attention_mask)``,
    each of shape ``(windows, window)``; padding (``pad_id``, mask 0) only ever fills the end of a short document."""
    check_window(window, stride)
    ids = np.asarray(ids, dtype=np.int64)
    length = ids.size
    if length == 0:
        raise MedsregError("a document without any token cannot be packed (EOS at least is appended)")
    if length <= window:
        windows = np.full((1, window), pad_id, dtype=np.int64)
        windows[0, :length] = ids
        mask = np.zeros((1, window), dtype=np.int8)
        mask[0, :length] = 1
        return windows, mask
    starts = np.asarray(window_starts(length, window, stride))
    windows = ids[starts[:, None] + np.arange(window)[None, :]]
    return windows, np.ones(windows.shape, dtype=np.int8)
