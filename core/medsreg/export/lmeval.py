"""``medsreg export lm-eval``: an installed suite as a folder of EleutherAI lm-evaluation-harness (0.4.x) tasks.

``export_lmeval`` renders the suite exactly as ``medsreg eval --suite`` does (``suite_rows_from_catalog``: the build
pipeline's own rows, a partial suite's readable tasks unless ``require_complete``) and writes into the output folder:

* ``data/<task>.jsonl``: each task's rendered rows, one JSON object per line, every key as rendered (``messages``,
  ``prompt``, ``references``, ``metrics``, ...) plus ``system_message`` / ``user_message`` (the two messages' texts),
  ``target`` (the first reference) and ``language`` (the task's output language, as ``medsreg score`` gives it);
* ``<task>.yaml``: one lm-eval task per suite task, reading its rows with ``dataset_path: json`` and ``data_files``
  (an absolute path inside the folder: lm-eval 0.4.x hands ``data_files`` to ``datasets.load_dataset`` as written, and
  that resolves a relative path against the working directory, not the YAML; moving the folder needs a new export);
* ``<category>.yaml`` / ``<suite>.yaml``: a group per category, a group per pooled group (below), one for the suite;
* ``utils.py``: ``process_results`` and one aggregation function per metric, which call ``medsreg.export.lmeval_runtime``
  (medsreg must be importable where lm-eval runs);
* ``medsreg_export.json`` (what was exported, with every file written) and ``README.md`` (how to run it).

Prompt. ``medsreg eval`` applies the model's own chat template to the row's ``messages`` (system + user, with the
generation prompt) and never runs a model without one. The default ``prompt="chat"`` is the same path in lm-eval: the
task's ``description`` is the system message and ``doc_to_text`` the user message, so that
``lm_eval --apply_chat_template`` builds [system, user] and renders them with the tokenizer's template
(``add_generation_prompt=True``), the very text medsreg eval tokenizes. Without ``--apply_chat_template`` lm-eval would
glue the two texts together with nothing between them: ``utils.py`` warns when it sees an ``lm_eval`` command line
without that flag. ``prompt="plain"`` writes ``doc_to_text: prompt`` (the row's ``prompt`` string, system and user
joined by a newline, as ``medsreg build`` writes it) for models run without a chat template; medsreg eval has no such
mode. Run with ``--model_args ...,add_bos_token=False,max_length=<max_input_tokens + max_new_tokens>``: lm-eval then
tokenizes the templated text without adding special tokens and keeps a long prompt's last ``max_input_tokens`` tokens,
as medsreg eval does (README.md of the export spells the command out).

Generation. ``generate_until``, greedy (``do_sample: false``, ``temperature: 0.0``), ``max_gen_toks`` the suite's
``max_new_tokens`` (or the one given). medsreg eval has no stop strings: it stops at the tokenizer's EOS, the
generation config's EOS, and the end-of-turn special tokens of ``END_OF_TURN_TOKENS`` the tokenizer has. ``until``
is that list (lm-eval adds the EOS text itself): a special token among them stops lm-eval where it stops medsreg, and
lm-eval's default stop (a blank line, which would cut answers medsreg keeps) is never used. Outputs pass the filter
``strip`` (``remove_whitespace``, ``take_first``): medsreg eval strips its outputs. What lm-eval still does its own way
is said in docs/lm-eval.md (a batch's rows that stop at a special token which is not the model's EOS; the decoding
settings of a model's generation_config.json, which medsreg eval ignores).

Scoring. ``process_results`` returns, for each medsreg metric of the task, the document's item (its output,
references, language, MedS-Ins id); the metric's aggregation function receives every item of the task and calls the
medsreg metric's ``compute`` on the whole list, as ``medsreg score`` does (``--compat fixed``; an empty output is
scored as wrong, as ``--allow-empty`` does): corpus-level metrics (entity micro F1, BLEU-1, ROUGE-L, HoC macro
figures) are exact. lm-eval reports them under ``<metric>,strip``.

Names (lm-eval task and group names are global, and must be simple):

* the suite: ``medsreg_<suite>``, where <suite> is the slug of the suite's name inside its plugin when it equals the
  plugin's name ('samples/samples' -> ``medsreg_samples``, 'meds-bench/meds-bench' -> ``medsreg_meds_bench``), else
  of both ('demo/bench' -> ``medsreg_demo_bench``);
* a category: ``medsreg_<suite>_<category>`` ('Named entity recognition' -> ``medsreg_samples_named_entity_recognition``),
  the unweighted mean of its tasks that count in its average: ``medsreg score``'s category score;
* a task: ``medsreg_<suite>__<task>`` (two underscores; <task> the name inside its plugin:
  ``medsreg_samples__chemical_ner_test``); two tasks with one slug take their plugin's too;
* a pooled group (``group`` in the suite, e.g. MedS-Bench's CT and MRI summarization): ``medsreg_<suite>__<group>_pooled``,
  the size-weighted mean of its tasks' scores, which is the pooled score for the metrics that are means over
  instances (``medsreg.score.MEAN_METRICS``); it is written when none of its tasks counts in the category average
  (lm-eval counts a task in one group only), else a note says it is not.

Slugs are lower-case ASCII letters, digits and '_'; a name two things would share gets a short hash. Task and group
aliases are medsreg's own names (the task's full name, the category's). A category whose average medsreg computes
from pooled groups (no task of its own counts) has no figure in lm-eval, and a note says so; every such limit is
printed and recorded in ``medsreg_export.json``, none is silent. A group with a figure holds tasks only (pooled groups sit
beside their category, not in it): versions of lm-eval that average a group's direct children and those that average its
leaf tasks give the same figures (tested: lm-eval 0.4.10 and 0.4.13).

The folder is written beside the output into a temporary folder and renamed into place: an output folder is never
half-written. An existing output folder must be empty or an earlier export holding nothing else (it is replaced).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError
from medsreg.evaluate.rows import SuiteRows

Echo = Callable[[str], None]
FORMAT = "medsreg-lm-eval-export/1"
MANIFEST = "medsreg_export.json"
UTILS = "utils.py"
README = "README.md"
DATA = "data"
FILTER = "strip"
"""The name of the tasks' filter (strip, take the first answer): lm-eval reports metrics as ``<metric>,strip``."""
PROMPTS = ("chat", "plain")
EXTRA_COLUMNS = ("system_message", "user_message", "target", "language")
"""What the data files add to a rendered row."""
_CACHE_DIRS = frozenset({"__pycache__"})
"""What Python leaves in an export folder when lm-eval imports its utils.py."""


