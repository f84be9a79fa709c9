"""``medsreg.build.tokenize``: prompt masking by the tokenizer's own chat template, truncation, packing, bad tokenizers.

The tokenizer is a byte-level BPE trained here in milliseconds (exact round trips, real merges),
with special tokens for the roles and a small Jinja chat template, saved with save_pretrained.
"""

from __future__ import annotations

import json

import random
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("datasets")

from tiny_models import END, ROLES, TEMPLATE, save_tokenizer
from medsreg.build.tokenize import (
    IGNORE_INDEX,
    EMPTY_ANSWER,
    TOO_LONG,
    TokenCounts,
    Tokenization,
    count_table,
    reason_hint,
    first_fit,
    load_chat_tokenizer,
    pack_rows,
    prepare,
    tokenize_rows,
)
from medsreg.errors import MedsregError

# the generation prompt opens the assistant turn with "\n", the turn itself with " ": the prompt is no prefix
SHIFTED_TEMPLATE = TEMPLATE.replace("<|{{ message['role'] }}|>\n", "<|{{ message['role'] }}|>{{ ' ' if message['role'] == 'assistant' else '\n' }}")
NO_SYSTEM_TEMPLATE = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}" + TEMPLATE

WORDS = ["patient", "fever", "cough", "chest", "pain", "diagnosis", "pneumonia", "aspirin", "dose", "daily", "input", "output", "answer", "please", "learn", "from", "the", "few-shot", "cases", "to", "see", "what", "content", "you", "have", "respiratory", "cardiac", "extract", "drug", "names", "肺炎", "发热", "café"]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory) -> Path:
    return save_tokenizer(tmp_path_factory.mktemp("tokenizer") / "tiny-chat", words=WORDS)


@pytest.fixture(scope="module")
def tokenizer(tokenizer_dir):
    return load_chat_tokenizer(tokenizer_dir)


def _row(index: int, system: str, user: str, answer: str) -> dict:
    """A mixture row as the build renders it (the columns the token step must carry through)."""
    return {
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user},
                     {"role": "assistant", "content": answer}],
        "prompt": system + "\n" + user, "completion": answer, "task": f"demo/task_{index % 3}", "legacy_id": None,
        "category": "Diagnosis", "source": "unit test", "license": "CC0-1.0", "instance_id": f"i{index}",
        "instruction_index": 0, "shot_ids": [], "zero_shot": True, "repeat": 0,
    }


def _rows(count: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)

    def text(low: int, high: int) -> str:
        return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))

    rows = []
    for i in range(count):
        shots = "\n\n".join(f"Input:\n{text(3, 8)}\n\nOutput:\n{text(1, 3)}\n" for _ in range(rng.randint(0, 2)))
        rows.append(_row(i, (shots + "\n\n" if shots else "") + text(4, 10), f"Input:\n{text(3, 20)}\nOutput:\n",
                         text(1, 12)))
    return rows


def _dataset(rows: list[dict]):
    from datasets import Dataset

    return Dataset.from_list(rows)


# --------------------------------------------------------------------------- masking


def test_labels_mask_exactly_the_prompt(tokenizer):
    rows = _rows(12)
    counts = TokenCounts()
    out = tokenize_rows(_dataset(rows), tokenizer, max_length=4096, num_proc=2, counts=counts, batch_size=4)  # 2 processes
    assert (counts.rows, counts.truncated, counts.dropped, counts.blocks) == (12, 0, 0, 0)
    assert counts.tasks == {f"demo/task_{k}": {"rows": 4} for k in range(3)} and counts.dropped_by_task() == {}
    assert out.num_rows == 12
    for row, got in zip(rows, out):
        messages = row["messages"]
        assert got["input_ids"] == tokenizer.apply_chat_template(messages, return_dict=False)
        masked = [label for label in got["labels"] if label == IGNORE_INDEX]
        cut = len(masked)
        assert got["labels"][:cut] == masked and IGNORE_INDEX not in got["labels"][cut:]
        assert got["labels"][cut:] == got["input_ids"][cut:]
        # the masked part is the prompt, up to and including the opening of the assistant turn ...
        assert tokenizer.decode(got["input_ids"][:cut]) == tokenizer.apply_chat_template(
            messages[:-1], add_generation_prompt=True, tokenize=False)
        # ... and what is learnt is the answer and the end of the turn, nothing else
        assert tokenizer.decode(got["labels"][cut:]) == messages[-1]["content"] + END + "\n"
        assert got["attention_mask"] == [1] * len(got["input_ids"])
        assert {key: got[key] for key in row} == row  # every rendered column carried through


