"""``--tokenizer``: token ids for the mixture, with the tokenizer's own chat template, the prompt masked, truncated or packed.

This module owns turning rendered rows (``messages``: system / user / assistant) into what a
trainer consumes:

* ``input_ids``: ``apply_chat_template(messages)``, the whole conversation as the model sees it;
* ``labels``: the same ids with -100 over the prompt, i.e. over the first
  ``len(apply_chat_template(messages[:-1], add_generation_prompt=True))`` tokens: the loss is
  taken on the assistant's content and whatever the template puts after it (end of turn, eos).
  That this prompt is a token prefix of the conversation is checked on every row: a template
  that renders the generation prompt differently from the assistant turn would otherwise
  shift the mask silently;
* ``attention_mask``; truncation at ``max_length`` tokens. A row with no label left teaches nothing and
  is dropped: ``TOO_LONG`` when the prompt alone fills ``max_length``, ``EMPTY_ANSWER`` when the
  answer is empty and the template adds nothing after it. Rows read, truncated and dropped are
  counted per task and per reason (``TokenCounts``), so that every row missing from a build or a
  training run is accounted for (``count_table`` / ``reason_hint`` say it to people);
* packing (``pack_rows`` / ``--pack``): whole examples placed first-fit, in order, into blocks of
  at most ``max_length`` tokens, within windows of ``PACK_WINDOW`` examples (bounded memory, the
  same blocks from the streaming path and from a Dataset), ``position_ids`` restarting at 0 at
  every example, so padding-free attention keeps the examples apart.

Two entry points, one computation: ``tokenize_rows`` / ``pack_rows`` on a ``datasets.Dataset``
(``Dataset.map``, batched, on ``num_proc`` cores), and ``prepare(...).rows(iterator)`` for the
build pipeline, which streams rows into the writer and tokenizes batches in worker processes.
transformers, datasets and numpy are imported inside functions: importing this module is cheap.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medsreg.errors import MedsregError
from medsreg.modelfolder import load_tokenizer

if TYPE_CHECKING:
    import datasets

DEFAULT_MAX_LENGTH = 2048
"""The CLI's --max-length default."""
IGNORE_INDEX = -100
"""The label PyTorch's cross-entropy (and every Hugging Face model) skips."""
BATCH_ROWS = 1000
"""Rows tokenized together: one Dataset.map batch, one job of a worker process."""
PACK_WINDOW = 1000
"""Examples packed together: first-fit looks for room among the blocks of the same window only."""
TOKEN_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "vocab.txt")
"""Files of which a tokenizer folder holds at least one (fast, config, sentencepiece, BPE, WordPiece)."""

TOO_LONG = "too_long"
"""Drop reason: the prompt alone is max_length tokens or more, so no answer token is left to learn."""
EMPTY_ANSWER = "empty_answer"
"""Drop reason: within max_length, but the answer is empty and the chat template adds no token after it."""
REASON_LABELS = {TOO_LONG: "too long", EMPTY_ANSWER: "empty answer"}
"""The drop reasons of tokenization, as table headers say them."""



def drop_reasons(dropped: dict[str, dict[str, int]], order: Iterable[str] = REASON_LABELS) -> list[str]:
    """The reasons in ``dropped`` (``{task: {reason: rows}}``): those of ``order`` in its order, then any other by name."""
    order = list(order)
    found = {reason for reasons in dropped.values() for reason, count in reasons.items() if count}
    return [reason for reason in order if reason in found] + sorted(found - set(order))


def drop_totals(dropped: dict[str, dict[str, int]]) -> dict[str, int]:
    """{reason: rows} summed over the tasks of ``dropped`` (``{task: {reason: rows}}``), reasons without rows left out."""
    totals: dict[str, int] = {}
    for reasons in dropped.values():
        for reason, count in reasons.items():
            if count:
                totals[reason] = totals.get(reason, 0) + count
    return totals


_OK, _TRUNCATED, _TOO_LONG, _EMPTY = 0, 1, 2, 3
_REASONS = {_TOO_LONG: TOO_LONG, _EMPTY: EMPTY_ANSWER}
KEPT = frozenset({_OK, _TRUNCATED})
"""The ``row_status`` values of rows that stay (whole, or cut at max_length with labels left)."""
STATUS_COLUMN = "_medsreg_status"
"""A temporary column a Dataset.map adds (``row_status`` values) for ``settle_status`` to count and drop rows by."""
_PROBE = [
    {"role": "system", "content": "You are a careful clinician."},
    {"role": "user", "content": "Input:\nfever and cough\nOutput:\n"},
    {"role": "assistant", "content": "respiratory infection"},
]