# --------------------------------------------------------------------------- what is exported


@dataclass(frozen=True)
class Settings:
    """How the tasks generate: the prompt path, token limits, stop strings; and where the suite's plugins are."""

    prompt: str = "chat"
    max_new_tokens: int = 200
    max_input_tokens: int = 2048
    until: tuple[str, ...] = ()
    plugins_dirs: tuple[str, ...] = ()
    """Absolute ``--plugins-dir`` folders: utils.py loads the metrics from them too."""


@dataclass
class TaskPlan:
    name: str
    """The lm-eval task name."""
    task: str
    category: str
    group: str | None
    average: bool
    metrics: list[str]
    rows: list[dict[str, Any]]


@dataclass
class GroupPlan:
    name: str
    alias: str
    kind: str
    """"suite", "category" or "pooled"."""
    children: list[str]
    aggregate: list[str] = field(default_factory=list)
    """The metrics lm-eval averages over the group's tasks (none for the suite's group)."""
    weight_by_size: bool = False
    """False: the unweighted mean of the tasks (a category); True: weighted by their sizes (a pooled group)."""


@dataclass
class ExportPlan:
    suite: str
    group: str
    """The suite's lm-eval group name."""
    tasks: list[TaskPlan]
    groups: list[GroupPlan]
    notes: list[str] = field(default_factory=list)
    availability: dict[str, Any] | None = None

    @property
    def rows(self) -> int:
        return sum(len(task.rows) for task in self.tasks)

    def metric_names(self) -> list[str]:
        return list(dict.fromkeys(metric for task in self.tasks for metric in task.metrics))


