"""The catalog: every task that plugins provide, gathered statically or from installed plugins.

Two ways in, one result:

* ``load_static(paths)`` reads plugin folders and task files without importing any code
  (a community pull request, ``medsreg registry``);
* ``load_installed(plugin_set)`` calls the ``register_tasks`` hook of loaded plugins.

Both give a ``Catalog`` of ``LoadedTask`` s plus the problems met on the way, which the
validator then checks with the same checks.
"""

from __future__ import annotations

import errno
import gc
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from medsreg.errors import (
    ConfigError,
    MedsregError,
    SourceNotConfiguredError,
    UnknownNameError,
)
from medsreg.formats.medsins import DEFAULT_MAX_FILE_MB, read_task_file, task_files
from medsreg.models import Corpus, Instance, Metric, MixtureSpec, Suite, Task
from medsreg.paths import PathEscapeError, os_problem, outside, source_path_problems
from medsreg.pluginfolder import read_plugin_folder, read_pyproject
from medsreg.plugins import PluginInfo, PluginSet
from medsreg.validate.problems import Findings, check, task_problem
from medsreg.vocabulary import did_you_mean

# registered here, not in medsreg.paths (which medsreg.sources imports early): after the file reader's stages, so
# 'validate --list-checks' and CONTRIBUTING's table keep the order a file is read in
check_source_paths = check("source-paths", scope="file")(source_path_problems)


@dataclass
class LoadedTask:
    """A task and where problems about it should point."""

    task: Task
    origin: str
    native: bool = True
    """False for a raw MedS-Ins file without a ``medsreg`` block: missing registry fields are then warnings."""
    unavailable: str | None = None
    """Why the instances could not be read (source not configured), when that is the case."""
    prefix: str = "$"
    """JSON path of the task inside its file: ``$``, or ``$.tasks[i]`` for a card of a catalog."""
    data_path: str | None = None
    """The user's data file the instances were read from (a configured source), None for inline or loaded ones:
    where a problem with an instance is located (its record index in this file)."""


@dataclass
class LoadedSuite:
    suite: Suite
    origin: str


@dataclass
class LoadedMixture:
    """A named training mixture a plugin registers (``register_mixtures`` or ``[tool.medsreg] mixtures``)."""

    spec: MixtureSpec
    origin: str

    @property
    def plugin(self) -> str:
        return self.spec.name.split("/", 1)[0]


@dataclass
class Catalog:
    plugins: list[PluginInfo] = field(default_factory=list)
    tasks: list[LoadedTask] = field(default_factory=list)
    corpora: list[tuple[str, Corpus]] = field(default_factory=list)
    """(plugin, corpus) pairs."""
    metrics: list[tuple[str, Metric]] = field(default_factory=list)
    """(plugin, metric) pairs."""
    suites: list[LoadedSuite] = field(default_factory=list)
    mixtures: list[LoadedMixture] = field(default_factory=list)
    findings: Findings = field(default_factory=Findings)

    def counts(self, plugin: str) -> dict[str, int]:
        """How many tasks, corpora and metrics ``plugin`` provides."""
        return {
            "tasks": sum(item.task.plugin == plugin for item in self.tasks),
            "corpora": sum(owner == plugin for owner, _ in self.corpora),
            "metrics": sum(owner == plugin for owner, _ in self.metrics),
            "suites": sum(item.suite.plugin == plugin for item in self.suites),
            "mixtures": sum(item.plugin == plugin for item in self.mixtures),
        }

    def find(self, query: str) -> LoadedTask:
        """A task by full name, by name inside its plugin, or by MedS-Ins legacy id ('125', 'task125', 'meds-ins/125')."""
        wanted = query.strip().lower()
        plugin, _, rest = wanted.rpartition("/")
        legacy = rest.removeprefix("task")
        matches = [
            item for item in self.tasks
            if item.task.name == wanted
            or item.task.name.split("/", 1)[1] == wanted
            or (legacy.isdigit() and item.task.legacy_id == int(legacy) and plugin in ("", item.task.plugin))
        ]
        if len(matches) == 1:
            return matches[0]
        if matches:
            names = ", ".join(item.task.name for item in matches)
            raise UnknownNameError(f"{query!r} matches several tasks ({names}); give the full '<plugin>/<task>' name, "
                                   f"or '<plugin>/{rest}'")
        names = [item.task.name for item in self.tasks]
        hint = did_you_mean(wanted, names + [n.split("/", 1)[1] for n in names])
        raise UnknownNameError(f"no task named {query!r}.{hint} 'medsreg list' shows every task")


