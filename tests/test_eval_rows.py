"""``medsreg eval``'s plumbing without a model: the suite's rows, --limit, sharding, the predictions file (torn lines,
exact keys, refusals), the merge, the submission CSVs, and the vllm sentence.

Also the helpers the other ``test_eval_*`` modules import: the demo plugin with its suite, and a tiny
Llama model with a byte-level BPE tokenizer and a chat template, built in a second.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from conftest import REGISTER_SUITES, make_plugin, task_document, write_json
from tiny_models import END, ROLES, TEMPLATE, WORDS, save_tiny_model, save_tokenizer  # noqa: F401 - re-exported to the other eval tests

from medsreg.errors import MedsregError
from medsreg.evaluate.predictions import (
    PREDICTION_KEYS,
    PredictionWriter,
    category_file,
    config_sha256,
    merge,
    prediction,
    read_existing,
    read_lines,
    row_key,
    write_submission,
)
from medsreg.evaluate.rows import Shard, current_shard, first_per_task

# --------------------------------------------------------------------------- helpers shared by the test_eval_* modules

TRICKY = 'Which drug, "aspirin" or heparin,\nis an antiplatelet?\nA. aspirin\nB. heparin'
"""An input with a comma, quotes and newlines: the submission CSV must quote it."""
SUITE = {
    "name": "demo/bench", "description": "A two-category bench.", "shots": 3, "seed": 0, "max_new_tokens": 12,
    "categories": [
        {"name": "Multilingual MCQA", "tasks": [{"task": "demo/mcqa_test", "metrics": ["mcqa_accuracy"], "shots": 0}]},
        {"name": "Named entity recognition", "tasks": [{"task": "demo/ner_test", "metrics": ["entity_f1"]}]},
    ],
}
MCQA_ROWS, NER_ROWS = 8, 28
def demo_plugins(root: Path) -> Path:
    """Plugin 'demo': an MCQA test task (MedS-Ins id 57, zero-shot) and an NER test task (no id, 3-shot) of varied
    lengths, and the suite demo/bench over them."""
    rng = random.Random(7)
    questions = [TRICKY] + [f"Question {i}: a patient has fever and cough for {i} days " + "and chest pain " * rng.randint(0, 6)
                            + "?\nA. pneumonia\nB. cardiac" for i in range(1, MCQA_ROWS)]
    sentences = [f"Sentence {i} names the drug aspirin" + " and the dose daily" * rng.randint(0, 8) + "." for i in range(NER_ROWS)]
    demo = make_plugin(root, "demo", {
        "mcqa_test": task_document(
            Categories=["Question Answering"], Split_Type="Test", Definition=["Answer the multiple-choice question."],
            medsreg={"name": "mcqa_test", "legacy_id": 57, "version": "1.0", "license": "CC-BY-4.0", "access": "public",
                     "synthetic": True},
            Instances=[{"id": f"q{i}", "input": text, "output": ["A. pneumonia" if i else "A. aspirin", "A"]}
                       for i, text in enumerate(questions)]),
        "ner_test": task_document(
            Categories=["Named Entity Recognition"], Split_Type="Test", Definition=["Extract the drug names."],
            medsreg={"name": "ner_test", "version": "1.0", "license": "CC-BY-4.0", "access": "public", "synthetic": True},
            Instances=[{"id": f"n{i}", "input": text, "output": ["aspirin."]} for i, text in enumerate(sentences)]),
    }, init_py=REGISTER_SUITES)
    write_json(demo / "medsreg_demo" / "suite.json", SUITE)
    return root


def predictions_of(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]


def one_error(result) -> str:
    """The single 'error: ...' line of a failed command (exit code 1, no traceback)."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


# --------------------------------------------------------------------------- rows


@pytest.fixture
def plugins(tmp_path, isolated_plugins, no_sources) -> Path:
    return demo_plugins(tmp_path / "plugins")


def _rows(plugins: Path) -> list[dict]:
    from medsreg.evaluate.rows import suite_rows_from_catalog

    suite = suite_rows_from_catalog("bench", (plugins,), warn=lambda line: None)
    assert suite.name == "demo/bench" and suite.max_new_tokens == 12 and suite.max_input_tokens == 2048
    return suite.rows