def test_truncation_keeps_cut_rows_and_drops_rows_without_labels(tokenizer):
    short = _row(0, "please learn", "Input:\nfever\nOutput:\n", "pneumonia")
    long_answer = _row(1, "please learn", "Input:\ncough\nOutput:\n", " ".join(WORDS * 3))
    long_prompt = _row(2, " ".join(WORDS * 4), "Input:\nchest pain\nOutput:\n", "cardiac")
    prompt_len = {name: len(tokenizer.apply_chat_template(row["messages"][:-1], add_generation_prompt=True, return_dict=False))
                  for name, row in (("short", short), ("answer", long_answer), ("prompt", long_prompt))}
    max_length = prompt_len["answer"] + 5
    assert prompt_len["prompt"] > max_length > len(tokenizer.apply_chat_template(short["messages"], return_dict=False))

    counts = TokenCounts()
    out = tokenize_rows(_dataset([short, long_answer, long_prompt]), tokenizer, max_length=max_length, counts=counts)
    assert (counts.rows, counts.truncated, counts.dropped) == (3, 1, 1)
    # per task and reason: task_1 was cut (kept), task_2's prompt alone fills max_length
    assert counts.tasks == {"demo/task_0": {"rows": 1}, "demo/task_1": {"rows": 1, "truncated": 1},
                            "demo/task_2": {"rows": 1, "too_long": 1}}
    assert counts.dropped_by_task() == {"demo/task_2": {TOO_LONG: 1}} and counts.dropped_by_reason() == {TOO_LONG: 1}
    assert out["instance_id"] == ["i0", "i1"]  # the row whose prompt alone fills max_length teaches nothing
    cut = out[1]
    full = tokenizer.apply_chat_template(long_answer["messages"], return_dict=False)
    assert cut["input_ids"] == full[:max_length]
    assert cut["labels"] == [IGNORE_INDEX] * prompt_len["answer"] + full[prompt_len["answer"]:max_length]
    assert "dropped because their prompt alone fills" in counts.summary(max_length)


def test_an_empty_answer_without_a_closing_token_is_dropped_as_empty_not_as_too_long(tmp_path):
    from test_build_counts import NO_END_TEMPLATE

    tokenizer = load_chat_tokenizer(save_tokenizer(tmp_path / "no-end", template=NO_END_TEMPLATE, words=WORDS))
    rows = [_row(0, "please learn", "Input:\nfever\nOutput:\n", ""), _row(1, "please learn", "Input:\ncough\nOutput:\n", "cardiac"),
            _row(2, " ".join(WORDS * 4), "Input:\nchest pain\nOutput:\n", "")]
    counts = TokenCounts()
    out = tokenize_rows(_dataset(rows), tokenizer, max_length=48, counts=counts)
    assert out["instance_id"] == ["i1"]
    # within max_length but nothing to learn; the long one is too long whatever its answer
    assert counts.dropped_by_task() == {"demo/task_0": {EMPTY_ANSWER: 1}, "demo/task_2": {TOO_LONG: 1}}
    assert "1 dropped because their answer is empty" in counts.summary(48)
    # with the usual template the end-of-turn token is learnt: an empty answer is kept
    kept = TokenCounts()
    assert tokenize_rows(_dataset(rows[:2]), load_chat_tokenizer(save_tokenizer(tmp_path / "usual", words=WORDS)),
                         max_length=48, counts=kept).num_rows == 2 and kept.dropped == 0


def test_reason_hints_and_count_tables_say_how_many_why_and_how_to_keep_them():
    assert reason_hint(TOO_LONG, 608, 1024).startswith("too long: 608 rows whose prompt alone fills 1024 tokens")
    assert "raise --max-length" in reason_hint(TOO_LONG, 1, 1024) and "1 row whose" in reason_hint(TOO_LONG, 1, 1024)
    assert "give those instances an output" in reason_hint(EMPTY_ANSWER, 2, 1024)
    table = count_table(("task", "rows", "too long"), [("a/long", 1182, 608), ("b/short", 3, 0), ("total", 1185, 608)])
    assert table[0].split() == ["task", "rows", "too", "long"] and set(table[1]) == {"-", " "}
    assert table[2].split() == ["a/long", "1,182", "608"] and table[4] == table[1]  # a rule above the total
    assert table[5].split() == ["total", "1,185", "608"] and len({len(line) for line in table[:2]}) == 1


def test_a_conversation_not_ending_with_the_answer_is_refused(tokenizer):
    row = _row(7, "please learn", "Input:\nfever\nOutput:\n", "pneumonia")
    row["messages"] = row["messages"][:2]
    with pytest.raises(MedsregError, match=r"row 0 \(demo/task_1, instance i7\): the last message must be the assistant"):
        tokenize_rows(_dataset([row]), tokenizer, max_length=64)


# --------------------------------------------------------------------------- packing


