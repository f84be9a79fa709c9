"""``medsreg new``: a new plugin folder copied from ``plugins/_template`` and renamed.

The template is itself a working plugin named ``template`` (distribution ``medsreg-template``,
module ``medsreg_template``); this module owns turning a copy of it into plugin NAME, and, for
``medsreg import``, swapping its example task file for a contributed one. The folder is built
next to its destination and renamed into place, so a failure never leaves half a plugin behind.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError, quoted
from medsreg.models import PLUGIN_SLUG

TEMPLATE = Path(__file__).resolve().parents[2] / "plugins" / "_template"
"""The template in the repository medsreg was installed from (``pip install -e .``): core/medsreg -> repo root."""

TEMPLATE_NAME = "template"
TEMPLATE_MODULE = "medsreg_template"
RENAMED_SUFFIXES = (".py", ".toml", ".md")
"""Files whose text names the plugin; task files (JSON) describe data and are copied untouched."""
LEFT_BEHIND = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache", "build", "dist")


def _copy_without_modes(source: Path, target: Path) -> None:
    """The template's files and folders (less ``LEFT_BEHIND``), created as any new ones are: their modes come from
    the user's umask, not from the template's (copytree would copy those)."""
    target.mkdir()
    entries = sorted(source.iterdir())
    ignored = LEFT_BEHIND(str(source), [entry.name for entry in entries])
    for entry in entries:
        if entry.name in ignored:
            continue
        if entry.is_dir():
            _copy_without_modes(entry, target / entry.name)
        else:
            shutil.copyfile(entry, target / entry.name)


TASK_FILE_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*\.json$")
RELEASED_NAME = re.compile(r"^task\d+_[\w.-]+\.jsonl?$")


def new_plugin(name: str, parent: Path, *, task_document: dict | None = None, overwrite: bool = False) -> Path:
    """Create ``parent/name``: the template renamed to plugin ``name``; returns the new folder.

    ``task_document`` (a MedS-Ins task file with a ``medsreg`` block) replaces the template's example
    task. An existing folder is refused unless ``overwrite``.
    """
    check_plugin_name(name)
    if task_document is not None and not isinstance(task_document, dict):
        raise MedsregError(f"the task document for plugin {name!r} is a {type(task_document).__name__}; "
                           "give the task file's JSON object (a dict)")
    template = TEMPLATE
    if not (template / "pyproject.toml").is_file():
        raise MedsregError(f"the plugin template {template} is missing; 'medsreg new' copies plugins/_template from a "
                           "clone of the medsreg repository, so install medsreg from one with 'pip install -e .'")
    parent = Path(parent)
    target = parent / name
    if parent.exists() and not parent.is_dir():
        raise MedsregError(f"{parent} is a file; pass a folder with --output")
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise MedsregError(f"{target} already exists; choose another name, or remove that folder first")
        if not target.is_dir() or target.is_symlink():
            raise MedsregError(f"{target} exists and is not a folder; remove it first")
    parent.mkdir(parents=True, exist_ok=True)

    workspace = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=parent))
    try:
        staged = workspace / name
        _copy_without_modes(template, staged)
        rename_plugin(staged, name)
        if task_document is not None:
            replace_example_tasks(staged / module_name(name) / "tasks", task_document)
        if target.exists():
            previous = workspace / "previous"
            target.rename(previous)
            try:
                staged.rename(target)
            except OSError:
                previous.rename(target)
                raise
        else:
            staged.rename(target)
    except OSError as error:
        raise MedsregError(f"could not write {target}: {error.strerror or error}; check that {parent} is writable") from error
    finally:
        shutil.rmtree(workspace, ignore_errors=True)
    return target


PLUGIN_NAME_CHARS = 64
"""The name becomes a folder, a distribution (medsreg-NAME) and a module: file systems refuse names over 255 bytes."""


def check_plugin_name(name: str) -> None:
    """Raise unless ``name`` is a plugin slug of at most 64 characters: lower-case letters, digits and '-', not
    starting with '-'."""
    if len(name) > PLUGIN_NAME_CHARS:
        raise MedsregError(f"{quoted(name)} is not a plugin name: it is longer than {PLUGIN_NAME_CHARS} characters; "
                           "choose a shorter one")
    if re.match(PLUGIN_SLUG, name):
        return
    suggestion = suggested_name(name)
    hint = f" Did you mean {suggestion!r}?" if suggestion else ""
    raise MedsregError(f"{name!r} is not a plugin name: use lower-case letters, digits and '-', starting with a "
                       f"letter or digit.{hint}")


def suggested_name(name: str) -> str:
    """The nearest valid slug ('My_Data' -> 'my-data'), or '' when nothing is left."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")
    return slug if re.match(PLUGIN_SLUG, slug) else ""


