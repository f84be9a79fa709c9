"""Checks of evaluation suites and named mixtures: every task they name exists, has the right split, and
each suite or mixture name is defined once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
                    yield Problem("suite-tasks", "error", loaded.origin, where, _missing_task(entry.task, catalog, tasks))
                elif task.split == "train":
                    yield Problem("suite-tasks", "error", loaded.origin, where,
                                  f"{entry.task!r} is a training task; a suite scores test tasks")


def _missing_task(name: str, catalog: Catalog, tasks: dict) -> str:
    """Why a suite's task is not in the catalog, and what to do: static validation reads only the folders it is given,
    so a task of another plugin (installed, or in a folder beside them) is missing without being wrong."""
    from medsreg.catalog import load_static

    plugin = name.split("/", 1)[0]
    if any(info.name == plugin for info in catalog.plugins):
        return (f"no task named {name!r} in plugin {plugin}, which is validated here.{did_you_mean(name, list(tasks))} "
                "Fix the name in the suite")
    folders = [Path(info.origin) for info in catalog.plugins if Path(info.origin).is_dir()]
    folder = _plugin_folder_beside(plugin, folders)
    together = " ".join(["medsreg validate", *map(str, folders), str(folder or f"<folder of plugin {plugin}>")])
    if folder is not None:
        names = [item.task.name for item in load_static([folder]).tasks]
        if name not in names:
            return (f"no task named {name!r} in plugin {plugin} ({folder}).{did_you_mean(name, names + list(tasks))} "
                    "Fix the name in the suite")
        return (f"{name!r} belongs to plugin {plugin} ({folder}), which static validation of the folders given does "
                f"not load; validate them together: '{together}'")
    if plugin in _installed_plugins():
        return (f"{name!r} belongs to the installed plugin {plugin}, which static validation of the folders given does "
                f"not load; check it with 'medsreg validate --installed', or validate the folders together: '{together}'")
    return (f"no task named {name!r}: no plugin {plugin!r} is validated here, beside these folders, or installed."
            f"{did_you_mean(name, list(tasks))} Fix the name in the suite, or install plugin {plugin} or add its folder "
            f"to the command: '{together}'")


def _plugin_folder_beside(plugin: str, folders: list[Path]) -> Path | None:
    """The folder of plugin ``plugin`` next to a validated plugin folder (plugins/meds-bench beside plugins/mysuite)."""
    from medsreg.pluginfolder import read_pyproject

    for parent in dict.fromkeys(folder.parent for folder in folders):
        for candidate in (parent / plugin, *sorted(parent.iterdir())):
            if (candidate / "pyproject.toml").is_file() and plugin in read_pyproject(candidate).entry_points:
                return candidate
    return None


def _installed_plugins() -> set[str]:
    """The names of installed plugins, from their entry points (no plugin code is imported)."""
    from importlib.metadata import entry_points

    from medsreg.plugins import ENTRY_POINT_GROUP

    return {entry.name for entry in entry_points(group=ENTRY_POINT_GROUP)}


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
