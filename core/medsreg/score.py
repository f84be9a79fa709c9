"""``medsreg score``: predictions in, per-task / pooled-group / per-category scores out, as the leaderboard reports them.

* each task is scored with its metrics over all its predictions (corpus-level metrics, such as
  micro F1, need them all at once);
* a pooling group (MedS-Bench's CT and MRI summarization tasks) is also scored over the union
  of its tasks' predictions;
* a category's score is the mean of its tasks that count in the average (``average`` in the
  suite), per metric; tasks left out of the average still appear on their own and pooled.

A category whose suite tasks are not all predicted (a partial suite: credentialed test sets,
unconfigured sources; ``Predictions.missing``) is marked partial in every rendering: its values
carry ``PARTIAL_MARK`` and a footnote names the missing tasks (text, Markdown), its CSV row says
``partial`` and lists them, its JSON row has ``"partial": true, "missing": [...]``. Its average is
over the tasks it has, and is never shown as if it were the category's.

Renderings: a text table, Markdown, CSV, or the JSON document (``RESULTS_FORMAT``) that
``medsreg leaderboard`` reads. The JSON says what was scored, so that a leaderboard never
compares results of different suites or metric modes, and tells two runs of one model apart:

* ``model``, ``suite``: as the predictions name them (a submission CSV: the installed suite that
  holds its tasks); ``compat``: ``official`` or ``fixed``, how it was scored;
* ``run``: ``name`` (the eval run folder, else the predictions file's folder and name),
  ``config_sha256`` (the sha256 of eval's generation settings, from the run folder's config.json
  or the predictions lines; null for a CSV outside an eval run folder), ``evaluated`` (the eval's
  date where config.json records one, else null), ``scored`` (the UTC date of scoring) and
  ``date``: ``evaluated`` where known, else ``scored``.

The text rendering shows them in its title, the Markdown one in a line below its table.

The JSON also records ``predictions``: the resolved path of the predictions file scored (where the command line knows
it), so that ``medsreg leaderboard`` can build its per-task pages (prompts, references, outputs) from the results alone.

Per-sample scores (``medsreg score --per-sample``; ``score_many(..., per_sample=True)``): each task row of the JSON gets
``"samples": [{"id": instance_id, "scores": {metric: value}}, ...]``, one entry per prediction in file order. An
instance's value is each of the task's metrics computed on that instance alone, x100 like the task's scores:

* accuracies: 100 (correct) or 0 (wrong): their task score is exactly the mean of these;
* entity F1 (micro): the instance's own F1 of its entity set; the task's micro F1 is not their mean;
* BLEU-1 / ROUGE-L: the instance's sentence-level BLEU-1 / ROUGE-L F (the corpus computation on that one instance);
  the task's corpus BLEU-1 is not their mean;
* HoC macro precision / recall / F1: the macro figures over that one instance, indicative only;
* pooled groups get none (their instances are their tasks').

Under ``--compat official`` an instance the official script crashes on is scored as ``fixed``. Per-sample scoring
computes every metric once more per instance: it costs about as much again as the task scores (more for BLEU/ROUGE).

Confidence intervals (``medsreg score --ci [--seed N]``; ``score_many(..., ci=True, seed=N)``): every task, pooled group
and category score gets a 95% percentile bootstrap interval over ``BOOTSTRAP_RESAMPLES`` (1,000) resamples of its
instances, seeded (a task's generator is seeded by ``seed`` and the task's name, so that an interval depends neither on
the worker that computed it nor on the other files scored with it):

* a task (a pooled group) draws its n instances with replacement 1,000 times and recomputes each metric on every draw;
* a metric that is a mean of per-instance values (``MEAN_METRICS``: the accuracies, and medsreg's BLEU-1 / ROUGE-L,
  which are means over all instances) is resampled exactly and fast: its per-instance values are computed once and the
  1,000 means taken at once with numpy. The shortcut is checked: where the mean of the per-instance values is not the
  task's score (``--compat official`` BLEU-1 / ROUGE-L leave some rows out of their mean; a row the official script
  crashes on), the metric is recomputed as any other;
* any other metric (entity micro F1, the hallmarks' macro figures, a plugin's) is recomputed with its own code on each of
  the 1,000 resampled instance lists: exact, and costing 1,000 times the metric's computation on the task. For
  the built-in corpus metrics that is set matching on small tasks (a few seconds at most); a costly corpus metric of a
  plugin on a large task makes ``--ci`` slow in proportion, never inexact: the number of resamples is never reduced.
  Measured: ``--compat official`` BLEU-1 / ROUGE-L (their mean leaves rows out, so they are recomputed, official
  tokenization included) take minutes for the 11k-row synthetic MedS-Bench set (about 3 rows/s), where ``fixed`` takes
  9 s with ``--ci`` against 6 s without;
* a category resamples within each of its averaged tasks (the same 1,000 draws as their own intervals) and averages
  the tasks' resampled scores, draw by draw: its interval reflects the instances' variation, not the tasks' spread;
* the interval is the 2.5th and 97.5th percentiles of the resampled scores, widened where needed to hold the point
  estimate (a skewed metric can put it just outside).

The JSON row gets ``"ci95": {metric: [low, high]}`` and the document ``"bootstrap": {"resamples", "seed", "level"}``;
the text and Markdown cells read ``score [low, high]``; the CSV gets ``<metric> ci95 low`` / ``high`` columns. The
intervals are opt-in: with 1,000 recomputations of the corpus metrics they would slow every ``score``.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import Any

from medsreg.errors import MedsregError
from medsreg.metrics.official import OfficialScriptFails
from medsreg.models import Metric, MetricContext
from medsreg.predictions import PLUGINS_DIR_HINT, Prediction, Predictions, Run
from medsreg.progress import progress_bar
from medsreg.robustness import (
    category_spread,
    instruction_spread,
    option_robustness,
    split_instances,
)
from medsreg.vocabulary import did_you_mean

RESULTS_FORMAT = "medsreg-results/1"
BOOTSTRAP_RESAMPLES = 1_000
"""How many resamples of its instances a task's confidence interval draws (never fewer)."""
MEAN_METRICS = frozenset({"mcqa_accuracy", "mmedbench_accuracy", "diagnosis_accuracy", "treatment_accuracy",
                          "extraction_accuracy", "outcome_accuracy", "verification_accuracy", "nli_accuracy",
                          "bleu1", "rougeL"})
