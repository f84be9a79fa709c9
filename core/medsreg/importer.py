"""``medsreg import``: a MedS-Ins contribution (task JSON or the Excel template) turned into a plugin folder.

This module owns the decisions an import makes: which reader a file needs, the task and plugin
names, the ``medsreg`` block (legacy id from a ``task<N>_`` file name, licence left for the
contributor, access guessed from the source), and the two lists handed back: notes (what was
normalized or guessed) and todo (what the contributor must still fill in before
``medsreg validate`` passes). Both inputs go through the MedS-Ins reader's schema and
normalization stages, so an imported task reads exactly as ``validate`` will read it.
Writing the folder is ``medsreg.scaffold.new_plugin``'s job (built aside, renamed into place);
this module then marks it as made by import (``IMPORT_MARKER``, listing the files written), which
is what lets ``--overwrite`` replace it later: a folder without the marker, or holding files the
import did not write (a ``.git``, a thesis), is never deleted.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from medsreg.errors import MedsregError
from medsreg.files import write_text_atomically
from medsreg.formats import medsins
from medsreg.models import TASK_NAME, Task
from medsreg.scaffold import (
    LEFT_BEHIND,
    check_plugin_name,
    module_name,
    new_plugin,
    suggested_name,
    task_file_name,
)
from medsreg.validate.problems import Findings
from medsreg.vocabulary import CATEGORIES, language_code

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
ZIP_MAGIC = b"PK\x03\x04"
PLACEHOLDER_PLUGIN = "imported"
"""The reader names tasks '<plugin>/<task>'; the plugin name is only chosen once the task is read."""
CREDENTIALED_MARKERS = re.compile(r"\b(mimic(?:[-_ ]?(?:ii|iii|iv|cxr|ed))?\b|physionet|mednli|eicu)", re.IGNORECASE)
"""Dataset names in a task's source that mean PhysioNet-style credentialed data (whole words: 'mimic' as a verb is not one)."""
CREDENTIALED_FIELDS = ("Source", "URL", "Definition")
LICENSE_EXAMPLES = ('"CC-BY-4.0"', '"CC-BY-NC-4.0"', '"CC0-1.0"', '"MIT"', '"Apache-2.0"',
                    '"LicenseRef-PhysioNet-Credentialed-Health-Data-1.5.0"')
_TEMPLATE_FILE_STEM = "task_contributor"
TASK_SHORT_NAME = re.compile("^" + TASK_NAME.split("/", 1)[1])
"""A task's name inside its plugin: what --task gives."""
LIST_FIELDS = ("Contributors", "Source", "URL", "Categories", "Reasoning", "Definition", "Input_language",
               "Output_language", "Instruction_language", "Domains")
"""Task-file fields that are lists in the template and often plain strings in released files."""
_LANGUAGE_FIELDS = (("Input_language", "input_languages"), ("Output_language", "output_languages"),
                    ("Instruction_language", "instruction_languages"))
IMPORT_MARKER = ".medsreg-import.json"
"""Written into each plugin folder an import makes, with the files it wrote: ``--overwrite`` replaces only such a folder."""


@dataclass
class ImportReport:
    """Where the plugin was written, what was normalized or guessed, and what is left to fill in."""

    plugin_dir: Path
    notes: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)


