"""The dataset card of a build (``OUT/README.md``): Hugging Face YAML metadata and a description people read.

Pure: text in, text out, no I/O and nothing that varies between runs (no dates, no paths), so the
same build gives the same card. It also owns the account of the rows a build left out, per task
and reason (decontaminated before planning; too long or with an empty answer after tokenizing),
in the card and as ``drop_lines`` for the end of ``medsreg build``'s output. The metadata uses the Hub's vocabularies: licence identifiers
(SPDX ids in lower case; anything else is ``other``), ISO 639 language codes, task categories
and size categories; the body says what was built, from which tasks in which amounts, what the
suites score, and credits every contributor and source.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from medsreg.build.plan import tasks_in_build
from medsreg.build.render import suite_shots
from medsreg.build.tokenize import REASON_LABELS, count_table, drop_reasons, drop_totals, reason_hint
from medsreg.build.writer import MIXTURE_PATH, export_name, suite_path
from medsreg.models import MixtureSpec, Task

HUB_LICENSES = frozenset({
    "apache-2.0", "mit", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd-2-clause", "bsd-3-clause", "bsd-3-clause-clear",
    "c-uda", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
    "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0", "cc-by-nc-nd-4.0",
    "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "cdla-sharing-1.0", "cdla-permissive-1.0",
    "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0", "eupl-1.1", "agpl-3.0", "gfdl", "gpl-2.0",
    "gpl-3.0", "lgpl-2.1", "lgpl-3.0", "isc", "lppl-1.3c", "ms-pl", "mpl-2.0", "odc-by", "odbl", "osl-3.0",
    "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib", "pddl",
})
"""Licence identifiers the Hugging Face Hub knows that are also SPDX ids (lower-cased): the data licences in use."""

HUB_TASK_CATEGORIES = {
    "Diagnosis": "text-classification",
    "Treatment Planning": "text-classification",
    "Clinical Outcome Prediction": "text-classification",
    "Information Extraction": "text-generation",
    "Text Summarization": "summarization",
    "Named Entity Recognition": "token-classification",
    "Text Classification": "text-classification",
    "Text Retrieval": "text-retrieval",
    "Question Answering": "question-answering",
    "Explanation": "text-generation",
    "Rationale": "text-generation",
    "Fact Verification": "text-classification",
    "Natural Language Inference": "text-classification",
    "Intent Identification": "text-classification",
    "Translation": "translation",
    "Dialogue": "text-generation",
    "Sentence Composition Analysis": "text-generation",
    "Word Relation Classification": "text-classification",
    "Wrong Candidate Generation": "text-generation",
}
"""MedS-Ins categories -> the Hub's task categories. Every build is also text-generation: rows are chat examples."""

SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
                   (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))

_SPDX_OPERATORS = re.compile(r"\s+(?:AND|OR|WITH)\s+|[()]")

_SAMPLES_NOTE = (
    "It was built from the bundled sample plugins with the default spec: their instances are synthetic, made up for "
    "demonstration, and are not clinical data. Install and configure the MedS-Ins / MedS-Bench plugins to build the "
    "real mixture."
)
_REPRODUCIBLE_NOTE = (
    "Rebuilding with the same plugins, sources and spec gives the same bytes: `manifest.json` records the versions, "
    "the spec, the seed and a sha256 per dataset (of its Arrow files in order: "
    "`cat {example}/data-*.arrow | sha256sum`)."
)
_COLUMNS_NOTE = (
    "Training rows carry `messages` (system / user / assistant: the TRL conversational format), `prompt` / "
    "`completion`, and provenance columns (task, legacy id, category, source, licence, instance id, instruction "
    "index, shot ids). Suite rows carry the system + user `messages`, the `prompt`, the `references` and the metric "
    "names used to score them."
)
_SHOTS_NOTE = (
    "A k-shot context is drawn from the task's other training instances: never the example itself, nor an instance "
    "with the same input. Training examples whose input overlaps a readable test instance were removed before mixing "
    "(see Decontamination)."
)
_COMPOSITION_NOTE = (
    "`available`: training instances; `decontaminated`: removed for overlapping a readable test set; `taken`: rows "
    "drawn for the mixture; `factor`: taken / kept (above 1 repeats instances, below 1 takes a subset)."
)
_DROPPED_NOTE = (
    "Tokenizing then left out the rows counted per reason (`too long`, `empty answer`); `rows`: what is in the "
    "mixture, taken minus those."
)