# --------------------------------------------------------------------------- static tier


def load_static(paths: Sequence[Path], *, max_file_mb: float = DEFAULT_MAX_FILE_MB) -> Catalog:
    """Read plugin folders, folders of plugin folders, and task files; import nothing."""
    with collector_paused():
        return _load_static(paths, max_file_mb)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: reading makes millions of acyclic dicts, and each full
    collection walks them all (half of the load time at 1M instances)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_static(paths: Sequence[Path], max_file_mb: float) -> Catalog:
    catalog = Catalog()
    for path in paths:
        path = Path(path)
        if path.is_file():
            _add_file(catalog, path, _enclosing_plugin(path.parent), max_file_mb)
        elif _plugin_folder(path):
            _add_plugin_folder(catalog, path, max_file_mb)
        elif path.is_dir():
            try:
                children = sorted(p for p in path.iterdir() if not p.name.startswith((".", "_")))
            except OSError as error:
                catalog.findings.add("readable", "error", str(path), "", os_problem(error))
                continue
            loose_owner = None
            for child in children:
                if _plugin_folder(child):
                    _add_plugin_folder(catalog, child, max_file_mb)
                elif child.suffix == ".json":
                    loose_owner = loose_owner or _enclosing_plugin(path)
                    _add_file(catalog, child, loose_owner, max_file_mb)
        else:
            catalog.findings.add("readable", "error", str(path), "", _missing(path))
    catalog.findings.extend(check_source_paths(catalog.tasks))
    return catalog


def _plugin_folder(path: Path) -> bool:
    # lexists: a pyproject.toml that is a broken link or a link loop is still a plugin's, and read_pyproject says why
    return os.path.lexists(path / "pyproject.toml") and path.is_dir()


def _missing(path: Path) -> str:
    """Why a path given to validate is neither a file nor a folder: it does not exist, or cannot be followed (a link loop)."""
    try:
        path.stat()
    except OSError as error:
        if error.errno != errno.ENOENT:
            return os_problem(error)
    return "does not exist; give a plugin folder, a folder of them, or a task file"


def _enclosing_plugin(folder: Path) -> str:
    """The plugin name of the plugin folder at or above ``folder`` (4 levels at most), or 'local'."""
    resolved = folder.resolve()
    for parent in [resolved, *resolved.parents][:4]:
        if (parent / "pyproject.toml").is_file():
            entry_points = read_pyproject(parent).entry_points
            if len(entry_points) == 1:
                return next(iter(entry_points))
    return "local"


def _add_plugin_folder(catalog: Catalog, folder: Path, max_file_mb: float) -> None:
    plugin = read_plugin_folder(folder)
    catalog.findings.extend(plugin.findings.problems)
    catalog.plugins.append(PluginInfo(
        name=plugin.slug, module=plugin.module or "?", version=plugin.pyproject.version,
        package=plugin.pyproject.name or None, origin=str(folder),
    ))
    for path in plugin.task_paths:
        _add_file(catalog, path, plugin.slug, max_file_mb)
    for path in plugin.suite_paths:
        _add_suite_file(catalog, path, plugin.slug)
    for path in plugin.mixture_paths:
        _add_mixture_file(catalog, path, plugin.slug)


def _add_file(catalog: Catalog, path: Path, plugin: str, max_file_mb: float) -> None:
    result = read_task_file(path, plugin, max_file_mb=max_file_mb)
    catalog.findings.extend(result.findings.problems)
    for task, prefix in result.entries:
        catalog.tasks.append(LoadedTask(task, str(path), native=result.native, prefix=prefix))


def _add_suite_file(catalog: Catalog, path: Path, plugin: str) -> None:
    suite = read_suite_file(path, plugin, catalog.findings)
    if suite is not None:
        catalog.suites.append(LoadedSuite(suite, str(path)))