"""Metrics whose task score is the mean of their per-instance values (checked on each task before it is relied on)."""
PARTIAL_MARK = "†"
"""Follows every value of a partial category (and the leaderboard's cells of one); a footnote says what it lacks."""


@dataclass
class Row:
    """One line of the results: a task, a pooled group or a category."""

    kind: str
    """"task", "group" or "category"."""
    category: str
    name: str
    count: int
    scores: dict[str, float] = field(default_factory=dict)
    note: str = ""
    task_id: str | None = None
    """The MedS-Ins id ("task57") of a task that has one, as the submission files and official figures name it."""
    compat: str | None = None
    """Set where a row is scored in another mode than the results' (the official script crashes: scored as fixed)."""
    missing: list[str] = field(default_factory=list)
    """A category's suite tasks without a prediction: non-empty makes the category partial."""
    tasks: int | None = None
    """A category's tasks with predictions, and ``of`` its tasks in the suite (where known)."""
    of: int | None = None
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Metric -> its 95% bootstrap interval (low, high), with --ci."""
    spread: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Metric -> its spread over the instructions of an ``eval --instructions`` run (``robustness.instruction_spread``;
    a category's: ``robustness.category_spread``)."""
    options: dict[str, Any] | None = None
    """An MCQA task's (a category's: the mean of its tasks') accuracy per option order and consistency, from an
    ``eval --shuffle-options`` run (``robustness.option_robustness``)."""
    split: dict[str, Any] | None = None
    """Clean vs dirty: {"clean": {"count", "scores"}, "dirty": {"count", "scores"}, "dirty_share"} when eval recorded
    the model's training data."""

    @property
    def partial(self) -> bool:
        return bool(self.missing)

    def partial_text(self) -> str:
        """'partial: 2 of 5 tasks; missing a, b' ('' for a complete row)."""
        if not self.missing:
            return ""
        return f"partial: {self.tasks} of {self.of} tasks; missing {', '.join(self.missing)}"


@dataclass
class Results:
    rows: list[Row]
    compat: str
    model: str | None = None
    suite: str | None = None
    notes: list[str] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    """Every suite task without a prediction ({"task", "category", "why"}), its category scored or not."""
    complete: bool | None = None
    """Whether every task of the suite has predictions (None: unknown, the suite is not installed and eval left no
    record beside the file)."""
    run: Run = field(default_factory=Run)
    predictions: str | None = None
    """The resolved path of the predictions file scored, where known (the leaderboard's task pages read it)."""
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Task -> [{"id", "scores"}] per instance, with --per-sample (empty otherwise)."""
    scored: str = ""
    """The UTC date of scoring (ISO)."""
    seed: int | None = None
    """The bootstrap's seed, where the rows carry intervals (--ci); None otherwise."""
    trained_on: dict[str, Any] | None = None
    """The training data the clean / dirty split is against (``contamination.json``'s ``trained_on``), or None."""

    @property
    def date(self) -> str:
        """The eval's date where its config.json records one, else the date of scoring."""
        return self.run.date or self.scored

    def run_json(self) -> dict[str, Any]:
        return {"name": self.run.name, "config_sha256": self.run.config_sha256, "date": self.date,
                "evaluated": self.run.date, "scored": self.scored}

    def describe(self) -> str:
        """'gpt on meds-bench/meds-bench (metrics: fixed); run eval-a, config 1a2b3c4d5e6f, evaluated 2025-01-02'."""
        run = ", ".join(filter(None, [f"run {self.run.name}" if self.run.name else "",
                                      f"config {self.run.config_sha256[:12]}" if self.run.config_sha256 else "",
                                      f"evaluated {self.run.date}" if self.run.date else f"scored {self.scored}"]))
        return f"{self.model or 'predictions'} on {self.suite or 'the suite'} (metrics: {self.compat}); {run}"

    def as_json(self) -> dict[str, Any]:
        return {"format": RESULTS_FORMAT, "model": self.model, "suite": self.suite, "compat": self.compat,
                "run": self.run_json(), "complete": self.complete,
                "rows": [{"kind": row.kind, "category": row.category, "name": row.name, "count": row.count,
                          "scores": {key: round(value, 4) for key, value in row.scores.items()},
                          **({"task_id": row.task_id} if row.task_id else {}),
                          **({"compat": row.compat} if row.compat else {}),
                          **({"partial": True, "missing": row.missing, "tasks": row.tasks, "of": row.of}
                             if row.kind == "category" and row.partial else {}),
                          **({"partial": False} if row.kind == "category" and not row.partial and self.complete is not None
                             else {}),
                          **({"ci95": {key: [round(low, 4), round(high, 4)] for key, (low, high) in row.ci.items()}}
                             if row.ci else {}),
                          **({"instructions": _rounded(row.spread)} if row.spread else {}),
                          **({"options": _rounded(row.options)} if row.options else {}),
                          **({"contamination": _rounded(row.split)} if row.split else {}),
                          **({"note": row.note} if row.note else {}),
                          **({"samples": self.samples[row.name]} if row.kind == "task" and row.name in self.samples
                             else {})} for row in self.rows],
                "missing": self.missing, "notes": self.notes,
                **({"predictions": self.predictions} if self.predictions else {}),
                **({"per_sample": True} if self.samples else {}),
                **({"bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": self.seed, "level": 95}}
                   if self.seed is not None else {}),
                **({"trained_on": self.trained_on} if self.trained_on else {})}


