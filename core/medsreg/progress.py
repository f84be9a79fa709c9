"""Progress on a terminal: whether bars are shown at all (never with --quiet or in CI), and medsreg's tqdm bar."""

from __future__ import annotations

import os


def bars_hidden(quiet: bool) -> bool:
    """True with ``--quiet`` or in CI (``CI=true``), where a bar only fills the log."""
    return quiet or os.environ.get("CI", "").lower() in ("1", "true", "yes")


def progress_bar(description: str, total: int | None, quiet: bool, unit: str = " rows"):
    """A tqdm bar on a terminal; nothing with ``quiet``, in CI or when stderr is not a terminal. Also a context manager."""
    from tqdm.auto import tqdm

    # disable=None: tqdm shows the bar only when stderr is a terminal
    return tqdm(total=total, desc=description, unit=unit, disable=True if bars_hidden(quiet) else None, leave=False)
