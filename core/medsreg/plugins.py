"""Finding, loading and calling plugins, with broken ones isolated.

Plugins come from the entry-point group ``medsreg`` (installed packages) and from
``--plugins-dir`` folders (authors trying a plugin without installing it). A plugin that
fails to import, fails pluggy's signature check, or raises in a hook is recorded with
its name and skipped; callers decide whether that is a warning or (``--strict``) an error.

Environment:

* ``MEDSREG_PLUGINS=a,b``: load only these plugins (allow-list);
* ``MEDSREG_DISABLED_PLUGINS=a,b``: never load these (block-list, wins over the allow-list).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from medsreg import hookspecs
from medsreg.vocabulary import did_you_mean

ENTRY_POINT_GROUP = "medsreg"
ALLOW_ENV = "MEDSREG_PLUGINS"
BLOCK_ENV = "MEDSREG_DISABLED_PLUGINS"
HOOK_NAMES = ("register_tasks", "register_corpora", "register_metrics", "register_suites", "register_mixtures")
BUILTIN_NAME = "medsreg"
BUILTIN_MODULE = "medsreg.metrics.builtin"
"""medsreg's own hook implementations, registered first under the name "medsreg" (a plugin may not take it)."""


@dataclass
class PluginInfo:
    """A plugin as found: where it came from and, if it is broken, why."""

    name: str
    module: str
    version: str = "0+unknown"
    package: str | None = None
    origin: str = "entry point"
    hooks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    root: Path | None = None
    """The folder the files its hooks return must stay in: its plugin folder (--plugins-dir) or its package
    (installed); None for a single .py file, which has no folder of its own."""

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class PluginSet:
    """The loaded plugins and their pluggy manager."""

    manager: pluggy.PluginManager
    plugins: list[PluginInfo]
    builtin: PluginInfo | None = None
    """medsreg's own hook implementations (its metrics), registered like a plugin but not listed as one."""

    def get(self, name: str) -> PluginInfo:
        for info in [*self.plugins, *([self.builtin] if self.builtin else [])]:
            if info.name == name:
                return info
        raise KeyError(name)

    def call_each(self, hook: str) -> list[tuple[PluginInfo, Any]]:
        """Call ``hook`` on every plugin separately, so one that raises does not hide the others."""
        results = []
        for impl in reversed(getattr(self.manager.hook, hook).get_hookimpls()):  # registration order
            info = self.get(impl.plugin_name)
            try:
                value = impl.function()
            except Exception as error:  # a plugin's bug must not stop the others
                info.errors.append(f"its {hook}() raised {type(error).__name__}: {error}")
                continue
            results.append((info, value))
        return results


def _names_from_env(variable: str) -> set[str] | None:
    value = os.environ.get(variable, "").strip()
    return {part.strip() for part in value.split(",") if part.strip()} if value else None


def get_plugin_manager(plugin_dirs: Sequence[Path] = ()) -> PluginSet:
    """A fresh plugin manager with every allowed plugin loaded (or recorded as broken)."""
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    # first, so that its metric names win over a plugin's duplicate
    builtin = PluginInfo(name=BUILTIN_NAME, module=BUILTIN_MODULE, version=_version(), origin="built-in")
    _register(manager, builtin, importlib.import_module(BUILTIN_MODULE))
    allowed, blocked = _names_from_env(ALLOW_ENV), _names_from_env(BLOCK_ENV) or set()
    plugins: list[PluginInfo] = []

    def wanted(name: str) -> bool:
        return name not in blocked and (allowed is None or name in allowed)

    candidates: list[tuple[PluginInfo, Any]] = []
    for folder in plugin_dirs:
        candidates.extend(_local_candidates(Path(folder)))
    local_names = {info.name for info, _ in candidates}
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if entry.name not in local_names:  # a --plugins-dir copy shadows the installed one
            candidates.append((_entry_point_info(entry), entry))

    for info, loader in candidates:
        if info.name == BUILTIN_NAME:
            info.errors.append(f"takes the name {BUILTIN_NAME!r}, which is medsreg's own; rename its entry point")
        if not wanted(info.name):
            continue
        plugins.append(info)
        if info.errors:
            continue
        try:
            module = loader.load() if isinstance(loader, EntryPoint) else loader()
        except Exception as error:  # the plugin's import is its own code
            info.errors.append(f"importing {info.module} raised {type(error).__name__}: {error}")
            continue
        if isinstance(loader, EntryPoint):
            info.root = package_folder(module)
        _register(manager, info, module)
    return PluginSet(manager, plugins, builtin)