def _rounded(value: Any) -> Any:
    """``value`` with every float rounded to 4 places, as the JSON's scores are."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_rounded(item) for item in value]
    return value


Unit = tuple[int, str, list[Prediction]]
"""(file index, task or group name, its predictions): what one metric computation scores."""
Outcome = tuple[dict[str, float], "tuple[str, list[tuple[int, str]]] | None", "list[dict[str, Any]] | None",
                "dict[str, Any]"]
"""(scores, None, samples, resampled) or, where the official script crashes, (fixed scores, (script, [(row index,
reason)]), samples, resampled); samples: the per-instance scores of a task with --per-sample, else None; resampled:
metric -> its BOOTSTRAP_RESAMPLES resampled scores (a numpy array) with --ci, else empty."""


def score(predictions: Predictions, metrics: dict[str, Metric], *, official: bool = False,
          workers: int | None = None, per_sample: bool = False, ci: bool = False, seed: int = 0) -> Results:
    """Score every task, pooled group and category of ``predictions`` with the named ``metrics``."""
    return score_many([predictions], metrics, official=official, workers=workers, per_sample=per_sample, ci=ci,
                      seed=seed)[0]


def score_many(runs: list[Predictions], metrics: dict[str, Metric], *, official: bool = False,
               workers: int | None = None, per_sample: bool = False, ci: bool = False,
               seed: int = 0) -> list[Results]:
    """``score`` of several prediction files (several models) in one pass: the tasks are spread over ``workers``
    processes (default: the CPUs), each task of every file in the same process so that a reference shared by the
    files is tokenized once."""
    layouts = [_Layout(run, metrics) for run in runs]
    units: list[Unit] = [(index, name, rows) for index, layout in enumerate(layouts)
                         for name, rows in [*layout.by_task.items(), *layout.groups.items(), *layout.subsets.items()]]
    outcomes: list[dict[str, Outcome]] = [{} for _ in runs]
    bootstrap = seed if ci else None
    for (index, name, _), outcome in zip(units, _compute_all(units, metrics, official, workers, per_sample, bootstrap)):
        outcomes[index][name] = outcome
    scored = datetime.now(timezone.utc).date().isoformat()  # one date for every file scored together
    return [_assemble(run, layout, found, official, scored, bootstrap, metrics)
            for run, layout, found in zip(runs, layouts, outcomes)]


SUBSET = "\x1f"
"""Joins a task's name and a part of its instances ("clean", "instruction 2") into the name of a unit scored on its
own: no task name holds it."""


def subset_name(task: str, part: str) -> str:
    return f"{task}{SUBSET}{part}"


class _Layout:
    """One file's predictions by task, its tasks by category, and its pooled groups: what is scored."""

    def __init__(self, predictions: Predictions, metrics: dict[str, Metric]):
        self.by_task: dict[str, list[Prediction]] = defaultdict(list)
        for prediction in predictions.rows:
            self.by_task[prediction.task].append(prediction)
        unknown = sorted({name for rows in self.by_task.values() for name in rows[0].metrics if name not in metrics})
        if unknown:
            close = did_you_mean(unknown[0], sorted(metrics))
            # a close name is a typo; none at all may be a suite whose plugin folder (with its metrics) was not passed
            hint = "" if close else f"; {PLUGINS_DIR_HINT}"
            raise MedsregError(f"the predictions name metrics no installed plugin provides: {', '.join(unknown)}{hint}."
                               f"{close} 'medsreg plugins' lists who provides what")
        self.categories: dict[str, list[str]] = defaultdict(list)
        self.groups: dict[str, list[Prediction]] = defaultdict(list)
        for task, rows in self.by_task.items():
            self.categories[rows[0].category].append(task)
            if rows[0].group:
                self.groups[rows[0].group].extend(rows)
        # the parts of a task scored on their own, with neither bootstrap nor per-sample scores
        self.subsets: dict[str, list[Prediction]] = defaultdict(list)
        self.instructions: dict[str, dict[int, int | None]] = defaultdict(dict)
        """Task -> {instruction index: its index among the task's instructions} of an ``eval --instructions`` run."""
        self.permuted: dict[str, list[Prediction]] = defaultdict(list)
        """Task -> its lines under the suite's instruction, every option order, of an ``eval --shuffle-options`` run."""
        self.orphans = 0
        for prediction in predictions.variants:
            if prediction.task not in self.by_task:  # an unfinished run: nothing to compare it with
                self.orphans += 1
            elif prediction.permutation:
                if not prediction.instruction_index:
                    self.permuted[prediction.task].append(prediction)
            else:
                self.subsets[subset_name(prediction.task, f"instruction {prediction.instruction_index}")].append(prediction)
                self.instructions[prediction.task][prediction.instruction_index] = prediction.instruction
        for task in self.instructions:
            self.instructions[task][0] = next((row.instruction for row in self.by_task[task]
                                               if row.instruction is not None), None)
        for task in self.permuted:
            self.permuted[task] = [*self.by_task[task], *self.permuted[task]]
        self.dirty: dict[str, set[str]] | None = None
        """Task -> the ids of its instances that overlap the model's training data, where eval recorded it."""
        if predictions.contamination is not None:
            self.dirty = {task: set(ids) for task, ids in predictions.contamination.get("dirty", {}).items()}
            for task, rows in self.by_task.items():
                clean, dirty = split_instances(rows, self.dirty.get(task, set()))
                for part, found in (("clean", clean), ("dirty", dirty)):
                    if found and len(found) < len(rows):
                        self.subsets[subset_name(task, part)] = found


