"""Which tasks of a suite can be read here: the suite a build writes or an evaluation runs, complete or partial.

Nearly every real installation has a partial suite (19 MedS-Bench tasks are credentialed), so a
suite is built and evaluated over the tasks that can be read, loudly: ``SuiteSelection`` carries
the missing tasks (name, category, why) that the output, the card, the manifest, the predictions
and the score results name, and the categories they make partial. ``require_complete`` (``--require
complete``) restores the refusal, for CI jobs that must run the whole suite.

Availability is asked twice: before reading (``missing_tasks(..., read=False)``: is a source
configured?) and after (``read=True``: did it give instances and an instruction?). A task whose
source gives no instance is missing, not available.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from medsreg.catalog import Catalog, LoadedSuite, LoadedTask, task_status
from medsreg.errors import MedsregError, UnknownNameError
from medsreg.models import Suite, SuiteTask, Task
from medsreg.vocabulary import did_you_mean

T = TypeVar("T")

SuitePlan = tuple[Suite, list[tuple[SuiteTask, Task]]]
"""A suite and the (entry, task) pairs it runs, in the suite's order."""


@dataclass(frozen=True)
class MissingTask:
    """A task of a suite that cannot be read here."""

    name: str
    category: str
    why: str
    task: Task | None = field(default=None, compare=False)
    """The installed task (None when no plugin provides it): its sources say how to obtain it."""


@dataclass
class SuiteSelection:
    """A suite and the part of it that can be read here."""

    suite: Suite
    pairs: list[tuple[SuiteTask, Task]]
    missing: list[MissingTask]

    @property
    def plan(self) -> SuitePlan:
        return self.suite, self.pairs

    @property
    def complete(self) -> bool:
        return not self.missing

    def partial_categories(self) -> dict[str, list[str]]:
        """Category -> its missing tasks, for the categories that miss some (never averaged as if complete)."""
        partial: dict[str, list[str]] = {}
        for missing in self.missing:
            partial.setdefault(missing.category, []).append(missing.name)
        return partial

    def note(self) -> str:
        """One line saying what the suite lacks and how to obtain it ('' when complete)."""
        if self.complete:
            return ""
        categories = ", ".join(self.partial_categories())
        return (f"suite {self.suite.name} is partial: {len(self.pairs)} of {len(self.suite.task_names())} tasks are "
                f"available; the categories {categories} are incomplete and marked partial. "
                f"{_how_to_obtain(self.missing)}; pass --require complete to refuse a partial suite")

    def to_json(self) -> dict[str, Any]:
        """What outputs record: completeness, the missing tasks and why, the partial categories."""
        return {"complete": self.complete, "tasks": len(self.pairs), "of": len(self.suite.task_names()),
                "missing": [{"task": missing.name, "category": missing.category, "why": missing.why}
                            for missing in self.missing],
                "partial_categories": self.partial_categories()}


@dataclass
class Coverage:
    """What a build's card and manifest say it was checked against, and what it lacks."""

    checked: list[tuple[str, int]] = field(default_factory=list)
    """(test task, test instances) of every test set the mixture was decontaminated against."""
    not_checked: list[tuple[str, str]] = field(default_factory=list)
    """(test task, status: 'not configured', 'credentialed', 'empty' or 'unreadable') of the others."""
    suites: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Suite name -> its availability (``SuiteSelection.to_json()`` without the machine-specific reasons)."""

    @classmethod
    def of(cls, checked: list[tuple[str, int]], not_checked: list[tuple[str, str]],
           selections: list[SuiteSelection]) -> Coverage:
        suites = {}
        for selection in selections:
            record = selection.to_json()
            record["missing"] = [{key: value for key, value in entry.items() if key != "why"} for entry in record["missing"]]
            suites[selection.suite.name] = record
        return cls(checked, not_checked, suites)


def find_named(items: Sequence[T], name_of: Callable[[T], str], query: str, where: str, kind: str, *,
               listing: str, none: str, how: str) -> T:
    """The item of ``items`` named ``query`` in full ('<plugin>/<name>') or inside its plugin ('<name>'); an
    ``UnknownNameError`` naming the candidates otherwise (``kind``: 'suite', 'mixture')."""
    wanted = query.strip().lower()
    matches = [item for item in items if wanted in (name_of(item), name_of(item).split("/", 1)[1])]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UnknownNameError(f"{where}: {query!r} names several {kind}s ({', '.join(map(name_of, matches))}); "
                               f"give the full '<plugin>/<{kind}>' name")
    names = sorted(map(name_of, items))
    known = names + [name.split("/", 1)[1] for name in names]
    found = f" {listing}: {', '.join(names)}." if names else f" {none}"
    raise UnknownNameError(f"{where}: no {kind} named {query!r}.{did_you_mean(wanted, known)}{found} {how}")


def find_suite(catalog: Catalog, query: str, where: str) -> LoadedSuite:
    """A suite by full name ('meds-bench/meds-bench') or by its name inside the plugin ('meds-bench')."""
    return find_named(catalog.suites, lambda loaded: loaded.suite.name, query, where, "suite",
                      listing="Installed suites", none="No installed plugin provides a suite.",
                      how="'medsreg list --suites' lists them")


def suite_items(catalog: Catalog, suite: Suite) -> list[LoadedTask]:
    """The installed tasks of the suite (to read their instances)."""
    by_name = {item.task.name: item for item in catalog.tasks}
    return [by_name[name] for name in suite.task_names() if name in by_name]


def status_word(item: LoadedTask) -> str:
    """One word for why a task's instances are not here, free of machine paths (for a manifest)."""
    if item.task.instances is not None and not item.task.instances:
        return "empty"
    if item.unavailable or item.task.instances is None:
        return "credentialed" if item.task.access == "credentialed" else "not configured"
    return "unreadable"


