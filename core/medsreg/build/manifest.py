"""The manifest of a build (``OUT/manifest.json``): everything needed to say whether two builds are the same.

It records the medsreg version, the version of every plugin that contributed, each task's version,
licence and source revision (with the pinned source it was read from), the mixture spec, the seed,
the composition, the rows per suite task, and the writer's count and content hash per dataset.
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

from medsreg.build.writer import MIXTURE_PATH, suite_path
from medsreg.models import HubSource, LocalSource, MixtureSpec, Task, UrlSource

MANIFEST_FORMAT = "medsreg-build/1"
_HUB_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def build_manifest(catalog, plan, suites, spec: MixtureSpec | None, stats: dict[str, dict],
                   dropped: dict[str, dict[str, int]] | None = None, *, coverage: Any = None) -> dict[str, Any]:
    """The manifest as a dict (keys in the order written), ``hash`` last.

    ``catalog``: the ``Catalog`` (for plugin versions); ``plan``: the mixture ``Plan`` or None; ``suites``:
    ``[(Suite, [(SuiteTask, Task)])]``; ``stats``: the writer's ``{path: {"rows", "sha256", ...}}``;
    ``dropped``: ``{task: {reason: rows}}``, the planned rows tokenization left out (``TokenCounts.dropped_by_task``);
    ``coverage``: a ``suites.Coverage``: the test sets the mixture was checked against, the others, and each suite's
    missing tasks.
    """
    from medsreg import __version__
    from medsreg.build.plan import tasks_in_build, test_instances

    rows = list(plan.rows) if plan is not None else []
    tasks = {task.name: task for task in tasks_in_build(rows, suites)}

    used_plugins = sorted({task.plugin for task in tasks.values()} | {suite.plugin for suite, _ in suites})
    versions = {info.name: info.version for info in getattr(catalog, "plugins", [])}
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "medsreg_version": __version__,
        "plugins": {name: versions.get(name) for name in used_plugins},
        "tasks": {name: _task_record(task) for name, task in sorted(tasks.items())},
        "spec": spec.model_dump(mode="json") if spec is not None else None,
        "seed": spec.seed if spec is not None else None,
    }
    if plan is not None:
        dropped = dropped or {}
        lost = {row.task.name: {reason: count for reason, count in sorted(dropped.get(row.task.name, {}).items())
                                if count} for row in rows}
        totals: dict[str, int] = {}
        for reasons in lost.values():
            for reason, count in reasons.items():
                totals[reason] = totals.get(reason, 0) + count
        planned = sum(row.taken for row in rows)
        mixture: dict[str, Any] = {
            "path": MIXTURE_PATH if MIXTURE_PATH in stats else None,
            "planned": planned,
            "rows": planned - sum(totals.values()),
        }
        tokenization = stats.get(MIXTURE_PATH, {}).get("tokenization") or {}
        if tokenization.get("pack"):  # the dataset's rows are blocks; "rows" counts the examples inside them
            mixture["blocks"] = stats[MIXTURE_PATH]["rows"]
        mixture.update({
            "decontaminated": sum(row.decontaminated for row in rows),
            "dropped": dict(sorted(totals.items())),
            "tasks": {row.task.name: {"available": row.available, "decontaminated": row.decontaminated,
                                      "taken": row.taken, "factor": row.factor, "dropped": lost[row.task.name],
                                      "rows": row.taken - sum(lost[row.task.name].values())} for row in rows},
            "skipped": [{"task": name, "why": why} for name, why in getattr(plan, "skipped", None) or []],
        })
        manifest["mixture"] = mixture
    manifest["suites"] = {
        suite.name: {
            "path": suite_path(suite.name),
            "version": suite.version,
            "seed": suite.seed,
            "tasks": {task.name: {"rows": len(test_instances(task)), "metrics": list(entry.metrics),
                                  "shots": entry.shots if entry.shots is not None else suite.shots}
                      for entry, task in pairs},
            **({"availability": coverage.suites[suite.name]} if coverage is not None and suite.name in coverage.suites
               else {}),
        }
        for suite, pairs in suites
    }
    if plan is not None and coverage is not None and (spec is None or spec.decontaminate):
        manifest["decontamination"] = {
            "checked": dict(coverage.checked),
            "not_checked": [{"task": name, "status": status} for name, status in coverage.not_checked],
        }
    manifest["datasets"] = {path: dict(entry) for path, entry in stats.items()}
    manifest["hash"] = manifest_hash(manifest)
    return manifest


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
