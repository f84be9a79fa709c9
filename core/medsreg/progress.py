"""Progress of the long phases (build, eval, corpus, train): a tqdm bar on a terminal, plain lines elsewhere, nothing
with --quiet.

Why plain lines: a bar is drawn only on a terminal, so a batch job (stderr sent to a log file) saw nothing at all for
the whole of a long evaluation. Where stderr is not a terminal (or in CI, where a redrawn bar only fills the log),
``progress_bar`` gives a ``PlainProgress`` instead: one line every ``MEDSREG_PROGRESS_INTERVAL`` seconds (30 by
default), such as ``generating: 1,200/30,000 rows (40.0/s, ETA 12m00s)``, and a last line when the phase ends.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

INTERVAL_VARIABLE = "MEDSREG_PROGRESS_INTERVAL"
DEFAULT_INTERVAL = 30.0
"""Seconds between plain progress lines: often enough to see a job is alive, rarely enough to keep its log short."""
_WARNED: set[str] = set()


def bars_hidden(quiet: bool) -> bool:
    """True with ``--quiet`` or in CI (``CI=true``), where a bar only fills the log."""
    return quiet or os.environ.get("CI", "").lower() in ("1", "true", "yes")


def draws_bars(quiet: bool, stream: TextIO | None = None) -> bool:
    """True where a tqdm bar is drawn: not quiet, not in CI, and ``stream`` (stderr by default) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream: no terminal to redraw a bar on
        terminal = False
    return terminal and not bars_hidden(quiet)


def progress_interval(stream: TextIO | None = None) -> float | None:
    """Seconds between plain lines: ``MEDSREG_PROGRESS_INTERVAL`` (0: at every step; ``off`` or negative: none),
    else 30. A value that is not a number falls back to 30 with a warning: a typo must not stop a long run."""
    text = os.environ.get(INTERVAL_VARIABLE, "").strip()
    if not text:
        return DEFAULT_INTERVAL
    if text.lower() in ("off", "none", "no", "false"):
        return None
    try:
        value = float(text)
        if math.isnan(value):
            raise ValueError(text)
    except ValueError:
        if text not in _WARNED:  # once per value, not once per phase
            _WARNED.add(text)
            print(f"warning: {INTERVAL_VARIABLE}={text!r} is not a number of seconds; using {DEFAULT_INTERVAL:g}",
                  file=sys.stderr if stream is None else stream)
        return DEFAULT_INTERVAL
    return None if value < 0 or math.isinf(value) else value


def progress_bar(description: str, total: int | None, quiet: bool, unit: str = " rows", *, initial: int = 0,
                 stream: TextIO | None = None, interval: float | None = None, clock: Callable[[], float] = time.monotonic):
    """A tqdm bar on a terminal; plain lines (``PlainProgress``) when stderr is not a terminal or in CI; nothing with
    ``quiet``. Either way an object with tqdm's ``update``, ``set_postfix_str`` and ``close``, also a context manager.

    ``initial``: done before this run (a resumed one), not counted in the rate. ``stream``, ``interval`` (default:
    ``progress_interval()``) and ``clock`` are for tests and for callers that write elsewhere than stderr.
    """
    stream = sys.stderr if stream is None else stream
    if not quiet and not draws_bars(quiet, stream):
        # the timer sleeps in real seconds, so only with the real clock; a test's fake clock moves lines through update
        return PlainProgress(description, total, unit, interval=progress_interval(stream) if interval is None else interval,
                             stream=stream, clock=clock, initial=initial, timer=clock is time.monotonic)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit=unit, initial=initial, disable=quiet, leave=False, file=stream)


