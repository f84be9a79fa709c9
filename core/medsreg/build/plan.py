"""The build plan: which training tasks a mixture spec selects, what decontamination removes, and how many rows each gives.

Three steps, each a function the pipeline calls in turn:

* ``select_tasks`` resolves the spec's include / exclude entries against the catalog's metadata
  (no instance is read): unknown names are errors with a did-you-mean;
* ``overlapping`` finds the training instances whose input overlaps a test instance
  (mixture.py calls it one task at a time);
* ``make_plan`` applies the mixing math (T5 / seqio ``examples_proportional_mixing``: a capped
  size raised to 1/temperature, times a weight) and says, per task, how many rows are taken.

``Plan`` and ``PlanRow`` are also what the card and the manifest read.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np

from medsreg.catalog import Catalog, LoadedTask
from medsreg.errors import MedsregError, UnknownNameError
from medsreg.build.suites import SuitePlan
from medsreg.build.writer import MIXTURE_PATH
from medsreg.models import Instance, MixtureEntry, MixtureSpec, Task
from medsreg.vocabulary import CATEGORIES, canonical_category, did_you_mean

TRAINING_SPLITS = ("train", "train/test")


@dataclass
class PlanRow:
    """One training task of the mixture."""

    task: Task
    available: int
    """Training instances the task has."""
    decontaminated: int
    """Instances removed because their input overlaps a test instance."""
    taken: int
    """Rows the mixture takes (more than ``available - decontaminated`` oversamples)."""
    factor: float
    """taken / rows kept after decontamination: above 1 repeats instances, below 1 takes a subset (0 when none kept)."""
    unit: str = "weight 1"
    """How the spec sized this task: 'weight 1.5', 'n 100' or 'fraction 0.5' (with ', cap N' when capped)."""

    @property
    def kept(self) -> int:
        return self.available - self.decontaminated


@dataclass
class Plan:
    """The mixture's composition, in the order of the catalog."""

    spec: MixtureSpec
    rows: list[PlanRow] = field(default_factory=list)
    path: str = MIXTURE_PATH
    """The mixture's folder in the output (a default build writes each registered mixture to its own)."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(task, why) for tasks an entry covers that cannot be read here."""
    removed: dict[str, list[int]] = field(default_factory=dict, repr=False)
    """Task name -> positions (in its training instances) that decontamination removed: the rest is the task's pool,
    which rows and k-shot context come from. Instances are not held: the build keeps them in its scratch."""

    @property
    def total(self) -> int:
        return sum(row.taken for row in self.rows)

    def table(self) -> str:
        """The composition as a text table (``--dry-run``)."""
        header = ("task", "available", "decontaminated", "taken", "factor", "sized by")
        lines = [header] + [
            (row.task.name, f"{row.available:,}", f"{row.decontaminated:,}", f"{row.taken:,}", f"{row.factor:.3f}", row.unit)
            for row in self.rows
        ]
        lines.append(("total", f"{sum(r.available for r in self.rows):,}", f"{sum(r.decontaminated for r in self.rows):,}",
                      f"{self.total:,}", "", ""))
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        rendered = []
        for number, line in enumerate(lines):
            cells = [line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(line[1:-1], widths[1:-1])]
            rendered.append("  ".join(cells + [line[-1]]).rstrip())
            if number == 0 or number == len(lines) - 2:
                rendered.append("  ".join("-" * width for width in widths))
        return "\n".join(rendered)


# --------------------------------------------------------------------------- instances by split


def is_training_task(task: Task) -> bool:
    return task.split in TRAINING_SPLITS


def has_test_side(task: Task) -> bool:
    """Whether the task holds test instances (a 'test' task, or the 'test' part of a 'train/test' one)."""
    return task.split in ("test", "train/test")


SPLIT_RULES = {
    "train": ('a Train task holds no instance marked "split": "test"',
              'move such instances to a task whose Split Type is Test, or set the Split Type to "Train/Test" and give '
              'every instance a "split"'),
    "test": ('a Test task holds no instance marked "split": "train"',
             'move such instances to a task whose Split Type is Train, or set the Split Type to "Train/Test" and give '
             'every instance a "split"'),
    "train/test": ('a Train/Test task gives the side of each instance in its "split"',
                   'give each such instance "split": "train" or "split": "test"'),
}
"""Split Type -> (the rule its instances' 'split' marks follow, how to fix an instance that breaks it)."""


def contradicts_split(task: Task, instance: Instance) -> bool:
    """Whether the instance breaks its task's ``SPLIT_RULES`` rule (never for a task without a split)."""
    mark = instance.get("split")
    if task.split == "train/test":
        return mark is None
    return task.split is not None and mark is not None and mark != task.split


