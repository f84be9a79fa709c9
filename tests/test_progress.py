"""Progress (issue 14): plain lines where stderr is not a terminal (a batch job's log) at MEDSREG_PROGRESS_INTERVAL
with done/total, rate and ETA, and a closing line; tqdm's bar on a terminal; nothing with --quiet. End to end,
``medsreg eval`` and ``medsreg corpus run`` under CliRunner (stderr not a terminal) print such lines; without the
variable a short run prints none (the tests reading stderr see what they saw before)."""

from __future__ import annotations

import io
import re
import time
from types import SimpleNamespace

import pytest
from test_eval_openai import evaluate, plugins, server  # noqa: F401  (the stub OpenAI endpoint and the demo plugins)

from medsreg import progress
from medsreg.cli import cli
from medsreg.progress import INTERVAL_VARIABLE, PlainProgress, progress_bar, progress_interval

LINE = re.compile(r"^generating: [\d,]+/[\d,]+ rows \([\d,.]+/s, ETA \w+\)$")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """A clock the test moves: no real waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def not_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(INTERVAL_VARIABLE, raising=False)


def test_a_log_gets_a_line_per_interval_with_done_total_rate_and_eta_and_a_closing_line():
    stream, clock = io.StringIO(), Clock()
    with progress_bar("generating", 30_000, False, stream=stream, interval=30, clock=clock) as bar:
        assert isinstance(bar, PlainProgress)
        clock.now += 10
        bar.update(400)
        assert stream.getvalue() == ""  # the first line only after the first interval
        clock.now += 20
        bar.update(800)
        clock.now += 5
        bar.update(100)  # within the next interval: no line
        clock.now += 26
        bar.set_postfix_str("900 new tokens/s")
        bar.update(1_140)
        clock.now += 1
    lines = stream.getvalue().splitlines()
    assert lines == ["generating: 1,200/30,000 rows (40.0/s, ETA 12m00s)",
                     "generating: 2,440/30,000 rows (40.0/s, ETA 11m29s, 900 new tokens/s)",
                     "generating: 2,440/30,000 rows in 1m02s (39.4/s, 900 new tokens/s)"]
    assert LINE.match(lines[0])


def test_the_timer_writes_between_updates_and_slow_rates_read_per_minute():
    """One step longer than the interval (a batch of long prompts) still leaves lines in the log."""
    stream = io.StringIO()
    bar = progress_bar("filter stage", 4, False, unit=" tasks", stream=stream, interval=0.02)
    deadline = time.monotonic() + 5
    while stream.getvalue().count("\n") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3 and lines[0] == "filter stage: 0/4 tasks (none yet after 0s)", lines
    assert lines[-1].startswith("filter stage: 0/4 tasks in ")
    assert PlainProgress("steps", 100, " steps", clock=Clock(), timer=False).line(120.0).startswith("steps: 0/100")
    slow = PlainProgress("steps", 100, " steps", initial=10, clock=Clock(), timer=False)
    slow.update(2)
    assert slow.line(240.0) == "steps: 12/100 steps (30.0/h, ETA 2h56m)"  # the 10 steps before a resume not counted
    slow.update(8)
    assert slow.line(120.0) == "steps: 20/100 steps (5.0/min, ETA 16m00s)"


def test_a_short_phase_unknown_total_and_interval_zero():
    stream, clock = io.StringIO(), Clock()
    with progress_bar("reading training tasks", 3, False, unit=" tasks", stream=stream, interval=30, clock=clock) as bar:
        bar.update(3)
    assert stream.getvalue() == ""  # shorter than an interval: the log gets nothing
    with progress_bar("rendering", None, False, stream=stream, interval=0, clock=clock) as bar:
        clock.now += 2
        bar.update(10)
    assert stream.getvalue().splitlines() == ["rendering: 10 rows (5.0/s)", "rendering: 10 rows in 2s (5.0/s)"]


def test_a_terminal_gets_tqdm_quiet_gets_nothing_and_ci_gets_lines(monkeypatch):
    from tqdm import tqdm

    terminal = Terminal()
    with progress_bar("generating", 10, False, stream=terminal, interval=0) as bar:
        assert isinstance(bar, tqdm) and not isinstance(bar, PlainProgress) and not bar.disable
        bar.update(5)
    assert "generating" in terminal.getvalue() and "/10" in terminal.getvalue()
    for stream in (io.StringIO(), Terminal()):
        with progress_bar("generating", 10, True, stream=stream, interval=0) as bar:
            bar.update(10)
            bar.set_postfix_str("ignored")
        assert stream.getvalue() == ""
    monkeypatch.setenv("CI", "true")  # a CI log, even one that claims a terminal: lines, not a redrawn bar
    terminal = Terminal()
    with progress_bar("generating", 10, False, stream=terminal, interval=0, clock=Clock()) as bar:
        assert isinstance(bar, PlainProgress)


def test_the_interval_variable(monkeypatch):
    assert progress_interval() == 30
    for text, expected in (("0", 0), ("2.5", 2.5), ("off", None), ("-1", None), ("inf", None)):
        monkeypatch.setenv(INTERVAL_VARIABLE, text)
        assert progress_interval() == expected, text
    monkeypatch.setenv(INTERVAL_VARIABLE, "30s")
    stream = io.StringIO()
    monkeypatch.setattr(progress, "_WARNED", set())
    assert progress_interval(stream) == 30 and progress_interval(stream) == 30
    assert stream.getvalue() == "warning: MEDSREG_PROGRESS_INTERVAL='30s' is not a number of seconds; using 30\n"
    monkeypatch.setenv(INTERVAL_VARIABLE, "0")
    stream = io.StringIO()
    with progress_bar("writing", 2, False, stream=stream) as bar:  # the variable, read when no interval is given
        bar.update(1)
    assert stream.getvalue().startswith("writing: 1/2 rows (")


def test_the_trainer_callback_reports_steps_and_loss():
    pytest.importorskip("transformers")
    stream = io.StringIO()
    callback = progress.trainer_progress_callback(False, stream=stream)
    state = SimpleNamespace(is_world_process_zero=True, max_steps=4, global_step=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(INTERVAL_VARIABLE, "0")
        callback.on_train_begin(None, state, None)
    for step in range(1, 5):
        state.global_step = step
        callback.on_step_end(None, state, None)
        callback.on_log(None, state, None, logs={"loss": 2.0 / step})
    callback.on_train_end(None, state, None)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("training: 1/4 steps (") and "ETA" in lines[0]
    assert lines[-1].startswith("training: 4/4 steps in ") and lines[-1].endswith("loss 0.5)")
    assert progress.trainer_progress_callback(True) is None


def test_eval_in_a_log_prints_plain_progress_lines(runner, plugins, server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv(INTERVAL_VARIABLE, "0")
    result = evaluate(runner, plugins, server, tmp_path / "api", "--batch-size", "4")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert any(LINE.match(line) for line in lines), result.stderr
    assert any(re.match(r"^generating: (\d+)/\1 rows in \d+s \(", line) for line in lines), result.stderr
    assert any(line.startswith("preparing prompts: ") for line in lines)
    assert "generating" not in result.stdout  # progress goes to stderr, the results to stdout
    quiet = evaluate(runner, plugins, server, tmp_path / "quiet", "--batch-size", "4", "--quiet")
    assert quiet.exit_code == 0 and "generating:" not in quiet.stderr, quiet.stderr


def test_corpus_run_in_a_log_prints_its_stages(runner, tmp_path, monkeypatch):
    import numpy as np

    from medsreg.corpus import synthetic

    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (folder / f"{name}.txt").write_text(synthetic.document(rng, "en", 200, 0.2), encoding="utf-8")
    monkeypatch.setenv(INTERVAL_VARIABLE, "0")
    result = runner.invoke(cli, ["corpus", "run", "--input", str(folder), "--language", "en", "--no-filter",
                                 "--output", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert re.search(r"^filter stage: 2/2 tasks in \d+s", result.stderr, re.M), result.stderr
    assert re.search(r"^buckets stage: 14/14 tasks in \d+s", result.stderr, re.M), result.stderr
