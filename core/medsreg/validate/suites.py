"""Checks of evaluation suites and named mixtures: every task they name exists, has the right split, and
each suite or mixture name is defined once."""

from __future__ import annotations

from collections.abc import Iterator

from medsreg.catalog import Catalog
from medsreg.validate.problems import Options, Problem, check
from medsreg.vocabulary import did_you_mean


@check("suite-tasks", scope="catalog")
def check_suite_tasks(catalog: Catalog, options: Options) -> Iterator[Problem]:
    """Suite names are unique; every task a suite lists exists, once, and is a test (or train/test) task."""
    tasks = {item.task.name: item.task for item in catalog.tasks}
    seen_suites: dict[str, str] = {}
    for loaded in catalog.suites:
        suite = loaded.suite
        first = seen_suites.setdefault(suite.name, loaded.origin)
        if first != loaded.origin:
            yield Problem("suite-tasks", "error", loaded.origin, "$.name", f"suite {suite.name!r} is already defined in {first}")
        listed: set[str] = set()
        for c, category in enumerate(suite.categories):
            for t, entry in enumerate(category.tasks):
                where = f"$.categories[{c}].tasks[{t}].task"
                task = tasks.get(entry.task)
                if entry.task in listed:
                    yield Problem("suite-tasks", "error", loaded.origin, where, f"{entry.task!r} is listed twice; list each task once")
                listed.add(entry.task)
                if task is None:
                    yield Problem("suite-tasks", "error", loaded.origin, where,
                                  f"no task named {entry.task!r}.{did_you_mean(entry.task, list(tasks))} Install or add its plugin")
                elif task.split == "train":
                    yield Problem("suite-tasks", "error", loaded.origin, where,
                                  f"{entry.task!r} is a training task; a suite scores test tasks")


@check("mixture-tasks", scope="catalog")
def check_mixture_tasks(catalog: Catalog, options: Options) -> Iterator[Problem]:
    """Mixture names are unique; every include / exclude entry of a named mixture names a task, category or plugin."""
    from medsreg.build.plan import select_tasks
    from medsreg.errors import MedsregError

    seen: dict[str, str] = {}
    for loaded in catalog.mixtures:
        first = seen.setdefault(loaded.spec.name, loaded.origin)
        if first != loaded.origin:
            yield Problem("mixture-tasks", "error", loaded.origin, "$.name",
                          f"mixture {loaded.spec.name!r} is already defined in {first}; rename one of them")
        try:
            select_tasks(loaded.spec, catalog, "")
        except MedsregError as error:
            where, _, message = str(error).removeprefix(": ").partition(": ")
            yield Problem("mixture-tasks", "error", loaded.origin, "$." + where, message)