@dataclass
class ExportResult:
    output: Path
    plan: ExportPlan
    settings: Settings
    files: list[str]
    replaced: bool = False
    """Whether an earlier export in the folder was replaced."""

    def command(self, model: str = "MODEL_DIR") -> str:
        """The lm_eval command line that runs the export as medsreg eval would run the suite."""
        return lmeval_command(self.output, self.plan.group, self.settings, model)


def slug(text: str) -> str:
    """Lower-case ASCII letters, digits and single '_' ('Named entity recognition' -> 'named_entity_recognition'); a
    text with none of them gets 'x' and a short hash of itself."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    found = re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")
    return found or f"x{_short_hash(text)}"


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


def suite_group_name(suite: str) -> str:
    """``medsreg_<suite>`` (see the module docstring): 'samples/samples' -> 'medsreg_samples'."""
    plugin, _, short = suite.partition("/")
    if not short or plugin == short:
        return f"medsreg_{slug(short or plugin)}"
    return f"medsreg_{slug(plugin)}_{slug(short)}"


def _task_slugs(tasks: list[str]) -> dict[str, str]:
    """Each task's slug: its name inside the plugin, its full name where two tasks share the first."""
    short = {task: slug(task.partition("/")[2] or task) for task in tasks}
    counts: dict[str, int] = {}
    for value in short.values():
        counts[value] = counts.get(value, 0) + 1
    return {task: value if counts[value] == 1 else slug(task) for task, value in short.items()}


def _unique(names: list[tuple[str, str]]) -> dict[str, str]:
    """{key: name} with a short hash of the key added to every name two keys would share."""
    counts: dict[str, int] = {}
    for _, name in names:
        counts[name] = counts.get(name, 0) + 1
    return {key: name if counts[name] == 1 else f"{name}_{_short_hash(key)}" for key, name in names}


def _split_messages(row: dict[str, Any]) -> tuple[str, str]:
    """(system, user) texts of a rendered row: [system, user] or [user]."""
    messages = row.get("messages") or []
    roles = [message.get("role") for message in messages if isinstance(message, dict)]
    if roles == ["system", "user"]:
        return messages[0]["content"], messages[1]["content"]
    if roles == ["user"]:
        return "", messages[0]["content"]
    raise MedsregError(f"row {row.get('instance_id')!r} of task {row.get('task')} has the messages {roles} where an "
                       "evaluation row has a system and a user message; lm-eval's chat path sends exactly those two: "
                       "export a suite rendered by 'medsreg build' / 'medsreg eval'")