@dataclass
class TokenCounts:
    """What tokenization did to the rows: filled by ``tokenize_rows(..., counts=)`` and ``Tokenization.rows``."""

    rows: int = 0
    """Rows read."""
    truncated: int = 0
    """Rows kept but cut at max_length (their completion is partly or wholly past it)."""
    dropped: int = 0
    """Rows left out, for any reason (see ``tasks``)."""
    blocks: int = 0
    """Packed blocks written (0 without packing)."""
    tasks: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per task (the rows' ``task`` column; "" for rows without one): ``rows`` read, ``truncated``, and the rows
    dropped per reason (``TOO_LONG``, ``EMPTY_ANSWER``, or a caller's own, e.g. training's task filter)."""

    def read(self, task: str, count: int = 1) -> None:
        self.rows += count
        self._add(task, "rows", count)

    def cut(self, task: str, count: int = 1) -> None:
        self.truncated += count
        self._add(task, "truncated", count)

    def drop(self, task: str, reason: str, count: int = 1) -> None:
        self.dropped += count
        self._add(task, reason, count)

    def _add(self, task: str, key: str, count: int) -> None:
        if count:
            entry = self.tasks.setdefault(task, {})
            entry[key] = entry.get(key, 0) + count

    def absorb(self, other: TokenCounts) -> None:
        """Add what ``other`` truncated, dropped and packed, not its rows: rows ``other`` read were read here already."""
        self.blocks += other.blocks
        for task, entry in other.tasks.items():
            for key, count in entry.items():
                if key == "truncated":
                    self.cut(task, count)
                elif key != "rows":
                    self.drop(task, key, count)

    def dropped_by_task(self) -> dict[str, dict[str, int]]:
        """{task: {reason: rows}} for the tasks that lost rows, tasks in name order."""
        found = {task: {key: count for key, count in entry.items() if key not in ("rows", "truncated") and count}
                 for task, entry in sorted(self.tasks.items())}
        return {task: reasons for task, reasons in found.items() if reasons}

    def dropped_by_reason(self) -> dict[str, int]:
        """{reason: rows} over every task, reasons in name order."""
        totals: dict[str, int] = {}
        for reasons in self.dropped_by_task().values():
            for reason, count in reasons.items():
                totals[reason] = totals.get(reason, 0) + count
        return dict(sorted(totals.items()))

    def summary(self, max_length: int) -> str:
        line = f"tokenized {self.rows - self.dropped:,} of {self.rows:,} rows"
        if self.truncated:
            line += f"; {self.truncated:,} truncated at {max_length} tokens"
        reasons = self.dropped_by_reason()
        if reasons.get(TOO_LONG):
            line += (f"; {reasons[TOO_LONG]:,} dropped because their prompt alone fills {max_length} tokens "
                     "(raise --max-length)")
        if reasons.get(EMPTY_ANSWER):
            line += f"; {reasons[EMPTY_ANSWER]:,} dropped because their answer is empty"
        if self.blocks:
            line += f"; packed into {self.blocks:,} blocks of at most {max_length} tokens"
        return line


def reason_hint(reason: str, count: int, max_length: int | None, option: str = "--max-length") -> str:
    """One sentence on ``count`` rows dropped for a tokenization ``reason``: why, and how to keep them."""
    rows = f"{count:,} row{'s' if count != 1 else ''}"
    if reason == TOO_LONG:
        return (f"too long: {rows} whose prompt alone fills {max_length} tokens, so no answer token is left to learn; "
                f"raise {option} (up to the model's context length), or shorten the prompts (fewer shots in the spec)")
    if reason == EMPTY_ANSWER:
        return (f"empty answer: {rows} whose answer is empty and whose chat template adds no token after it, so there "
                "is nothing to learn; give those instances an output ('medsreg validate' reports empty ones) or use "
                "a template that ends the assistant turn with a token")
    return f"{reason.replace('_', ' ')}: {rows}"


def count_table(header: Sequence[str], body: Sequence[Sequence[Any]]) -> list[str]:
    """A plain text table: the first column left-aligned, the others (numbers, written with thousands separators)
    right-aligned, a rule under the header and above the last row (the total)."""
    cells = [list(header)] + [[row[0]] + [f"{value:,}" if isinstance(value, int) else str(value) for value in row[1:]]
                              for row in body]
    widths = [max(len(str(line[i])) for line in cells) for i in range(len(header))]
    lines = []
    for number, line in enumerate(cells):
        lines.append("  ".join([str(line[0]).ljust(widths[0])] + [cell.rjust(width) for cell, width
                                                                   in zip(line[1:], widths[1:])]).rstrip())
        if number == 0 or (number == len(cells) - 2 and len(cells) > 2):
            lines.append("  ".join("-" * width for width in widths))
    return lines


# --------------------------------------------------------------------------- the tokenizer


def load_chat_tokenizer(path: Path, trust_remote_code: bool = False) -> Any:
    """The tokenizer saved in the local folder ``path`` (never the Hub); MedsregError unless it has a usable chat template,
    or when the folder ships code of its own and ``trust_remote_code`` (``--trust-remote-code``) is not given."""
    path = Path(path)
    shown = str(path)
    how = "give --tokenizer a local folder saved with tokenizer.save_pretrained (holding tokenizer.json / tokenizer_config.json)"
    if not path.exists():
        raise MedsregError(f"the tokenizer folder {shown} does not exist; {how}")
    if not path.is_dir():
        raise MedsregError(f"the tokenizer path {shown} is a file, not a folder; {how}")
    if not any((path / name).is_file() for name in TOKEN_FILES):
        raise MedsregError(f"{shown} holds no tokenizer (none of {', '.join(TOKEN_FILES)}); {how}")
    try:
        import transformers  # noqa: F401 - only to say which extra is missing
    except ImportError as error:
        raise MedsregError(f"--tokenizer needs transformers ({error}); install it with pip install 'medsreg[tokenize]'") from None
    tokenizer = load_tokenizer(path, trust_remote_code=trust_remote_code, what=f"the tokenizer in {shown}", how=how)
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise MedsregError(f"the tokenizer in {shown} has no chat template (no chat_template.jinja nor chat_template in "
                           "tokenizer_config.json); use the tokenizer of an instruction-tuned model, or set "
                           "tokenizer.chat_template to a Jinja template and save_pretrained it there")
    if isinstance(template, dict) and "default" not in template:
        raise MedsregError(f"the tokenizer in {shown} has several chat templates ({', '.join(sorted(template))}) and none "
                           "named 'default'; save the one to train with as its chat_template")
    # a probe conversation shaped like medsreg's rows: a template that rejects a system turn, or that cannot
    # mask its prompt, is reported now rather than on the first row of a long build
    _encode(tokenizer, [_PROBE], max_length=None, where=["a probe conversation"])
    return tokenizer


def _encode(tokenizer: Any, conversations: Sequence[Sequence[dict]], *, max_length: int | None,
            where: Sequence[str]) -> tuple[list[list[int]], list[list[int]], list[int]]:
    """(input_ids, labels, status per row: ``row_status``'s _OK / _TRUNCATED, or _TOO_LONG / _EMPTY for a row to drop)."""
    if not conversations:
        return [], [], []
    for conversation, place in zip(conversations, where):
        if not conversation or conversation[-1].get("role") != "assistant":
            raise MedsregError(f"{place}: the last message must be the assistant's answer (role 'assistant') to "
                               "tokenize it as a training example; render the row with an assistant message last")
    try:
        # transformers 5: tokenize=True returns a BatchEncoding unless return_dict=False; a list of lists for a batch
        full = tokenizer.apply_chat_template(list(conversations), tokenize=True, return_dict=False)
        prompts = tokenizer.apply_chat_template([list(c[:-1]) for c in conversations], tokenize=True, return_dict=False,
                                                add_generation_prompt=True)
    except Exception as error:  # noqa: BLE001 - the template's raise_exception ('System role not supported'), Jinja errors
        reason = (str(error).strip().splitlines() or [""])[0]
        rows = where[0] if len(where) == 1 else f"{where[0]} to {where[-1]}"
        raise MedsregError(f"{rows}: the chat template of the tokenizer {getattr(tokenizer, 'name_or_path', '')} fails on "
                           f"a system / user / assistant conversation ({type(error).__name__}: {reason}); medsreg's rows "
                           "start with a system message, so use a tokenizer whose template accepts one") from None
    input_ids, labels, status = [], [], []
    for ids, prompt, place in zip(full, prompts, where):
        cut = len(prompt)
        if ids[:cut] != prompt:
            raise MedsregError(_prefix_sentence(tokenizer, ids, prompt, place))
        row_labels = [IGNORE_INDEX] * cut + ids[cut:]
        status.append(row_status(len(ids), cut, max_length))
        if max_length is not None and len(ids) > max_length:
            ids, row_labels = ids[:max_length], row_labels[:max_length]
        input_ids.append(ids)
        labels.append(row_labels)
    return input_ids, labels, status


def row_status(length: int, prompt: int, max_length: int | None) -> int:
    """What becomes of a row of ``length`` tokens whose first ``prompt`` are masked: kept whole (_OK), cut at
    ``max_length`` with labels left (_TRUNCATED), or dropped: _TOO_LONG (the prompt fills ``max_length``) or
    _EMPTY (nothing follows the prompt)."""
    if max_length is not None and length > max_length:
        return _TRUNCATED if prompt < max_length else _TOO_LONG
    return _OK if prompt < length else _EMPTY


def _prefix_sentence(tokenizer: Any, ids: list[int], prompt: list[int], place: str) -> str:
    position = next((i for i, (a, b) in enumerate(zip(ids, prompt)) if a != b), min(len(ids), len(prompt)))
    rendered = tokenizer.decode(ids[position:position + 8])
    expected = tokenizer.decode(prompt[position:position + 8])
    return (f"{place}: the chat template of the tokenizer {getattr(tokenizer, 'name_or_path', '')} does not render the "
            f"prompt (add_generation_prompt=True) as a prefix of the whole conversation: at token {position} the "
            f"conversation has {rendered!r} where the prompt has {expected!r}, so the prompt cannot be masked; use a "
            "tokenizer whose template renders the assistant turn's opening exactly as its generation prompt")


def _places(batch: dict[str, list], offset: int) -> list[str]:
    """How an error names a row: 'row N (task, instance id)' when the row says which it is."""
    size = len(batch["messages"])
    tasks, ids = batch.get("task"), batch.get("instance_id")
    if tasks is not None and ids is not None:
        return [f"row {offset + i} ({tasks[i]}, instance {ids[i]})" for i in range(size)]
    return [f"row {offset + i}" for i in range(size)]


# --------------------------------------------------------------------------- datasets.Dataset


class _TokenizeBatch:
    """The Dataset.map function of tokenize_rows (a class: pickled to the worker processes with its tokenizer)."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length

    def __call__(self, batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        input_ids, labels, status = _encode(self.tokenizer, batch["messages"], max_length=self.max_length,
                                            where=_places(batch, indices[0] if indices else 0))
        # rows to drop stay, without tokens, until settle_status has counted them per task and reason
        kept = [state in KEPT for state in status]
        out = dict(batch)
        out["input_ids"] = [ids if keep else [] for ids, keep in zip(input_ids, kept)]
        out["labels"] = [row if keep else [] for row, keep in zip(labels, kept)]
        out["attention_mask"] = [[1] * len(ids) if keep else [] for ids, keep in zip(input_ids, kept)]
        out[STATUS_COLUMN] = status
        return out


def token_features(features: datasets.Features) -> datasets.Features:
    """``features`` with the token columns added (int32 ids and labels, int8 mask: what datasets' own map would infer)."""
    from datasets import Features, Value

    return Features({**features, "input_ids": [Value("int32")], "labels": [Value("int32")],
                     "attention_mask": [Value("int8")]})


def tokenize_rows(dataset: datasets.Dataset, tokenizer: Any, *, max_length: int, num_proc: int = 2,
                  counts: TokenCounts | None = None, batch_size: int = BATCH_ROWS) -> datasets.Dataset:
    """``dataset`` (with a ``messages`` column) plus ``input_ids``, ``labels`` (-100 over the prompt) and ``attention_mask``.

    Rows longer than ``max_length`` are truncated; rows left without a label are dropped. Both are
    added to ``counts`` when given, per task and reason. Batches of ``batch_size`` rows go to
    ``num_proc`` processes (one process for a single batch). Like any Dataset.map, a dataset read
    from disk gets its cache files beside its own.
    """
    if max_length < 1:
        raise MedsregError(f"--max-length {max_length} is below 1; give the model's context length, e.g. 2048")
    if "messages" not in dataset.column_names:
        raise MedsregError(f"the dataset has no 'messages' column (it has {', '.join(dataset.column_names)}); "
                           "tokenize the mixture of 'medsreg build', or rows in the TRL conversational format")
    from datasets import Value

    features = token_features(dataset.features)
    features[STATUS_COLUMN] = Value("int8")
    workers = num_proc if num_proc > 1 and len(dataset) > batch_size else None  # processes cost more than small data
    mapped = dataset.map(_TokenizeBatch(tokenizer, max_length), batched=True, batch_size=batch_size, with_indices=True,
                         num_proc=workers, features=features, remove_columns=dataset.column_names, desc="tokenizing")
    return settle_status(mapped, counts if counts is not None else TokenCounts())


def settle_status(dataset: datasets.Dataset, counts: TokenCounts) -> datasets.Dataset:
    """Count ``dataset``'s rows into ``counts`` by their ``STATUS_COLUMN`` (and ``task``, when it has one), then
    drop the rows to drop and the column. The rows are read, truncated and dropped here, all counted at once."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if dataset._indices is not None:  # noqa: SLF001 - the Arrow table below must be the rows, in order
        dataset = dataset.flatten_indices()
    status = dataset.data.column(STATUS_COLUMN)
    tasks = dataset.data.column("task") if "task" in dataset.column_names else pa.array([""] * len(dataset), pa.string())
    table = pa.table({"task": tasks, "status": status})
    grouped = table.group_by(["task", "status"]).aggregate([("status", "count")]).to_pylist()
    for entry in sorted(grouped, key=lambda entry: (entry["task"] or "", entry["status"])):
        task, state, count = entry["task"] or "", entry["status"], entry["status_count"]
        counts.read(task, count)
        if state == _TRUNCATED:
            counts.cut(task, count)
        elif state in _REASONS:
            counts.drop(task, _REASONS[state], count)
    if int(pc.sum(pc.greater(status, _TRUNCATED)).as_py() or 0):
        import numpy as np

        keep = np.flatnonzero(pc.less_equal(status, _TRUNCATED).to_numpy(zero_copy_only=False))
        dataset = dataset.select(keep).flatten_indices()
    return dataset.remove_columns([STATUS_COLUMN])


# --------------------------------------------------------------------------- packing


def first_fit(lengths: Sequence[int], capacity: int) -> list[list[int]]:
    """Positions of ``lengths`` grouped into blocks of total length <= ``capacity``: each item, in order, goes
    into the first block with room (a new block when none has). Deterministic; every length must be <= capacity."""
    import numpy as np

    room = np.full(max(len(lengths), 1), capacity, dtype=np.int64)  # room[b]: free tokens of block b (unopened: all)
    blocks: list[list[int]] = []
    for position, length in enumerate(lengths):
        if length > capacity:
            raise ValueError(f"example {position} has {length} tokens, more than the block size {capacity}")
        # the blocks opened so far plus one fresh one, which always has room: argmax finds the first that fits
        block = int(np.argmax(room[:len(blocks) + 1] >= length))
        if block == len(blocks):
            blocks.append([])
        blocks[block].append(position)
        room[block] -= length
    return blocks


def packed_features(with_provenance: bool) -> datasets.Features:
    """Columns of a packed block; no attention_mask: one of ones would let examples attend to each other in a
    plain collator, while position_ids / seq_lengths are what padding-free attention separates them by."""
    from datasets import Features, Value

    columns: dict[str, Any] = {"input_ids": [Value("int32")], "labels": [Value("int32")],
                               "position_ids": [Value("int32")], "seq_lengths": [Value("int32")]}
    if with_provenance:
        columns.update({"tasks": [Value("string")], "instance_ids": [Value("string")]})
    return Features(columns)


def _pack_window(input_ids: list[list[int]], labels: list[list[int]], max_length: int,
                 tasks: list[str] | None = None, instance_ids: list[str] | None = None) -> dict[str, list]:
    """The blocks of one window of examples, as columns."""
    out: dict[str, list] = {"input_ids": [], "labels": [], "position_ids": [], "seq_lengths": []}
    if tasks is not None:
        out.update({"tasks": [], "instance_ids": []})
    for block in first_fit([len(ids) for ids in input_ids], max_length):
        out["input_ids"].append([token for i in block for token in input_ids[i]])
        out["labels"].append([label for i in block for label in labels[i]])
        out["position_ids"].append([position for i in block for position in range(len(input_ids[i]))])
        out["seq_lengths"].append([len(input_ids[i]) for i in block])
        if tasks is not None:
            out["tasks"].append([tasks[i] for i in block])
            out["instance_ids"].append([instance_ids[i] for i in block])
    return out


class _PackBatch:
    def __init__(self, max_length: int, with_provenance: bool) -> None:
        self.max_length = max_length
        self.with_provenance = with_provenance

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        if self.with_provenance:
            return _pack_window(batch["input_ids"], batch["labels"], self.max_length, batch["task"], batch["instance_id"])
        return _pack_window(batch["input_ids"], batch["labels"], self.max_length)


def pack_rows(dataset: datasets.Dataset, *, max_length: int, counts: TokenCounts | None = None) -> datasets.Dataset:
    """Tokenized rows packed into blocks of at most ``max_length`` tokens (see ``first_fit``), ``PACK_WINDOW`` examples
    at a time; columns ``packed_features``: ids and labels concatenated, ``position_ids`` from 0 in each example,
    ``seq_lengths``, and the examples' ``tasks`` / ``instance_ids`` when the rows have ``task`` / ``instance_id``.

    One process on purpose: windows must start at the same rows however many processes there are.
    """
    missing = [column for column in ("input_ids", "labels") if column not in dataset.column_names]
    if missing:
        raise MedsregError(f"the dataset has no {' / '.join(missing)} column; tokenize it first (tokenize_rows)")
    longest = _longest(dataset)
    if longest > max_length:
        raise MedsregError(f"an example has {longest} tokens, more than the block size {max_length}; tokenize with "
                           f"max_length={max_length} (or less) before packing")
    with_provenance = "task" in dataset.column_names and "instance_id" in dataset.column_names
    packed = dataset.map(_PackBatch(max_length, with_provenance), batched=True, batch_size=PACK_WINDOW,
                         remove_columns=dataset.column_names, features=packed_features(with_provenance), desc="packing")
    if counts is not None:
        counts.blocks += len(packed)
    return packed


def _longest(dataset: datasets.Dataset) -> int:
    import pyarrow.compute as pc

    if len(dataset) == 0:
        return 0
    ids = dataset.data.column("input_ids")
    return int(pc.max(pc.list_value_length(ids)).as_py() or 0)


# --------------------------------------------------------------------------- streaming, for the build pipeline


@dataclass
class Tokenization:
    """The --tokenizer step of ``medsreg build``: ``features`` for the writer, ``rows`` to wrap the row stream.

    Batches of ``batch_rows`` rows are tokenized by ``num_proc`` worker processes (a bounded number of
    batches in flight: memory stays flat) while this process renders and writes; small inputs are
    tokenized here. ``counts`` is complete once ``rows`` is exhausted. The workers are spawned, so a
    script that runs a large tokenized build needs the usual ``if __name__ == "__main__":`` guard
    (the ``medsreg`` command has it).
    """

    tokenizer: Any
    path: Path
    max_length: int = DEFAULT_MAX_LENGTH
    pack: bool = False
    num_proc: int = 2
    batch_rows: int = BATCH_ROWS
    counts: TokenCounts = field(default_factory=TokenCounts)
    trust_remote_code: bool = False
    """``--trust-remote-code``: the workers load the tokenizer again, and may run its folder's code only if this one could."""

    def fresh(self) -> Tokenization:
        """The same step with its own ``counts``, for another dataset (the tokenizer is shared, not loaded again)."""
        return replace(self, counts=TokenCounts())

    def features(self, features: datasets.Features) -> datasets.Features:
        if self.pack:
            return packed_features("task" in features and "instance_id" in features)
        return token_features(features)

    def rows(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        tokenized = self._tokenized(rows)
        if not self.pack:
            yield from tokenized
            return
        while window := list(islice(tokenized, PACK_WINDOW)):
            with_provenance = "task" in window[0] and "instance_id" in window[0]
            blocks = _pack_window([row["input_ids"] for row in window], [row["labels"] for row in window], self.max_length,
                                  [row["task"] for row in window] if with_provenance else None,
                                  [row["instance_id"] for row in window] if with_provenance else None)
            self.counts.blocks += len(blocks["input_ids"])
            yield from (dict(zip(blocks, values)) for values in zip(*blocks.values()))

    def _tokenized(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The rows with their token columns, in order, without the dropped ones."""
        iterator = iter(rows)
        head = list(islice(iterator, 2 * self.batch_rows))
        batches = _batches(chain(head, iterator), self.batch_rows)
        if self.num_proc > 1 and len(head) > self.batch_rows:
            yield from self._in_workers(batches)
            return
        # one batch (or one core): starting worker processes would cost more than they save
        offset = 0
        for batch in batches:
            yield from self._merge(batch, _encode_rows(self.tokenizer, batch, self.max_length, offset))
            offset += len(batch)

    def _in_workers(self, batches: Iterator[list[dict]]) -> Iterator[dict[str, Any]]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: this process holds pyarrow's and tokenizers' threads, which a fork copies half-way, and
        # a catalog of millions of instances, which a forked child's garbage collector would copy page by page
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=self.num_proc, mp_context=context, initializer=_start_worker,
                                   initargs=(str(Path(self.path).resolve()), self.trust_remote_code))
        pending: deque = deque()
        offset = 0
        try:
            for batch in batches:
                pending.append((batch, pool.submit(_encode_in_worker, _messages_and_places(batch, offset), self.max_length)))
                offset += len(batch)
                if len(pending) >= 2 * self.num_proc:
                    done, future = pending.popleft()
                    yield from self._merge(done, future.result())
            while pending:
                done, future = pending.popleft()
                yield from self._merge(done, future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _merge(self, batch: list[dict], encoded: tuple[list, list, list]) -> Iterator[dict[str, Any]]:
        input_ids, labels, status = encoded
        for row, ids, row_labels, state in zip(batch, input_ids, labels, status):
            task = row.get("task") or ""
            self.counts.read(task)
            if state in _REASONS:
                self.counts.drop(task, _REASONS[state])
                continue
            if state == _TRUNCATED:
                self.counts.cut(task)
            yield {**row, "input_ids": ids, "labels": row_labels, "attention_mask": [1] * len(ids)}


def prepare(path: Path, *, max_length: int | None = None, pack: bool = False, num_proc: int = 2,
            trust_remote_code: bool = False) -> Tokenization:
    """The tokenization step for ``medsreg build --tokenizer PATH``: loads and checks the tokenizer now, so that a bad
    folder (or one with code of its own, without ``trust_remote_code``) is reported before anything is read."""
    max_length = DEFAULT_MAX_LENGTH if max_length is None else max_length
    if max_length < 1:
        raise MedsregError(f"--max-length {max_length} is below 1; give the model's context length, e.g. 2048")
    return Tokenization(tokenizer=load_chat_tokenizer(path, trust_remote_code), path=Path(path), max_length=max_length,
                        pack=pack, num_proc=num_proc, trust_remote_code=trust_remote_code)


def _batches(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    while batch := list(islice(rows, size)):
        yield batch


def _messages_and_places(batch: list[dict], offset: int) -> tuple[list, list[str]]:
    columns = {"messages": [row["messages"] for row in batch]}
    if batch and "task" in batch[0] and "instance_id" in batch[0]:
        columns.update(task=[row["task"] for row in batch], instance_id=[row["instance_id"] for row in batch])
    return columns["messages"], _places(columns, offset)


def _encode_rows(tokenizer: Any, batch: list[dict], max_length: int, offset: int) -> tuple[list, list, list]:
    messages, places = _messages_and_places(batch, offset)
    return _encode(tokenizer, messages, max_length=max_length, where=places)


_worker_tokenizer: Any = None
"""The tokenizer of a worker process, loaded once by _start_worker."""


def _start_worker(path: str, trust_remote_code: bool) -> None:
    global _worker_tokenizer
    _worker_tokenizer = load_chat_tokenizer(Path(path), trust_remote_code)


def _encode_in_worker(job: tuple[list, list[str]], max_length: int) -> tuple[list, list, list]:
    messages, places = job
    return _encode(_worker_tokenizer, messages, max_length=max_length, where=places)