@check("suite-file", scope="file")
def read_suite_file(path: Path, plugin: str, findings: Findings) -> Suite | None:
    """A suite file parses as JSON, conforms to schemas/suite.schema.json, and its name starts with its plugin."""
    from medsreg.errors import decode_text
    from medsreg.formats.medsins import JsonError, json_path, load_json

    where = str(path)
    try:  # medsins' reader: a key repeated in the file is an error, not a silently kept last value
        suite = Suite.model_validate(load_json(decode_text(path.read_bytes(), path)))
    except ValidationError as error:
        for problem in error.errors(include_url=False)[:20]:
            findings.add("suite-file", "error", where, json_path(problem["loc"]), problem["msg"])
        return None
    except OSError as error:
        findings.add("suite-file", "error", where, "", f"cannot be read ({error.strerror or error}); check that the "
                     "file exists and is readable")
        return None
    except (JsonError, MedsregError) as error:  # each says what is wrong and how to fix it
        findings.add("suite-file", "error", where, "", str(error))
        return None
    if suite.plugin != plugin:
        findings.add("suite-file", "error", where, "$.name", f"suite name {suite.name!r} must start with '{plugin}/'")
        return None
    return suite


@check("mixture-file", scope="file")
def _add_mixture_file(catalog: Catalog, path: Path, plugin: str) -> None:
    """A mixture file is a valid spec (schemas/mixture.schema.json) whose name starts with its plugin."""
    from medsreg.build.spec import load_spec

    try:
        spec = load_spec(path)
    except MedsregError as error:
        catalog.findings.add("mixture-file", "error", str(path), "", str(error).removeprefix(f"{path}: "))
        return
    _add_mixture(catalog, spec, str(path), plugin)


def _add_mixture(catalog: Catalog, spec: MixtureSpec, origin: str, plugin: str) -> None:
    if not spec.name.startswith(f"{plugin}/"):
        catalog.findings.add("mixture-file", "error", origin, "$.name",
                             f"mixture name {spec.name!r} must be '{plugin}/<mixture>'; rename it")
        return
    catalog.mixtures.append(LoadedMixture(spec, origin))


def task_status(task: Task) -> str:
    """'available', 'empty' (inline, without an instance), 'not configured' or 'credentialed', without reading a source."""
    from medsreg.sources import availability

    if task.instances is not None and not task.instances:
        return "empty"
    if task.instances is not None or task.loader is not None:
        return "available"
    return availability(task.instances_from, task.access)


def read_tasks(path: str | os.PathLike[str], plugin: str) -> list[Task]:
    """The tasks of a task file or catalog, for a plugin's ``register_tasks``; any error raises a ``MedsregError``.

    A plugin reads its own catalog with this, attaches ``reader`` s, and returns the tasks.
    """
    result = read_task_file(Path(path), plugin)
    errors = [problem for problem in result.findings.problems if problem.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more; run 'medsreg validate {path}')" if len(errors) > 1 else ""
        raise MedsregError(f"{errors[0].location()}: {errors[0].message}{more}")
    return [task for task, _ in result.entries]


# --------------------------------------------------------------------------- installed tier


def load_installed(plugins: PluginSet, *, max_file_mb: float = DEFAULT_MAX_FILE_MB) -> Catalog:
    """Call every loaded plugin's ``register_tasks``; record what is broken instead of raising."""
    catalog = Catalog(plugins=plugins.plugins)
    for info, returned in plugins.call_each("register_tasks"):
        if returned is None or isinstance(returned, (str, bytes, Task)) or not isinstance(returned, Iterable):
            info.errors.append(
                f"its register_tasks() returned {type(returned).__name__}; return a list of task file paths, "
                "folder paths or medsreg.Task objects"
            )
            continue
        for index, item in enumerate(returned):
            _add_returned(catalog, info, index, item, max_file_mb)
    catalog.corpora = _collect(plugins, "register_corpora", Corpus)
    catalog.metrics = _collect(plugins, "register_metrics", Metric)
    def add_suite(item: Suite, info: PluginInfo) -> bool:
        if item.plugin != info.name:  # another plugin's name: reported as a wrong return value
            return False
        catalog.suites.append(LoadedSuite(item, f"plugin {info.name}: suite {item.name}"))
        return True

    def add_mixture(item: MixtureSpec, info: PluginInfo) -> bool:
        _add_mixture(catalog, item, f"plugin {info.name}: mixture {item.name}", info.name)
        return True

    _add_registered(catalog, plugins, "register_suites", Suite, add_suite, _add_suite_file, "suite file paths")
    _add_registered(catalog, plugins, "register_mixtures", MixtureSpec, add_mixture, _add_mixture_file,
                    "mixture spec file paths")
    plugin_load(catalog.plugins, catalog.findings)
    catalog.findings.extend(check_source_paths(catalog.tasks))
    return catalog