def test_suite_rows_are_the_builds_rows(plugins, tmp_path):
    """--suite renders what 'medsreg build --suite' writes, row for row, and --data reads it back the same."""
    pytest.importorskip("datasets")
    from click.testing import CliRunner

    from medsreg.build.writer import suite_path
    from medsreg.cli import cli
    from medsreg.evaluate.rows import suite_rows_from_folder

    rows = _rows(plugins)
    assert len(rows) == MCQA_ROWS + NER_ROWS
    result = CliRunner().invoke(cli, ["build", "--plugins-dir", str(plugins), "--suite", "demo/bench", "--quiet",
                                      "--output", str(tmp_path / "built")])
    assert result.exit_code == 0, result.output
    built = suite_rows_from_folder(tmp_path / "built" / suite_path("demo/bench"))
    assert built.name == "demo/bench"
    assert built.rows == [{key: row[key] for key in built.rows[0]} for row in rows]
    assert rows[0]["messages"][1]["content"] == TRICKY and rows[0]["legacy_id"] == 57
    assert rows[-1]["messages"][0]["content"].endswith("Please learn from the few-shot cases to see what content you have to output.")


def test_limit_takes_the_first_rows_of_each_task_and_shards_split_by_index(plugins):
    rows = _rows(plugins)
    limited = first_per_task(rows, 3)
    assert [row["instance_id"] for row in limited] == ["q0", "q1", "q2", "n0", "n1", "n2"]
    assert first_per_task(rows, None) == rows
    shards = [Shard(rank, 3, rank).take(rows) for rank in range(3)]
    assert [len(shard) for shard in shards] == [12, 12, 12]
    assert shards[1] == [row for index, row in enumerate(rows) if index % 3 == 1]
    assert sorted(map(row_key, [row for shard in shards for row in shard])) == sorted(map(row_key, rows))


