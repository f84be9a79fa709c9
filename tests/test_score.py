"""``medsreg score``: predictions files in (eval's JSONL, the submission CSV), per-task, pooled and category scores out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import REGISTER_SUITES, make_plugin, task_document, write_json
from medsreg.cli import cli

SUITE = {
    "name": "bench/bench", "description": "Summaries pooled by modality, and a diagnosis task.",
    "categories": [
        {"name": "Text summarization", "tasks": [
            {"task": "bench/meqsum", "metrics": ["bleu1", "rougeL"]},
            {"task": "bench/ct_head", "metrics": ["bleu1", "rougeL"], "group": "CT", "average": False},
            {"task": "bench/ct_chest", "metrics": ["bleu1", "rougeL"], "group": "CT", "average": False},
        ]},
        {"name": "Diagnosis", "tasks": [{"task": "bench/ddx", "metrics": ["diagnosis_accuracy"]}]},
    ],
}
TASKS = {"meqsum": 114, "ct_head": 83, "ct_chest": 84, "ddx": 130}


@pytest.fixture
def plugins(tmp_path, isolated_plugins, no_sources) -> Path:
    root = tmp_path / "plugins"
    documents = {
        name: task_document(Split_Type="Test", Categories=["Text Summarization" if name != "ddx" else "Diagnosis"],
                            medsreg={"name": name, "legacy_id": legacy_id, "version": "1.0", "license": "CC-BY-4.0",
                                     "access": "public", "synthetic": True})
        for name, legacy_id in TASKS.items()
    }
    folder = make_plugin(root, "bench", documents, init_py=REGISTER_SUITES)
    write_json(folder / "medsreg_bench" / "suite.json", SUITE)
    return root


def _prediction(task: str, index: int, output: str, reference: str) -> dict:
    entry = next(e for c in SUITE["categories"] for e in c["tasks"] if e["task"] == f"bench/{task}")
    category = next(c["name"] for c in SUITE["categories"] if entry in c["tasks"])
    return {"suite": "bench/bench", "task": f"bench/{task}", "legacy_id": TASKS[task], "category": category,
            "group": entry.get("group"), "average": entry.get("average", True), "metrics": entry["metrics"],
            "instance_id": f"{task}-{index}", "prompt_sha256": "0" * 64, "references": [reference], "output": output,
            "model": "tiny", "config_sha256": "1" * 64}


PREDICTIONS = [
    _prediction("meqsum", 0, "the patient has a fever .", "the patient has fever ."),  # BLEU-1 5/6
    _prediction("meqsum", 1, "no", "yes"),  # 0
    _prediction("ct_head", 0, "normal head", "normal head"),  # 100
    _prediction("ct_chest", 0, "mass", "normal chest"),  # 0: pooled CT BLEU-1 = 50
    _prediction("ddx", 0, "It is pneumonia.", "The diagnosis result is pneumonia."),
    _prediction("ddx", 1, "asthma", "The diagnosis result is pneumonia."),
    _prediction("ddx", 2, "influenza", "The diagnosis result is influenza."),
]


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _score(runner, plugins: Path, path: Path, *args: str):
    return runner.invoke(cli, ["score", str(path), "--plugins-dir", str(plugins), *args])


def test_scores_tasks_pools_groups_and_averages_categories(runner, plugins, tmp_path):
    result = _score(runner, plugins, _jsonl(tmp_path / "predictions.jsonl", PREDICTIONS), "--format", "json",
                    "--output", str(tmp_path / "results.json"))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document == json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    rows = {(row["kind"], row["name"]): row for row in document["rows"]}
    assert rows[("task", "bench/meqsum")]["scores"]["bleu1"] == pytest.approx(500 / 12, abs=1e-3)
    assert rows[("group", "CT")]["scores"]["bleu1"] == pytest.approx(50.0) and rows[("group", "CT")]["count"] == 2
    # the category averages the tasks that count (meqsum), not the pooled CT tasks
    assert rows[("category", "Text summarization")]["scores"]["bleu1"] == pytest.approx(500 / 12, abs=1e-3)
    assert rows[("category", "Diagnosis")]["scores"] == {"diagnosis_accuracy": pytest.approx(200 / 3, abs=1e-3)}
    assert document["model"] == "tiny" and document["compat"] == "fixed" and document["suite"] == "bench/bench"


def test_text_markdown_and_csv_renderings(runner, plugins, tmp_path):
    path = _jsonl(tmp_path / "predictions.jsonl", PREDICTIONS)
    text = _score(runner, plugins, path).stdout
    assert "Diagnosis" in text and "66.67" in text and "CT (pooled)" in text
    markdown = _score(runner, plugins, path, "--format", "markdown").stdout
    assert markdown.splitlines()[0].startswith("| category / task | n |") and "| **Diagnosis** |" in markdown
    table = list(csv.DictReader(_score(runner, plugins, path, "--format", "csv").stdout.splitlines()))
    assert {row["name"] for row in table if row["kind"] == "group"} == {"CT"}


def test_the_submission_csv_is_scored_by_task_id(runner, plugins, tmp_path):
    path = tmp_path / "diagnosis.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["task_id", "input", "GT", "output"])
        writer.writerow(["task130", "case 1", "The diagnosis result is pneumonia.", "pneumonia, I think"])
        writer.writerow(["130", "case 2", "The diagnosis result is gout.", "arthritis"])
        writer.writerow(["bench/ddx", "case 3", "The diagnosis result is gout.", "gout"])  # by name, as eval writes it
    result = _score(runner, plugins, path, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)["rows"]}
    assert rows["bench/ddx"]["scores"]["diagnosis_accuracy"] == pytest.approx(200 / 3, abs=1e-3)


def _text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("case", ["missing-column", "unknown-task", "duplicate-row", "empty-output", "duplicate-jsonl",
                                  "not-json", "missing-file"])
def test_bad_predictions_are_one_sentence_and_exit_1(runner, plugins, tmp_path, case):
    header = ["task_id", "input", "GT", "output"]
    path, expected = {
        "missing-column": (lambda: _csv(tmp_path / "p.csv", ["task_id", "input", "output"], [["130", "x", "y"]]),
                           "the columns GT are missing"),
        "unknown-task": (lambda: _csv(tmp_path / "p.csv", header, [["task131", "x", "gout", "gout"]]),
                         "task_id 'task131' is not a task of an installed suite"),
        "duplicate-row": (lambda: _csv(tmp_path / "p.csv", header, [["130", "x", "gout", "a"], ["130", "x", "gout", "b"]]),
                          "row 3: the same task_id and input as row 2"),
        "empty-output": (lambda: _csv(tmp_path / "p.csv", header, [["130", "x", "gout", " "]]),
                         "1 predictions have an empty output (p.csv: row 2)"),
        "duplicate-jsonl": (lambda: _jsonl(tmp_path / "p.jsonl", PREDICTIONS[:1] * 2),
                            "p.jsonl:2: bench/meqsum instance meqsum-0 is predicted twice (first on line 1)"),
        "not-json": (lambda: _text(tmp_path / "p.jsonl", '{"task": 1\n{}\n'), "p.jsonl:1: is not valid JSON"),
        "missing-file": (lambda: tmp_path / "nowhere.jsonl", "nowhere.jsonl does not exist"),
    }[case]
    result = _score(runner, plugins, path())
    assert result.exit_code == 1, result.output
    assert expected in result.stderr and "Traceback" not in result.output


def test_allow_empty_scores_empty_outputs_as_wrong_and_a_torn_last_line_is_skipped(runner, plugins, tmp_path):
    path = _jsonl(tmp_path / "p.jsonl", [*PREDICTIONS[4:6], {**PREDICTIONS[6], "output": None}])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"task": "bench/ddx", "instance_id": "ddx-3", "outp')  # an eval killed mid-line
    result = _score(runner, plugins, path, "--allow-empty", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    rows = {row["name"]: row for row in document["rows"]}
    assert rows["bench/ddx"]["count"] == 3 and rows["bench/ddx"]["scores"]["diagnosis_accuracy"] == pytest.approx(100 / 3, abs=1e-3)
    assert any("incomplete last line" in note for note in document["notes"])


def test_official_compat_changes_what_the_scripts_get_wrong(runner, plugins, tmp_path):
    rows = [_prediction("ddx", 0, "anything at all", "The diagnosis result is .")]  # an empty reference
    path = _jsonl(tmp_path / "p.jsonl", rows)
    fixed = json.loads(_score(runner, plugins, path, "--format", "json").stdout)
    official = json.loads(_score(runner, plugins, path, "--format", "json", "--compat", "official").stdout)
    assert fixed["rows"][0]["scores"]["diagnosis_accuracy"] == 0.0
    assert official["rows"][0]["scores"]["diagnosis_accuracy"] == 100.0 and official["compat"] == "official"


def test_several_files_in_one_run_score_as_each_alone(runner, plugins, tmp_path):
    first = _jsonl((tmp_path / "model_a").mkdir() or tmp_path / "model_a" / "predictions.jsonl", PREDICTIONS)
    other = [dict(row, output=row["references"][0]) for row in PREDICTIONS]  # a perfect model
    second = _jsonl((tmp_path / "model_b").mkdir() or tmp_path / "model_b" / "predictions.jsonl", other)
    alone = [json.loads(_score(runner, plugins, path, "--format", "json").stdout) for path in (first, second)]
    result = _score(runner, plugins, first, "--format", "json", "--output", str(tmp_path / "results"), str(second),
                    "--workers", "2")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == alone
    # eval writes predictions.jsonl in every run folder: the results are named after the folders too
    written = sorted(path.name for path in (tmp_path / "results").iterdir())
    assert written == ["model_a-predictions.results.json", "model_b-predictions.results.json"]
    assert json.loads((tmp_path / "results" / written[1]).read_text(encoding="utf-8")) == alone[1]
    same = _score(runner, plugins, first, str(first), "--output", str(tmp_path / "again"))
    assert same.exit_code == 1 and "the same folder and file name" in same.output and not (tmp_path / "again").exists()


# --------------------------------------------------------------------------- partial suites


def test_a_category_missing_a_task_of_the_installed_suite_is_marked_partial(runner, plugins, tmp_path):
    """No config.json beside the file: the suite's definition says bench/ct_chest is missing from Text summarization."""
    path = _jsonl(tmp_path / "predictions.jsonl", [row for row in PREDICTIONS if row["task"] != "bench/ct_chest"])
    document = json.loads(_score(runner, plugins, path, "--format", "json").stdout)
    rows = {row["name"]: row for row in document["rows"] if row["kind"] == "category"}
    summarization = rows["Text summarization"]
    assert (summarization["partial"], summarization["missing"], summarization["tasks"], summarization["of"]) == \
        (True, ["bench/ct_chest"], 2, 3)
    assert rows["Diagnosis"]["partial"] is False and "missing" not in rows["Diagnosis"]
    assert document["complete"] is False
    assert document["missing"] == [{"task": "bench/ct_chest", "category": "Text summarization",
                                    "why": "bench/ct_chest: no prediction in predictions.jsonl"}]
    text = _score(runner, plugins, path).stdout
    assert "Text summarization †" in text and "41.67†" in text and "Diagnosis †" not in text
    assert "† Text summarization: partial: 2 of 3 tasks; missing bench/ct_chest" in text
    markdown = _score(runner, plugins, path, "--format", "markdown").stdout
    assert "| **Text summarization †** |" in markdown and "† Text summarization: partial: 2 of 3 tasks" in markdown
    table = {row["name"]: row for row in csv.DictReader(_score(runner, plugins, path, "--format", "csv").stdout.splitlines())}
    assert (table["Text summarization"]["partial"], table["Text summarization"]["missing"]) == ("2 of 3 tasks", "bench/ct_chest")
    assert table["Text summarization"]["bleu1"] == "41.6667" and table["Diagnosis"]["partial"] == ""
    # every task predicted: nothing is marked
    complete = json.loads(_score(runner, plugins, _jsonl(tmp_path / "all.jsonl", PREDICTIONS), "--format", "json").stdout)
    assert complete["complete"] is True and not any(row.get("partial") for row in complete["rows"])