def render_card(plans: list, suites, stats: dict[str, dict], default: bool, *, export: str | None = None,
                dropped: dict[str, dict[str, dict[str, int]]] | None = None, coverage: Any = None) -> str:
    """The README.md of a build.

    ``plans``: the mixtures' ``Plan`` (each knows its folder; those without rows are left out); ``suites``:
    ``[(Suite, [(SuiteTask, Task)])]``; ``stats``: the writer's ``{path: {"rows", "sha256", ...}}``; ``default``:
    built with no spec from the bundled sample plugins; ``export``: the export format written, if any (the card then
    points the Hub at those files); ``dropped``: ``{mixture path: {task: {reason: rows}}}``, the planned rows
    tokenization left out (``TokenCounts.dropped_by_task``); ``coverage``: a ``suites.Coverage`` (the test sets
    checked against and not, each suite's missing tasks).
    """
    plans = [plan for plan in plans if plan.rows]
    dropped = dropped or {}
    tasks = tasks_in_build([row for plan in plans for row in plan.rows], suites)
    metadata = card_metadata(tasks, stats, [plan.spec for plan in plans], export,
                             default_config=plans[0].path if plans else None)
    several = len(plans) > 1
    sections = [
        _introduction(metadata["pretty_name"], plans, suites, stats, default, dropped),
        _contents(stats),
        *(section for plan in plans for section in (
            _rendering(plan, coverage, several),
            _composition(plan, dropped.get(plan.path) or {}, _max_length(stats, plan.path), several))),
        _decontamination(coverage) if coverage is not None and any(plan.spec.decontaminate for plan in plans) else "",
        _suites(suites, stats, coverage) if suites else "",
        _licences(tasks),
        _credits(tasks, suites),
    ]
    return "---\n" + _yaml(metadata) + "---\n\n" + "\n".join(section for section in sections if section)


# --------------------------------------------------------------------------- metadata


def card_metadata(tasks: list[Task], stats: dict[str, dict], specs: list[MixtureSpec], export: str | None = None, *,
                  default_config: str | None = None) -> dict[str, Any]:
    """The YAML header as a dict, keys in the order written; ``default_config``: the dataset the Hub shows first."""
    languages = sorted({code for task in tasks
                        for code in [*task.input_languages, *task.output_languages, *task.instruction_languages]})
    categories = {"text-generation"} | {HUB_TASK_CATEGORIES[c] for task in tasks for c in task.categories
                                        if c in HUB_TASK_CATEGORIES}
    total_rows = sum(entry["rows"] for entry in stats.values())
    metadata: dict[str, Any] = {
        "pretty_name": pretty_name(specs),
        "license": hub_licenses(task.license for task in tasks),
        "language": languages,
        "multilinguality": "multilingual" if len(languages) > 1 else "monolingual",
        "task_categories": sorted(categories),
        "size_categories": [size_category(total_rows)],
        "tags": ["medical"] + (["synthetic"] if tasks and any(task.synthetic for task in tasks) else []),
        "configs": _configs(stats, export, default_config),
    }
    if not languages:
        del metadata["language"], metadata["multilinguality"]
    return metadata


def pretty_name(specs: list[MixtureSpec]) -> str:
    if not specs:
        return "medsreg evaluation suites"
    return "medsreg build: " + ", ".join(spec.name for spec in specs)


def hub_licenses(expressions: Iterable[str | None]) -> list[str]:
    """The Hub ``license`` list: each SPDX id in lower case (its Hub spelling), 'other' for the rest, 'unknown' if unset."""
    found: set[str] = set()
    for expression in expressions:
        if not expression:
            found.add("unknown")
            continue
        for symbol in filter(None, (part.strip() for part in _SPDX_OPERATORS.split(expression))):
            key = symbol.lower().removesuffix("-only")
            found.add(key if key in HUB_LICENSES else "other")
    return sorted(found)