def _add_registered(catalog: Catalog, plugins: PluginSet, hook: str, model: type, add_object: Callable[[Any, Any], bool],
                    add_file: Callable[[Catalog, Path, str], None], files: str) -> None:
    """What each plugin's ``hook`` returns: ``model`` objects (``add_object`` says whether it took one) or paths of files
    inside the plugin (``add_file``); anything else is an error of that plugin naming the hook and the index."""
    for info, returned in plugins.call_each(hook):
        for index, item in enumerate(returned if isinstance(returned, (list, tuple)) else [returned]):
            if isinstance(item, model) and add_object(item, info):
                continue
            if isinstance(item, (str, os.PathLike)) and Path(item).is_file():
                if _inside_plugin(catalog, info, Path(item), f"{hook}()[{index}]"):
                    add_file(catalog, Path(item), info.name)
                continue
            info.errors.append(f"its {hook}()[{index}] is {item!r}; return {files} or "
                               f"medsreg.{model.__name__} objects named '{info.name}/...'")


def _collect(plugins: PluginSet, hook: str, kind: type) -> list[tuple[str, Any]]:
    """(plugin, object) for the objects of type ``kind`` returned from ``hook``; anything else is a plugin error."""
    found: list[tuple[str, Any]] = []
    names: dict[str, str] = {}
    for info, returned in plugins.call_each(hook):
        items = returned if isinstance(returned, (list, tuple)) else [returned]
        for index, item in enumerate(items):
            if not isinstance(item, kind):
                info.errors.append(f"its {hook}()[{index}] is a {type(item).__name__}; return medsreg.{kind.__name__} objects")
            elif item.name in names:
                info.errors.append(f"its {hook}() returns {item.name!r}, already provided by plugin {names[item.name]}")
            else:
                names[item.name] = info.name
                found.append((info.name, item))
    return found


def _add_returned(catalog: Catalog, info: PluginInfo, index: int, item: object, max_file_mb: float) -> None:
    if isinstance(item, Task):
        if item.plugin != info.name:
            info.errors.append(f"returned task {item.name!r}, whose name does not start with '{info.name}/'")
            return
        catalog.tasks.append(LoadedTask(item, f"plugin {info.name}: task {item.name}"))
    elif isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if not _inside_plugin(catalog, info, path, f"register_tasks()[{index}]"):
            return
        if path.exists():
            for file in task_files(path):
                if _inside_plugin(catalog, info, file):
                    _add_file(catalog, file, info.name, max_file_mb)
        else:
            info.errors.append(f"its register_tasks()[{index}] is {str(path)!r}, which does not exist")
    else:
        info.errors.append(
            f"its register_tasks()[{index}] is a {type(item).__name__}; return task file paths, folder paths "
            "or medsreg.Task objects"
        )


def _inside_plugin(catalog: Catalog, info: PluginInfo, path: Path, returned: str | None = None) -> bool:
    """Whether a path a hook gave stays inside the plugin's folder once links are followed; if not, an error located
    at the hook's value ``returned``, or at the file itself (one of a returned folder), and the file is not read."""
    why = None if info.root is None else outside(
        info.root, path, "the plugin folder", "a plugin registers only files inside its own folder: copy the file into "
                                              "its package")
    if why is not None and returned is None:
        catalog.findings.add("plugin-paths", "error", str(path), "", why)
    elif why is not None:
        catalog.findings.add("plugin-paths", "error", f"plugin {info.name} ({info.origin})", returned, f"{path} {why}")
    return why is None