def training_instances(task: Task) -> list[Instance]:
    """The training side: never an instance marked 'test', whatever the Split Type says. The rest of a 'train' task;
    of a 'train/test' task only those marked 'train': an unmarked one may be a test instance."""
    instances = task.instances or []
    if task.split == "train":
        if "test" not in _marks(instances):  # the common case, without a Python step per instance
            return list(instances)
        return [instance for instance in instances if instance.get("split") != "test"]
    if task.split == "train/test":
        return [instance for instance in instances if instance.get("split") == "train"]
    return []


def _marks(instances: list[Instance]) -> list[Any]:
    """Each instance's ``split`` (None without one)."""
    return list(map(dict.get, instances, repeat("split")))


def test_instances(task: Task) -> list[Instance]:
    """The test side: every instance of a 'test' task (or of one without a split, which a suite may list), else those
    marked 'test'. An instance of a 'test' task marked 'train' stays here: counting it as test never leaks."""
    if task.split in TRAINING_SPLITS:
        return [instance for instance in task.instances or [] if instance.get("split") == "test"]
    return list(task.instances or [])


def left_out_reason(task: Task) -> str | None:
    """Why ``training_instances`` leaves out instances of a training task that break its split rule (in a 'train'
    task those marked test, in a 'train/test' task the unmarked ones), or None: a build says so, never silently."""
    if not is_training_task(task):
        return None
    marks = _marks(task.instances or [])  # counted as contradicts_split says, by list.count
    count = marks.count(None) if task.split == "train/test" else len(marks) - marks.count(None) - marks.count(task.split)
    if not count:
        return None
    rule, fix = SPLIT_RULES[task.split]
    return (f"{task.name}: {count:,} of its {len(task.instances or []):,} instances break its Split Type ({rule}), so "
            f"the mixture leaves them out; {fix} ('medsreg validate' lists them)")


# --------------------------------------------------------------------------- selection


@dataclass
class Selected:
    """A training task the spec covers, and the entry that sizes it."""

    item: LoadedTask
    entry: MixtureEntry
    explicit: bool
    """Named by a 'task' entry: unavailable instances are then an error, not a skip."""
    where: str


_SPECIFICITY = {"plugin": 0, "category": 1, "task": 2}


def select_tasks(spec: MixtureSpec, catalog: Catalog, origin: str = "the mixture spec") -> list[Selected]:
    """The training tasks the spec covers, in catalog order; reads no instance.

    When several entries cover a task, the most specific wins (task over category over plugin),
    and among equals the later one: a category at weight 1 followed by one task at n 100 does
    what it reads like.
    """
    if not spec.include:
        chosen = {id(item): (item, MixtureEntry(plugin=item.task.plugin), False, f"{origin}: (every training task)")
                  for item in catalog.tasks if is_training_task(item.task)}
    else:
        chosen = {}
        ranks: dict[int, int] = {}
        for index, entry in enumerate(spec.include):
            where = f"{origin}: include[{index}]"
            kind = next(key for key in ("task", "category", "plugin") if getattr(entry, key) is not None)
            for item in _covered(entry, kind, catalog, f"{where}.{kind}"):
                rank = _SPECIFICITY[kind]
                if ranks.get(id(item), -1) <= rank:
                    ranks[id(item)] = rank
                    chosen[id(item)] = (item, entry, kind == "task", where)
    excluded = set()
    for index, query in enumerate(spec.exclude):
        try:
            excluded.add(id(catalog.find(query)))
        except UnknownNameError as error:
            raise UnknownNameError(f"{origin}: exclude[{index}]: {error}") from None
    order = {id(item): position for position, item in enumerate(catalog.tasks)}
    return [Selected(item, entry, explicit, where)
            for key, (item, entry, explicit, where) in sorted(chosen.items(), key=lambda pair: order[pair[0]])
            if key not in excluded]


def _covered(entry: MixtureEntry, kind: str, catalog: Catalog, where: str) -> list[LoadedTask]:
    if kind == "task":
        try:
            item = catalog.find(entry.task or "")
        except UnknownNameError as error:
            raise UnknownNameError(f"{where}: {error}") from None
        if not is_training_task(item.task):
            split = item.task.split or "none"
            raise MedsregError(f"{where}: {item.task.name} is not a training task (its split is {split!r}); the mixture "
                               "takes tasks whose 'Split Type' is Train or Train/Test: remove the entry")
        return [item]
    if kind == "category":
        category, _ = canonical_category(entry.category or "")
        if category is None:
            raise UnknownNameError(f"{where}: {entry.category!r} is not a category.{did_you_mean(entry.category or '', CATEGORIES)} "
                                   "'medsreg list' shows the tasks of each category")
        return [item for item in catalog.tasks if category in item.task.categories and is_training_task(item.task)]
    names = sorted({info.name for info in catalog.plugins} | {item.task.plugin for item in catalog.tasks})
    if entry.plugin not in names:
        raise UnknownNameError(f"{where}: no installed plugin named {entry.plugin!r}.{did_you_mean(entry.plugin or '', names)} "
                               "'medsreg plugins' lists them")
    return [item for item in catalog.tasks if item.task.plugin == entry.plugin and is_training_task(item.task)]