def size_category(rows: int) -> str:
    for limit, name in SIZE_CATEGORIES:
        if rows < limit:
            return name
    return "n>1B"


def _configs(stats: dict[str, dict], export: str | None, default: str | None) -> list[dict[str, Any]]:
    """Hub dataset configs: one per dataset, over the Parquet export when written, else the Arrow files."""
    configs = []
    for path, entry in stats.items():
        split = entry.get("split", "train")
        if export == "parquet":
            files = f"export/{export_name(path, 'parquet')}"
        else:
            files = f"{path}/{split}/data-*.arrow"
        config: dict[str, Any] = {"config_name": path.replace("/", "--"),
                                  "data_files": [{"split": split, "path": files}]}
        if path == default:
            config["default"] = True
        configs.append(config)
    return configs


def _yaml(value: dict[str, Any]) -> str:
    """Block YAML of nested dicts / lists / scalars; strings double-quoted as JSON (valid YAML), so no escaping bugs."""
    return "".join(line + "\n" for line in _yaml_lines(value, 0))


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(_yaml_lines(item, indent + (0 if isinstance(item, list) else 2)))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                nested = _yaml_lines(item, indent + 2)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return lines


def _scalar(value: Any) -> str:
    if value == [] or value == {}:
        return json.dumps(value)
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)


# --------------------------------------------------------------------------- body


def _introduction(title: str, plans: list, suites: list, stats: dict[str, dict], default: bool,
                  dropped: dict[str, dict[str, dict[str, int]]]) -> str:
    from medsreg import __version__

    def size(plan) -> str:
        lost = dropped.get(plan.path) or {}
        examples = plan.total - sum(sum(reasons.values()) for reasons in lost.values())
        blocks = stats.get(plan.path, {}).get("rows") if _packed(stats, plan.path) else None
        packed = f" packed into {blocks:,} blocks" if blocks is not None else ""
        return f"{examples:,} chat examples{packed} from {len(plan.rows)} tasks"

    parts = []
    if len(plans) == 1:
        parts.append(f"a training mixture of {size(plans[0])}")
    elif plans:
        parts.append(f"{len(plans)} training mixtures (" + "; ".join(f"`{plan.spec.name}` in `{plan.path}/`: {size(plan)}"
                                                                     for plan in plans) + ")")
    if suites:
        names = ", ".join(f"`{suite.name}`" for suite, _ in suites)
        parts.append(f"{len(suites)} evaluation suite{'s' if len(suites) != 1 else ''} ({names}) rendered as the "
                     "official evaluation prompts them")
    what = " and ".join(parts) if parts else "no datasets"
    text = [f"# {title}", "", f"This folder holds {what}, assembled by `medsreg build` (medsreg {__version__})."]
    described = [plan.spec for plan in plans if plan.spec.description]
    if len(plans) == 1 and described:
        text += ["", described[0].description]
    elif described:
        text += [""] + [f"- `{spec.name}`: {_line(spec.description)}" for spec in described]
    if default:
        text += ["", _SAMPLES_NOTE]
    example = next(iter(stats), MIXTURE_PATH)  # the first dataset: a mixture when there is one
    text += ["", _REPRODUCIBLE_NOTE.format(example=f"{example}/{stats.get(example, {}).get('split', 'train')}")]
    return "\n".join(text) + "\n"


def _contents(stats: dict[str, dict]) -> str:
    table = _table(("dataset", "split", "rows", "sha256"),
                   [(f"`{path}/`", entry.get("split", ""), f"{entry['rows']:,}", f"`{entry['sha256']}`")
                    for path, entry in stats.items()])
    example = next(iter(stats), MIXTURE_PATH)
    split = stats.get(example, {}).get("split", "train")
    tokenized = [f"`{path}/` is tokenized (`input_ids`, `labels`): {entry['tokenization']['summary']}."
                 for path, entry in stats.items() if entry.get("tokenization")]
    return "\n".join([
        "## Contents", "", table, "", *[line + "\n" for line in tokenized],
        "Each folder is a `datasets.DatasetDict` saved with `save_to_disk`:", "",
        "```python", "from datasets import load_from_disk", "",
        f"rows = load_from_disk(\"{example}\")[\"{split}\"]  # path relative to this folder", "```", "",
        _COLUMNS_NOTE,
    ]) + "\n"


