"""The predictions of an evaluation: one JSON object per line, appended as they are produced.

A line holds exactly ``PREDICTION_KEYS`` (the scorer reads them), then ``permutation`` in a ``--shuffle-options``
run and ``instruction_index`` and ``instruction`` in an ``--instructions`` run (``VARIANT_KEYS``). A prediction is
identified by ``(task, instance_id, prompt_sha256, permutation, instruction_index)``: a rerun into the same folder
skips the ones present, so an
evaluation killed at any moment loses at most the batch in flight and never writes one twice.
Each batch is written with one ``write``, flushed and fsync'd; a kill in the middle of that write
leaves a torn last line, which readers ignore and the next writer cuts off before appending.

Every line of a folder carries the same ``model`` and ``config_sha256`` (the sha256 of the
canonical JSON of the generation settings): predictions of another model or other settings are
never mixed into it. Under data parallelism each rank appends to its own ``predictions-rank{r}.jsonl``;
``merge`` folds them into ``predictions.jsonl``. ``write_submission`` writes the leaderboard's
CSV files (``task_id,input,GT,output``), one per category.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError
from medsreg.files import write_text_atomically

PREDICTIONS = "predictions.jsonl"
CONFIG = "config.json"
SUBMISSION = "submission"
PREDICTION_KEYS = ("suite", "task", "legacy_id", "category", "group", "average", "metrics", "instance_id",
                   "prompt_sha256", "references", "output", "model", "config_sha256")
"""The keys of a predictions line, in order: exactly these (the scorer relies on them), then those of ``VARIANT_KEYS``
the row has (a ``--shuffle-options`` or ``--instructions`` run)."""
PERMUTATION = "permutation"
"""``--shuffle-options N``: which cyclic order of the options the line's prompt has (0..N-1; 0: the original)."""
INSTRUCTION_INDEX = "instruction_index"
"""``--instructions K``: which of the row's K + 1 instructions the prompt has (0: the suite's own, 1..K: rewrites)."""
INSTRUCTION = "instruction"
"""``--instructions K``: the index of that instruction in its task's instructions (``Definition``; 0: the original)."""
VARIANT_KEYS = (PERMUTATION, INSTRUCTION_INDEX, INSTRUCTION)
"""Written after ``PREDICTION_KEYS`` when the row has them."""
SUBMISSION_COLUMNS = ("task_id", "input", "GT", "output")
_RANK_FILE = re.compile(r"^predictions-rank(\d+)\.jsonl$")

Key = tuple[str, str, str, int, int]
"""(task, instance_id, prompt_sha256, permutation, instruction_index): what identifies a prediction (0 where a line
has no permutation or instruction index)."""


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def config_sha256(config: dict[str, Any]) -> str:
    """The sha256 of the canonical JSON (sorted keys, no spaces, UTF-8) of the generation settings."""
    return sha256_text(canonical_json(config))


def row_key(row: dict[str, Any]) -> Key:
    """The key of a suite row (the prompt hashed as the predictions line hashes it)."""
    return (row["task"], row["instance_id"], sha256_text(row["prompt"]), row.get(PERMUTATION, 0),
            row.get(INSTRUCTION_INDEX, 0))


def record_key(record: dict[str, Any]) -> Key:
    return (record["task"], record["instance_id"], record["prompt_sha256"], record.get(PERMUTATION, 0),
            record.get(INSTRUCTION_INDEX, 0))


def is_main(row: dict[str, Any]) -> bool:
    """Whether a suite row or predictions line is the suite's own prompt (not another order of its options nor
    another instruction): what the submission files hold and the scores are computed on."""
    return not row.get(PERMUTATION) and not row.get(INSTRUCTION_INDEX)


def prediction(row: dict[str, Any], output: str, model: str, config_hash: str) -> dict[str, Any]:
    """The predictions line of ``row`` (a suite row as build renders it) answered with ``output``; with the row's
    ``permutation`` when it has one (a ``--shuffle-options`` run)."""
    record = {
        "suite": row["suite"], "task": row["task"], "legacy_id": row["legacy_id"], "category": row["category"],
        "group": row["group"], "average": row["average"], "metrics": list(row["metrics"]),
        "instance_id": row["instance_id"], "prompt_sha256": sha256_text(row["prompt"]),
        "references": [str(reference) for reference in row["references"]], "output": output, "model": model,
        "config_sha256": config_hash,
    }
    record.update({key: row[key] for key in VARIANT_KEYS if key in row})
    return record


