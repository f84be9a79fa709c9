"""Checks across all contributions: unique names and ids, and train/test leakage."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from medsreg.catalog import LoadedTask
from medsreg.overlap import EQUAL, Match, OverlapIndex
from medsreg.validate.problems import Options, Problem, check, task_problem

REPORTED_PER_PAIR = 10


@check("unique-names", scope="collection")
def check_unique_names(items: list[LoadedTask], options: Options) -> Iterator[Problem]:
    """Task names are unique across all plugins; a MedS-Ins legacy id names one task per split within a plugin.

    Several plugins may provide the same MedS-Ins task (the released file, or a converter of the raw source).
    """
    by_name: dict[str, LoadedTask] = {}
    by_legacy: dict[tuple[str, int, str | None], LoadedTask] = {}
    for item in items:
        task = item.task
        first = by_name.setdefault(task.name, item)
        if first is not item:
            yield task_problem("unique-names", "error", item, "$.medsreg.name",
                               f"task name {task.name!r} is already used by {first.origin}; rename one of them")
        if task.legacy_id is not None:
            first = by_legacy.setdefault((task.plugin, task.legacy_id, task.split), item)
            if first is not item:
                yield task_problem("unique-names", "error", item, "$.medsreg.legacy_id",
                                   f"legacy id {task.legacy_id} ({task.split or 'no split'}) is already used by {first.task.name} "
                                   f"({first.origin}); in a plugin, each MedS-Ins id names one task per split")


@dataclass
class _Side:
    """The instances of one side (train or test) as parallel lists."""

    items: list[LoadedTask]
    refs: list[tuple[int, int]]  # (item index, instance index)
    texts: list[str]
    groups: list[int]  # the item (task) of each instance: whose templates are learned together


def _split_sides(items: list[LoadedTask]) -> tuple[_Side, _Side]:
    train, test = _Side(items, [], [], []), _Side(items, [], [], [])
    for item_index, item in enumerate(items):
        task_split = item.task.split
        if task_split is None:
            continue
        for index, instance in enumerate(item.task.instances or ()):
            split = instance.get("split") or task_split
            side = test if split == "test" else train  # "train/test" without a per-instance split counts as train
            side.refs.append((item_index, index))
            side.texts.append(instance["input"])
            side.groups.append(item_index)
    return train, test


@check("leakage", scope="collection")
def check_leakage(items: list[LoadedTask], options: Options) -> Iterator[Problem]:
    """No test instance's input is mostly or wholly in a train instance's input (prompt templates aside).

    A test input leaks when the n-grams it shares with one train input cover at least 8 and half of its
    informative tokens (those outside its task's templates: n-grams many instances of one task hold, learned
    for each task on both sides), when it equals it once normalized, or, shorter than an n-gram, is contained
    in it; with 8 tokens at least. The rules and their reasons are medsreg.overlap's.
    """
    train, test = _split_sides(items)
    if not train.refs or not test.refs:
        return
    index = OverlapIndex(test.texts, size=options.ngram, groups=test.groups)
    hits: dict[int, Match] = {}  # test position -> the strongest match of a train instance
    for match in index.matches(train.texts, groups=train.groups):
        best = hits.get(match.reference)
        if best is None or _strength(match) > _strength(best):
            hits[match.reference] = match
    yield from _report(hits, train, test)


def _strength(match: Match) -> tuple[bool, float, int]:
    return match.how == EQUAL, match.share, match.covered


def _where(item: LoadedTask, index: int) -> str:
    """Where an instance lives: the user's data file and record when read from one, else the task file's JSON path."""
    identifier = item.task.instances[index]["id"]
    if item.data_path is not None:
        return f"{item.data_path}: record {index} (id {identifier})"
    return f"{item.origin}: {item.prefix}.Instances[{index}] (id {identifier})"


def _report(hits: dict[int, Match], train: _Side, test: _Side) -> Iterator[Problem]:
    per_pair: dict[tuple[int, int], int] = {}
    for position in sorted(hits):
        match = hits[position]
        test_item, test_index = test.refs[position]
        train_item, train_index = train.refs[match.text]
        pair = (test_item, train_item)
        per_pair[pair] = per_pair.get(pair, 0) + 1
        if per_pair[pair] > REPORTED_PER_PAIR:
            continue
        test_task, train_task = test.items[test_item], train.items[train_item]
        test_id = test_task.task.instances[test_index]["id"]
        train_id = train_task.task.instances[train_index]["id"]
        evidence = (f"{match.share:.0%} of its {match.informative} informative tokens are shared, "
                    f"the longest run being \"{match.span}\"")
        message = (f"test instance {test_task.task.name}#{test_id} {match.how} train instance "
                   f"{train_task.task.name}#{train_id} ({evidence}; test at {_where(test_task, test_index)}, "
                   f"train at {_where(train_task, train_index)}); remove it from one side")
        if test_task.data_path is not None:
            yield Problem("leakage", "error", test_task.data_path, f"record {test_index} (id {test_id})", message)
        else:
            yield task_problem("leakage", "error", test_task, f"$.Instances[{test_index}]", message)
    for (test_item, train_item), count in per_pair.items():
        if count > REPORTED_PER_PAIR:
            test_task, train_task = test.items[test_item], train.items[train_item]
            yield Problem("leakage", "error", test_task.data_path or test_task.origin,
                          "" if test_task.data_path else f"{test_task.prefix}.Instances",
                          f"... and {count - REPORTED_PER_PAIR} more test instances of {test_task.task.name} leak from "
                          f"{train_task.task.name} ({train_task.data_path or train_task.origin}; {count} in all); "
                          "remove them from one side")
