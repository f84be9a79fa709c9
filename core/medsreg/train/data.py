"""What the trainer reads: the dataset folder checked, tokenized when it is not, packed when asked, and the collators.

SFT rows come in three shapes, recognized by their columns:

* ``input_ids`` + ``labels`` (``medsreg build --tokenizer``): used as they are (truncated at
  ``max_length``); the labels already hold -100 over the prompt;
* ``input_ids`` + ``labels`` + ``position_ids`` (``build --tokenizer --pack``): packed blocks;
* ``messages`` (the plain mixture): tokenized here with ``medsreg.build.tokenize`` (the model's chat
  template, the prompt masked, checked to be a token prefix of the conversation), or with the Alpaca
  frame (``prompt_format: alpaca``: the MMedLM recipe; loss on the output and EOS only).

CLM rows are fixed-length ``input_ids`` windows (``medsreg corpus``): labels are the ids, with
-100 wherever ``attention_mask`` is 0 (the padding of a short document).

Every row left out on the way is counted per task and reason (``TokenCounts``): its task matches
none of the settings' ``tasks`` (``NOT_SELECTED``), its prompt fills ``max_length`` (``TOO_LONG``),
or its answer gives no label (``EMPTY_ANSWER``); ``drop_lines`` says it at the start of training
and ``data_record`` writes it into medsreg-train.json, so the rows trained on add up to the rows read.

Packed rows keep their examples apart: ``position_ids`` restart at 0 for every example, the
attention mask is block-diagonal causal (or, for flash-attention kernels, the position ids alone
cut the sequences) and the first label of each example is -100: no example attends to or
predicts from another (``PackedCollator``).
"""

from __future__ import annotations

import fnmatch
import os
from collections import Counter
from pathlib import Path
from typing import Any

from medsreg.build.tokenize import (
    EMPTY_ANSWER,
    IGNORE_INDEX,
    REASON_LABELS,
    TOO_LONG,
    TokenCounts,
    count_table,
    drop_reasons,
    reason_hint,
)
from medsreg.errors import MedsregError

ALPACA = ("Below is an instruction that describes a task, paired with an input that provides further context. "
          "Write a response that appropriately completes the request.\n\n"
          "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:")
"""Stanford Alpaca's prompt with an input, which MMedLM's fine-tuning script uses (SEEDS.md §4)."""

TOKENIZED = ("input_ids", "labels")
PACKED = ("input_ids", "labels", "position_ids")
NOT_SELECTED = "not_selected"
"""Drop reason of training: the row's task matches none of the settings' ``tasks`` patterns."""


def load_dataset_folder(path: Path) -> Any:
    """The dataset ``save_to_disk`` wrote at ``path`` (a DatasetDict gives its ``train`` split)."""
    from datasets import DatasetDict, load_from_disk

    path = Path(path)
    how = "give --data a mixture folder written by 'medsreg build' (build/mixture or build/mixtures/<name>) or 'medsreg corpus'"
    if not path.is_dir():
        raise MedsregError(f"the dataset folder {path} does not exist; {how}")
    try:
        dataset = load_from_disk(str(path))
    except Exception as error:  # noqa: BLE001 - FileNotFoundError, ValueError, ... for a folder that is not a dataset
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise MedsregError(f"{path} is not a saved Hugging Face dataset ({reason}); {how}") from None
    if isinstance(dataset, DatasetDict):
        if "train" not in dataset:
            raise MedsregError(f"the dataset in {path} has the splits {', '.join(dataset)} and no 'train'; {how}")
        dataset = dataset["train"]
    if len(dataset) == 0:
        raise MedsregError(f"the dataset in {path} has no rows; {how}")
    return dataset