@check("plugin-load", scope="plugin")
def plugin_load(plugins: list[PluginInfo], findings: Findings) -> None:
    """Every installed plugin imports, matches the hook signatures, and its hooks return what they promise."""
    for info in plugins:
        for error in info.errors:
            findings.add("plugin-load", "warning", f"plugin {info.name} ({info.origin})", "",
                          f"{error}; the plugin is skipped. Fix it, or block it with MEDSREG_DISABLED_PLUGINS={info.name}")


# --------------------------------------------------------------------------- instances from sources


_INSTANCES = TypeAdapter(list[Instance])


@check("source", scope="file")
def resolve_instances(catalog: Catalog, *, max_file_mb: float = DEFAULT_MAX_FILE_MB) -> None:
    """Configured sources resolve to one readable file each; unconfigured ones are noted with how to obtain them.

    Reads what lives outside the task files: instances (configured sources, readers, loaders) and instructions.

    A source that is not configured is not an error: the task is marked unavailable and a
    note says how to obtain it.
    """
    from medsreg.sources import resolve_first

    for item in catalog.tasks:
        task = item.task
        try:
            if task.instances is None and task.loader is not None:
                task.instances = _from_loader(item, catalog.findings)
            elif task.instances is None and task.instances_from is not None:
                if task.reader is None and _native_format(task):
                    continue  # static tier: only the plugin's reader (validate --installed) can read it
                path = resolve_first(task.instances_from, task.name, task.access, "instances_from")
                item.data_path = str(path)
                if task.reader is not None:
                    task.instances = _from_reader(item, path, catalog.findings)
                else:
                    _from_task_file(item, path, catalog.findings, max_file_mb)
        except SourceNotConfiguredError as error:
            item.unavailable = str(error)
            catalog.findings.add("instance-count", "note", item.origin, "" if item.prefix == "$" else item.prefix, str(error))
        except PathEscapeError as error:
            _refused(item, "instances_from", error, catalog.findings)
        except ConfigError:
            raise
        except MedsregError as error:  # a configured source that is wrong: the user must fix it
            item.unavailable = str(error)
            catalog.findings.add("source", "error", item.origin, item.prefix, str(error))
        if task.instructions_from is not None and task.legacy_id is not None:
            _instructions(item, catalog.findings)


def _refused(item: LoadedTask, key: str, error: PathEscapeError, findings: Findings) -> None:
    """A source path leading out of its folder: nothing was read, the task is unavailable, and the problem is located
    at the task's field (one whose text escapes was reported when the catalog was loaded, so only links are added)."""
    item.unavailable = item.unavailable or str(error)
    if not error.lexical:
        findings.problems.append(task_problem("source-paths", "error", item, f"$.medsreg.{key}", str(error)))


def check_configuration(catalog: Catalog) -> None:
    """Add the configured sources that are wrong (a missing folder, a key no task or corpus reads) to the findings."""
    from medsreg.sources import configuration_problems

    for severity, problem in configuration_problems(source_keys(catalog)):
        catalog.findings.add("source", severity, "configuration", "", problem)


def source_keys(catalog: Catalog) -> set[str]:
    """The source keys the catalog's tasks (instances, instructions) and corpora (documents) read: the keys a user
    may configure; any other is a typo or belongs to a plugin that is not installed."""
    from medsreg.models import LocalSource
    from medsreg.sources import alternatives

    sources = [source for item in catalog.tasks for key in ("instances_from", "instructions_from")
               for source in alternatives(getattr(item.task, key))]
    sources += [source for _, corpus in catalog.corpora for source in alternatives(corpus.documents_from)]
    return {source.key for source in sources if isinstance(source, LocalSource)}


def _native_format(task: Task) -> bool:
    from medsreg.models import MEDS_INS_FORMAT
    from medsreg.sources import alternatives

    return any(getattr(source, "format", MEDS_INS_FORMAT) != MEDS_INS_FORMAT for source in alternatives(task.instances_from))