def plan_export(suite: SuiteRows, languages: dict[str, str]) -> ExportPlan:
    """What the export of ``suite`` holds: its tasks (rows in suite order), categories, pooled groups and names.

    ``languages``: each task's output language (``medsreg score`` gives metrics the same); 'en' where absent."""
    from medsreg.score import MEAN_METRICS

    if not suite.rows:
        raise MedsregError(f"suite {suite.name} has no rows to export; configure the sources of its tasks "
                           "('medsreg list --suites' says which are missing)")
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in suite.rows:
        by_task.setdefault(row["task"], []).append(row)
    group = suite_group_name(suite.name)
    task_slugs = _task_slugs(list(by_task))
    categories = list(dict.fromkeys(rows[0]["category"] for rows in by_task.values()))
    pools = list(dict.fromkeys(rows[0]["group"] for rows in by_task.values() if rows[0].get("group")))
    names = _unique([(f"suite:{suite.name}", group)]
                    + [(f"category:{name}", f"{group}_{slug(name)}") for name in categories]
                    + [(f"task:{task}", f"{group}__{task_slugs[task]}") for task in by_task]
                    + [(f"pooled:{name}", f"{group}__{slug(name)}_pooled") for name in pools])

    tasks = []
    for task, rows in by_task.items():
        first = rows[0]
        for row in rows:
            if (row["category"], row.get("group"), row["average"], list(row["metrics"])) != \
                    (first["category"], first.get("group"), first["average"], list(first["metrics"])):
                raise MedsregError(f"the rows of task {task} disagree on its category, group, average or metrics "
                                   f"(instances {first['instance_id']!r} and {row['instance_id']!r}); a suite scores "
                                   "each task one way: check the suite definition")
        language = languages.get(task, "en")
        tasks.append(TaskPlan(names[f"task:{task}"], task, first["category"], first.get("group"), bool(first["average"]),
                              list(first["metrics"]), [_data_row(row, language) for row in rows]))

    notes: list[str] = []
    missing: dict[str, list[str]] = {}
    for entry in (suite.availability or {}).get("missing", []):
        missing.setdefault(entry.get("category", ""), []).append(entry.get("task", ""))
    groups: list[GroupPlan] = []
    suite_children: list[str] = []
    pooled_by_category: dict[str, list[GroupPlan]] = {}
    for pool in pools:
        members = [task for task in tasks if task.group == pool]
        metrics = list(dict.fromkeys(metric for task in members for metric in task.metrics))
        if any(task.average for task in members):
            notes.append(f"pooled group {pool} ({', '.join(task.task for task in members)}) has no lm-eval group: "
                         "its tasks count in their category's average, and lm-eval counts a task in one group only; "
                         "'medsreg score' reports its pooled figure")
            continue
        means = [metric for metric in metrics if metric in MEAN_METRICS]
        others = [metric for metric in metrics if metric not in MEAN_METRICS]
        if others:
            notes.append(f"pooled group {pool}: lm-eval pools a group as the size-weighted mean of its tasks' scores, "
                         f"which is not the pooled {', '.join(others)} (not a mean over instances); 'medsreg score' "
                         "reports it")
        plan = GroupPlan(names[f"pooled:{pool}"], f"{pool} (pooled)", "pooled", [task.name for task in members],
                         means, weight_by_size=True)
        pooled_by_category.setdefault(members[0].category, []).append(plan)
    pooled_tasks = {child for plans in pooled_by_category.values() for plan in plans for child in plan.children}
    for category in categories:
        members = [task for task in tasks if task.category == category]
        averaged = [task for task in members if task.average]
        pooled = pooled_by_category.get(category, [])
        lone = [task for task in members if not task.average and task.name not in pooled_tasks]
        gaps = missing.get(category, [])
        alias = category if not gaps else f"{category} (partial: {len(members)} of {len(members) + len(gaps)} tasks)"
        if gaps:
            lacking = ", ".join(gaps[:3]) + (f" and {len(gaps) - 3} more" if len(gaps) > 3 else "")
            notes.append(f"category {category} is partial: it lacks {lacking} (medsreg_export.json lists them); its "
                         "average is over the tasks it has, as 'medsreg score' marks it")
        name = names[f"category:{category}"]
        if averaged:
            metrics = list(dict.fromkeys(metric for task in averaged for metric in task.metrics))
            groups.append(GroupPlan(name, alias, "category", [task.name for task in averaged], metrics))
            suite_children.append(name)
            groups.extend(pooled)
            suite_children.extend([plan.name for plan in pooled] + [task.name for task in lone])
        else:
            groups.append(GroupPlan(name, alias, "category", [plan.name for plan in pooled] + [task.name for task in lone]))
            groups.extend(pooled)
            suite_children.append(name)
            notes.append(f"category {category} has no task that counts in its average: 'medsreg score' averages its "
                         "pooled groups, which lm-eval cannot; its lm-eval group has no figure of its own")
    groups.insert(0, GroupPlan(group, suite.name, "suite", suite_children))
    empty = sum(1 for task in tasks for row in task.rows if row["messages"] and row["system_message"] == ""
                and row["messages"][0].get("role") == "system")
    if empty:
        notes.append(f"{empty} rows have an empty system message: lm-eval's chat path leaves it out, where medsreg eval "
                     "sends an empty system turn")
    return ExportPlan(suite.name, group, tasks, groups, notes, suite.availability)