def rank_file(rank: int, world_size: int) -> str:
    """The file a rank appends to: ``predictions.jsonl`` for a single process, else ``predictions-rank{r}.jsonl``."""
    return PREDICTIONS if world_size <= 1 else f"predictions-rank{rank}.jsonl"


def prediction_files(folder: Path) -> list[Path]:
    """``predictions.jsonl`` (if any) then the ranks' files in rank order."""
    if not folder.is_dir():
        return []
    ranks = sorted((int(match.group(1)), path) for path in folder.iterdir()
                   if (match := _RANK_FILE.match(path.name)) and path.is_file())
    merged = folder / PREDICTIONS
    return ([merged] if merged.is_file() else []) + [path for _, path in ranks]


# --------------------------------------------------------------------------- reading


@dataclass
class Existing:
    """What a folder holds already: its predictions by key, and the model and settings they were made with."""

    records: dict[Key, dict[str, Any]] = field(default_factory=dict)
    model: str | None = None
    config_sha256: str | None = None
    where: Path | None = None
    """The file the model / config were first read from (for the refusal sentence)."""
    duplicates: int = 0
    """Lines whose key an earlier line had (the same prediction in two files: a merge interrupted before cleaning up)."""


def read_lines(path: Path) -> tuple[list[dict[str, Any]], bool]:
    """(the complete lines of ``path`` parsed, whether a torn last line was ignored).

    A torn last line is what a kill in the middle of a write leaves: text after the last newline.
    A complete line that is not a predictions object is an error (the file is not ours, or was edited).
    """
    data = path.read_bytes()
    end = data.rfind(b"\n") + 1
    records = []
    for number, line in enumerate(data[:end].split(b"\n")[:-1], 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise MedsregError(f"line {number} of {path} is not JSON; that file is not a medsreg predictions file, or was "
                               "edited: move it away or choose another --output") from None
        if not isinstance(record, dict) or set(record) - set(VARIANT_KEYS) != set(PREDICTION_KEYS):
            keys = ", ".join(sorted(record)) if isinstance(record, dict) else type(record).__name__
            raise MedsregError(f"line {number} of {path} does not hold the keys of a medsreg prediction "
                               f"({', '.join(PREDICTION_KEYS)}) but {keys}; move that file away or choose another --output")
        records.append(record)
    return records, end < len(data)


def read_existing(folder: Path) -> Existing:
    """Every prediction in ``folder`` (``predictions.jsonl`` and the ranks' files), checked to share one model and config."""
    existing = Existing()
    for path in prediction_files(folder):
        records, _ = read_lines(path)
        for record in records:
            if existing.model is None:
                existing.model, existing.config_sha256, existing.where = record["model"], record["config_sha256"], path
            elif (record["model"], record["config_sha256"]) != (existing.model, existing.config_sha256):
                raise MedsregError(f"{folder} mixes predictions of two models or settings ({existing.where.name} holds "
                                   f"{existing.model!r}, config {existing.config_sha256[:12]}; {path.name} holds "
                                   f"{record['model']!r}, config {record['config_sha256'][:12]}); keep one run per folder")
            key = record_key(record)
            if key in existing.records:
                existing.duplicates += 1
                continue
            existing.records[key] = record
    return existing


def check_same_run(existing: Existing, folder: Path, model: str, config_hash: str, config: dict[str, Any]) -> None:
    """Refuse (one sentence) to add predictions of another model or other settings to a folder that has some."""
    if existing.model is None:
        return
    if existing.model != model:
        raise MedsregError(f"{folder} already holds predictions of model {existing.model!r}, not {model!r}; choose another "
                           f"--output for this model, or pass --model {existing.model} to resume that run")
    if existing.config_sha256 != config_hash:
        before = _recorded_config(folder)
        differs = ""
        if before is not None:
            changed = sorted(key for key in set(before) | set(config) if before.get(key) != config.get(key))
            differs = " (" + ", ".join(f"{key} {before.get(key)!r} then, {config.get(key)!r} now" for key in changed) + ")"
        raise MedsregError(f"{folder} already holds predictions of {model!r} made with other generation settings"
                           f"{differs}: config sha256 {existing.config_sha256[:12]}, now {config_hash[:12]}; choose another "
                           "--output, or give the same options to resume that run")


def _recorded_config(folder: Path) -> dict[str, Any] | None:
    try:
        recorded = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
        return recorded["config"] if isinstance(recorded.get("config"), dict) else None
    except (OSError, ValueError, AttributeError, KeyError):
        return None


def recorded_availability(folder: Path) -> dict[str, Any] | None:
    """The suite's availability that ``config.json`` records (None: no config, or one written before it was recorded)."""
    try:
        recorded = json.loads((folder / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    availability = recorded.get("availability") if isinstance(recorded, dict) else None
    return availability if isinstance(availability, dict) else None


def write_config(folder: Path, document: dict[str, Any]) -> None:
    """``config.json``: the model, the generation settings and their hash, what was evaluated (informational: the
    rows, ``limit``, the suite's ``availability``, none of them hashed), and ``date``: when the run started (UTC),
    kept from the first write when a run is resumed, so that score and leaderboard date the run, not the resume."""
    from datetime import datetime, timezone

    try:
        started = json.loads((folder / CONFIG).read_text(encoding="utf-8")).get("date")
    except (OSError, ValueError, AttributeError):
        started = None
    document = {**document, "date": started or datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_text_atomically(folder / CONFIG, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------- writing


class PredictionWriter:
    """Appends batches of predictions to one file: one write, flush and fsync per batch.

    Opening it cuts a torn last line off (so the next line does not continue it); a second writer
    of the same file is not expected (each rank has its own file).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.torn = _cut_torn_line(path)
        self._file = open(path, "a", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed by close()

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        if not records:
            return
        self._file.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
        self._file.flush()
        os.fsync(self._file.fileno())
        self.written += len(records)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _cut_torn_line(path: Path) -> bool:
    """Truncate ``path`` after its last newline; True when something was cut."""
    if not path.exists():
        return False
    with open(path, "rb+") as handle:
        data = handle.read()
        end = data.rfind(b"\n") + 1
        if end == len(data):
            return False
        handle.truncate(end)
        handle.flush()
        os.fsync(handle.fileno())
    return True


# --------------------------------------------------------------------------- merging


def merge(folder: Path, rows: Sequence[dict[str, Any]]) -> tuple[Path, int]:
    """Fold the ranks' files (and an earlier ``predictions.jsonl``) into ``predictions.jsonl``; return (path, lines).

    The merged file lists the predictions of ``rows`` in row order, then any other prediction the
    folder held (e.g. of rows a larger --limit ran), each once. It replaces the old file atomically;
    the ranks' files are removed only afterwards (an interrupted merge is simply run again).
    """
    existing = read_existing(folder)
    order = {row_key(row): position for position, row in enumerate(rows)}
    records = sorted(existing.records.values(), key=lambda record: order.get(record_key(record), len(order)))
    target = folder / PREDICTIONS
    write_text_atomically(target, "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
    for path in prediction_files(folder):
        if path != target:
            path.unlink()
    return target, len(records)


# --------------------------------------------------------------------------- the leaderboard's submission files


def task_id(row: dict[str, Any]) -> str:
    """The leaderboard's task id: ``task<N>`` from the MedS-Ins file name; the task's name when it has no id."""
    return f"task{row['legacy_id']}" if row.get("legacy_id") is not None else row["task"]


def category_file(category: str) -> str:
    """``<category>.csv`` with characters a file name should not hold replaced ('Named entity recognition' ->
    'Named_entity_recognition.csv')."""
    name = re.sub(r"[^\w.-]+", "_", category.strip()).strip("._") or "category"
    return f"{name}.csv"


def write_submission(folder: Path, rows: Iterable[dict[str, Any]], outputs: dict[Key, str]) -> dict[str, int]:
    """``folder/submission/<category>.csv`` for every category with predictions: ``task_id,input,GT,output`` in row
    order (input: the exact prompt; GT: the first reference). Returns {file name: rows written}."""
    by_category: dict[str, list[tuple[str, str, str, str]]] = {}
    for row in rows:
        output = outputs.get(row_key(row))
        if output is None:
            continue
        reference = row["references"][0] if row["references"] else ""
        by_category.setdefault(row["category"], []).append((task_id(row), row["prompt"], reference, output))
    target = folder / SUBMISSION
    target.mkdir(parents=True, exist_ok=True)
    written = {}
    for category, lines in by_category.items():
        name = category_file(category)
        text = io.StringIO()
        writer = csv.writer(text)  # RFC 4180 quoting: prompts hold commas, quotes and newlines
        writer.writerow(SUBMISSION_COLUMNS)
        writer.writerows(lines)
        write_text_atomically(target / name, text.getvalue())
        written[name] = len(lines)
    return written
