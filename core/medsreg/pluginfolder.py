"""Reading a plugin folder without running its code: pyproject.toml, manifest, task paths.

This is what ``medsreg validate PATH`` (the static tier) and ``medsreg registry`` use, so a
contributor's pull request is checked without importing anything it contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from medsreg.formats.medsins import task_files
from medsreg.models import PLUGIN_SLUG, PluginManifest
from medsreg.paths import lexical_escape, os_problem, outside
from medsreg.toml import TOMLDecodeError, load_toml
from medsreg.validate.problems import Findings, check

CONVENTIONS = "see CONTRIBUTING.md, 'Plugin layout'"


@dataclass
class PyProject:
    """What medsreg reads from a plugin's pyproject.toml."""

    path: Path
    name: str = ""
    version: str = "0+unknown"
    entry_points: dict[str, str] = field(default_factory=dict)
    tool: dict = field(default_factory=dict)
    error: str | None = None


def read_pyproject(folder: Path) -> PyProject:
    path = folder / "pyproject.toml"
    result = PyProject(path)
    escape = outside(folder, path, "the plugin folder", "make it a file of the plugin's own")
    if escape is not None:
        result.error = f"{path} {escape}"
        return result
    try:
        data = load_toml(path)
    except FileNotFoundError:
        result.error = f"{path} is missing; every plugin folder needs one ({CONVENTIONS})"
        return result
    except TOMLDecodeError as error:
        result.error = f"{path} is not valid TOML: {error}"
        return result
    except UnicodeDecodeError:
        result.error = f"{path} is not UTF-8 text; re-save it as UTF-8"
        return result
    except OSError as error:  # a link loop, a folder named pyproject.toml, no permission
        result.error = f"{path} {os_problem(error)}"
        return result
    project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
    result.name = str(project.get("name", ""))
    result.version = str(project.get("version", "0+unknown"))
    groups = project.get("entry-points", {})
    medsreg_group = groups.get("medsreg", {}) if isinstance(groups, dict) else {}
    result.entry_points = {str(k): str(v) for k, v in medsreg_group.items()} if isinstance(medsreg_group, dict) else {}
    tool = data.get("tool", {})
    result.tool = tool.get("medsreg", {}) if isinstance(tool, dict) and isinstance(tool.get("medsreg", {}), dict) else {}
    return result


@dataclass
class PluginFolder:
    """A plugin folder read statically."""

    folder: Path
    slug: str
    pyproject: PyProject
    manifest: PluginManifest
    task_paths: list[Path]
    suite_paths: list[Path]
    findings: Findings
    mixture_paths: list[Path] = field(default_factory=list)
    corpus_paths: list[Path] = field(default_factory=list)

    @property
    def module(self) -> str:
        return self.pyproject.entry_points.get(self.slug, "").split(":")[0]


def read_plugin_folder(folder: Path) -> PluginFolder:
    findings = Findings()
    pyproject = read_pyproject(folder)
    slug, manifest = check_plugin_manifest(folder, pyproject, findings)
    task_paths = check_plugin_paths(folder, manifest.tasks, "tasks", findings)
    suite_paths = check_plugin_paths(folder, manifest.suites, "suites", findings)
    mixture_paths = check_plugin_paths(folder, manifest.mixtures, "mixtures", findings)
    corpus_paths = check_plugin_paths(folder, manifest.corpora, "corpora", findings)
    return PluginFolder(folder, slug, pyproject, manifest, task_paths, suite_paths, findings, mixture_paths, corpus_paths)


@check("plugin-manifest", scope="plugin")
def check_plugin_manifest(folder: Path, pyproject: PyProject, findings: Findings) -> tuple[str, PluginManifest]:
    """pyproject.toml names the distribution medsreg-<slug>, one 'medsreg' entry point medsreg_<slug>, and a valid [tool.medsreg] table."""
    where = str(pyproject.path)
    slug = folder.name
    if pyproject.error:
        findings.add("plugin-manifest", "error", where, "", pyproject.error)
        return slug, PluginManifest()
    if len(pyproject.entry_points) != 1:
        findings.add(
            "plugin-manifest", "error", where, "project.entry-points.medsreg",
            f"declares {len(pyproject.entry_points)} entry points in the 'medsreg' group; declare exactly one, "
            f"'<slug> = \"medsreg_<slug>\"' ({CONVENTIONS})",
        )
    else:
        slug, value = next(iter(pyproject.entry_points.items()))
        expected_module = "medsreg_" + slug.replace("-", "_")
        if not re.match(PLUGIN_SLUG, slug):
            findings.add("plugin-manifest", "error", where, "project.entry-points.medsreg",
                         f"plugin name {slug!r} must be lower-case letters, digits and '-'")
        if value.split(":")[0] != expected_module:
            findings.add("plugin-manifest", "error", where, "project.entry-points.medsreg",
                         f"entry point {slug!r} points to {value!r}; name the module {expected_module!r} ({CONVENTIONS})")
        if pyproject.name.lower().replace("_", "-") != f"medsreg-{slug}":
            findings.add("plugin-manifest", "error", where, "project.name",
                         f"distribution name {pyproject.name!r} should be 'medsreg-{slug}' ({CONVENTIONS})")
    if not (folder / "README.md").is_file():
        findings.add("plugin-manifest", "warning", str(folder), "", "has no README.md; add one describing the source, licence and how to obtain credentialed data")
    try:
        manifest = PluginManifest.model_validate(pyproject.tool)
    except ValidationError as error:
        for item in error.errors(include_url=False):
            location = "tool.medsreg." + ".".join(str(part) for part in item["loc"])
            findings.add("plugin-manifest", "error", where, location, item["msg"])
        manifest = PluginManifest()
    return slug, manifest


@check("plugin-paths", scope="plugin")
def check_plugin_paths(folder: Path, entries: list[str], key: str, findings: Findings) -> list[Path]:
    """Every path in [tool.medsreg] (and every task file of a listed folder) exists and stays inside the plugin folder: not absolute, no '..', no link leading out, no link loop."""
    where = str(folder / "pyproject.toml")
    paths: list[Path] = []
    for index, entry in enumerate(entries):
        location = f"tool.medsreg.{key}[{index}]"
        path = folder / entry
        reason = lexical_escape(entry)
        why = (f"points outside the plugin folder ({reason}); list paths relative to the plugin folder and inside it "
               f"(e.g. 'medsreg_<slug>/tasks')" if reason
               else outside(folder, path, "the plugin folder", f"keep the files inside it and list them relative to it ({CONVENTIONS})"))
        if why is not None:
            findings.add("plugin-paths", "error", where, location, f"{entry!r} {why}")
            continue
        if not path.exists():
            findings.add("plugin-paths", "error", where, location, f"{entry!r} does not exist in {folder}")
            continue
        # a listed folder stands for its *.json files; nothing reads corpora yet, so theirs are left as listed
        for file in [path] if key == "corpora" else task_files(path):
            why = outside(folder, file, "the plugin folder", "copy the file in instead of linking to it")
            if why is None and file != path and file.is_dir():
                why = f"is a folder named like a file in {entry!r}; rename it: every *.json there is read as a file"
            if why is not None:
                findings.add("plugin-paths", "error", str(file), "", why)
            else:
                paths.append(file)
    return paths