def _data_row(row: dict[str, Any], language: str) -> dict[str, Any]:
    clash = [key for key in EXTRA_COLUMNS if key in row]
    if clash:
        raise MedsregError(f"the rows of task {row['task']} already hold {', '.join(clash)}, which the lm-eval export "
                           "adds; this medsreg version cannot export them: please report it")
    system, user = _split_messages(row)
    references = [str(reference) for reference in row["references"]]
    return {**row, "system_message": system, "user_message": user, "target": references[0] if references else "",
            "language": language}


# --------------------------------------------------------------------------- the files


class Function(str):
    """A ``!function module.name`` reference in a YAML file (lm-eval resolves it beside the YAML)."""


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_YAML_ESCAPES = re.compile("[\u007f-\u009f\u2028\u2029\ufeff\ud800-\udfff]")


def yaml_scalar(value: Any) -> str:
    """A YAML scalar: strings double-quoted (JSON's escapes, which YAML shares, plus those YAML reads as line breaks or
    marks), ``!function`` references, numbers, booleans, null."""
    if isinstance(value, Function):
        return f"!function {value}"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        return _YAML_ESCAPES.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    raise TypeError(f"no YAML scalar for {type(value).__name__}")


def yaml_lines(value: Any, indent: int = 0) -> list[str]:
    """Block-style YAML of a mapping (keys as written) whose values are mappings, lists and scalars."""
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        if not _PLAIN_KEY.match(key):
            raise ValueError(f"YAML key {key!r} is not a plain name")
        if isinstance(item, dict) and item:
            lines.append(f"{pad}{key}:")
            lines.extend(yaml_lines(item, indent + 2))
        elif isinstance(item, list) and item:
            lines.append(f"{pad}{key}:")
            for element in item:
                if isinstance(element, dict):
                    nested = yaml_lines(element, indent + 4)
                    lines.append(f"{pad}  - {nested[0].lstrip()}")
                    lines.extend(nested[1:])
                else:
                    lines.append(f"{pad}  - {yaml_scalar(element)}")
        elif isinstance(item, (dict, list)):
            lines.append(f"{pad}{key}: {'{}' if isinstance(item, dict) else '[]'}")
        else:
            lines.append(f"{pad}{key}: {yaml_scalar(item)}")
    return lines


def yaml_text(document: dict[str, Any], comments: Iterable[str] = ()) -> str:
    return "".join(f"# {line}\n" for line in comments) + "\n".join(yaml_lines(document)) + "\n"


def metric_functions(metrics: list[str]) -> dict[str, str]:
    """{metric: the name of its aggregation function in utils.py} (Python names, distinct)."""
    found = [(metric, "agg_" + re.sub(r"\W", "_", metric, flags=re.ASCII)) for metric in metrics]
    return _unique(found)


