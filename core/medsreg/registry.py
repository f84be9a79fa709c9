"""Generated files: registry.json (the index of the in-tree plugins) and schemas/*.schema.json.

Both are pure functions of the repository's plugins and of ``medsreg.models``; ``write``
regenerates them and ``stale`` says which committed copies differ.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import TypeAdapter

from medsreg.catalog import Catalog, load_static
from medsreg.files import write_text_atomically
from medsreg.models import (
    SCHEMA_MODELS,
    RegistryFile,
    RegistryPlugin,
    RegistryTask,
    Task,
)

REGENERATE = "medsreg registry"


def instances_sha256(instances: list) -> str:
    """sha256 of instances as canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(instances, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def registry_task(task: Task) -> RegistryTask:
    return RegistryTask(
        name=task.name,
        legacy_id=task.legacy_id,
        version=task.version,
        categories=task.categories,
        input_languages=task.input_languages,
        output_languages=task.output_languages,
        instruction_languages=task.instruction_languages,
        domains=task.domains,
        split=task.split,
        access=task.access,
        license=task.license,
        source=task.source,
        url=task.url,
        source_revision=task.source_revision,
        synthetic=task.synthetic,
        description=task.description,
        released_name=task.released_name,
        instances=None if task.instances is None else len(task.instances),
        instructions=len(task.definition) or None,
        sha256=None if task.instances is None else instances_sha256(task.instances),
    )


def build_registry(catalog: Catalog) -> RegistryFile:
    plugins = []
    for info in sorted(catalog.plugins, key=lambda p: p.name):
        tasks = sorted((item.task for item in catalog.tasks if item.task.plugin == info.name), key=lambda t: t.name)
        plugins.append(RegistryPlugin(
            name=info.name, version=info.version, package=info.package or "", module=info.module,
            tasks=[registry_task(task) for task in tasks],
            suites=sorted((item.suite for item in catalog.suites if item.suite.plugin == info.name), key=lambda s: s.name),
            mixtures=sorted((item.spec for item in catalog.mixtures if item.plugin == info.name), key=lambda m: m.name),
        ))
    return RegistryFile(plugins=plugins)


def _dumps(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def generated_files(root: Path) -> tuple[dict[Path, str], Catalog]:
    """Every generated file's path and content, and the catalog the registry came from."""
    catalog = load_static([root / "plugins"])
    files = {root / "registry.json": _dumps(build_registry(catalog).model_dump(mode="json"))}
    for name, model in SCHEMA_MODELS.items():
        schema = TypeAdapter(model).json_schema(by_alias=True)
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{name}.schema.json", **schema}
        files[root / "schemas" / f"{name}.schema.json"] = _dumps(schema)
    return files, catalog


def write_installed(catalog: Catalog, output: Path) -> Path:
    """An index of what the installed plugins provide here, sources resolved (counts as configured on this machine)."""
    write_text_atomically(output, _dumps(build_registry(catalog).model_dump(mode="json")))
    return output


def stale(root: Path) -> list[Path]:
    files, _ = generated_files(root)
    return [path for path, text in files.items() if not path.is_file() or path.read_text(encoding="utf-8") != text]


def write(root: Path) -> tuple[list[Path], Catalog]:
    """Regenerate what differs; each file is written to a temporary name and renamed into place."""
    files, catalog = generated_files(root)
    written = []
    for path, text in files.items():
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        write_text_atomically(path, text)
        written.append(path)
    return written, catalog