def _compute(unit: Unit, metrics: dict[str, Metric], official: bool, per_sample: bool = False,
             seed: int | None = None) -> Outcome:
    _, name, rows = unit
    scores: dict[str, float] = {}
    crash = None
    for metric in rows[0].metrics:
        try:
            scores.update(metrics[metric].compute(*_arguments(rows, official)))  # type: ignore[misc]
        except OfficialScriptFails as failure:
            scores.update(metrics[metric].compute(*_arguments(rows, False)))  # type: ignore[misc]
            crash = crash or (failure.script, [(item.index, item.reason) for item in failure.failures])
    samples = None
    if per_sample and rows and name == rows[0].task:  # a task, not a pooled group
        samples = [{"id": row.instance_id, "scores": _sample_scores(row, metrics, official)} for row in rows]
    resampled = _bootstrap(name, rows, metrics, official, scores, seed) if seed is not None and rows and \
        SUBSET not in name else {}
    return scores, crash, samples, resampled


def _draws(name: str, count: int, seed: int) -> Any:
    """The BOOTSTRAP_RESAMPLES x count instance indices a task's bootstrap draws, from ``seed`` and the task's name."""
    import zlib

    import numpy as np

    generator = np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
    return generator.integers(0, count, size=(BOOTSTRAP_RESAMPLES, count))


def _bootstrap(name: str, rows: list[Prediction], metrics: dict[str, Metric], official: bool, scores: dict[str, float],
               seed: int) -> dict[str, Any]:
    """Metric -> its BOOTSTRAP_RESAMPLES scores on resamples of ``rows`` (see the module's docstring)."""
    import numpy as np

    draws = _draws(name, len(rows), seed)
    resampled: dict[str, Any] = {}
    for metric in rows[0].metrics:
        if metric in MEAN_METRICS and metric in scores:
            values = [_instance_scores(row, metrics[metric], official) for row in rows]
            exact = {metric: np.array([value.get(metric, np.nan) for value in values], dtype=float)}
            if all(not np.isnan(found).any() and abs(found.mean() - scores[key]) < 1e-6 for key, found in exact.items()):
                resampled.update({key: found[draws].mean(axis=1) for key, found in exact.items()})
                continue
        found_by_key: dict[str, list[float]] = defaultdict(list)
        for draw in draws:
            chosen = [rows[index] for index in draw]
            try:
                values = metrics[metric].compute(*_arguments(chosen, official))  # type: ignore[misc]
            except OfficialScriptFails:
                values = metrics[metric].compute(*_arguments(chosen, False))  # type: ignore[misc]
            for key, value in values.items():
                found_by_key[key].append(value)
        resampled.update({key: np.array(found) for key, found in found_by_key.items() if key not in resampled})
    return resampled


def _instance_scores(row: Prediction, metric: Metric, official: bool) -> dict[str, float]:
    try:
        return metric.compute(*_arguments([row], official))  # type: ignore[misc]
    except OfficialScriptFails:
        return metric.compute(*_arguments([row], False))  # type: ignore[misc]