def task_document(task: TaskPlan, plan: ExportPlan, folder: Path, settings: Settings,
                  functions: dict[str, str]) -> dict[str, Any]:
    """The lm-eval task config of ``task`` (see the module docstring for each choice)."""
    from medsreg import __version__

    prompt: dict[str, Any] = ({"description": "{{system_message}}", "doc_to_text": "user_message"}
                              if settings.prompt == "chat" else {"doc_to_text": "prompt"})
    return {
        "task": task.name,
        "task_alias": task.task,
        "dataset_path": "json",
        "dataset_kwargs": {"data_files": {"test": str(folder / DATA / f"{task.name}.jsonl")}},
        "test_split": "test",
        "output_type": "generate_until",
        "num_fewshot": 0,
        **prompt,
        "doc_to_target": "target",
        "generation_kwargs": {"until": list(settings.until), "do_sample": False, "temperature": 0.0,
                              "max_gen_toks": settings.max_new_tokens},
        "filter_list": [{"name": FILTER, "filter": [{"function": "remove_whitespace"}, {"function": "take_first"}]}],
        "process_results": Function("utils.process_results"),
        "metric_list": [{"metric": metric, "aggregation": Function(f"utils.{functions[metric]}"), "higher_is_better": True}
                        for metric in task.metrics],
        "metadata": {"version": 1.0, "medsreg_version": __version__, "suite": plan.suite, "medsreg_task": task.task,
                     "category": task.category, "pooling_group": task.group, "average": task.average,
                     "prompt": settings.prompt},
    }


def group_document(group: GroupPlan) -> dict[str, Any]:
    document: dict[str, Any] = {"group": group.name, "group_alias": group.alias, "task": list(group.children)}
    if group.aggregate:
        document["aggregate_metric_list"] = [{"metric": metric, "aggregation": "mean",
                                              "weight_by_size": group.weight_by_size, "filter_list": [FILTER]}
                                             for metric in group.aggregate]
    document["metadata"] = {"version": 1.0, "kind": group.kind}
    return document


def utils_source(functions: dict[str, str]) -> str:
    from medsreg import __version__

    body = "".join(f"\n\ndef {function}(items):\n    return _SCORING.aggregate({metric!r}, items)\n"
                   for metric, function in functions.items())
    return f'''"""lm-eval glue of the medsreg export in this folder (written by 'medsreg export lm-eval', medsreg {__version__}).

``process_results`` keeps each document's output and references, one item per medsreg metric of its task; each
aggregation function below scores all the items of a task at once with medsreg's own metric, as 'medsreg score'
does (medsreg.export.lmeval_runtime). Export again rather than editing this file.
"""

from pathlib import Path

from medsreg.export.lmeval_runtime import Scoring

_SCORING = Scoring(Path(__file__).resolve().parent)
process_results = _SCORING.process_results
{body}'''


def lmeval_command(folder: Path, group: str, settings: Settings, model: str = "MODEL_DIR") -> str:
    chat = " --apply_chat_template" if settings.prompt == "chat" else ""
    return (f"lm_eval --model hf --model_args pretrained={model},add_bos_token=False,"
            f"max_length={settings.max_input_tokens + settings.max_new_tokens} --include_path {folder} "
            f"--tasks {group}{chat} --batch_size 8 --log_samples --output_path results")


def readme_text(plan: ExportPlan, folder: Path, settings: Settings) -> str:
    from medsreg import __version__

    lines = [
        f"# {plan.suite} for lm-evaluation-harness",
        "",
        (f"Written by `medsreg export lm-eval` (medsreg {__version__}): {len(plan.tasks)} tasks, {plan.rows} rows, the "
         "prompts `medsreg eval` sends, scored by medsreg's own metrics (`utils.py` imports medsreg)."),
        "",
        "Run (greedy, the suite's token limits" + (", the model's chat template" if settings.prompt == "chat" else "")
        + "):",
        "",
        "```",
        lmeval_command(folder, plan.group, settings),
        "```",
        "",
    ]
    if settings.prompt == "chat":
        lines += [("`--apply_chat_template` is required: the tasks give lm-eval the system and the user message, which "
                   "the model's chat template joins as `medsreg eval` does. Do not pass `--num_fewshot` or "
                   "`--system_instruction`: the prompts hold their shots and system message already."), ""]
    lines += ["Groups and tasks:", ""]
    for group in plan.groups:
        how = (f"unweighted mean of {', '.join(group.aggregate)}" if group.aggregate and not group.weight_by_size
               else f"size-weighted mean of {', '.join(group.aggregate)}" if group.aggregate else "no figure of its own")
        lines.append(f"- `{group.name}` ({group.kind} {group.alias}: {how}): {', '.join(group.children)}")
    for task in plan.tasks:
        lines.append(f"- `{task.name}`: {task.task}, {len(task.rows)} rows, {', '.join(task.metrics)}")
    if plan.notes:
        lines += ["", "Notes:", ""] + [f"- {note}" for note in plan.notes]
    lines += ["", "The data files' paths are absolute: after moving this folder, export again.", ""]
    return "\n".join(lines)