def unreadable(item: LoadedTask, read: bool) -> str | None:
    """None when the task's instances can be read (``read``: have been read and are not none), else why not."""
    task = item.task
    if read:
        if task.instances and task.definition:
            return None
        if item.unavailable:
            return item.unavailable
        if task.instances is not None and not task.instances:
            where = f" ({item.data_path})" if item.data_path else ""
            return f"{task.name}: its source gives no instance{where}; check that it is the complete release"
        return f"{task.name}: its instances or instruction could not be read"
    state = task_status(task)
    return None if state == "available" else f"{task.name}: {state}"


def missing_tasks(catalog: Catalog, suite: Suite, *, read: bool) -> list[MissingTask]:
    """The tasks of the suite that cannot be read here, in the suite's order."""
    by_name = {item.task.name: item for item in catalog.tasks}
    missing = []
    for category in suite.categories:
        for entry in category.tasks:
            item = by_name.get(entry.task)
            if item is None:
                missing.append(MissingTask(entry.task, category.name, f"{entry.task}: no installed plugin provides it"))
                continue
            why = unreadable(item, read)
            if why is not None:
                missing.append(MissingTask(entry.task, category.name, why, item.task))
    return missing


def select_suite(catalog: Catalog, suite: Suite, *, require_complete: bool = False) -> SuiteSelection:
    """The suite's readable part (its instances read already); an error when nothing, or with
    ``require_complete`` not everything, can be read."""
    missing = missing_tasks(catalog, suite, read=True)
    if missing and (require_complete or len(missing) == len(suite.task_names())):
        raise MedsregError(suite_sentence(suite, missing, none=len(missing) == len(suite.task_names())))
    absent = {entry.name for entry in missing}
    by_name = {item.task.name: item.task for item in catalog.tasks}
    pairs = [(entry, by_name[entry.task]) for category in suite.categories for entry in category.tasks
             if entry.task not in absent]
    return SuiteSelection(suite, pairs, missing)


def suite_sentence(suite: Suite, missing: list[MissingTask], *, none: bool = False) -> str:
    """Why the suite cannot run here (``none``: no task of it can be read), and how to obtain what it lacks."""
    names = ", ".join(entry.name for entry in missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    count = f"all {len(missing)} of its tasks" if none and len(missing) > 1 else f"{len(missing)} of its {len(suite.task_names())} tasks"
    return f"suite {suite.name} needs test sets that are not available here: {count} ({names}); {_how_to_obtain(missing)}"


def _how_to_obtain(missing: list[MissingTask]) -> str:
    from medsreg.models import LocalSource
    from medsreg.sources import alternatives, configured_value, env_var

    keys = sorted({source.key for entry in missing if entry.task is not None
                   for source in alternatives(entry.task.instances_from) if isinstance(source, LocalSource)})
    if not keys:
        return missing[0].why
    how = "; ".join(_configure(key, configured_value(key), env_var(key)) for key in keys) + \
        "; 'medsreg info TASK' says which file each task reads"
    credentialed = sum(entry.task is not None and entry.task.access == "credentialed" for entry in missing)
    if credentialed:
        how += f", and {credentialed} of them need credentialed access (a PhysioNet data-use agreement)"
    return how


def _configure(key: str, value: str | None, variable: str) -> str:
    if value is None:
        return f"configure source {key!r} (--source {key}=/path/to/folder or {variable})"
    return f"source {key!r} is configured as {value} but lacks their files: point it at the complete release"
