"""The manifest of a build (``OUT/manifest.json``): everything needed to say whether two builds are the same.

It records the medsreg version, the version of every plugin that contributed, each task's version,
licence and source revision (with the pinned source it was read from), and per mixture its spec, seed and
composition; then the rows per suite task, and the writer's count and content hash per dataset.
The composition accounts for every row: per task the instances decontamination removed, the rows
the plan took, those tokenization dropped (per reason) and the rows in the mixture, which sum to
the written dataset's rows (with --pack: to the examples inside its ``blocks``, the dataset's rows).
``hash`` is the sha256 of the canonical JSON of the manifest without that field: two builds with
equal hashes hold the same rows. No time, host or machine path is recorded, so the same inputs give
the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from medsreg.build.render import suite_shots
from medsreg.build.tokenize import drop_totals
from medsreg.build.writer import suite_path
from medsreg.models import HubSource, LocalSource, Task, UrlSource

MANIFEST_FORMAT = "medsreg-build/2"
"""/2: ``mixtures`` keyed by folder (a default build writes each registered mixture apart), each with its spec."""
_HUB_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def build_manifest(catalog, plans: list, suites, stats: dict[str, dict],
                   dropped: dict[str, dict[str, dict[str, int]]] | None = None, *, coverage: Any = None) -> dict[str, Any]:
    """The manifest as a dict (keys in the order written), ``hash`` last.

    ``catalog``: the ``Catalog`` (for plugin versions); ``plans``: the mixtures' ``Plan`` (each knows its folder; those
    without rows are left out); ``suites``: ``[(Suite, [(SuiteTask, Task)])]``; ``stats``: the writer's
    ``{path: {"rows", "sha256", ...}}``; ``dropped``: ``{mixture path: {task: {reason: rows}}}``, the planned rows
    tokenization left out (``TokenCounts.dropped_by_task``); ``coverage``: a ``suites.Coverage``: the test sets the
    mixtures were checked against, the others, and each suite's missing tasks.
    """
    from medsreg import __version__
    from medsreg.build.plan import tasks_in_build, test_instances

    plans = [plan for plan in plans if plan.rows]
    tasks = {task.name: task for task in tasks_in_build([row for plan in plans for row in plan.rows], suites)}

    used_plugins = sorted({task.plugin for task in tasks.values()} | {suite.plugin for suite, _ in suites})
    versions = {info.name: info.version for info in getattr(catalog, "plugins", [])}
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "medsreg_version": __version__,
        "plugins": {name: versions.get(name) for name in used_plugins},
        "tasks": {name: _task_record(task) for name, task in sorted(tasks.items())},
        "mixtures": {plan.path: _mixture_record(plan, stats, (dropped or {}).get(plan.path) or {}) for plan in plans},
    }
    manifest["suites"] = {
        suite.name: {
            "path": suite_path(suite.name),
            "version": suite.version,
            "seed": suite.seed,
            "tasks": {task.name: {"rows": len(test_instances(task)), "metrics": list(entry.metrics),
                                  "shots": suite_shots(suite, entry)}
                      for entry, task in pairs},
            **({"availability": coverage.suites[suite.name]} if coverage is not None and suite.name in coverage.suites
               else {}),
        }
        for suite, pairs in suites
    }
    if coverage is not None and any(plan.spec.decontaminate for plan in plans):
        manifest["decontamination"] = {
            "checked": dict(coverage.checked),
            "not_checked": [{"task": name, "status": status} for name, status in coverage.not_checked],
        }
    manifest["datasets"] = {path: dict(entry) for path, entry in stats.items()}
    manifest["hash"] = manifest_hash(manifest)
    return manifest


def _mixture_record(plan, stats: dict[str, dict], dropped: dict[str, dict[str, int]]) -> dict[str, Any]:
    """One mixture: its spec and seed, and every row accounted for (per task: available, decontaminated, taken,
    dropped per reason, in the dataset)."""
    rows = list(plan.rows)
    lost = {row.task.name: {reason: count for reason, count in sorted(dropped.get(row.task.name, {}).items()) if count}
            for row in rows}
    totals = drop_totals(lost)
    planned = sum(row.taken for row in rows)
    record: dict[str, Any] = {
        "name": plan.spec.name,
        "spec": plan.spec.model_dump(mode="json"),
        "seed": plan.spec.seed,
        "planned": planned,
        "rows": planned - sum(totals.values()),
    }
    written = stats.get(plan.path, {})
    if (written.get("tokenization") or {}).get("pack"):  # the dataset's rows are blocks; "rows" counts the examples
        record["blocks"] = written["rows"]
    record.update({
        "decontaminated": sum(row.decontaminated for row in rows),
        "dropped": dict(sorted(totals.items())),
        "tasks": {row.task.name: {"available": row.available, "decontaminated": row.decontaminated,
                                  "taken": row.taken, "factor": row.factor, "dropped": lost[row.task.name],
                                  "rows": row.taken - sum(lost[row.task.name].values())} for row in rows},
        "skipped": [{"task": name, "why": why} for name, why in plan.skipped],
    })
    return record


def manifest_hash(manifest: dict[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the manifest without its ``hash``."""
    content = {key: value for key, value in manifest.items() if key != "hash"}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dump_manifest(manifest: dict[str, Any]) -> str:
    """The text of manifest.json: indented, UTF-8, keys in the order built, a final newline."""
    return json.dumps(manifest, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def verify_manifest(manifest: dict[str, Any]) -> bool:
    """Whether ``hash`` matches the rest (the manifest was not edited after the build)."""
    return manifest.get("hash") == manifest_hash(manifest)


def _task_record(task: Task) -> dict[str, Any]:
    return {
        "version": task.version,
        "legacy_id": task.legacy_id,
        "license": task.license,
        "access": task.access,
        "synthetic": task.synthetic,
        "source_revision": task.source_revision,
        "instances_from": _source_identity(task.instances_from),
        "instructions_from": _source_identity(task.instructions_from),
    }


def _source_identity(sources) -> list[dict[str, Any]] | None:
    """What pins a source, without anything machine-specific (a file:// mirror's path is left out)."""
    if sources is None:
        return None
    identities = []
    for source in sources if isinstance(sources, list) else [sources]:
        if isinstance(source, HubSource):
            identity = {"kind": "hub", "revision": source.revision, "path": source.path}
            if _HUB_REPO.match(source.repo_id):
                identity["repo_id"] = source.repo_id  # else a local folder standing in for the repo: a machine path
            identities.append(identity)
        elif isinstance(source, UrlSource):
            identity = {"kind": "url", "sha256": source.sha256}
            if source.url.startswith("https://"):
                identity["url"] = source.url
            identities.append(identity)
        elif isinstance(source, LocalSource):
            identities.append({"kind": "local", "key": source.key, "path": source.path})
    return identities