def import_contribution(source: Path, output: Path, *, name: str | None = None, task: str | None = None,
                        overwrite: bool = False) -> ImportReport:
    """Read ``source`` (a MedS-Ins task JSON or a filled-in Excel template) and write plugin ``output/<name>``.

    ``task`` names the task inside the plugin instead of the name taken from the file (or, for a workbook still
    called like the template, from its Source and category).

    Raises ``MedsregError`` with one located sentence for unreadable input or an existing folder (unless
    ``overwrite`` and ``check_replaceable`` allows it); nothing is written then.
    """
    source = Path(source)
    if not source.is_file():
        raise MedsregError(f"{source} {'is a folder' if source.is_dir() else 'does not exist'}; give the path of a "
                           "MedS-Ins task file (.json) or a filled-in contribution template (.xlsx)")
    if task is not None:
        check_task_name(task)
    notes: list[str] = []
    from_excel = _is_workbook(source)
    raw = _read_excel(source, notes, task) if from_excel else _read_json(source)
    if not from_excel and isinstance(raw, dict) and "Split Type" not in raw:
        notes.append("Split Type is not given (released MedS-Ins files leave it to the release they are in); add "
                     "\"Split Type\": \"Train\", \"Test\" or \"Train/Test\" to the task file if you know it")
    read = _read_task(raw, source, notes)
    if read.legacy_id is not None:
        check_catalog_id(read, source)

    task_name = task or read.name.split("/", 1)[1]
    if task is not None and not from_excel:
        notes.append(f"task name {task!r} given with --task")
    plugin_name = name if name is not None else (suggested_name(task_name) or "task")
    check_plugin_name(plugin_name)
    target = Path(output) / plugin_name
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise MedsregError(f"{target} already exists; choose another plugin name with --name, or pass --overwrite "
                               "to replace it")
        check_replaceable(target)

    task_file = target / module_name(plugin_name) / "tasks" / task_file_name({"medsreg": {"name": task_name}})
    todo: list[str] = []
    document = _task_document(raw, read, task_name, source, task_file, notes, todo)
    plugin_dir = new_plugin(plugin_name, Path(output), task_document=document, overwrite=overwrite)
    _mark_imported(plugin_dir, source)
    return ImportReport(plugin_dir, notes, todo)


# --------------------------------------------------------------------------- what --overwrite may replace


def check_replaceable(target: Path) -> None:
    """Raise unless ``target`` is a plugin folder an import made, holding no file but those it wrote (edited or not).

    Anything else under the same name (a project, a clone, a folder of notes) is the user's, not medsreg's to delete.
    """
    keep = ("choose another plugin name with --name or another parent folder with --output, or, if it is to go, "
            "delete it yourself first")
    if target.is_symlink() or not target.is_dir():
        raise MedsregError(f"{target} exists and is not a folder, so --overwrite does not replace it; {keep}")
    marker = target / IMPORT_MARKER
    recorded = _recorded_files(marker)
    if recorded is None:
        raise MedsregError(f"{target} was not made by 'medsreg import' (it has no readable {IMPORT_MARKER}), so "
                           f"--overwrite does not replace it; {keep}")
    unexpected = [path for path in _files_in(target) if path not in recorded]
    if unexpected:
        listed = ", ".join(unexpected[:3]) + (f" and {len(unexpected) - 3} more" if len(unexpected) > 3 else "")
        raise MedsregError(f"{target} holds files 'medsreg import' did not write ({listed}), so --overwrite does not "
                           f"replace it; move them out of it, or {keep}")


def _files_in(folder: Path) -> list[str]:
    """The files (and links) under ``folder``, '/'-separated and relative to it; build and test leftovers
    (``__pycache__``, ``*.egg-info``, ...) and the import marker left out."""
    found = []
    for directory, folders, files in os.walk(folder):
        here = Path(directory)
        left = LEFT_BEHIND(directory, [*folders, *files])
        links = [name for name in folders if (here / name).is_symlink()]  # os.walk lists them but does not enter them
        folders[:] = [name for name in folders if name not in left and name not in links]
        found += [(here / name).relative_to(folder).as_posix() for name in sorted([*files, *links]) if name not in left]
    return sorted(path for path in found if path != IMPORT_MARKER)


def _recorded_files(marker: Path) -> set[str] | None:
    """The files a marker lists, or None when ``marker`` is missing or is not one."""
    if marker.is_symlink() or not marker.is_file():
        return None
    try:
        document = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    files = document.get("files") if isinstance(document, dict) else None
    return {path for path in files if isinstance(path, str)} if isinstance(files, list) else None