def select_tasks(dataset: Any, patterns: list[str] | None, where: Path, counts: TokenCounts | None = None) -> Any:
    """The rows whose task matches one of ``patterns`` (all rows without patterns); the others are counted into
    ``counts`` as ``NOT_SELECTED``, per task."""
    if not patterns:
        return dataset
    if "task" not in dataset.column_names:
        raise MedsregError(f"the settings keep only some tasks ({', '.join(patterns)}) but the dataset in {where} has no "
                           "'task' column; train on the mixture of 'medsreg build' or drop 'tasks'")
    matches: dict[str, bool] = {}  # a few tasks, many rows: match each task once
    tasks = list(dataset["task"])
    for task in tasks:
        if task not in matches:
            matches[task] = any(fnmatch.fnmatchcase(task or "", p) for p in patterns)
    keep = [i for i, task in enumerate(tasks) if matches[task]]
    if counts is not None:
        for task, count in sorted(Counter(task or "" for task in tasks if not matches[task]).items()):
            counts.drop(task, NOT_SELECTED, count)
    if not keep:
        raise MedsregError(f"no row of the dataset in {where} belongs to a task matching {', '.join(patterns)}; build the "
                           "mixture with those tasks (e.g. the mmedbench plugin's mmedlm_* training tasks)")
    return dataset.select(keep)


def read_rows(dataset: Any, counts: TokenCounts) -> None:
    """Count the rows of ``dataset`` into ``counts`` as read, per task ("" when it has no ``task`` column); packed
    blocks (``build --pack``) count as blocks, and their examples as the rows."""
    columns = set(dataset.column_names)
    if set(PACKED) <= columns:
        counts.blocks += len(dataset)
        if "tasks" in columns:
            for task, count in sorted(Counter(task or "" for tasks in dataset["tasks"] for task in tasks).items()):
                counts.read(task, count)
        else:
            counts.read("", sum(len(lengths) for lengths in dataset["seq_lengths"]) if "seq_lengths" in columns
                        else len(dataset))
    elif "task" in columns:
        for task, count in sorted(Counter(task or "" for task in dataset["task"]).items()):
            counts.read(task, count)
    else:
        counts.read("", len(dataset))


def sft_dataset(dataset: Any, tokenizer: Any, config: Any, where: Path, *, chat_tokenizer: Any = None,
                counts: TokenCounts | None = None) -> Any:
    """Columns ``input_ids``, ``labels`` (and ``position_ids`` when packed) ready for the collator.

    ``chat_tokenizer`` loads the tokenizer with a checked chat template: called only when ``messages`` need it.
    ``counts`` gets the rows read, truncated and left out, per task and reason (and the blocks, when packed)."""
    from medsreg.build.tokenize import pack_rows, settle_status, tokenize_rows

    account = counts if counts is not None else TokenCounts()
    columns = set(dataset.column_names)
    read_rows(dataset, account)
    dataset = select_tasks(dataset, config.tasks, where, account)
    step = TokenCounts()  # what tokenizing and truncating did to the selected rows, added to account below
    if set(PACKED) <= columns:
        if config.prompt_format == "alpaca":
            raise MedsregError(f"the dataset in {where} is already tokenized and packed (with a chat template); "
                               "prompt_format alpaca needs the rows' messages: train on the untokenized mixture")
        _check_ids(dataset, tokenizer, where)
        longest = _longest(dataset)
        if longest > config.max_length:
            raise MedsregError(f"the packed blocks in {where} hold up to {longest} tokens, more than max_length "
                               f"{config.max_length}; raise max_length or pack again with 'medsreg build --max-length'")
        return dataset.select_columns(list(PACKED))
    if set(TOKENIZED) <= columns and config.prompt_format == "chat":
        _check_ids(dataset, tokenizer, where)
        dataset = dataset.select_columns(list(TOKENIZED) + (["task"] if "task" in columns else []))
        if _longest(dataset) > config.max_length:
            dataset = settle_status(dataset.map(_Truncate(config.max_length), batched=True, desc="truncating"), step)
        dataset = dataset.select_columns(list(TOKENIZED))
    elif "messages" not in columns:
        found = ", ".join(sorted(columns))
        raise MedsregError(f"the dataset in {where} has neither 'messages' nor 'input_ids' + 'labels' (it has {found}), "
                           "so there is nothing to fine-tune on; give the mixture of 'medsreg build' (or, for a "
                           "corpus of input_ids windows, --objective clm)")
    elif config.prompt_format == "alpaca":
        dataset = settle_status(dataset.map(_AlpacaBatch(tokenizer, config.max_length), batched=True,
                                            remove_columns=dataset.column_names, desc="tokenizing (Alpaca)"), step)
        dataset = dataset.select_columns(list(TOKENIZED))
    else:
        # every process of a multi-GPU run tokenizes (the same rows): share the cores; a large mixture is better
        # tokenized once by 'medsreg build --tokenizer'
        cores = max(1, min(8, (os.cpu_count() or 1) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))))
        dataset = tokenize_rows(dataset, chat_tokenizer() if chat_tokenizer else tokenizer, max_length=config.max_length,
                                num_proc=cores, counts=step).select_columns(list(TOKENIZED))
    account.absorb(step)
    if len(dataset) == 0:
        raise MedsregError(f"no row of {where} is left to train on ({_left_out(account, config.max_length)}); "
                           f"{_hint_of_most(account, config)}")
    if config.packing:
        return pack_rows(dataset, max_length=config.max_length, counts=account).select_columns(list(PACKED))
    return dataset