def _heading(plan, several: bool) -> str:
    """How a section names its mixture: 'the mixture', or with its name when the build holds several."""
    return f"the mixture `{plan.spec.name}`" if several else "the mixture"


def _rendering(plan, coverage: Any, several: bool = False) -> str:
    spec = plan.spec
    checked = coverage.checked if coverage is not None else []
    against = (f"every test set readable here: {len(checked)} ({sum(count for _, count in checked):,} test instances; "
               "see Decontamination)" if checked else "no test set (none is readable here)")
    settings = [
        ("seed", spec.seed), ("p_original (original instruction, else a rewrite)", spec.p_original),
        ("p_zero_shot (raw input, else k-shot context)", spec.p_zero_shot), ("shots (k)", spec.shots),
        ("temperature", spec.temperature), ("cap per task", spec.cap if spec.cap is not None else "none"),
        ("total", spec.total if spec.total is not None else "sum of the tasks' counts"),
        ("decontaminated against", against if spec.decontaminate else "nothing (decontamination off)"),
    ]
    return "\n".join([
        f"## How {_heading(plan, several)} was rendered", "",
        _table(("setting", "value"), [(name, str(value)) for name, value in settings]), "",
        _SHOTS_NOTE,
    ]) + "\n"


def _composition(plan, dropped: dict[str, dict[str, int]], max_length: int | None, several: bool = False) -> str:
    rows = plan.rows
    reasons = drop_reasons(dropped)
    extra = tuple(REASON_LABELS.get(reason, reason.replace("_", " ")) for reason in reasons) + (("rows",) if reasons else ())

    def counts(taken: int, lost: dict[str, int]) -> tuple[str, ...]:
        if not reasons:
            return ()
        return tuple(f"{lost.get(reason, 0):,}" for reason in reasons) + (f"{taken - sum(lost.values()):,}",)

    header = ("task", "legacy id", "category", "source", "licence", "available", "decontaminated", "taken", *extra,
              "factor")
    body = [(f"`{row.task.name}`", _legacy(row.task), row.task.categories[0] if row.task.categories else "",
             ", ".join(row.task.source), row.task.license or "unknown", f"{row.available:,}",
             f"{row.decontaminated:,}", f"{row.taken:,}", *counts(row.taken, dropped.get(row.task.name, {})),
             f"{row.factor:.2f}") for row in rows]
    body.append(("**total**", "", "", "", "", f"{sum(r.available for r in rows):,}",
                 f"{sum(r.decontaminated for r in rows):,}", f"{sum(r.taken for r in rows):,}",
                 *counts(sum(r.taken for r in rows), drop_totals(dropped)), ""))
    text = [f"## Composition of {_heading(plan, several)}", "", _COMPOSITION_NOTE + (" " + _DROPPED_NOTE if reasons else ""), "",
            _table(header, body)]
    hints = _hints(rows, dropped, max_length)
    if hints:
        text += ["", "Rows left out, and how to keep them:", ""] + [f"- {hint}" for hint in hints]
    skipped = list(plan.skipped)
    if skipped:
        # grouped: a default build skips every unconfigured task of every installed plugin (a long, repetitive list)
        groups: dict[tuple[str, str], list[str]] = {}
        for name, why in skipped:
            reason = _line(why).removeprefix(f"{name}: ")
            groups.setdefault((name.split("/", 1)[0], reason), []).append(name)
        text += ["", "Covered by the spec but not available where this was built (manifest.json lists each):", ""]
        for (plugin, reason), names in groups.items():
            listed = f"`{names[0]}`" if len(names) == 1 else f"{len(names)} tasks of `{plugin}`"
            text.append(f"- {listed}: {reason}")
    return "\n".join(text) + "\n"