def _version() -> str:
    from medsreg import __version__

    return __version__


def _register(manager: pluggy.PluginManager, info: PluginInfo, module: ModuleType) -> None:
    try:
        manager.register(module, name=info.name)
    except Exception as error:  # pluggy.PluginValidationError and duplicate names
        info.errors.append(f"cannot be registered: {error}")
        return
    for impl in manager.get_hookcallers(module) or []:
        info.hooks.append(impl.name)
    for attribute in dir(module):
        function = getattr(module, attribute, None)
        if callable(function) and manager.parse_hookimpl_opts(module, attribute) is not None and attribute not in HOOK_NAMES:
            info.errors.append(
                f"implements unknown hook {attribute!r}.{did_you_mean(attribute, HOOK_NAMES)} "
                f"medsreg's hooks are {', '.join(HOOK_NAMES)}"
            )
    if info.errors:  # a misspelt hook usually means missing data: skip the plugin rather than half-load it
        manager.unregister(module)
    info.hooks.sort()


def package_folder(module: ModuleType) -> Path | None:
    """The folder of the top-level package ``module`` belongs to (where an installed plugin's files are); None for a
    plain module, which has no folder of its own."""
    top = sys.modules.get(module.__name__.partition(".")[0], module)
    locations = list(getattr(top, "__path__", None) or [])
    return Path(locations[0]) if locations else None


def _entry_point_info(entry: EntryPoint) -> PluginInfo:
    dist = getattr(entry, "dist", None)
    return PluginInfo(
        name=entry.name,
        module=entry.value,
        version=dist.version if dist else "0+unknown",
        package=dist.metadata["Name"] if dist else None,
    )


def _local_candidates(folder: Path) -> Iterable[tuple[PluginInfo, Any]]:
    """Plugins in a --plugins-dir: a plugin folder (with pyproject.toml), folders of them, or .py files."""
    if not folder.is_dir():
        info = PluginInfo(name=folder.name, module="?", origin=str(folder))
        info.errors.append(f"--plugins-dir {folder} is not a folder")
        yield info, None
        return
    if (folder / "pyproject.toml").is_file():
        yield from _plugin_folder_candidates(folder)
        return
    try:
        children = sorted(folder.iterdir())
    except OSError as error:
        from medsreg.paths import os_problem

        info = PluginInfo(name=folder.name, module="?", origin=str(folder))
        info.errors.append(f"--plugins-dir {folder} {os_problem(error)}")
        yield info, None
        return
    for child in children:
        if child.name.startswith(("_", ".")):
            continue
        if child.is_dir() and (child / "pyproject.toml").is_file():
            yield from _plugin_folder_candidates(child)
        elif child.suffix == ".py":
            yield _file_candidate(child)


def _plugin_folder_candidates(folder: Path) -> Iterable[tuple[PluginInfo, Any]]:
    from medsreg.pluginfolder import read_pyproject

    project = read_pyproject(folder)
    if project.error:
        info = PluginInfo(name=folder.name, module="?", origin=str(folder))
        info.errors.append(project.error)
        yield info, None
        return
    for name, value in project.entry_points.items():
        module_name = value.split(":")[0]
        info = PluginInfo(name=name, module=module_name, version=project.version, package=project.name, origin=str(folder),
                          root=folder)

        def load(folder: Path = folder, module_name: str = module_name) -> ModuleType:
            if str(folder) not in sys.path:
                sys.path.insert(0, str(folder))
            return importlib.import_module(module_name)

        yield info, load


def _file_candidate(path: Path) -> tuple[PluginInfo, Any]:
    info = PluginInfo(name=path.stem.replace("_", "-"), module=path.stem, version="0+local", origin=str(path))

    def load() -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"medsreg_local_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[spec.name] = module  # type: ignore[union-attr]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module

    return info, load