def _left_out(counts: TokenCounts, max_length: int) -> str:
    reasons = counts.dropped_by_reason()
    return ", ".join(f"{count:,} {_label(reason, max_length)}" for reason, count in reasons.items())


def _label(reason: str, max_length: int) -> str:
    return {NOT_SELECTED: "of tasks matching none of the settings' 'tasks'",
            TOO_LONG: f"whose prompt alone fills max_length ({max_length}) tokens",
            EMPTY_ANSWER: "with an empty answer"}.get(reason, reason.replace("_", " "))


def _hint_of_most(counts: TokenCounts, config: Any) -> str:
    """How to keep the rows of the reason that left out the most."""
    reasons = counts.dropped_by_reason()
    worst = max(reasons, key=lambda reason: reasons[reason]) if reasons else TOO_LONG
    if worst == NOT_SELECTED:
        return "change 'tasks' in the settings to patterns the dataset's tasks match, or drop it"
    if worst == EMPTY_ANSWER:
        return "give the rows an answer, or use a chat template that ends the assistant turn with a token"
    return f"raise max_length above {config.max_length} (--max-length)"


def drop_lines(counts: TokenCounts, where: Path | str, config: Any) -> list[str]:
    """What the start of 'medsreg train' says about the rows left out: a table of the tasks that lost any (with the
    totals over every task) and how to keep each kind; nothing when every row is trained on."""
    lost = counts.dropped_by_task()
    if not lost:
        return []
    reasons = drop_reasons(lost, order=(NOT_SELECTED, *REASON_LABELS))
    labels = {NOT_SELECTED: "not in 'tasks'", **REASON_LABELS}
    header = ("task", "rows", *[labels.get(reason, reason.replace("_", " ")) for reason in reasons], "trained")

    def line(name: str, rows: int, dropped: dict[str, int]) -> tuple:
        return (name, rows, *[dropped.get(reason, 0) for reason in reasons], rows - sum(dropped.values()))

    body = [line(task or "(rows without a task)", counts.tasks[task].get("rows", 0), dropped)
            for task, dropped in lost.items()]
    body.append(line(f"total ({len(counts.tasks)} tasks)", counts.rows, counts.dropped_by_reason()))
    lines = [f"{where}: {counts.dropped:,} of {counts.rows:,} rows are left out, so training sees "
             f"{counts.rows - counts.dropped:,}; per task that lost any:", *count_table(header, body)]
    totals = counts.dropped_by_reason()
    for reason in reasons:
        if reason == NOT_SELECTED:
            patterns = ", ".join(config.tasks or [])
            lines.append(f"not in 'tasks': {totals[reason]:,} rows whose task matches none of the settings' tasks "
                         f"({patterns}); change 'tasks' in --config (or --set tasks=[...]) to train on them")
        else:
            lines.append(reason_hint(reason, totals[reason], config.max_length))
    return lines