def test_first_fit_places_each_example_in_the_first_block_with_room():
    assert first_fit([5, 4, 3, 2, 1], 6) == [[0, 4], [1, 3], [2]]
    assert first_fit([3, 3, 3], 6) == [[0, 1], [2]]
    assert first_fit([], 6) == []
    with pytest.raises(ValueError, match="more than the block size"):
        first_fit([2, 7], 6)


def test_packing_keeps_whole_examples_and_restarts_positions(tokenizer):
    max_length = 96
    tokenized = tokenize_rows(_dataset(_rows(80, seed=3)), tokenizer, max_length=max_length)
    packed = pack_rows(tokenized, max_length=max_length)
    again = pack_rows(tokenized, max_length=max_length)
    assert packed.to_list() == again.to_list()  # deterministic
    assert set(packed.column_names) == {"input_ids", "labels", "position_ids", "seq_lengths", "tasks", "instance_ids"}
    examples = {row["instance_id"]: row for row in tokenized}
    assert 1 < packed.num_rows < tokenized.num_rows
    assert sum(len(block["input_ids"]) for block in packed) == sum(len(row["input_ids"]) for row in tokenized)
    seen = []
    for block in packed:
        assert len(block["input_ids"]) <= max_length
        assert len(block["labels"]) == len(block["position_ids"]) == len(block["input_ids"]) == sum(block["seq_lengths"])
        assert block["position_ids"] == [p for length in block["seq_lengths"] for p in range(length)]
        start = 0
        for length, instance_id, task in zip(block["seq_lengths"], block["instance_ids"], block["tasks"]):
            example = examples[instance_id]  # whole and unchanged, labels included
            assert block["input_ids"][start:start + length] == example["input_ids"]
            assert block["labels"][start:start + length] == example["labels"]
            assert task == example["task"]
            start += length
        seen.extend(block["instance_ids"])
    assert sorted(seen) == sorted(examples)  # every example exactly once
    # first-fit in order: no block could have taken an example that opened a later block
    order = {instance_id: position for position, instance_id in enumerate(tokenized["instance_id"])}
    for later, block in enumerate(packed):
        opener = block["instance_ids"][0]
        for earlier in packed.select(range(later)):
            before = sum(length for length, other in zip(earlier["seq_lengths"], earlier["instance_ids"])
                         if order[other] < order[opener])
            assert before + len(examples[opener]["input_ids"]) > max_length


def test_packing_refuses_examples_longer_than_a_block(tokenizer):
    tokenized = tokenize_rows(_dataset(_rows(4)), tokenizer, max_length=4096)
    with pytest.raises(MedsregError, match="more than the block size 8; tokenize with max_length=8"):
        pack_rows(tokenized, max_length=8)


# --------------------------------------------------------------------------- the pipeline's streaming step


@pytest.mark.parametrize("pack", [False, True])
def test_streaming_in_worker_processes_equals_the_dataset_path(tokenizer_dir, tokenizer, pack):
    from datasets import Dataset
    from medsreg.build.pipeline import training_features

    rows = _rows(45, seed=5)
    step = prepare(tokenizer_dir, max_length=40, pack=pack)
    assert isinstance(step, Tokenization) and step.num_proc == 2
    step.batch_rows = 8  # 6 batches: the two worker processes run
    streamed = list(step.rows(iter(rows)))
    features = step.features(training_features())
    assert list(Dataset.from_list(streamed, features=features).features) == list(features)  # what the writer checks

    expected_counts = TokenCounts()
    expected = tokenize_rows(Dataset.from_list(rows, features=training_features()), tokenizer, max_length=40,
                             counts=expected_counts)
    if pack:
        expected = pack_rows(expected, max_length=40, counts=expected_counts)
    assert streamed == expected.to_list()
    assert step.counts == expected_counts and step.counts.truncated > 0


def test_streaming_and_the_dataset_path_count_the_same_drops_per_task(tmp_path, tokenizer_dir):
    from datasets import Dataset
    from test_build_counts import NO_END_TEMPLATE
    from medsreg.build.pipeline import training_features

    no_end = save_tokenizer(tmp_path / "no-end", template=NO_END_TEMPLATE, words=WORDS)
    rows = _rows(45, seed=7)
    for index in range(0, 45, 6):
        rows[index] = {**rows[index], "completion": "", "messages": [*rows[index]["messages"][:2],
                                                                     {"role": "assistant", "content": ""}]}
    step = prepare(no_end, max_length=40)
    step.batch_rows = 8  # the worker processes run
    streamed = list(step.rows(iter(rows)))
    expected = TokenCounts()
    tokenized = tokenize_rows(Dataset.from_list(rows, features=training_features()), load_chat_tokenizer(no_end),
                              max_length=40, counts=expected)
    assert streamed == tokenized.to_list() and step.counts == expected
    reasons = expected.dropped_by_reason()
    assert reasons.get(EMPTY_ANSWER) and reasons.get(TOO_LONG)  # both kinds happen here
    assert expected.rows - expected.dropped == len(streamed)
    assert sum(entry["rows"] for entry in expected.tasks.values()) == len(rows)