# --------------------------------------------------------------------------- decontamination


def overlapping(index, texts: Iterable[str]) -> list[int]:
    """Positions (sorted) of the texts that leak a reference of ``index`` (an ``OverlapIndex``; the rules are
    medsreg.overlap's: most of a test input's informative tokens, or all of it, in the text)."""
    return sorted({match.text for match in index.matches(texts)})


# --------------------------------------------------------------------------- the mixing math


def make_plan(spec: MixtureSpec, selected: list[Selected], kept_counts: dict[str, int],
              removed: dict[str, list[int]] | None = None, skipped: list[tuple[str, str]] | None = None, *,
              allow_empty: bool = False, path: str = MIXTURE_PATH) -> Plan:
    """How many rows each task gives; ``kept_counts``: task -> training instances kept after decontamination.

    ``removed`` is task -> positions decontamination removed (so available = kept + removed).
    ``allow_empty``: no available task gives an empty plan instead of an error (a suites-only build).
    ``path``: the mixture's folder in the output.
    """
    removed = removed or {}
    if not selected and allow_empty:
        return Plan(spec=spec, path=path, skipped=list(skipped or []))
    if not selected:
        why = f" ({len(skipped)} covered tasks are not available here, e.g. {skipped[0][1]})" if skipped else ""
        raise MedsregError(f"the mixture spec selects no available training task{why}; check its include / exclude "
                           "entries against 'medsreg list --split train --status available'")
    kept = [kept_counts[item.item.task.name] for item in selected]
    fixed: dict[int, int] = {}
    weighted: list[int] = []
    for position, choice in enumerate(selected):
        entry = choice.entry
        if entry.n is not None:
            if entry.n > 0 and kept[position] == 0:
                raise MedsregError(f"{choice.where}: {choice.item.task.name} has no training instance left after "
                                   f"decontamination, so it cannot give n={entry.n} rows; remove the entry or set n to 0")
            fixed[position] = entry.n
        elif entry.fraction is not None:
            fixed[position] = _round_half_up(entry.fraction * kept[position])
        else:
            weighted.append(position)
    caps = [choice.entry.cap or spec.cap for choice in selected]
    sizes = {p: min(kept[p], caps[p]) if caps[p] is not None else kept[p] for p in weighted}
    weights = {p: 1.0 if selected[p].entry.weight is None else selected[p].entry.weight for p in weighted}
    exponent = 1.0 / spec.temperature
    rates = {p: weights[p] * sizes[p] ** exponent for p in weighted}
    if weighted and sum(weights.values()) == 0:
        raise MedsregError(f"the weights of the mixture spec's {len(weighted)} weighted tasks sum to zero; give at least "
                           "one entry a positive 'weight', or size the tasks with 'n' or 'fraction'")
    taken = dict(fixed)
    if spec.total is not None:
        rest = spec.total - sum(fixed.values())
        if rest < 0:
            raise MedsregError(f"the mixture spec's total ({spec.total:,}) is smaller than the rows its 'n' and 'fraction' "
                               f"entries fix ({sum(fixed.values()):,}); raise 'total' or lower those entries")
        if rest and not weighted:
            raise MedsregError(f"the mixture spec's total ({spec.total:,}) differs from the rows its 'n' and 'fraction' "
                               f"entries fix ({sum(fixed.values()):,}) and no entry has a 'weight' to take the rest; "
                               "drop 'total' or add a weighted entry")
        if rest and sum(rates.values()) == 0:
            raise MedsregError(f"the mixture spec asks for {rest:,} weighted rows but its weighted tasks have no rows left "
                               "after decontamination; drop 'total' or include other tasks")
        taken.update(_largest_remainder(rest, [rates[p] for p in weighted], weighted))
    elif weighted:
        # with T = 1 and weight 1 a task gives exactly its (capped) size; a higher T moves rows to small tasks
        scale = sum(sizes.values()) / sum(size ** exponent for size in sizes.values()) if any(sizes.values()) else 0.0
        for p in weighted:
            taken[p] = _round_half_up(rates[p] * scale)
    rows = []
    for position, choice in enumerate(selected):
        name = choice.item.task.name
        count = taken[position]
        rows.append(PlanRow(
            task=choice.item.task, available=kept[position] + len(removed.get(name, ())),
            decontaminated=len(removed.get(name, ())),
            taken=count, factor=count / kept[position] if kept[position] else 0.0, unit=_unit(choice.entry, caps[position]),
        ))
    plan = Plan(spec=spec, rows=rows, path=path, skipped=list(skipped or []),
                removed={row.task.name: list(removed.get(row.task.name, ())) for row in rows})
    if plan.total == 0 and not any(kept) and removed:
        lost = sum(row.decontaminated for row in rows)
        raise MedsregError(f"the mixture spec gives an empty mixture: decontamination removed all {lost:,} training "
                           "instances of its tasks, as each overlaps a readable test set; include other tasks, or check "
                           "that the sources give the training split and not the test split")
    if plan.total == 0:
        raise MedsregError("the mixture spec gives an empty mixture (every task takes 0 rows); raise a 'weight', 'n', "
                           "'fraction' or 'total'")
    return plan


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def _largest_remainder(total: int, rates: list[float], keys: list[int]) -> dict[int, int]:
    """Integer shares of ``total`` proportional to ``rates`` that sum to it exactly (Hamilton's method).

    Ties go to the earlier task, so the result does not depend on floating-point noise in the order.
    """
    whole = sum(rates)
    if total == 0 or whole == 0:
        return {key: 0 for key in keys}
    quotas = [total * rate / whole for rate in rates]
    counts = [math.floor(quota) for quota in quotas]
    order = sorted(range(len(keys)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return dict(zip(keys, counts))


def _unit(entry: MixtureEntry, cap: int | None) -> str:
    if entry.n is not None:
        return f"n {entry.n}"
    if entry.fraction is not None:
        return f"fraction {entry.fraction:g}"
    unit = f"weight {1.0 if entry.weight is None else entry.weight:g}"
    return unit + (f", cap {cap:,}" if cap is not None else "")


# --------------------------------------------------------------------------- which instances, in which order


def draws(seed: int, task: str, kept: int, taken: int) -> tuple[np.ndarray, np.ndarray]:
    """(instance positions, repeat indexes) of the ``taken`` rows of a task with ``kept`` instances.

    Every instance is used floor(taken / kept) times (repeat 0, 1, ...); the remainder is a seeded
    subset at the next repeat. Repeats render differently because the repeat is part of the row's seed.
    """
    if taken == 0 or kept == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    passes, rest = divmod(taken, kept)
    positions = [np.tile(np.arange(kept, dtype=np.int64), passes)]
    repeats = [np.repeat(np.arange(passes, dtype=np.int64), kept)]
    if rest:
        subset = random.Random(f"{seed}|{task}|subset").sample(range(kept), rest)
        positions.append(np.sort(np.array(subset, dtype=np.int64)))
        repeats.append(np.full(rest, passes, dtype=np.int64))
    return np.concatenate(positions), np.concatenate(repeats)


BUCKET_ROWS = 16_384
"""Rows per shuffle bucket (on average): what the writer holds at once, whatever the mixture's size."""


def bucket_count(total: int) -> int:
    return max(1, -(-total // BUCKET_ROWS))


def _stream_seed(*parts: object) -> int:
    """A 64-bit seed from text: the same on every machine and in every process (unlike ``hash()``)."""
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "little")


def row_buckets(seed: int, task: str, rows: int, buckets: int) -> np.ndarray:
    """The shuffle bucket of each of a task's rows (uniform, seeded by the mixture seed and the task alone).

    Two-pass shuffle: every row goes to a random bucket, then each bucket is permuted on its own;
    the result is a uniform random order, and only one bucket is ever held in memory.
    """
    return np.random.default_rng(_stream_seed(seed, task, "bucket")).integers(0, buckets, size=rows)


def bucket_order(seed: int, bucket: int, rows: int) -> np.ndarray:
    """The permutation of one bucket's rows (gathered task by task, in the order of the plan)."""
    return np.random.default_rng(_stream_seed(seed, bucket, "order")).permutation(rows)


def tasks_in_build(rows: list, suites: list[SuitePlan]) -> list[Task]:
    """Every task whose instances are in the build, mixture first, each once."""
    tasks: dict[str, Task] = {}
    for row in rows:
        tasks.setdefault(row.task.name, row.task)
    for _, pairs in suites:
        for _, task in pairs:
            tasks.setdefault(task.name, task)
    return list(tasks.values())