def _interval(point: float, resampled: Any) -> tuple[float, float]:
    """The 95% percentile interval of ``resampled``, widened to hold ``point``."""
    import numpy as np

    low, high = (float(value) for value in np.percentile(resampled, [2.5, 97.5]))
    return min(low, point), max(high, point)


def _sample_scores(row: Prediction, metrics: dict[str, Metric], official: bool) -> dict[str, float]:
    """Each of the row's metrics computed on the row alone (x100, rounded as the JSON rounds)."""
    found: dict[str, float] = {}
    for metric in row.metrics:
        try:
            values = metrics[metric].compute(*_arguments([row], official))  # type: ignore[misc]
        except OfficialScriptFails:
            values = metrics[metric].compute(*_arguments([row], False))  # type: ignore[misc]
        found.update({key: round(value, 4) for key, value in values.items()})
    return found


PARALLEL_ROWS = 2_000
"""From this many predictions, the tasks are scored in forked worker processes."""
_JOB: tuple[list[Unit], dict[str, Metric], bool, bool, int | None] | None = None
"""The work the forked workers share (inherited at fork: nothing is pickled on the way in)."""


def _compute_group(positions: list[int]) -> list[tuple[int, Outcome]]:
    assert _JOB is not None
    units, metrics, official, per_sample, seed = _JOB
    return [(position, _compute(units[position], metrics, official, per_sample, seed)) for position in positions]


def _compute_all(units: list[Unit], metrics: dict[str, Metric], official: bool, workers: int | None,
                 per_sample: bool = False, seed: int | None = None) -> list[Outcome]:
    from medsreg.metrics.generation import lines_remembered

    with lines_remembered():  # a pooled group's or a part's lines are scored once, with their task
        return _compute_units(units, metrics, official, workers, per_sample, seed)


def _compute_units(units: list[Unit], metrics: dict[str, Metric], official: bool, workers: int | None,
                   per_sample: bool, seed: int | None) -> list[Outcome]:
    import multiprocessing
    import os

    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(workers or available, 8)
    total = sum(len(rows) for _, _, rows in units)
    if workers < 2 or total < PARALLEL_ROWS or "fork" not in multiprocessing.get_all_start_methods():
        with progress_bar("scoring", total, quiet=False) as bar:  # a plain line now and then in a batch job's log
            outcomes = []
            for unit in units:
                outcomes.append(_compute(unit, metrics, official, per_sample, seed))
                bar.update(len(unit[2]))
            return outcomes
    work = _jobs(units)  # each worker loads the tokenizers of its own tasks, in parallel with the others
    global _JOB
    _JOB = (units, metrics, official, per_sample, seed)
    try:
        outcomes: list[Outcome | None] = [None] * len(units)
        with multiprocessing.get_context("fork").Pool(min(workers, len(work))) as pool, \
                progress_bar("scoring", total, quiet=False) as bar:
            for done in pool.imap_unordered(_compute_group, work):
                for position, outcome in done:
                    outcomes[position] = outcome
                    bar.update(len(units[position][2]))
        return outcomes  # type: ignore[return-value]
    finally:
        _JOB = None


def _jobs(units: list[Unit]) -> list[list[int]]:
    """The units' positions in one job per task, costliest first: every file's rows of a task go to one worker (a
    reference the files share is tokenized once), and so do the pooled groups and the parts that hold the task's
    lines (they reuse its lines' scores)."""
    home: dict[str, str] = {}

    def root(name: str) -> str:
        while home.get(name, name) != name:
            name = home[name]
        return name

    for _, name, rows in units:
        for task in {row.task for row in rows} | {name.split(SUBSET)[0]}:
            if root(task) != root(name):
                home[root(task)] = root(name)
    jobs: dict[str, list[int]] = defaultdict(list)
    for position, (_, name, _) in enumerate(units):
        jobs[root(name)].append(position)

    def cost(job: list[int]) -> int:
        rows = [*{id(row): row for position in job for row in units[position][2]}.values()]
        generated = [row for row in rows if GENERATION & set(row.metrics)]
        return (len(rows) + sum(len(row.output) * TOKENIZER_COST.get(row.language, 1) for row in generated)
                + sum(TOKENIZER_LOAD.get(language, 0) for language in {row.language for row in generated}))

    return sorted(jobs.values(), key=cost, reverse=True)


GENERATION = frozenset({"bleu1", "rougeL"})
TOKENIZER_COST = {"ja": 25, "zh": 4}
"""Time per character of an output's official tokens, relative to Punkt + nltk's (janome is the slowest by far;
measured on bench/score.py's workload B): the costliest jobs start first, so that none is left running alone."""
TOKENIZER_LOAD = {"zh": 800_000}
"""The time a worker takes to load the language's tokenizer (jieba's dictionary: about 1 s), in the same unit."""