def data_record(counts: TokenCounts) -> dict[str, Any]:
    """What medsreg-train.json says about the data: rows read, trained on, truncated, left out per reason (and per
    task), and the packed blocks (None without packing)."""
    lost = counts.dropped_by_task()
    return {
        "rows": counts.rows,
        "trained": counts.rows - counts.dropped,
        "truncated": counts.truncated,
        "blocks": counts.blocks or None,
        "dropped": counts.dropped_by_reason(),
        "tasks": {task: {"rows": entry.get("rows", 0), "dropped": lost.get(task, {}),
                         "trained": entry.get("rows", 0) - sum(lost.get(task, {}).values())}
                  for task, entry in sorted(counts.tasks.items())},
    }


def clm_dataset(dataset: Any, tokenizer: Any, config: Any, where: Path) -> Any:
    """A corpus of ``input_ids`` windows as ``input_ids`` + ``labels`` (padding masked)."""
    columns = set(dataset.column_names)
    if "input_ids" not in columns:
        raise MedsregError(f"the dataset in {where} has no 'input_ids' column (it has {', '.join(sorted(columns))}), so "
                           "it is not a packed corpus; pack one with 'medsreg corpus', or train on a mixture with "
                           "--objective sft")
    _check_ids(dataset, tokenizer, where)
    longest = _longest(dataset)
    if longest > config.max_length:
        raise MedsregError(f"the corpus windows in {where} hold up to {longest} tokens, more than max_length "
                           f"{config.max_length}; raise max_length to the corpus's window (2048 for MMedC)")
    keep = ["input_ids"] + (["attention_mask"] if "attention_mask" in columns else [])
    return dataset.select_columns(keep).map(_ClmLabels(), batched=True, desc="labels")


class _ClmLabels:
    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        masks = batch.get("attention_mask")
        if masks is None:
            return {"labels": [list(ids) for ids in batch["input_ids"]]}
        return {"labels": [[token if keep else IGNORE_INDEX for token, keep in zip(ids, mask)]
                           for ids, mask in zip(batch["input_ids"], masks)]}


class _Truncate:
    """Tokenized rows cut at max_length, with their ``row_status`` (rows left without a label lose their tokens and
    are dropped by settle_status)."""

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        from medsreg.build.tokenize import KEPT, STATUS_COLUMN, row_status

        out: dict[str, list] = {**batch, "input_ids": [], "labels": [], STATUS_COLUMN: []}
        for ids, labels in zip(batch["input_ids"], batch["labels"]):
            prompt = next((i for i, label in enumerate(labels) if label != IGNORE_INDEX), len(labels))
            state = row_status(len(ids), prompt, self.max_length)
            keep = state in KEPT
            out["input_ids"].append(list(ids)[:self.max_length] if keep else [])
            out["labels"].append(list(labels)[:self.max_length] if keep else [])
            out[STATUS_COLUMN].append(state)
        return out


class _AlpacaBatch:
    """MMedLM's SFT example: the Alpaca prompt (BOS when the tokenizer adds one) masked, then the output and EOS;
    with ``row_status`` and the row's task, for settle_status to count and drop rows with no label left."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        from medsreg.build.tokenize import KEPT, STATUS_COLUMN, row_status

        out: dict[str, list] = {"input_ids": [], "labels": [], STATUS_COLUMN: []}
        if "task" in batch:
            out["task"] = list(batch["task"])
        eos = self.tokenizer.eos_token_id
        for messages in batch["messages"]:
            by_role = {m["role"]: m["content"] for m in messages}
            if "assistant" not in by_role:
                raise MedsregError("a row has no assistant message, so there is no output to learn; train on the "
                                   "mixture of 'medsreg build' (its rows end with the answer)")
            prompt = ALPACA.format(instruction=by_role.get("system", ""), input=by_role.get("user", ""))
            prompt_ids = list(self.tokenizer(prompt, add_special_tokens=True)["input_ids"])
            answer_ids = list(self.tokenizer(by_role["assistant"], add_special_tokens=False)["input_ids"]) + [eos]
            state = row_status(len(prompt_ids) + len(answer_ids), len(prompt_ids), self.max_length)
            keep = state in KEPT  # else the prompt alone fills max_length: nothing to learn
            out["input_ids"].append((prompt_ids + answer_ids)[:self.max_length] if keep else [])
            out["labels"].append(([IGNORE_INDEX] * len(prompt_ids) + answer_ids)[:self.max_length] if keep else [])
            out[STATUS_COLUMN].append(state)
        return out


def _longest(dataset: Any) -> int:
    import pyarrow.compute as pc

    ids = dataset.data.column("input_ids")
    return int(pc.max(pc.list_value_length(ids)).as_py() or 0)


def _check_ids(dataset: Any, tokenizer: Any, where: Path) -> None:
    """Token ids the model's tokenizer cannot have produced mean the dataset was tokenized for another model."""
    import pyarrow.compute as pc

    flat = pc.list_flatten(dataset.data.column("input_ids"))
    largest = pc.max(flat).as_py() if len(flat) else None
    if largest is not None and largest >= len(tokenizer):
        raise MedsregError(f"the dataset in {where} holds token id {largest} but the model's tokenizer has "
                           f"{len(tokenizer)} tokens, so it was tokenized for another model; tokenize the mixture with "
                           "this model's tokenizer ('medsreg build --tokenizer MODEL') or train on the untokenized one")