def _mark_imported(plugin_dir: Path, source: Path) -> None:
    document = {
        "note": "Made by 'medsreg import'. 'medsreg import --overwrite' may replace this folder while it holds no file "
                "but those listed here; delete this file to keep it from ever being replaced.",
        "source": source.name,
        "files": _files_in(plugin_dir),
    }
    try:
        write_text_atomically(plugin_dir / IMPORT_MARKER, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    except OSError as error:
        raise MedsregError(f"wrote plugin {plugin_dir} but not its {IMPORT_MARKER} ({error.strerror or error}); the "
                           "plugin is complete, but a later 'medsreg import --overwrite' will not replace it: delete "
                           "the folder yourself then") from error


# --------------------------------------------------------------------------- reading


def _is_workbook(path: Path) -> bool:
    if path.suffix.lower() in EXCEL_SUFFIXES or path.suffix.lower() == ".xls":
        return True
    if path.suffix.lower() in (".json", ".jsonl"):
        return False
    with path.open("rb") as handle:  # no telling suffix: a zip is a workbook
        if handle.read(len(ZIP_MAGIC)) == ZIP_MAGIC:
            return True
    raise MedsregError(f"{path} is neither a MedS-Ins task file (.json) nor a contribution template (.xlsx); "
                       "save the contribution in one of those two forms (see CONTRIBUTING.md)")


def check_task_name(name: str) -> None:
    """Raise unless ``name`` can name a task inside its plugin (the part of '<plugin>/<task>' after the '/')."""
    if TASK_SHORT_NAME.match(name):
        return
    plugin, slash, rest = name.partition("/")
    if slash:
        raise MedsregError(f"--task {name!r} names a plugin too; give the task's name only ({rest!r}), and the plugin's "
                           f"with --name {plugin!r}")
    suggestion = _task_slug(name)
    hint = f" Did you mean {suggestion!r}?" if suggestion and TASK_SHORT_NAME.match(suggestion) else ""
    raise MedsregError(f"--task {name!r} is not a task name: use lower-case letters, digits, '_', '.' and '-', "
                       f"starting with a letter or digit.{hint}")


def _read_excel(path: Path, notes: list[str], task: str | None = None) -> dict[str, Any]:
    from medsreg.formats.excel import read_workbook

    contribution = read_workbook(path)
    notes.extend(contribution.notes)
    document = contribution.document
    stem = medsreg_stem = path.stem
    match = medsins.TASK_STEM.match(stem)
    block: dict[str, Any] = {}
    if match:
        block["legacy_id"] = int(match.group(1))
        notes.append(f"legacy id {block['legacy_id']} taken from the file name")
        medsreg_stem = match.group(2)
    if task is not None:
        block["name"] = task
        notes.append(f"task name {task!r} given with --task")
    elif medsreg_stem.lower() == _TEMPLATE_FILE_STEM:
        # the template's own file name says nothing about the task
        words = [*document["Source"][:1], *document["Categories"][:1]]
        block["name"] = _task_slug(" ".join(words))
        notes.append(f"task name {block['name']!r} made from the Source and the first category (the file still has "
                     "the template's name); change 'medsreg.name' in the task file to rename it")
    else:
        block["name"] = _task_slug(medsreg_stem)
        notes.append(f"task name {block['name']!r} taken from the file name")
    document["medsreg"] = block
    return document


def _read_json(path: Path) -> Any:
    findings = Findings()
    text = medsins.read_text(path, str(path), medsins.DEFAULT_MAX_FILE_MB, findings)
    if text is not None:
        parsed = medsins.parse_json(text, str(path), findings)
        if medsins.is_collection(parsed):
            raise MedsregError(f"{path} is a catalog of task cards, not one task; import the "
                               "MedS-Ins task files one at a time, or copy the catalog into a plugin made with "
                               "'medsreg new'")
        if not findings.has_errors:
            return parsed
    _raise_first_error(findings)


def _read_task(raw: Any, source: Path, notes: list[str]) -> Task:
    """The task as ``validate`` will read it: schema-checked and normalized, with the reader's notes."""
    findings = Findings()
    where = str(source)
    document = medsins.parse_task_file(raw, where, findings)
    task = None
    if document is not None:
        task = medsins.normalize(document, source, PLACEHOLDER_PLUGIN, where, findings)
    if task is None or findings.has_errors:
        _raise_first_error(findings)
    for problem in findings.problems:
        notes.append(f"{problem.path}: {problem.message}" if problem.path else problem.message)
    return task


def check_catalog_id(task: Task, source: Path) -> None:
    """A ``task<N>_`` file name must name the task the installed catalogs know as N (or an id they do not use)."""
    from medsreg.catalog import load_installed
    from medsreg.plugins import get_plugin_manager

    short = task.name.split("/", 1)[1]
    known = [item.task for item in load_installed(get_plugin_manager(())).tasks if item.task.legacy_id == task.legacy_id]
    same = [t for t in known if short in (t.name.split("/", 1)[1], _stem_name(t.released_name))]
    if known and not same:
        names = ", ".join(f"{t.name}" + (f" ({t.released_name})" if t.released_name else "") for t in known[:3])
        raise MedsregError(
            f"{source}: the file name gives MedS-Ins id {task.legacy_id}, which the catalog uses for {names}; if this "
            f"is that task, name the file as released, and if it is a new task, drop the 'task{task.legacy_id}_' prefix "
            "(new tasks get no MedS-Ins id)"
        )


def _stem_name(released_name: str | None) -> str | None:
    match = medsins.TASK_STEM.match(Path(released_name).stem) if released_name else None
    return _task_slug(match.group(2)) if match else None


def _raise_first_error(findings: Findings) -> NoReturn:
    errors = [problem for problem in findings.problems if problem.severity == "error"]
    more = f" (and {len(errors) - 1} more problems: 'medsreg validate FILE' lists them all)" if len(errors) > 1 else ""
    raise MedsregError(f"{errors[0].location()}: {errors[0].message}{more}")


# --------------------------------------------------------------------------- the task document


def _task_document(raw: dict[str, Any], task: Task, task_name: str, source: Path, task_file: Path,
                   notes: list[str], todo: list[str]) -> dict[str, Any]:
    """MedS-Ins fields as given (lists for strings, canonical categories, language codes), the ``medsreg`` block,
    instances with ids."""
    document: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("medsreg", "Instances"):
            continue
        if key in LIST_FIELDS and isinstance(value, str):
            value = [value] if value.strip() else []
        document[key] = value
    if "Categories" in document:
        document["Categories"] = task.categories
    for key, attribute in _LANGUAGE_FIELDS:
        if key in document:
            document[key] = getattr(task, attribute)

    given = dict(raw.get("medsreg") or {})
    block: dict[str, Any] = {"name": task_name}
    if task.legacy_id is not None:
        block["legacy_id"] = task.legacy_id
    block["license"] = given.pop("license", None)
    block["access"] = given.pop("access", None) or _guess_access(document, source, notes)
    given.pop("name", None)
    given.pop("legacy_id", None)
    document["medsreg"] = {**block, **given}

    if task.instances is not None:
        if block["access"] != "public" and not given.get("synthetic"):
            _keep_outside(document, task, source, task_file, todo)
        else:
            document["Instances"] = task.instances
    todo.extend(_todo(document, task, task_file))
    return document


def _keep_outside(document: dict[str, Any], task: Task, source: Path, task_file: Path, todo: list[str]) -> None:
    """Credentialed instances stay out of the plugin: it reads them from a task file beside the contribution."""
    from medsreg.sources import env_var

    plugin = task_file.parents[2].name
    data_file = source
    if _is_workbook(source):  # the workbook itself cannot be read as a source: write its instances as a task file
        data_file = source.with_name(f"{source.stem}.task.json")
        text = json.dumps({**{k: v for k, v in document.items() if k != "medsreg"}, "Instances": task.instances},
                          ensure_ascii=False, indent=1)
        write_text_atomically(data_file, text + "\n")
    document["medsreg"]["instances_from"] = {
        "kind": "local", "key": plugin, "path": data_file.name,
        "how_to_obtain": "Obtain the source under its data-use agreement and build this task file from it.",
    }
    todo.append(
        f"medsreg.access is {document['medsreg']['access']!r}: the {len(task.instances)} instances were NOT copied into "
        f"the plugin (credentialed data may not be redistributed); it reads them from {data_file}, outside the "
        f"repository: set {env_var(plugin)}={data_file.parent} (or --source {plugin}=...) to use them"
    )


def _guess_access(document: dict[str, Any], source: Path, notes: list[str]) -> str:
    texts = [source.name]
    texts += [text for key in CREDENTIALED_FIELDS for text in document.get(key) or [] if isinstance(text, str)]
    for text in texts:
        match = CREDENTIALED_MARKERS.search(text.replace("_", " "))
        if match and (match.group(0).lower() != "mimic" or _names_mimic_data(text)):
            notes.append(f"medsreg.access set to 'credentialed' because the task mentions {match.group(0).lower()!r} "
                         f"({text[:60]!r}); set it to 'public' in the task file if the data may in fact be redistributed")
            return "credentialed"
    notes.append("medsreg.access guessed as 'public' (nothing in the task mentions MIMIC, PhysioNet or MedNLI); set it "
                 "to 'credentialed' or 'private' in the task file if the data may not be redistributed")
    return "public"


def _names_mimic_data(text: str) -> bool:
    """'MIMIC' alone names the database when written in capitals or followed by a version; 'mimic' is a verb."""
    return "MIMIC" in text


def _todo(document: dict[str, Any], task: Task, task_file: Path) -> list[str]:
    """What ``validate`` would still reject, each as an instruction naming the field to fill in."""
    items = []
    if document["medsreg"]["license"] is None:
        items.append(f"set 'medsreg.license' in {task_file} to the SPDX id of the instances' licence, e.g. "
                     + ", ".join(LICENSE_EXAMPLES) + " (https://spdx.org/licenses/)")
    required = [("Source", task.source), ("Contributors", task.contributors), ("Categories", task.categories)]
    if task.instructions_from is None and task.instances_from is None:
        required.insert(0, ("Definition", task.definition))
    for key, values in required:
        if not any(value.strip() for value in values):
            items.append(f"fill in {key!r} in {task_file}; it is empty")
    for value in task.categories:
        if value.strip() and value not in CATEGORIES:
            items.append(f"Categories: {value!r} is not one of the 19 MedS-Ins categories; replace it in {task_file} "
                         f"with one of {', '.join(CATEGORIES)}")
    for key, attribute in _LANGUAGE_FIELDS:
        values = getattr(task, attribute)
        if not values:
            items.append(f"fill in {key!r} in {task_file}, e.g. [\"English\"] or [\"en\"]; it is empty")
        for value in values:
            if language_code(value) != value:
                items.append(f"{key}: {value!r} is not a language medsreg knows; replace it in {task_file} with its "
                             "English name (\"Chinese\") or ISO 639 code (\"zh\")")
    if task.instances is None and "instances_from" not in document["medsreg"]:
        items.append(f"the task has no instances; add 'Instances' to {task_file}, or 'medsreg.instances_from' for data "
                     "kept outside the repository")
    items.extend(_instance_todo(document.get("Instances") or [], task_file))
    return items


def _instance_todo(instances: list[dict[str, Any]], task_file: Path) -> list[str]:
    items = []
    blank = [instance["id"] for instance in instances
             if not instance["input"].strip() or not all(text.strip() for text in instance["output"] or [""])]
    if blank:
        listed = ", ".join(blank[:5]) + (", ..." if len(blank) > 5 else "")
        items.append(f"{_instances(len(blank))} {'has' if len(blank) == 1 else 'have'} an empty input or output "
                     f"(ids {listed}); complete or remove them in {task_file}")
    ids: set[str] = set()
    repeated: list[str] = []
    first_with: dict[tuple[str, tuple[str, ...]], str] = {}  # (input, outputs) -> id of its first instance
    copies: list[str] = []
    for instance in instances:
        identifier = instance["id"]
        if identifier in ids and identifier not in repeated:
            repeated.append(identifier)
        ids.add(identifier)
        original = first_with.setdefault((instance["input"], tuple(instance["output"])), identifier)
        if original != identifier:
            copies.append(f"{identifier!r} repeats {original!r}")
    if repeated:
        items.append(f"instance ids {', '.join(map(repr, repeated[:5]))} are used more than once; make them unique in "
                     f"{task_file}")
    if copies:
        items.append(f"{_instances(len(copies))} {'repeats' if len(copies) == 1 else 'repeat'} another one exactly "
                     f"({'; '.join(copies[:3])}); remove the copies from {task_file}")
    return items


def _instances(count: int) -> str:
    return f"{count} instance{'s' if count != 1 else ''}"


# --------------------------------------------------------------------------- names


def _task_slug(text: str) -> str:
    """The reader's task slug, kept to 64 characters (a name made from a whole Source line can be long)."""
    return medsins.task_slug(text)[:64].rstrip("_.-") or "task"