def test_the_launchers_environment_gives_the_shard():
    assert current_shard({}) == Shard()
    assert current_shard({"RANK": "0", "WORLD_SIZE": "1"}) == Shard()
    assert current_shard({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == Shard(3, 4, 1)
    assert current_shard({"LOCAL_RANK": "1", "WORLD_SIZE": "2"}) == Shard(1, 2, 1)
    with pytest.raises(MedsregError, match="RANK='5' is not in 0..3"):
        current_shard({"RANK": "5", "WORLD_SIZE": "4"})
    with pytest.raises(MedsregError, match="WORLD_SIZE='two' is not a whole number"):
        current_shard({"WORLD_SIZE": "two"})


# --------------------------------------------------------------------------- the predictions file


def _record(row: dict, output: str = "out", model: str = "m", config: str = "c" * 64) -> dict:
    return prediction(row, output, model, config)


def test_a_prediction_has_exactly_the_scorers_keys(plugins):
    import hashlib

    row = _rows(plugins)[0]
    record = _record(row)
    assert tuple(record) == PREDICTION_KEYS
    assert record["prompt_sha256"] == hashlib.sha256(row["prompt"].encode("utf-8")).hexdigest()
    assert record["references"] == ["A. aspirin", "A"] and record["metrics"] == ["mcqa_accuracy"]
    assert (record["suite"], record["task"], record["legacy_id"], record["category"], record["group"], record["average"]) == \
        ("demo/bench", "demo/mcqa_test", 57, "Multilingual MCQA", None, True)
    # the config hash is over the canonical JSON: key order and spacing do not matter
    assert config_sha256({"b": 1, "a": "é"}) == config_sha256({"a": "é", "b": 1}) == hashlib.sha256(
        '{"a":"é","b":1}'.encode()).hexdigest()


def test_a_torn_last_line_is_ignored_and_cut_before_appending(plugins, tmp_path):
    rows = _rows(plugins)
    path = tmp_path / "predictions.jsonl"
    with PredictionWriter(path) as writer:
        writer.append([_record(rows[0]), _record(rows[1])])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(_record(rows[2]))[:40])  # a kill in the middle of a write
    records, torn = read_lines(path)
    assert [r["instance_id"] for r in records] == ["q0", "q1"] and torn
    assert set(read_existing(tmp_path).records) == {row_key(rows[0]), row_key(rows[1])}
    with PredictionWriter(path) as writer:
        assert writer.torn
        writer.append([_record(rows[2])])
    records, torn = read_lines(path)
    assert [r["instance_id"] for r in records] == ["q0", "q1", "q2"] and not torn


@pytest.mark.parametrize("content, expected", [
    ('{"not": "a prediction"}\n', "line 1 of .* does not hold the keys of a medsreg prediction"),
    ("not json\n{}\n", "line 1 of .* is not JSON"),
])
def test_a_foreign_file_is_refused(tmp_path, content, expected):
    (tmp_path / "predictions.jsonl").write_text(content, encoding="utf-8")
    with pytest.raises(MedsregError, match=expected):
        read_existing(tmp_path)


def test_merge_orders_by_row_keeps_one_of_each_and_removes_the_ranks_files(plugins, tmp_path):
    folder = tmp_path / "out"
    rows = _rows(plugins)[:6]
    with PredictionWriter(folder / "predictions-rank1.jsonl") as writer:
        writer.append([_record(row, f"out {row['instance_id']}") for row in rows[1::2]])
    with PredictionWriter(folder / "predictions-rank0.jsonl") as writer:
        writer.append([_record(row, f"out {row['instance_id']}") for row in reversed(rows[0::2])])
    with PredictionWriter(folder / "predictions.jsonl") as writer:  # an earlier merge, interrupted before cleaning up
        writer.append([_record(rows[2], "out q2")])
    path, count = merge(folder, rows)
    assert count == 6 and sorted(p.name for p in folder.iterdir()) == ["predictions.jsonl"]
    assert [r["instance_id"] for r in predictions_of(folder)] == [row["instance_id"] for row in rows]


def test_predictions_of_another_model_in_the_folder_are_a_sentence(plugins, tmp_path):
    rows = _rows(plugins)
    with PredictionWriter(tmp_path / "predictions-rank0.jsonl") as writer:
        writer.append([_record(rows[0], model="a")])
    with PredictionWriter(tmp_path / "predictions-rank1.jsonl") as writer:
        writer.append([_record(rows[1], model="b")])
    with pytest.raises(MedsregError, match="mixes predictions of two models or settings"):
        read_existing(tmp_path)


def test_submission_csv_per_category_quotes_the_exact_prompt(plugins, tmp_path):
    rows = _rows(plugins)
    outputs = {row_key(row): f'said "{row["instance_id"]}", then\nstopped' for row in rows if row["instance_id"] != "n5"}
    written = write_submission(tmp_path, rows, outputs)
    assert written == {"Multilingual_MCQA.csv": MCQA_ROWS, "Named_entity_recognition.csv": NER_ROWS - 1}
    with open(tmp_path / "submission" / "Multilingual_MCQA.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["task_id", "input", "GT", "output"]
    assert table[1] == ["task57", rows[0]["prompt"], "A. aspirin", 'said "q0", then\nstopped']
    assert TRICKY in table[1][1]
    with open(tmp_path / "submission" / "Named_entity_recognition.csv", encoding="utf-8", newline="") as handle:
        ner = list(csv.DictReader(handle))
    assert {row["task_id"] for row in ner} == {"demo/ner_test"}  # no MedS-Ins id: the task's name
    assert [row["input"] for row in ner] == [row["prompt"] for row in rows[MCQA_ROWS:] if row["instance_id"] != "n5"]
    assert category_file("Text summarization / CT") == "Text_summarization_CT.csv"


# --------------------------------------------------------------------------- vllm


def test_vllm_not_installed_is_a_sentence(monkeypatch, tmp_path):
    import sys

    from medsreg.evaluate.backends import GenerationOptions, make_backend

    monkeypatch.setitem(sys.modules, "vllm", None)  # as if it were not installed, even where it is
    with pytest.raises(MedsregError) as raised:
        make_backend("vllm", GenerationOptions(model=str(tmp_path)), warn=lambda line: None)
    assert str(raised.value) == ("--backend vllm needs vLLM, which is not installed here; install it with pip install "
                                 "'medsreg[vllm]' (Linux with a CUDA GPU), or use --backend hf")


def test_eval_help_imports_no_heavy_library():
    import subprocess
    import sys

    code = ("import sys\nfrom medsreg.cli import cli\ntry:\n    cli(['eval', '--help'], prog_name='medsreg')\n"
            "except SystemExit:\n    pass\n"
            "print('HEAVY', sorted(m for m in ('torch', 'transformers', 'datasets', 'vllm', 'pydantic') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "--max-new-tokens" in result.stdout and "HEAVY []" in result.stdout, result.stdout + result.stderr