class PlainProgress:
    """Progress as lines for a log: the part of tqdm's interface medsreg uses (``update``, ``set_postfix_str``,
    ``close``, ``with``), each line saying what, how many of how many, the rate and the time left.

    A line is written when ``update`` finds the interval passed and, between updates, by a timer thread: one step may
    take longer than the interval (a batch of long prompts), and the log should still show the job is alive. The
    closing line comes only when some line came before or the phase lasted an interval: a phase of a second adds
    nothing to a log. ``interval`` None: no line at all; 0: a line at every update (and no timer).
    """

    def __init__(self, description: str, total: int | None, unit: str = " rows", *, interval: float | None = DEFAULT_INTERVAL,
                 stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic, initial: int = 0,
                 timer: bool = True):
        self.description = description
        self.total = total
        self.unit = unit.strip()
        self.n = initial
        self.postfix = ""
        self.lines = 0
        """Lines written so far."""
        self._initial = initial  # done before this run (a resumed training): not counted in the rate
        self._interval = interval
        self._stream = sys.stderr if stream is None else stream
        self._clock = clock
        self._start = clock()
        self._due = self._start + (interval or 0.0)
        self._closed = False
        self._lock = threading.Lock()  # updates may come from several threads (a reader thread, a timer)
        self._stop = threading.Event()
        self._timer = None
        if timer and interval:
            self._timer = threading.Thread(target=self._tick, name=f"progress: {description}", daemon=True)
            self._timer.start()

    def update(self, n: int = 1) -> None:
        with self._lock:
            self.n += n
            self._write_if_due()

    def set_postfix_str(self, text: str = "", refresh: bool = True) -> None:  # noqa: ARG002 - tqdm's signature
        """Extra detail for the next lines (eval's new tokens per second), as tqdm shows it after the bar."""
        self.postfix = text

    def close(self) -> None:
        """Stop the timer and write the closing line (if any line came before, or the phase lasted an interval)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            elapsed = self._clock() - self._start
            if self._interval is not None and (self.lines or elapsed >= self._interval):
                self._write(self.final_line(elapsed))
        if self._timer is not None and self._timer is not threading.current_thread():
            self._timer.join(timeout=1.0)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def line(self, elapsed: float) -> str:
        """``generating: 1,200/30,000 rows (40.0/s, ETA 12m00s, 900 new tokens/s)``."""
        done = self.n - self._initial
        if done <= 0 or elapsed <= 0:
            details = [f"none yet after {_duration(elapsed)}" if done <= 0 else _duration(elapsed)]
        else:
            rate = done / elapsed
            details = [_rate(rate)]
            if self.total is not None:
                details.append(f"ETA {_duration(max(self.total - self.n, 0) / rate)}")
        return f"{self.description}: {self._count()} ({', '.join(details + ([self.postfix] if self.postfix else []))})"

    def final_line(self, elapsed: float) -> str:
        """``generating: 30,000/30,000 rows in 12m30s (40.0/s)``."""
        done = self.n - self._initial
        details = [_rate(done / elapsed)] if done > 0 and elapsed > 0 else []
        details += [self.postfix] if self.postfix else []
        return f"{self.description}: {self._count()} in {_duration(elapsed)}" + (f" ({', '.join(details)})" if details else "")

    def _count(self) -> str:
        of = "" if self.total is None else f"/{self.total:,}"
        return f"{self.n:,}{of}" + (f" {self.unit}" if self.unit else "")

    def _tick(self) -> None:
        """The timer: wake when the next line is due (not before), write it if no update did meanwhile."""
        while True:
            with self._lock:
                wait = max(self._due - self._clock(), 0.05)
            if self._stop.wait(wait):
                return
            with self._lock:
                self._write_if_due()

    def _write_if_due(self) -> None:  # the lock is held
        if self._interval is None or self._closed:
            return
        now = self._clock()
        if now >= self._due:
            self._write(self.line(now - self._start))
            self._due = now + self._interval

    def _write(self, text: str) -> None:
        self.lines += 1
        try:
            self._stream.write(text + "\n")
            self._stream.flush()
        except (OSError, ValueError):  # a closed log (the job's output went away): progress is not worth a crash
            pass


def _duration(seconds: float) -> str:
    """``45s``, ``12m00s``, ``3h05m``: short and fixed in form, for logs read by people."""
    seconds = max(int(round(seconds)), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _rate(per_second: float) -> str:
    """Per second, or per minute or hour when slower than one a second (corpus tasks, training steps)."""
    if per_second >= 1:
        return f"{per_second:,.1f}/s"
    if per_second * 60 >= 1:
        return f"{per_second * 60:,.1f}/min"
    return f"{per_second * 3600:,.1f}/h"


def trainer_progress_callback(quiet: bool, description: str = "training", *, stream: TextIO | None = None) -> Any:
    """A ``transformers.TrainerCallback`` that reports the optimizer steps through ``progress_bar`` (plain lines in a
    log, a bar on a terminal), with the last logged loss; None with ``quiet``.

    For ``Trainer(..., callbacks=[...])`` when the Trainer's own bar is off (``disable_tqdm=True``). transformers is
    imported here, not with this module: build and eval do not need it. Only the main process reports (one line per
    step count, not one per GPU); a resumed run starts at its checkpoint's step and its rate counts the new steps only.
    """
    if quiet:
        return None
    from transformers import TrainerCallback

    class PlainProgressCallback(TrainerCallback):
        def __init__(self) -> None:
            self.bar: Any = None

        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001 - Trainer's callback signature
            if state.is_world_process_zero and self.bar is None:  # a resumed run starts at its checkpoint's step
                self.bar = progress_bar(description, state.max_steps or None, quiet, unit=" steps",
                                        initial=state.global_step, stream=stream)

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001
            if self.bar is not None and state.global_step > self.bar.n:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):  # noqa: ANN001
            if self.bar is not None and logs and "loss" in logs:
                self.bar.set_postfix_str(f"loss {logs['loss']:.4g}")

        def on_train_end(self, args, state, control, **kwargs):  # noqa: ANN001
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return PlainProgressCallback()