def _assemble(predictions: Predictions, layout: _Layout, outcomes: dict[str, Outcome], official: bool,
              scored: str, seed: int | None = None, metrics: dict[str, Metric] | None = None) -> Results:
    by_task, groups = layout.by_task, layout.groups
    notes = list(predictions.notes)
    partial = predictions.partial_categories()
    result_rows: list[Row] = []
    for category, tasks in layout.categories.items():
        task_rows = [Row("task", category, task, len(by_task[task]), outcomes[task][0],
                         task_id=_task_id(by_task[task][0])) for task in tasks]
        group_rows = [Row("group", category, group, len(rows), outcomes[group][0],
                          note=f"{len({r.task for r in rows})} tasks pooled")
                      for group, rows in groups.items() if rows[0].category == category]
        averaged = [row for row in task_rows if by_task[row.name][0].average] or group_rows
        mean = _mean_scores([row.scores for row in averaged])
        names = list(mean)
        ci: dict[str, tuple[float, float]] = {}
        if seed is not None:  # each draw: the mean of the averaged tasks' scores on their own resamples
            for key in names:
                draws = [outcomes[row.name][3][key] for row in averaged if key in outcomes[row.name][3]]
                if draws:
                    ci[key] = _interval(mean[key], sum(draws) / len(draws))
            for row in [*task_rows, *group_rows]:
                row.ci = {key: _interval(row.scores[key], found) for key, found in outcomes[row.name][3].items()
                          if key in row.scores}
        _robustness(task_rows, layout, outcomes, official, metrics or {})
        row = Row("category", category, category, sum(row.count for row in task_rows), mean, ci=ci,
                  note=f"mean of {len(averaged)} {'tasks' if averaged is not group_rows else 'groups'}",
                  missing=partial.get(category, []), tasks=len(tasks))
        _category_robustness(row, task_rows if averaged is group_rows else averaged)
        row.of = max(predictions.category_tasks.get(category, 0), len(tasks) + len(row.missing))
        if row.partial:
            row.note = f"{row.note}; {row.partial_text()}"
        result_rows.append(row)
        for row in [*task_rows, *group_rows]:
            crash = outcomes[row.name][1]
            if crash is not None:
                script, failures = crash
                row.compat = "fixed"
                row.note = "; ".join(filter(None, [row.note, f"scored as fixed: the official {script} crashes on it"]))
                rows = by_task[row.name] if row.kind == "task" else groups[row.name]
                notes.extend(_failure_notes(row.name, script, failures, rows))
        result_rows.extend(task_rows)
        result_rows.extend(group_rows)
    unscored: dict[str, int] = {}
    for entry in predictions.missing:
        if entry["category"] not in layout.categories:
            unscored[entry["category"]] = unscored.get(entry["category"], 0) + 1
    if unscored:
        notes.append("categories not scored, none of their tasks predicted: "
                     + ", ".join(f"{category} ({count} task{'s' if count > 1 else ''})" for category, count in unscored.items())
                     + " (--format json lists their tasks under \"missing\", with why)")
    if layout.orphans:
        notes.append(f"{layout.orphans:,} predictions under other option orders or instructions are of tasks without a "
                     "prediction of the suite's own prompt (an unfinished eval?): they are left out")
    trained_on = (predictions.contamination or {}).get("trained_on")
    if layout.dirty is None:
        notes.append("clean vs dirty: no training data is recorded for this run, so each task has one score (give "
                     "'medsreg eval' --trained-on BUILD, or evaluate a model 'medsreg train' wrote, to split it)")
    return Results(rows=result_rows, compat="official" if official else "fixed", model=predictions.model,
                   suite=predictions.suite, notes=notes, missing=list(predictions.missing),
                   complete=not predictions.missing if predictions.coverage_known else None, run=predictions.run,
                   samples={task: found for task, (_, _, found, _) in outcomes.items() if found is not None and task in by_task},
                   scored=scored, seed=seed, trained_on=trained_on)


def _robustness(task_rows: list[Row], layout: _Layout, outcomes: dict[str, Outcome], official: bool,
                metrics: dict[str, Metric]) -> None:
    """Each task row's spread over instructions, option-order robustness and clean / dirty scores, where the run
    has them."""
    for row in task_rows:
        task = row.name
        if task in layout.instructions:
            scores = {0: row.scores, **{index: outcomes[subset_name(task, f"instruction {index}")][0]
                                        for index in layout.instructions[task] if index}}
            row.spread = instruction_spread(scores, layout.instructions[task])
        if task in layout.permuted and "mcqa_accuracy" in metrics:
            found = option_robustness(layout.permuted[task], partial(_mcqa_right, metrics["mcqa_accuracy"], official))
            row.options = found.get(task)
        if layout.dirty is not None:
            dirty = len(layout.dirty.get(task, set()) & {prediction.instance_id for prediction in layout.by_task[task]})
            parts = {part: outcomes[subset_name(task, part)][0] if subset_name(task, part) in outcomes else
                     (row.scores if count == row.count else {}) for part, count in (("clean", row.count - dirty),
                                                                                    ("dirty", dirty))}
            row.split = {"clean": {"count": row.count - dirty, "scores": parts["clean"]},
                         "dirty": {"count": dirty, "scores": parts["dirty"]},
                         "dirty_share": 100 * dirty / row.count if row.count else 0.0}