def _from_task_file(item: LoadedTask, path: Path, findings: Findings, max_file_mb: float) -> None:
    """Instances (and, if the task has none, the Definition) from a released MedS-Ins task file."""
    task = item.task
    result = read_task_file(path, task.plugin, max_file_mb=max_file_mb)
    findings.extend(result.findings.problems)
    released = result.task
    if released is None:
        return
    release_mismatch(item, released, path, findings)
    task.instances = released.instances
    if released.definition:
        task.definition = [released.definition[0], *task.definition[1:]] if task.definition else released.definition


TEST_FILE = re.compile(r"^task\d+_test_|_test(_only|_set)?\.jsonl?$")
"""How MedS-Bench names its test files (task125_test_..., ..._test_only.jsonl, ..._test.json, ..._test_set.json)."""


@check("release", scope="file")
def release_mismatch(item: LoadedTask, released: Task, path: Path, findings: Findings) -> None:
    """A configured source file carries the task's id, its released name, and the instances of the right split."""
    task = item.task
    if released.legacy_id is not None and task.legacy_id is not None and released.legacy_id != task.legacy_id:
        problem = (f"has id {released.legacy_id} in its name but was read for task{task.legacy_id} ({task.name}); "
                   "the folder holds files from another release: use the released files")
    elif task.split == "train" and TEST_FILE.search(path.name.lower()):
        problem = (f"looks like a MedS-Bench test file but {task.name} is a training task; point the source at the "
                   "MedS-Ins release (test files belong to the meds-bench source)")
    elif task.released_name and Path(path.name).stem != Path(task.released_name).stem:
        problem = (f"is read for {task.name}, whose released file is {task.released_name!r}: the id matches but the "
                   "name does not, so this file is probably another task (ids differ between the MedS-Ins "
                   "preparation scripts and the release); use the released files")
    elif released.split and task.split and released.split != task.split and "train/test" not in (released.split, task.split):
        problem = f"is a {released.split} file but {task.name} is a {task.split} task; point the source at the {task.split} release"
    else:
        return
    findings.add("release", "error", str(path), "", problem)


def _instructions(item: LoadedTask, findings: Findings) -> None:
    from medsreg.formats.rewrites import instructions
    from medsreg.sources import resolve_first

    task = item.task
    try:
        path = resolve_first(task.instructions_from, task.name, None, "instructions_from")
        found = instructions(path, task.legacy_id, task.definition)
    except SourceNotConfiguredError as error:
        if not task.definition:
            item.unavailable = item.unavailable or str(error)
        findings.add("instance-count", "note", item.origin, item.prefix, f"instructions {error}")
        return
    except PathEscapeError as error:
        _refused(item, "instructions_from", error, findings)
        return
    except ConfigError:
        raise
    except MedsregError as error:
        findings.add("source", "error", item.origin, item.prefix, str(error))
        return
    if found is not None:
        task.definition = found


def _from_reader(item: LoadedTask, path: Path, findings: Findings) -> list[Instance] | None:
    where = f"{item.origin}: reader of {item.task.name}"
    try:
        rows = list(item.task.reader(path))  # type: ignore[misc]
    except MedsregError as error:  # the message locates the problem in the user's file
        findings.add("source", "error", item.origin, item.prefix, f"{item.task.name}: {error}")
        return None
    except Exception as error:  # the reader is plugin code
        findings.add("plugin-load", "error", where, "", f"raised {type(error).__name__} on {path}: {error}")
        return None
    return _validated(rows, where, findings)


def _from_loader(item: LoadedTask, findings: Findings) -> list[Instance] | None:
    where = f"{item.origin}: loader of {item.task.name}"
    try:
        rows = list(item.task.loader())  # type: ignore[misc]
    except SourceNotConfiguredError:
        raise
    except Exception as error:  # the loader is plugin code
        findings.add("plugin-load", "error", where, "", f"raised {type(error).__name__}: {error}")
        return None
    return _validated(rows, where, findings)


def _validated(rows: list, where: str, findings: Findings) -> list[Instance] | None:
    try:
        return _INSTANCES.validate_python(rows)
    except ValidationError as error:
        for problem in error.errors(include_url=False)[:20]:
            loc = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in problem["loc"])
            findings.add("schema", "error", where, loc, problem["msg"])
        return None