def render_files(plan: ExportPlan, folder: Path, settings: Settings) -> dict[str, str]:
    """{path inside the folder: text} of the export, ``folder`` being where it will live (the YAMLs name its data files)."""
    from medsreg import __version__

    functions = metric_functions(plan.metric_names())
    files: dict[str, str] = {}
    for task in plan.tasks:
        files[f"{DATA}/{task.name}.jsonl"] = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in task.rows)
        comments = [f"medsreg task {task.task} of suite {plan.suite}, category {task.category}",
                    "written by 'medsreg export lm-eval'; export again rather than editing it"]
        files[f"{task.name}.yaml"] = yaml_text(task_document(task, plan, folder, settings, functions), comments)
    for group in plan.groups:
        what = f"suite {plan.suite}" if group.kind == "suite" else f"{group.kind} {group.alias} of suite {plan.suite}"
        files[f"{group.name}.yaml"] = yaml_text(group_document(group), [f"medsreg {what}",
                                                                       "written by 'medsreg export lm-eval'"])
    files[UTILS] = utils_source(functions)
    files[README] = readme_text(plan, folder, settings)
    manifest = {
        "format": FORMAT, "medsreg_version": __version__, "suite": plan.suite, "group": plan.group,
        "prompt": settings.prompt, "max_new_tokens": settings.max_new_tokens,
        "max_input_tokens": settings.max_input_tokens, "until": list(settings.until), "filter": FILTER,
        "plugins_dirs": list(settings.plugins_dirs), "metric_functions": functions,
        "tasks": [{"name": task.name, "task": task.task, "category": task.category, "group": task.group,
                   "average": task.average, "metrics": task.metrics, "rows": len(task.rows),
                   "data": f"{DATA}/{task.name}.jsonl"} for task in plan.tasks],
        "groups": [{"name": group.name, "kind": group.kind, "alias": group.alias, "children": group.children,
                    "aggregate": group.aggregate, "weight_by_size": group.weight_by_size} for group in plan.groups],
        "availability": plan.availability, "notes": plan.notes,
        "files": sorted([*files, MANIFEST]),
    }
    files[MANIFEST] = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    return files


# --------------------------------------------------------------------------- the folder


def check_output(output: Path) -> bool:
    """Refuse (one sentence) an output that cannot take the export; True when it holds an earlier one to replace."""
    how = "give --output a new or empty folder, or the folder of an earlier 'medsreg export lm-eval'"
    if output.exists() and not output.is_dir():
        raise MedsregError(f"--output {output} is a file; {how}")
    if not output.is_dir():
        return False
    entries = list(output.iterdir())
    if not entries:
        return False
    manifest = _read_manifest(output)
    if manifest is None:
        raise MedsregError(f"--output {output} is not empty and holds no earlier lm-eval export (no readable {MANIFEST}); "
                           f"{how}")
    listed = set(manifest.get("files") or [])
    for path in sorted(output.rglob("*")):
        relative = path.relative_to(output)
        if _CACHE_DIRS & set(relative.parts) or path.is_dir() and any(name.startswith(f"{relative.as_posix()}/")
                                                                       for name in listed):
            continue
        if relative.as_posix() not in listed:
            raise MedsregError(f"--output {output} holds {relative.as_posix()}, which the earlier export there did not "
                               f"write; move it away (the export replaces the folder), or {how}")
    return True


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == FORMAT else None