def test_config_json_beside_the_predictions_says_what_eval_could_not_read(runner, plugins, tmp_path):
    """eval's record of the missing tasks (with why) is used, even for categories with no prediction; a task it
    recorded as missing but that an earlier run into the folder did predict is not missing."""
    path = _jsonl(tmp_path / "predictions.jsonl", [row for row in PREDICTIONS if row["category"] == "Text summarization"])
    availability = {"complete": False, "tasks": 3, "of": 4, "partial_categories": {"Diagnosis": ["bench/ddx"]},
                    "missing": [{"task": "bench/ddx", "category": "Diagnosis", "why": "bench/ddx: source 'ddx' is not configured"},
                                {"task": "bench/meqsum", "category": "Text summarization", "why": "read before"}]}
    write_json(tmp_path / "config.json", {"model": "tiny", "suite": "bench/bench", "availability": availability})
    document = json.loads(_score(runner, plugins, path, "--format", "json").stdout)
    assert document["missing"] == [availability["missing"][0]]
    assert {row["name"]: row["partial"] for row in document["rows"] if row["kind"] == "category"} == {"Text summarization": False}
    assert any("categories not scored, none of their tasks predicted: Diagnosis (1 task)" in note
               for note in document["notes"])
    # a config.json of another suite says nothing about these predictions
    write_json(tmp_path / "config.json", {"model": "tiny", "suite": "other/bench", "availability": availability})
    assert json.loads(_score(runner, plugins, path, "--format", "json").stdout)["missing"] == []


def test_predictions_of_a_suite_not_installed_claim_no_completeness(runner, plugins, tmp_path):
    rows = [dict(row, suite="elsewhere/bench") for row in PREDICTIONS if row["task"] != "bench/ct_chest"]
    document = json.loads(_score(runner, plugins, _jsonl(tmp_path / "p.jsonl", rows), "--format", "json").stdout)
    assert document["complete"] is None and document["missing"] == []
    assert not any("partial" in row for row in document["rows"])