def _mcqa_right(metric: Metric, official: bool, line: Prediction) -> bool:
    """One line judged with the --compat mode's own MCQA rule: permutation 0's accuracy is then the task's score."""
    return _instance_scores(line, metric, official).get("mcqa_accuracy") == 100.0


def _category_robustness(category: Row, tasks: list[Row]) -> None:
    """A category's robustness figures: the mean of its tasks' (see ``robustness``)."""
    spreads = [row.spread for row in tasks if row.spread]
    if spreads:
        category.spread = category_spread(spreads)
    options = [row.options for row in tasks if row.options]
    if options:
        category.options = {"consistency": sum(found["consistency"] for found in options) / len(options),
                            "accuracy": sum(sum(found["accuracy_per_permutation"]) / len(found["accuracy_per_permutation"])
                                            for found in options) / len(options), "tasks": len(options)}
    splits = [row.split for row in tasks if row.split]
    if splits:
        category.split = {part: {"count": sum(split[part]["count"] for split in splits),
                                 "scores": _mean_scores([split[part]["scores"] for split in splits])}
                          for part in ("clean", "dirty")}
        total = sum(split["clean"]["count"] + split["dirty"]["count"] for split in splits)
        category.split["dirty_share"] = 100 * category.split["dirty"]["count"] / total if total else 0.0


def _mean_scores(found: list[dict[str, float]]) -> dict[str, float]:
    """Per metric, the mean over the score dicts that have it."""
    names = list(dict.fromkeys(key for scores in found for key in scores))
    return {key: sum(scores[key] for scores in found if key in scores) / sum(key in scores for scores in found)
            for key in names}


def _arguments(rows: list[Prediction], official: bool) -> tuple[list[str], list[list[str]], MetricContext]:
    context = MetricContext(languages=[row.language for row in rows], official=official,
                            legacy_ids=[row.legacy_id for row in rows],
                            missing_outputs=[row.output_na for row in rows],
                            missing_references=[row.reference_na for row in rows],
                            lines=[id(row) for row in rows])  # distinct while the rows live: the whole scoring
    return [row.output for row in rows], [row.references for row in rows], context


def _task_id(row: Prediction) -> str | None:
    return f"task{row.legacy_id}" if row.legacy_id is not None else None


def _failure_notes(name: str, script: str, failures: list[tuple[int, str]], rows: list[Prediction]) -> list[str]:
    """Per file, the rows the official script cannot score and why."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for index, reason in failures:
        where = rows[index].where
        file, _, position = where.partition(": ") if ": " in where else where.rpartition(":")
        by_file[file].append(f"{position or where} ({reason})")
    return [f"{file}: the official {script} cannot score {name} (it crashes): {'; '.join(found)}. "
            "This task is scored as --compat fixed does." for file, found in by_file.items()]


# --------------------------------------------------------------------------- renderings


def _score_columns(results: Results) -> list[str]:
    return list(dict.fromkeys(key for row in results.rows for key in row.scores))


def _cells(results: Results) -> tuple[list[str], list[list[str]]]:
    columns = _score_columns(results)
    header = ["category / task", "n", *columns]
    body = []
    for row in results.rows:
        label = row.name if row.kind == "category" else f"  {row.name}" + (" (pooled)" if row.kind == "group" else "")
        mark = PARTIAL_MARK if row.partial else ""
        body.append([label + (f" {PARTIAL_MARK}" if mark else ""), f"{row.count:,}",
                     *[f"{row.scores[c]:.2f}{mark}{_ci_text(row, c)}" if c in row.scores else "" for c in columns]])
    return header, body


def _ci_text(row: Row, column: str) -> str:
    """' [low, high]': the cell's 95% interval, where --ci computed one."""
    if column not in row.ci:
        return ""
    low, high = row.ci[column]
    return f" [{low:.2f}, {high:.2f}]"


def _footnotes(results: Results) -> list[str]:
    """One line per partial category: what its average lacks."""
    found = [f"{PARTIAL_MARK} {row.name}: {row.partial_text()} (its average is over the tasks it has, not the category's)"
             for row in results.rows if row.kind == "category" and row.partial]
    if results.seed is not None:
        found.append(f"[low, high]: 95% bootstrap interval ({BOOTSTRAP_RESAMPLES:,} resamples of the instances, "
                     f"seed {results.seed}; a category's resamples within each of its tasks)")
    return found