def write_folder(output: Path, files: dict[str, str]) -> bool:
    """Write ``files`` as the folder ``output``: into a temporary folder beside it, renamed into place (an earlier export
    there is replaced only once the new one is complete). Returns whether one was replaced."""
    replacing = check_output(output)
    parent = output.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp", dir=parent))
    except OSError as error:
        raise MedsregError(f"the folder {parent} cannot take the export ({error.strerror or error}); check the path "
                           "and its permissions") from None
    old: Path | None = None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o777 & ~umask)  # mkdtemp's 0700 would hide the tasks from the user's group
        for relative, text in files.items():
            path = temporary / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        if replacing:
            old = parent / f".{output.name}.{_short_hash(str(temporary))}.old"
            os.rename(output, old)
        elif output.is_dir():
            output.rmdir()  # empty: a rename onto it is not portable
        try:
            os.rename(temporary, output)
        except BaseException:
            if old is not None:
                os.rename(old, output)
                old = None
            raise
    except BaseException as error:
        shutil.rmtree(temporary, ignore_errors=True)
        if isinstance(error, OSError):
            raise MedsregError(f"the export cannot be written into {output} ({error.strerror or error}); check the "
                               "free space and permissions there (nothing was changed)") from None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return replacing


# --------------------------------------------------------------------------- the entry


def export_lmeval(suite: str, output: Path, *, plugins_dirs: tuple[Path, ...] = (), require_complete: bool = False,
                  prompt: str = "chat", max_new_tokens: int | None = None, warn: Echo = print) -> ExportResult:
    """Export the installed suite ``suite`` as lm-eval tasks into the folder ``output`` (module docstring)."""
    from medsreg.catalog import load_installed
    from medsreg.evaluate.backends import END_OF_TURN_TOKENS
    from medsreg.evaluate.rows import suite_rows_from_catalog
    from medsreg.evaluate.run import DEFAULT_MAX_INPUT_TOKENS, DEFAULT_MAX_NEW_TOKENS
    from medsreg.plugins import get_plugin_manager
    from medsreg.predictions import PLUGINS_DIR_HINT
    from medsreg.vocabulary import did_you_mean

    if prompt not in PROMPTS:
        raise MedsregError(f"--prompt {prompt!r} is not one of {', '.join(PROMPTS)}")
    output = Path(os.path.abspath(output))
    check_output(output)  # before the suite is read: a bad --output costs nothing
    rows = suite_rows_from_catalog(suite, plugins_dirs, warn, require_complete=require_complete)
    catalog = load_installed(get_plugin_manager(plugins_dirs))  # its problems were said while the rows were read
    languages = {item.task.name: (item.task.output_languages or ["en"])[0] for item in catalog.tasks}
    plan = plan_export(rows, languages)
    known = sorted(metric.name for _, metric in catalog.metrics)
    unknown = [name for name in plan.metric_names() if name not in known]
    if unknown:
        close = did_you_mean(unknown[0], known)
        raise MedsregError(f"suite {rows.name} names metrics no installed plugin provides: {', '.join(unknown)}"
                           f"{'' if close else '; ' + PLUGINS_DIR_HINT}.{close} 'medsreg plugins' lists who provides what")
    settings = Settings(prompt=prompt, max_new_tokens=max_new_tokens or rows.max_new_tokens or DEFAULT_MAX_NEW_TOKENS,
                        max_input_tokens=rows.max_input_tokens or DEFAULT_MAX_INPUT_TOKENS, until=tuple(END_OF_TURN_TOKENS),
                        plugins_dirs=tuple(os.path.abspath(folder) for folder in plugins_dirs))
    return write_export(plan, output, settings)


def write_export(plan: ExportPlan, output: Path, settings: Settings) -> ExportResult:
    """Render ``plan`` for the folder ``output`` and write it there (atomically; an earlier export is replaced)."""
    output = Path(os.path.abspath(output))
    files = render_files(plan, output, settings)
    replaced = write_folder(output, files)
    return ExportResult(output, plan, settings, sorted(files), replaced)