def module_name(name: str) -> str:
    return "medsreg_" + name.replace("-", "_")


def rename_plugin(folder: Path, name: str) -> None:
    """Rename the template copy in ``folder`` to plugin ``name``: files, folders and the text that names it."""
    module = module_name(name)
    test_file = f"test_{module.removeprefix('medsreg_')}"
    replacements = [
        # the entry point's key is the bare name; everywhere else the name appears prefixed
        (re.compile(rf"^{TEMPLATE_NAME} = \"{TEMPLATE_MODULE}\"", re.MULTILINE), f'{name} = "{module}"'),
        (re.compile(re.escape(TEMPLATE_MODULE)), module),
        (re.compile(re.escape(f"medsreg-{TEMPLATE_NAME}")), f"medsreg-{name}"),
    ]
    for path in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_file() and path.suffix in RENAMED_SUFFIXES:
            text = path.read_text(encoding="utf-8")
            for pattern, replacement in replacements:
                text = pattern.sub(replacement, text)
            path.write_text(text, encoding="utf-8")
        renamed = path.name.replace(TEMPLATE_MODULE, module).replace(f"test_{TEMPLATE_NAME}", test_file)
        if renamed != path.name:
            path.rename(path.with_name(renamed))


def replace_example_tasks(tasks: Path, document: dict[str, Any]) -> Path:
    """Remove the template's example task files from ``tasks`` and write ``document`` there instead."""
    for example in tasks.glob("*.json"):
        example.unlink()
    path = tasks / task_file_name(document)
    path.write_text(render_task_document(document), encoding="utf-8")
    return path


def task_file_name(document: dict[str, Any]) -> str:
    """``<medsreg.name>.json``; else the released name ``task<N>_<name>.json``, from which the reader derives the
    task's name and legacy id; else ``task.json``."""
    block = document.get("medsreg") if isinstance(document.get("medsreg"), dict) else {}
    name = block.get("name")
    if isinstance(name, str) and TASK_FILE_NAME.match(f"{name}.json"):
        return f"{name}.json"
    released = block.get("released_name")
    if isinstance(released, str) and RELEASED_NAME.match(released):
        return Path(released).stem + ".json"  # a released .jsonl name still makes a .json task file
    return "task.json"


def render_task_document(document: dict[str, Any]) -> str:
    """The task file text: fields indented, one instance per line (diffs of instance edits stay one line each)."""
    fields = []
    for key, value in document.items():
        if key == "Instances" and isinstance(value, list) and value:
            rendered = "[\n" + ",\n".join("    " + json.dumps(item, ensure_ascii=False) for item in value) + "\n  ]"
        else:
            rendered = _render(value, indent=2)
        fields.append(f"  {json.dumps(key, ensure_ascii=False)}: {rendered}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def _render(value: Any, indent: int) -> str:
    """JSON of ``value`` at ``indent``: a short list of plain values on one line, as people write them."""
    compact = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (dict, list)) or not value:
        return compact
    if isinstance(value, list) and not any(isinstance(item, (dict, list)) for item in value) and indent + len(compact) <= 100:
        return compact
    inner = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(key, ensure_ascii=False)}: {_render(item, indent + 2)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return "[\n" + ",\n".join(inner + _render(item, indent + 2) for item in value) + "\n" + " " * indent + "]"
