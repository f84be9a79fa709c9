"""Reading predictions to score: medsreg's own ``predictions.jsonl`` and the leaderboard's submission CSV.

* ``predictions.jsonl`` (written by ``medsreg eval``): one object per line with ``task``,
  ``instance_id``, ``references``, ``output``, ``metrics``, ``category``, ``group``, ``average``
  (and more, ignored here). A torn last line (an eval killed mid-write) is skipped with a note.
* the official submission CSV: columns ``task_id,input,GT,output`` (task id as in the released
  file names: "task57", "57" or the whole file stem; a task without a MedS-Ins id by its name,
  as ``medsreg eval`` writes it). How each task is scored (metrics,
  category, pooling group) comes from the installed suite that holds it (``meds-bench``).

Both are read as Excel and editors save them: UTF-8 (with or without a byte-order mark) or UTF-16
with its byte-order mark, and the CSV separated by ',', ';' or tabs. Every problem is a
``MedsregError`` sentence naming the file, the line or row, and the fix: another encoding (which,
and the command that converts it), a line that is not JSON or holds the wrong types, a malformed
CSV row, missing columns, unknown task ids (with did-you-mean), duplicated rows, empty outputs
(unless ``allow_empty``: they then score 0).

What the predictions miss of their suite (``Predictions.missing``: the tasks of a partial suite,
which ``medsreg score`` marks) comes from eval's ``config.json`` beside a predictions file (the
availability eval recorded, with why each task is missing) and, when the suite is installed, from
its definition: a task of a predicted category with no prediction is missing too.

With ``official`` the file is read as the official scripts read it: duplicated rows are kept,
empty outputs are no error, the ids MCQA.py still lists (task4-9) are scored as multiple choice,
rows of tasks no script scores are left out with a note, and each cell pandas would read as NaN
(``official.PANDAS_NA``) is flagged, in the output and the reference alike.

A ``--shuffle-options`` or ``--instructions`` run's lines under another option order or instruction
(``permutation`` / ``instruction_index`` above 0) are kept apart in ``Predictions.variants``: the scores are computed
on the suite's own prompts, the variants measure robustness. The ``contamination.json`` eval wrote into the run
folder (which instances overlap the model's training data) is read into ``Predictions.contamination``.

Which run the predictions come from (``Predictions.run``, carried into the results): the eval run
folder (the one holding eval's ``config.json``: beside a ``predictions.jsonl``, or above the
``submission/`` folder of a submission CSV eval wrote), the sha256 of its generation settings
(``config_sha256`` of that config.json, else of the predictions lines) and the eval's date where
config.json records one (``date``).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from medsreg.errors import MedsregError, NotUtf8Error, decode_text, quoted
from medsreg.formats.medsins import JsonError, load_json
from medsreg.vocabulary import did_you_mean

CSV_COLUMNS = ("task_id", "input", "GT", "output")
CSV_DELIMITERS = (",", ";", "\t")
"""Excel writes ';' where the decimal separator is a comma, and tabs for 'Unicode text'."""
JSONL_KEYS = ("task", "instance_id", "references", "output", "metrics", "category")
_RECORD_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "task": ((str,), "a string"),
    "instance_id": ((str, int), "a string or an integer"),
    "references": ((list,), "a list of strings"),
    "output": ((str, int, float, type(None)), "a string or null"),
    "metrics": ((list,), "a list of strings"),
    "category": ((str,), "a string"),
    "group": ((str, type(None)), "a string or null"),
    "average": ((bool,), "true or false"),
    "model": ((str, type(None)), "a string or null"),
    "suite": ((str, type(None)), "a string or null"),
    "permutation": ((int,), "a whole number"),
    "instruction_index": ((int,), "a whole number"),
    "instruction": ((int, type(None)), "a whole number or null"),
}
"""What each key of a predictions line holds, as 'medsreg eval' writes it."""
PLUGINS_DIR_HINT = "if the suite comes from a plugin folder, pass --plugins-dir DIR"
"""Ends the sentences about tasks or metrics no installed plugin knows: a plugin folder not passed is a likely cause."""
_TASK_ID = re.compile(r"^(?:task)?([0-9]{1,9})(?:_|$)", re.IGNORECASE)
LEGACY_MCQA_CATEGORY = "Multilingual MCQA"


@functools.lru_cache(maxsize=4096)
def _legacy_id(task_id: str) -> int | None:
    """The MedS-Bench number of a CSV's task_id ("task54", "54", "task54_x.json"); None for a suite task's name."""
    match = _TASK_ID.match(Path(task_id).stem)
    return int(match.group(1)) if match else None


@dataclass
class Prediction:
    """One model output to score, with how its task is scored."""

    task: str
    instance_id: str
    output: str
    references: list[str]
    metrics: list[str]
    category: str
    group: str | None = None
    average: bool = True
    language: str = "en"
    legacy_id: int | None = None
    where: str = ""
    """File and line / row, for messages."""
    output_na: bool = False
    """The output cell is one pandas reads as NaN (what the official scripts see)."""
    reference_na: bool = False
    permutation: int = 0
    """``medsreg eval --shuffle-options``: the cyclic order of the options the prompt had (0: the suite's)."""
    instruction_index: int = 0
    """``medsreg eval --instructions``: which of the row's instructions the prompt had (0: the suite's own)."""
    instruction: int | None = None
    """``medsreg eval --instructions``: that instruction's index among its task's instructions (``Definition``)."""

    @property
    def main(self) -> bool:
        """The suite's own prompt: the scores are computed on these (the others measure robustness)."""
        return not self.permutation and not self.instruction_index


@dataclass
class Run:
    """The eval run that wrote the predictions, as far as the files tell."""

    name: str = ""
    """The eval run folder's name, else the predictions file's folder and name ('elsewhere/predictions.jsonl')."""
    config_sha256: str | None = None
    """The sha256 of the generation settings (eval's config.json, else the predictions lines); None for a CSV
    outside an eval run folder."""
    date: str | None = None
    """When the eval ran, as config.json records it (``date``); None where it records none."""


@dataclass
class Predictions:
    rows: list[Prediction] = field(default_factory=list)
    """The predictions of the suite's own prompts: what is scored."""
    variants: list[Prediction] = field(default_factory=list)
    """The other prompts of a robustness run (``--shuffle-options``, ``--instructions``): reported apart."""
    contamination: dict[str, Any] | None = None
    """What eval recorded of the model's training data (``contamination.json`` beside the file), or None."""
    notes: list[str] = field(default_factory=list)
    model: str | None = None
    suite: str | None = None
    missing: list[dict[str, str]] = field(default_factory=list)
    """The suite's tasks without a prediction: {"task", "category", "why"}, in the suite's order."""
    category_tasks: dict[str, int] = field(default_factory=dict)
    """Category -> how many tasks the suite has in it (where known), for 'partial: 2 of 5 tasks'."""
    coverage_known: bool = False
    """Whether ``missing`` could be told (eval's config.json, or the suite installed here): else it is just empty."""
    run: Run = field(default_factory=Run)

    def partial_categories(self) -> dict[str, list[str]]:
        """Category -> its tasks without a prediction, for the categories that miss some."""
        partial: dict[str, list[str]] = {}
        for entry in self.missing:
            partial.setdefault(entry["category"], []).append(entry["task"])
        return partial


def read_predictions(path: Path, catalog: Any, *, allow_empty: bool = False, official: bool = False) -> Predictions:
    """The predictions in ``path`` (.jsonl or .csv); ``catalog`` (installed tasks and suites) gives languages and,
    for the CSV, how each task is scored; ``official`` reads the file as the official scripts do (module docstring)."""
    if not path.is_file():
        raise MedsregError(f"{path} does not exist; give the predictions.jsonl written by 'medsreg eval' or a "
                           "submission CSV (task_id,input,GT,output)")
    if path.suffix.lower() == ".csv":
        result = _read_csv(path, catalog, official)
    elif path.suffix.lower() in (".jsonl", ".json"):
        result = _read_jsonl(path, official)
    else:
        raise MedsregError(f"{path}: unknown predictions format {path.suffix!r}; give a .jsonl file written by "
                           "'medsreg eval' or a .csv with the columns task_id,input,GT,output")
    if not result.rows:
        raise MedsregError(f"{path} holds no predictions; run 'medsreg eval' first or check the file")
    if official:
        from medsreg.metrics.official import PANDAS_NA

        for row in [*result.rows, *result.variants]:
            row.output_na = row.output_na or row.output in PANDAS_NA
            row.reference_na = bool(row.references) and row.references[0] in PANDAS_NA
    else:
        _check_outputs(path, result, allow_empty)
    languages = {item.task.name: (item.task.output_languages or ["en"])[0] for item in getattr(catalog, "tasks", [])}
    for row in [*result.rows, *result.variants]:
        row.language = languages.get(row.task, row.language)
    find_missing(result, path, catalog)
    describe_run(result, path)
    return result


def _contamination(folder: Path | None) -> dict[str, Any] | None:
    """The contamination.json eval wrote into the run folder ``folder`` (clean vs dirty), as its JSON; None where
    there is none."""
    from medsreg.contamination import FILE, Contamination

    if folder is None or not (folder / FILE).is_file():
        return None
    return Contamination.read(folder / FILE).to_json()


def describe_run(result: Predictions, path: Path) -> None:
    """Set ``result.run`` from the eval run folder's config.json (when it is this suite's) and the predictions, and
    ``result.contamination`` from the folder's contamination.json."""
    found = _run_config(path, result.suite)
    folder, recorded = found if found is not None else (None, {})
    result.contamination = _contamination(folder)
    recorded_hash, date = recorded.get("config_sha256"), recorded.get("date")
    result.run = Run(name=folder.name if folder is not None else f"{path.parent.name}/{path.name}".lstrip("/"),
                     config_sha256=recorded_hash if isinstance(recorded_hash, str) else result.run.config_sha256,
                     date=date if isinstance(date, str) and date else None)


def find_missing(result: Predictions, path: Path, catalog: Any) -> None:
    """Set ``result.missing`` and ``result.category_tasks``: what eval recorded as missing (config.json beside the file)
    and, for an installed suite, the tasks of a predicted category without a prediction."""
    present = {row.task for row in result.rows}
    predicted = {row.category for row in result.rows}
    missing: dict[str, dict[str, str]] = {}
    recorded = _recorded_availability(path, result.suite)
    entries = (recorded or {}).get("missing", [])
    for entry in entries if isinstance(entries, list) else []:
        # a task predicted by an earlier run into the same folder is not missing, whatever the last run could read
        if isinstance(entry, dict) and entry.get("task") and entry["task"] not in present:
            missing[entry["task"]] = {"task": str(entry["task"]), "category": str(entry.get("category", "")),
                                      "why": str(entry.get("why", ""))}
    suite = next((loaded.suite for loaded in getattr(catalog, "suites", []) if loaded.suite.name == result.suite), None)
    result.coverage_known = recorded is not None or suite is not None
    if not result.coverage_known and result.suite:
        result.notes.append(f"suite {result.suite} is not installed here and no eval config.json is beside {path.name}, "
                            f"so the tasks these predictions miss are unknown; {PLUGINS_DIR_HINT}")
    if suite is not None:
        result.category_tasks = {category.name: len(category.tasks) for category in suite.categories}
        # categories without any prediction stay out (a submission CSV holds one category); eval's record names them
        for category in suite.categories:
            if category.name not in predicted:
                continue
            for entry in category.tasks:
                if entry.task not in present and entry.task not in missing:
                    missing[entry.task] = {"task": entry.task, "category": category.name,
                                           "why": f"{entry.task}: no prediction in {path.name}"}
        order = {name: position for position, name in enumerate(suite.task_names())}
        result.missing = sorted(missing.values(), key=lambda entry: order.get(entry["task"], len(order)))
    else:
        result.missing = list(missing.values())
        counts: dict[str, set[str]] = {}
        for row in result.rows:
            counts.setdefault(row.category, set()).add(row.task)
        for entry in result.missing:
            counts.setdefault(entry["category"], set()).add(entry["task"])
        result.category_tasks = {category: len(tasks) for category, tasks in counts.items()}


def _recorded_availability(path: Path, suite: str | None) -> dict[str, Any] | None:
    """The availability eval recorded in the config.json beside ``path`` (a predictions JSONL of that suite), if any.
    A submission CSV holds one category of the run: the run's availability does not describe it."""
    found = _run_config(path, suite) if path.suffix.lower() in (".jsonl", ".json") else None
    availability = found[1].get("availability") if found is not None else None
    return availability if isinstance(availability, dict) else None


def _run_config(path: Path, suite: str | None) -> tuple[Path, dict[str, Any]] | None:
    """(the eval run folder, its config.json) for predictions eval wrote: ``path`` is its predictions.jsonl or one of
    its submission CSVs; None where there is none, or it is another suite's (another run's, or not eval's)."""
    from medsreg.evaluate.predictions import CONFIG, SUBMISSION

    folder = path.parent.parent if path.suffix.lower() == ".csv" and path.parent.name == SUBMISSION else path.parent
    try:
        recorded = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(recorded, dict) or (suite is not None and recorded.get("suite") != suite):
        return None
    return folder.resolve(), recorded


def _check_outputs(path: Path, result: Predictions, allow_empty: bool) -> None:
    empty = [row for row in [*result.rows, *result.variants] if not row.output.strip()]
    if not empty:
        return
    if not allow_empty:
        shown = ", ".join(row.where for row in empty[:3]) + (f" and {len(empty) - 3} more" if len(empty) > 3 else "")
        raise MedsregError(f"{path}: {len(empty)} predictions have an empty output ({shown}); rerun the model on "
                           "them, or pass --allow-empty to score them as wrong")
    for row in empty:
        row.output = ""
    result.notes.append(f"{len(empty)} empty outputs are scored as wrong (--allow-empty)")


def _read_text(path: Path) -> str:
    """The file's text: UTF-8, or UTF-16 with its byte-order mark (as Excel's 'Unicode text' saves)."""
    try:
        return decode_text(path.read_bytes(), path, utf16=True)
    except OSError as error:
        raise MedsregError(f"{path} cannot be read ({error.strerror or error}); check the path") from None
    except NotUtf8Error as error:
        raise MedsregError(f"{path} {error}") from None


def _read_jsonl(path: Path, official: bool = False) -> Predictions:
    result = Predictions()
    seen: dict[tuple[str, str, int, int], int] = {}
    text = _read_text(path)
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            record = load_json(line)
        except JsonError as error:
            if number >= len(lines) - 1 and not text.endswith("\n"):  # torn by a kill: eval redoes it
                result.notes.append(f"{where}: an incomplete last line is ignored (an interrupted eval); "
                                    "rerun 'medsreg eval' to complete it")
                continue
            raise MedsregError(f"{where}: {error}; a file 'medsreg eval' wrote is damaged: rerun it into a new "
                               "--output") from None
        missing = [key for key in JSONL_KEYS if key not in record] if isinstance(record, dict) else list(JSONL_KEYS)
        if missing:
            raise MedsregError(f"{where}: the prediction lacks {', '.join(missing)}; score files written by "
                               "'medsreg eval', or a submission CSV")
        _check_record(record, where)
        permutation, instruction_index = record.get("permutation", 0), record.get("instruction_index", 0)
        if permutation < 0 or instruction_index < 0:
            raise MedsregError(f"{where}: 'permutation' and 'instruction_index' must not be negative; score files "
                               "written by 'medsreg eval'")
        key = (record["task"], str(record["instance_id"]), permutation, instruction_index)
        if key in seen and not official:
            variant = "".join([f" under permutation {permutation}" if permutation else "",
                               f" under instruction {instruction_index}" if instruction_index else ""])
            raise MedsregError(f"{where}: {key[0]} instance {key[1]} is predicted twice{variant} (first on line "
                               f"{seen[key]}); remove the duplicate line")
        seen[key] = number
        output = record["output"]
        missing = output is None or (isinstance(output, float) and math.isnan(output))
        legacy_id = record.get("legacy_id")
        prediction = Prediction(
            task=key[0], instance_id=key[1], output="" if missing else str(output),
            references=record["references"], metrics=record["metrics"],
            category=record["category"], group=record.get("group"), average=record.get("average", True),
            legacy_id=legacy_id if isinstance(legacy_id, int) and not isinstance(legacy_id, bool) else None,
            where=where, output_na=missing, permutation=permutation, instruction_index=instruction_index,
            instruction=record.get("instruction"))
        (result.rows if prediction.main else result.variants).append(prediction)
        result.model = result.model or record.get("model")
        result.suite = result.suite or record.get("suite")
        if isinstance(record.get("config_sha256"), str):  # eval writes the same on every line of a run
            result.run.config_sha256 = result.run.config_sha256 or record["config_sha256"]
    return result


def _check_record(record: dict[str, Any], where: str) -> None:
    """Raise unless each key of a predictions line holds what 'medsreg eval' writes there."""
    for key, (kinds, expected) in _RECORD_TYPES.items():
        if key not in record:
            continue
        value = record[key]
        wrong = not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        if not wrong and list in kinds:
            wrong = not all(isinstance(item, str) for item in value)
        if wrong:
            raise MedsregError(f"{where}: {key!r} is {quoted(value)}, not {expected}; score files written by "
                               "'medsreg eval', or a submission CSV")


def _read_csv(path: Path, catalog: Any, official: bool = False) -> Predictions:
    result = Predictions()
    scoring, by_name = _suite_entries(catalog)
    ignored: dict[str, int] = {}
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text.split("\n", 1)[0]))
    with _csv_errors_located(path, reader), _long_fields():
        columns = reader.fieldnames or []
        missing = [column for column in CSV_COLUMNS if column not in columns]
        if missing:
            found = ", ".join(quoted(column) for column in columns[:8]) or "none"
            raise MedsregError(f"{path}: the columns {', '.join(missing)} are missing (found: {found}); "
                               "a submission CSV has the header task_id,input,GT,output")
        seen: dict[tuple[str, str], int] = {}
        for number, record in enumerate(reader, 2):
            where = f"{path.name}: row {number}"
            task_id = (record.get("task_id") or "").strip()
            legacy_id = _legacy_id(task_id)
            entry = scoring.get(legacy_id) if legacy_id is not None else by_name.get(task_id)
            if entry is None and official:
                from medsreg.metrics.official import LEGACY_MCQA

                if legacy_id in LEGACY_MCQA:  # not in the suite's average: MedS-Bench no longer holds them
                    entry = (None, LEGACY_MCQA_CATEGORY, SimpleNamespace(task=f"task{legacy_id}", metrics=["mcqa_accuracy"],
                                                                         group=None, average=False))
                else:  # the scripts score the ids they list and pass over the others
                    ignored[task_id] = ignored.get(task_id, 0) + 1
                    continue
            if entry is None:
                known = sorted(f"task{number}" for number in scoring) + sorted(by_name)
                listing = f" Known ids: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''}." if known else \
                    " No installed suite has tasks with ids: install medsreg-meds-bench."
                close = did_you_mean(task_id, known)
                # a close id is a typo; none at all may be a suite whose plugin folder was not passed
                hint = "" if close else f"; {PLUGINS_DIR_HINT}"
                raise MedsregError(f"{where}: task_id {quoted(task_id)} is not a task of an installed suite{hint}."
                                   f"{close}{listing}")
            key = (task_id, record.get("input") or "")
            if key in seen and not official:
                raise MedsregError(f"{where}: the same task_id and input as row {seen[key]}; remove the duplicated row")
            seen[key] = number
            suite, category, suite_task = entry
            result.rows.append(Prediction(
                task=suite_task.task, instance_id=f"row{number}", output=record.get("output") or "",
                references=[record.get("GT") or ""], metrics=list(suite_task.metrics), category=category,
                group=suite_task.group, average=suite_task.average, legacy_id=legacy_id, where=where))
            result.suite = result.suite or suite
    for task_id, count in ignored.items():
        result.notes.append(f"{path.name}: {count} row(s) of task_id {quoted(task_id)} are left out, as the official "
                            "scripts leave out ids they do not list")
    return result