# --------------------------------------------------------------------------- collators


def _padded(rows: list[dict[str, Any]], pad_id: int) -> tuple[Any, Any, int]:
    """(input_ids, labels, width): the rows' ids and labels right-padded to the longest, with ``pad_id`` and -100."""
    import torch

    width = max(len(row["input_ids"]) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE_INDEX, dtype=torch.long)
    for i, row in enumerate(rows):
        n = len(row["input_ids"])
        ids[i, :n] = torch.as_tensor(row["input_ids"], dtype=torch.long)
        labels[i, :n] = torch.as_tensor(row["labels"], dtype=torch.long)
    return ids, labels, width


class PaddingCollator:
    """Rows of different lengths, padded on the right: ``input_ids`` with the pad id, ``labels`` with -100,
    ``attention_mask`` 0 over the padding."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        ids, labels, width = _padded(rows, self.pad_id)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            n = len(row["input_ids"])
            if "attention_mask" in row:
                mask[i, :n] = torch.as_tensor(row["attention_mask"], dtype=torch.long)
            else:
                mask[i, :n] = 1
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}


class PackedCollator:
    """Packed rows (``position_ids`` restarting at 0 for every example), one row per sequence, with a block-diagonal
    causal mask: no example attends to another. A shorter row is padded with a segment of its own (labels -100) that
    nothing real attends to; the first label of every example is -100 (never predicted from the example before it).

    The mask is given explicitly, 4-D, as the attention implementation reads it (``mask``): ``"bool"`` for SDPA
    (True: attend), ``"additive"`` for eager (0 / the dtype's minimum). transformers 5.24 is meant to derive it from
    the position ids when there is no mask, but on eager and SDPA that mask still lets an example see the end of the
    one before it (checked by tests/test_train.py against examples run one by one). ``None``: no mask, only the
    position ids, for flash-attention kernels, which cut the sequences at the position-id restarts themselves."""

    def __init__(self, pad_id: int, mask: str | None = "bool") -> None:
        if mask not in ("bool", "additive", None):
            raise ValueError(f"mask must be 'bool', 'additive' or None, not {mask!r}")
        self.pad_id = pad_id
        self.mask = mask

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        ids, labels, width = _padded(rows, self.pad_id)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            n = len(row["input_ids"])
            row_positions = torch.as_tensor(row["position_ids"], dtype=torch.long)
            labels[i, :n][row_positions == 0] = IGNORE_INDEX
            positions[i, :n] = row_positions
            positions[i, n:] = torch.arange(width - n)
        batch = {"input_ids": ids, "labels": labels, "position_ids": positions}
        if self.mask is not None:
            segments = (positions == 0).cumsum(dim=1)  # the example each token belongs to (padding: a segment of its own)
            causal = torch.ones((width, width), dtype=torch.bool).tril()
            allowed = (segments[:, :, None] == segments[:, None, :]) & causal  # (batch, query, key)
            if self.mask == "bool":
                batch["attention_mask"] = allowed[:, None]
            else:
                additive = torch.zeros(allowed.shape, dtype=torch.float32)
                batch["attention_mask"] = additive.masked_fill_(~allowed, torch.finfo(torch.float32).min)[:, None]
        return batch
