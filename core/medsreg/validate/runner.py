"""Running the checks over a catalog: static (folders) or installed (entry points), same checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medsreg.catalog import (
    Catalog,
    check_configuration,
    collector_paused,
    load_installed,
    load_static,
    resolve_instances,
)
from medsreg.plugins import PluginSet
from medsreg.validate import collection, content, suites, vocabularies  # noqa: F401  (registers the checks)
from medsreg.validate.problems import CHECKS, Check, Options, Problem


@dataclass
class Report:
    """Everything validate found, and how many tasks it looked at."""

    problems: list[Problem] = field(default_factory=list)
    tasks: int = 0
    plugins: int = 0

    def count(self, severity: str) -> int:
        return sum(1 for p in self.problems if p.severity == severity)

    def failed(self, strict: bool) -> bool:
        return self.count("error") > 0 or (strict and self.count("warning") > 0)


def all_checks() -> list[Check]:
    """Every registered check, in the order they run (file stages and plugin checks first)."""
    import medsreg.catalog
    import medsreg.formats.medsins
    import medsreg.pluginfolder  # noqa: F401  (plugin folder checks)

    order = {"plugin": 0, "file": 1, "task": 2, "collection": 3, "catalog": 4}
    return sorted(CHECKS.values(), key=lambda c: order[c.scope])


def run_checks(catalog: Catalog, options: Options) -> Report:
    """Task and collection checks over ``catalog``; the loading problems come first."""
    problems = list(catalog.findings.problems)
    for check_ in all_checks():
        if check_.scope == "task":
            for item in catalog.tasks:
                problems.extend(check_.function(item, options))
        elif check_.scope == "collection":
            problems.extend(check_.function(catalog.tasks, options))
        elif check_.scope == "catalog":
            problems.extend(check_.function(catalog, options))
    if options.select is not None:
        problems = [p for p in problems if p.check in options.select]
    return Report(problems, tasks=len(catalog.tasks), plugins=len(catalog.plugins))


def validate(paths: Sequence[Path], options: Options, plugins: PluginSet | None = None) -> Report:
    """Check ``paths`` statically (no code imported) and, given ``plugins``, what installed plugins
    return; uniqueness and leakage are checked across both together."""
    with collector_paused():
        catalog = Catalog()
        if plugins is not None:
            catalog = load_installed(plugins, max_file_mb=options.max_file_mb)
            # only the installed tier reads configured sources: static validation depends on the files alone
            check_configuration(catalog)
            resolve_instances(catalog, max_file_mb=options.max_file_mb)
        if paths:
            static = load_static(paths, max_file_mb=options.max_file_mb)
            catalog.plugins += static.plugins
            catalog.tasks += static.tasks
            catalog.suites += static.suites
            catalog.mixtures += static.mixtures
            catalog.findings.extend(static.findings.problems)
        return run_checks(catalog, options)


def validate_paths(paths: Sequence[Path], options: Options) -> Report:
    """The static tier: read ``paths`` without importing any code they contain."""
    return validate(paths, options)