def _decontamination(coverage: Any) -> str:
    text = ["## Decontamination", "",
            "No training instance whose input overlaps a test instance (the same normalized text, or shared "
            "informative 13-grams covering most of it; templates shared by many instances of a task do not count) is "
            "in the mixture, as a row or as a k-shot example. It was checked against every test set readable where "
            "it was built, whether or not its suite is built:", ""]
    text.append(_table(("test set", "test instances"), [(f"`{name}`", f"{count:,}") for name, count in coverage.checked])
                if coverage.checked else "- none")
    if coverage.not_checked:
        by_status: dict[str, list[str]] = {}
        for name, status in coverage.not_checked:
            by_status.setdefault(status, []).append(name)
        text += ["", f"Not checked against {len(coverage.not_checked)} test sets that could not be read there "
                 "(manifest.json lists each); a model trained on this mixture may have seen them:", ""]
        for status, names in by_status.items():
            shown = ", ".join(f"`{name}`" for name in names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
            text.append(f"- {status}: {shown}")
    return "\n".join(text) + "\n"


def _suites(suites: list, stats: dict[str, dict], coverage: Any = None) -> str:
    text = ["## Evaluation suites", ""]
    for suite, pairs in suites:
        tasks_of = {task.name: task for _, task in pairs}
        rows = stats.get(suite_path(suite.name), {}).get("rows")
        count = f" ({rows:,} rows)" if rows is not None else ""
        availability = coverage.suites.get(suite.name) if coverage is not None else None
        partial = availability["partial_categories"] if availability and not availability["complete"] else {}
        text += [f"### `{suite.name}` {suite.version}{count}", "", _line(suite.description), ""]
        if partial:
            text += [f"**Partial**: {availability['tasks']} of {availability['of']} tasks could be read where this was "
                     f"built; the categories marked † miss tasks (listed below), so their scores are not the suite's.", ""]
        body = []
        for category in suite.categories:
            entries = [entry for entry in category.tasks if entry.task in tasks_of]
            if not entries:
                continue
            metrics = list(dict.fromkeys(metric for entry in entries for metric in entry.metrics))
            shots = sorted({suite_shots(suite, entry) for entry in entries})
            names = ", ".join(_task_label(tasks_of[entry.task]) for entry in entries)
            label = f"{category.name} †" if category.name in partial else category.name
            body.append((label, names, ", ".join(metrics), ", ".join(map(str, shots))))
        text += [_table(("category", "tasks", "metrics", "shots"), body), ""]
        if partial:
            text += ["Missing tasks (configure their sources and rebuild):", ""]
            text += [f"- {category}: " + ", ".join(f"`{name}`" for name in names) for category, names in partial.items()]
            text.append("")
    text.append("Prompts use the original instruction and the official \"Input:\\n...\\nOutput:\\n\" framing with a "
                "fixed seed, so they are identical on every machine.")
    return "\n".join(text) + "\n"


def _licences(tasks: list[Task]) -> str:
    by_licence: dict[str, list[Task]] = {}
    for task in tasks:
        by_licence.setdefault(task.license or "unknown", []).append(task)
    body = []
    for licence in sorted(by_licence):
        members = by_licence[licence]
        access = sorted({task.access for task in members if task.access})
        body.append((licence, ", ".join(access) or "unknown", ", ".join(f"`{task.name}`" for task in members)))
    text = ["## Licences", "",
            "Each source keeps its own licence; the rows of a task may be used only as its licence allows.", "",
            _table(("licence (SPDX)", "access", "tasks"), body)]
    if any(task.access == "credentialed" for task in tasks):
        text += ["", "Credentialed sources (e.g. PhysioNet) forbid redistribution: do not publish this build."]
    return "\n".join(text) + "\n"


def _credits(tasks: list[Task], suites: list) -> str:
    contributors = sorted({name.strip() for task in tasks for name in task.contributors if name.strip()},
                          key=str.casefold)
    sources: dict[tuple[tuple[str, ...], tuple[str, ...]], list[str]] = {}
    for task in tasks:
        key = (tuple(task.source) or ("(source not named)",), tuple(task.url))
        sources.setdefault(key, []).append(task.name)
    text = ["## Credits", "", "Contributors of the tasks:", ""]
    text += [f"- {_line(name)}" for name in contributors] or ["- (none named)"]
    text += ["", "Sources:", ""]
    for (names, urls), members in sources.items():
        links = ", ".join(f"<{url}>" for url in urls) if urls else "no URL given"
        text.append(f"- {_line(', '.join(names))}: {links} (tasks: {', '.join(f'`{m}`' for m in members)})")
    if suites:
        text += ["", "Suites:", ""]
        for suite, _ in suites:
            links = ", ".join(f"<{url}>" for url in suite.url) if suite.url else "no URL given"
            text.append(f"- `{suite.name}`: {links}")
    return "\n".join(text) + "\n"


# --------------------------------------------------------------------------- rows left out


_DECONTAMINATED_HINT = (
    "decontaminated: {rows} whose input overlaps a test instance, removed before planning so that the suites "
    "measure unseen questions; 'decontaminate: false' in the spec keeps them, at the cost of contaminated scores"
)


def _hints(rows: list, dropped: dict[str, dict[str, int]], max_length: int | None) -> list[str]:
    """One sentence per reason rows were left out: how many, why, and how to keep them."""
    hints = []
    decontaminated = sum(row.decontaminated for row in rows)
    if decontaminated:
        hints.append(_DECONTAMINATED_HINT.format(rows=f"{decontaminated:,} training instance"
                                                 f"{'s' if decontaminated != 1 else ''}"))
    totals = drop_totals(dropped)
    hints += [reason_hint(reason, totals[reason], max_length) for reason in drop_reasons(dropped)]
    return hints


def drop_lines(plan, dropped: dict[str, dict[str, int]] | None, max_length: int | None, *, named: bool = False) -> list[str]:
    """What the end of 'medsreg build' prints about a mixture's left-out rows: a table of the tasks that lost any (with
    the totals over every task) and how to keep each kind; nothing when nothing was left out. ``named``: say which
    mixture (a build of several)."""
    rows = list(plan.rows)
    dropped = dropped or {}
    losing = [row for row in rows if row.decontaminated or dropped.get(row.task.name)]
    if not losing:
        return []
    reasons = drop_reasons(dropped)
    header = ("task", "available", "decontaminated", "planned",
              *[REASON_LABELS.get(reason, reason.replace("_", " ")) for reason in reasons], "in the mixture")

    def line(name: str, available: int, decontaminated: int, taken: int, lost: dict[str, int]) -> tuple:
        return (name, available, decontaminated, taken, *[lost.get(reason, 0) for reason in reasons],
                taken - sum(lost.values()))

    body = [line(row.task.name, row.available, row.decontaminated, row.taken, dropped.get(row.task.name, {}))
            for row in losing]
    body.append(line(f"total ({len(rows)} tasks)", sum(r.available for r in rows), sum(r.decontaminated for r in rows),
                     sum(r.taken for r in rows), drop_totals(dropped)))
    first = (f"{f'mixture {plan.spec.name}: ' if named else ''}rows left out: {len(losing)} of {len(rows)} tasks lost some (decontaminated: instances removed before "
             "planning; the other columns: planned rows tokenization dropped)")
    return [first, *count_table(header, body), *_hints(rows, dropped, max_length)]


def _packed(stats: dict[str, dict], path: str) -> bool:
    return bool(stats.get(path, {}).get("tokenization", {}).get("pack"))


def _max_length(stats: dict[str, dict], path: str) -> int | None:
    return stats.get(path, {}).get("tokenization", {}).get("max_length")


# --------------------------------------------------------------------------- helpers


def _legacy(task: Task) -> str:
    return str(task.legacy_id) if task.legacy_id is not None else "—"


def _task_label(task: Task) -> str:
    short = task.name.split("/", 1)[1]
    return f"`{short}` ({task.legacy_id})" if task.legacy_id is not None else f"`{short}`"


def _line(text: str) -> str:
    """Text on one line: a newline in a description must not end a list item or a paragraph early."""
    return " ".join(str(text).split())


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, no column breaks."""
    return _line(text).replace("|", "\\|")


def _table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in body]
    return "\n".join(lines)