def _delimiter(header: str) -> str:
    """The one of ``CSV_DELIMITERS`` that splits ``header`` into the submission columns (',' if none does)."""
    for delimiter in CSV_DELIMITERS:
        try:
            names = next(csv.reader([header], delimiter=delimiter), [])
        except csv.Error:
            break  # reported with its row when the file is read
        if all(column in names for column in CSV_COLUMNS):
            return delimiter
    return ","


@contextmanager
def _csv_errors_located(path: Path, reader: Any) -> Iterator[None]:
    try:
        yield
    except csv.Error as error:
        raise MedsregError(f"{path.name}: row {reader.line_num}: not a well-formed CSV row ({error}); save the file "
                           "again as CSV (fields with commas, quotes or line breaks quoted)") from None


@contextmanager
def _long_fields() -> Iterator[None]:
    """Fields of any length: an input (a whole record to summarize) may pass csv's default limit of 131,072 characters."""
    limit = csv.field_size_limit(2**31 - 1)
    try:
        yield
    finally:
        csv.field_size_limit(limit)


def _suite_entries(catalog: Any) -> tuple[dict[int, tuple[str, str, Any]], dict[str, tuple[str, str, Any]]]:
    """How each task of the installed suites is scored, (suite, category, SuiteTask), by legacy id and by task name
    (the submission files name a task without a MedS-Ins id by its name); the first suite holding a task wins."""
    ids = {item.task.name: item.task.legacy_id for item in getattr(catalog, "tasks", [])}
    by_id: dict[int, tuple[str, str, Any]] = {}
    by_name: dict[str, tuple[str, str, Any]] = {}
    for loaded in sorted(getattr(catalog, "suites", []), key=lambda loaded: loaded.suite.name):
        for category in loaded.suite.categories:
            for suite_task in category.tasks:
                entry = (loaded.suite.name, category.name, suite_task)
                by_name.setdefault(suite_task.task, entry)
                legacy_id = ids.get(suite_task.task)
                if legacy_id is not None:
                    by_id.setdefault(legacy_id, entry)
    return by_id, by_name