def test_build_with_a_tokenizer_writes_token_columns(tmp_path, tokenizer_dir, tokenizer, isolated_plugins, no_sources):
    from conftest import make_plugin, task_document
    from datasets import load_from_disk
    from test_build_counts import assert_build_counts
    from medsreg.build.pipeline import BuildOptions, run_build

    instances = [{"id": f"dx-{i}", "input": f"patient {i} has fever and cough", "output": [f"pneumonia {i}"]}
                 for i in range(10)]
    plugins = tmp_path / "plugins"
    make_plugin(plugins, "demo", {"dx": task_document(
        Categories=["Diagnosis"], Definition=["Give the diagnosis."], Instances=instances,
        medsreg={"name": "dx", "version": "1.0", "license": "CC0-1.0", "access": "public", "synthetic": True})})
    for pack in (False, True):
        output = tmp_path / f"out-{pack}"
        run_build(BuildOptions(output=output, tokenizer=tokenizer_dir, max_length=512, pack=pack, quiet=True,
                               plugins_dirs=(plugins,)), say=lambda line: None, warn=lambda line: None)
        assert_build_counts(output)
        mixture = load_from_disk(str(output / "mixture"))["train"]
        recorded = json.loads((output / "manifest.json").read_text(encoding="utf-8"))["datasets"]["mixture"]["tokenization"]
        assert recorded["rows"] == 10 and recorded["dropped"] == 0 and recorded["pack"] is pack
        assert recorded["blocks"] == (mixture.num_rows if pack else 0)
        assert recorded["summary"] in (output / "README.md").read_text(encoding="utf-8")
        if pack:
            assert mixture.num_rows < 10 and sorted(i for ids in mixture["instance_ids"] for i in ids) == sorted(
                f"dx-{i}" for i in range(10))
            assert all(len(ids) <= 512 for ids in mixture["input_ids"])
        else:
            assert mixture.num_rows == 10 and {"messages", "input_ids", "labels", "attention_mask"} <= set(mixture.column_names)
            for row in mixture:
                answer = [label for label in row["labels"] if label != IGNORE_INDEX]
                assert tokenizer.decode(answer) == row["messages"][-1]["content"] + END + "\n"


# --------------------------------------------------------------------------- bad tokenizers: one sentence each


def _sentence(path: Path) -> str:
    with pytest.raises(MedsregError) as raised:
        load_chat_tokenizer(path)
    message = str(raised.value)
    assert str(path) in message and "\n" not in message
    return message


def test_bad_tokenizer_paths_are_one_sentence(tmp_path, tokenizer_dir):
    assert "does not exist; give --tokenizer a local folder" in _sentence(tmp_path / "missing")
    a_file = tmp_path / "tokenizer.json"
    a_file.write_text("{}", encoding="utf-8")
    assert "is a file, not a folder" in _sentence(a_file)
    (tmp_path / "empty").mkdir()
    assert "holds no tokenizer (none of tokenizer.json" in _sentence(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tokenizer_config.json").write_text((tokenizer_dir / "tokenizer_config.json").read_text())
    (broken / "tokenizer.json").write_text('{"version": ', encoding="utf-8")
    assert "cannot be loaded" in _sentence(broken)


def test_templates_that_cannot_mask_the_prompt_are_one_sentence(tmp_path):
    message = _sentence(save_tokenizer(tmp_path / "plain", template=None))
    assert "has no chat template" in message and "chat_template" in message
    message = _sentence(save_tokenizer(tmp_path / "no-system", template=NO_SYSTEM_TEMPLATE))
    assert "fails on a system / user / assistant conversation" in message and "System role not supported" in message
    message = _sentence(save_tokenizer(tmp_path / "shifted", template=SHIFTED_TEMPLATE))
    assert "does not render the prompt (add_generation_prompt=True) as a prefix" in message


def test_a_template_failing_on_a_row_names_the_rows(tmp_path):
    failing = "{% if 'FORBIDDEN' in messages[1]['content'] %}{{ raise_exception('no such input') }}{% endif %}" + TEMPLATE
    tokenizer = load_chat_tokenizer(save_tokenizer(tmp_path / "picky", template=failing))
    rows = [_row(0, "please learn", "fever", "pneumonia"), _row(1, "please learn", "FORBIDDEN", "cardiac")]
    with pytest.raises(MedsregError, match=r"^row 0 \(demo/task_0, instance i0\) to row 1 \(demo/task_1, instance i1\): "
                                           r"the chat template .* fails .*no such input"):
        tokenize_rows(_dataset(rows), tokenizer, max_length=64)