def _robustness_tables(results: Results) -> list[tuple[str, list[str], list[tuple[Row, list[str]]]]]:
    """(title, header, [(row, cells)]) of each robustness table the results have: instruction sensitivity, option
    order, clean vs dirty."""
    tables = []
    spread = [row for row in results.rows if row.spread]
    if spread:
        count = max(len(found["scores"]) for row in spread if row.kind == "task" for found in row.spread.values())
        body = [(row, [_label(row), metric, f"{found['mean']:.2f}", f"{found['std']:.2f}",
                       f"{found['min']:.2f}" + (f" (#{found['worst']})" if "worst" in found else ""),
                       f"{found['max']:.2f}" + (f" (#{found['best']})" if "best" in found else "")])
                for row in spread for metric, found in row.spread.items()]
        tables.append(((f"Instruction sensitivity: each instance under {count} instructions (#0 the suite's own, #1.. "
                        "rewrites; a category: the mean of its tasks' figures)"),
                       ["category / task", "metric", "mean", "std", "worst", "best"], body))
    options = [row for row in results.rows if row.options]
    if options:
        body = [(row, [_label(row), "  ".join(f"{value:.2f}" for value in row.options["accuracy_per_permutation"])
                       if "accuracy_per_permutation" in row.options else f"mean {row.options['accuracy']:.2f}",
                       f"{row.options['consistency']:.2f}", f"{row.options.get('items', '')}"]) for row in options]
        tables.append((("Option-order robustness: accuracy under each cyclic order of the options (0: the suite's), and "
                        "consistency: the share of items right under every order"),
                       ["category / task", "accuracy per order", "consistency", "items"], body))
    split = [row for row in results.rows if row.split]
    if split:
        body = [(row, [_label(row), metric, f"{row.scores[metric]:.2f}" if metric in row.scores else "",
                       _part(row.split["clean"], metric), _part(row.split["dirty"], metric),
                       f"{row.split['dirty_share']:.1f}%"])
                for row in split for metric in row.scores]
        trained = (results.trained_on or {}).get("description") or "the model's training data"
        tables.append((f"Clean vs dirty: dirty instances have an input that a training row holds; trained on {trained}",
                       ["category / task", "metric", "all", "clean (n)", "dirty (n)", "dirty share"], body))
    return tables


def _label(row: Row) -> str:
    return row.name if row.kind == "category" else f"  {row.name}"


def _part(part: dict[str, Any], metric: str) -> str:
    if metric not in part["scores"]:
        return f"- ({part['count']:,})"
    return f"{part['scores'][metric]:.2f} ({part['count']:,})"


def _text_table(header: list[str], body: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(line)).rstrip()
             for line in [header, *body]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return lines


def _markdown_table(header: list[str], body: list[tuple[Row, list[str]]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    for row, cells in body:
        cells = [f"**{cells[0]}**" if row.kind == "category" else cells[0].strip(), *cells[1:]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return lines


def render_text(results: Results) -> str:
    header, body = _cells(results)
    sections = [line for title, extra, rows in _robustness_tables(results)
                for line in ["", title, *_text_table(extra, [cells for _, cells in rows])]]
    return "\n".join([results.describe(), "", *_text_table(header, body), *_footnotes(results), *sections,
                      *[f"note: {note}" for note in results.notes]])


def render_markdown(results: Results) -> str:
    header, body = _cells(results)
    lines = _markdown_table(header, list(zip(results.rows, body)))
    sections = [line for title, extra, rows in _robustness_tables(results)
                for line in ["", f"*{title}*", "", *_markdown_table(extra, rows)]]
    footnotes = _footnotes(results)
    return "\n".join(lines + [""] + [f"{line}  " for line in footnotes] + [f"*{results.describe()}*"] + sections)


def render_csv(results: Results) -> str:
    columns = _score_columns(results)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # the values stay numbers (a data file): the partial and missing columns say which averages lack tasks
    intervals = results.seed is not None
    spread = any(row.spread for row in results.rows)
    options = any(row.options for row in results.rows)
    split = any(row.split for row in results.rows)
    writer.writerow(["kind", "category", "name", "count", "partial", "missing", *columns,
                     *([f"{c} ci95 {end}" for c in columns for end in ("low", "high")] if intervals else []),
                     *([f"{c} instructions {stat}" for c in columns for stat in SPREAD_STATS] if spread else []),
                     *(["option consistency"] if options else []),
                     *([f"{c} {part}" for c in columns for part in ("clean", "dirty")] + ["dirty share"] if split else [])])

    def number(value: float | None) -> str:
        return "" if value is None else f"{value:.4f}"

    for row in results.rows:
        writer.writerow([row.kind, row.category, row.name, row.count,
                         (f"{row.tasks} of {row.of} tasks" if row.partial else "") if row.kind == "category" else "",
                         "; ".join(row.missing),
                         *[number(row.scores.get(c)) for c in columns],
                         *([number(row.ci[c][end]) if c in row.ci else "" for c in columns for end in (0, 1)]
                           if intervals else []),
                         *([number(row.spread.get(c, {}).get(stat)) for c in columns for stat in SPREAD_STATS]
                           if spread else []),
                         *([number((row.options or {}).get("consistency"))] if options else []),
                         *([number((row.split or {}).get(part, {}).get("scores", {}).get(c)) for c in columns
                            for part in ("clean", "dirty")] + [number((row.split or {}).get("dirty_share"))]
                           if split else [])])
    return buffer.getvalue()


SPREAD_STATS = ("mean", "std", "min", "max")


def render_json(results: Results) -> str:
    return json.dumps(results.as_json(), indent=2, ensure_ascii=False)


RENDERERS = {"text": render_text, "markdown": render_markdown, "csv": render_csv, "json": render_json}
