"""Partial suites end to end: MedS-Bench from the bundled fixture folder (4 of its 53 test files, the other sources
unconfigured) through ``medsreg build``, ``eval`` (an OpenAI-compatible server on 127.0.0.1: no model), ``score`` and
``leaderboard``: the run goes on over the readable tasks, says so, records what is missing, and every output marks the
categories that miss tasks (and only those); ``--require complete`` refuses instead."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from test_eval_openai import server  # noqa: F401  (the stub OpenAI endpoint fixture)
from test_eval_rows import one_error

from medsreg.cli import cli
from medsreg.score import PARTIAL_MARK

FIXTURE = Path(__file__).resolve().parents[1] / "plugins" / "meds-bench" / "tests" / "fixtures" / "MedS-Bench"
MCQA, NER, RATIONALE, DIAGNOSIS = "Multilingual MCQA", "Named entity recognition", "Rationale", "Diagnosis"
PRESENT = {  # the fixture's four files: category -> (its task, tasks of the category in the suite)
    MCQA: ("meds-bench/medqa_question_answering_en", 8),
    NER: ("meds-bench/bc4chem_named_enetity_recognition", 4),
    RATIONALE: ("meds-bench/mmedbench_explanation_english", 6),
    DIAGNOSIS: ("meds-bench/ddxplus_text_classification", 1),
}
ROWS = 4 * 10


@pytest.fixture
def unconfigured(no_sources, monkeypatch):
    """Only what --source configures is readable (the installed plugins are loaded, as a user's are)."""
    monkeypatch.setenv("MEDSREG_OFFLINE", "1")


def evaluate(runner, server, output: Path, *args: str, source: Path = FIXTURE):
    return runner.invoke(cli, ["eval", "--backend", "openai", "--model", "gpt-test", "--api-base", server.url,
                               "--output", str(output), "--source", f"meds-bench={source}", "--quiet", *args])


def score_json(runner, predictions: Path, *args: str) -> dict:
    result = runner.invoke(cli, ["score", str(predictions), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def categories(document: dict) -> dict[str, dict]:
    return {row["name"]: row for row in document["rows"] if row["kind"] == "category"}


def assert_marked(document: dict) -> None:
    """The partial categories are marked (how many tasks of how many, which are missing); Diagnosis is not."""
    rows = categories(document)
    assert set(rows) == set(PRESENT)
    for category, (task, of) in PRESENT.items():
        row = rows[category]
        if of == 1:
            assert row["partial"] is False and "missing" not in row, row
            continue
        assert row["partial"] is True and (row["tasks"], row["of"]) == (1, of), row
        assert len(row["missing"]) == of - 1 and task not in row["missing"]
        assert f"partial: 1 of {of} tasks; missing {row['missing'][0]}" in row["note"]
    assert document["complete"] is False
    missing = {entry["task"]: entry["category"] for entry in document["missing"]}
    assert len(missing) == 53 - 4 and missing["meds-bench/mimic4ed_benchmark_hospitalization"] == "Clinical outcome prediction"


# --------------------------------------------------------------------------- eval, score, leaderboard


def test_eval_runs_the_readable_tasks_and_score_marks_the_partial_categories(runner, unconfigured, server, tmp_path):
    output = tmp_path / "eval"
    result = evaluate(runner, server, output, "--suite", "meds-bench")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: suite meds-bench/meds-bench")]
    assert len(warnings) == 1 and "is partial: 4 of 53 tasks are available" in warnings[0]
    assert "--require complete" in warnings[0] and "Diagnosis" not in warnings[0]
    predictions = output / "predictions.jsonl"
    assert len(predictions.read_text(encoding="utf-8").splitlines()) == ROWS

    config = json.loads((output / "config.json").read_text(encoding="utf-8"))
    availability = config["availability"]
    assert availability["complete"] is False and (availability["tasks"], availability["of"]) == (4, 53)
    assert set(availability["partial_categories"]) >= {MCQA, NER, RATIONALE} and DIAGNOSIS not in availability["partial_categories"]
    assert "availability" not in config["config"]  # outside the hashed generation settings

    document = score_json(runner, predictions, "--output", str(tmp_path / "results.json"))
    assert_marked(document)
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8")) == document
    # the reasons are eval's (the source lacks the file), not a guess from the predictions
    why = {entry["task"]: entry["why"] for entry in document["missing"]}
    assert "no prediction" not in why["meds-bench/medqa_question_answering_zh"]
    assert any("categories not scored, none of their tasks predicted: " in note and "Clinical outcome prediction (3 tasks)" in note
               for note in document["notes"])

    text = runner.invoke(cli, ["score", str(predictions)]).stdout
    lines = {line.split("  ")[0].rstrip(f" {PARTIAL_MARK}"): line for line in text.splitlines() if line and line[0] != " "}
    assert lines[MCQA].startswith(f"{MCQA} {PARTIAL_MARK}") and lines[MCQA].endswith(PARTIAL_MARK)
    assert PARTIAL_MARK not in lines[DIAGNOSIS]
    assert f"{PARTIAL_MARK} {MCQA}: partial: 1 of 8 tasks; missing meds-bench/medqa_question_answering_zh" in text

    markdown = runner.invoke(cli, ["score", str(predictions), "--format", "markdown"]).stdout
    assert f"| **{NER} {PARTIAL_MARK}** |" in markdown and f"| **{DIAGNOSIS}** |" in markdown
    assert f"{PARTIAL_MARK} {NER}: partial: 1 of 4 tasks" in markdown

    table = list(csv.DictReader(runner.invoke(cli, ["score", str(predictions), "--format", "csv"]).stdout.splitlines()))
    by_name = {row["name"]: row for row in table if row["kind"] == "category"}
    assert by_name[RATIONALE]["partial"] == "1 of 6 tasks" and "meds-bench/mmedbench_explanation_chinese" in by_name[RATIONALE]["missing"]
    assert by_name[DIAGNOSIS]["partial"] == "" and by_name[DIAGNOSIS]["missing"] == ""


def test_without_config_json_score_finds_the_missing_tasks_in_the_suite(runner, unconfigured, server, tmp_path):
    output = tmp_path / "eval"
    assert evaluate(runner, server, output, "--suite", "meds-bench").exit_code == 0
    alone = tmp_path / "elsewhere" / "predictions.jsonl"
    alone.parent.mkdir()
    shutil.copy(output / "predictions.jsonl", alone)
    rows = categories(score_json(runner, alone))
    assert (rows[MCQA]["partial"], rows[MCQA]["tasks"], rows[MCQA]["of"]) == (True, 1, 8)
    assert rows[DIAGNOSIS]["partial"] is False
    assert "meds-bench/medqa_question_answering_zh" in rows[MCQA]["missing"]


def _category_scores(path: Path, model: str, value: float, *, complete: bool) -> None:
    """Rewrite the results file ``path``: every category scored ``value`` for ``model``; ``complete`` drops the marks
    (the results of a model that had the whole suite)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for row in document["rows"]:
        if row["kind"] == "category":
            row["scores"] = {metric: value for metric in row["scores"]}
            if complete:
                row = {key: item for key, item in row.items() if key not in ("missing", "tasks", "of", "note")}
                row["partial"] = False
            rows.append(row)
    document.update(model=model, rows=rows, **({"complete": True, "missing": []} if complete else {}))
    path.write_text(json.dumps(document), encoding="utf-8")


def test_leaderboard_marks_partial_cells_and_never_bolds_them_over_complete_ones(runner, unconfigured, server, tmp_path):
    output = tmp_path / "eval"
    assert evaluate(runner, server, output, "--suite", "meds-bench").exit_code == 0
    partial, complete = tmp_path / "partial.json", tmp_path / "complete.json"
    assert runner.invoke(cli, ["score", str(output / "predictions.jsonl"), "--output", str(partial)]).exit_code == 0
    shutil.copy(partial, complete)
    # the partial model scores higher everywhere: bolding its partial cells over the complete model's would be the bug
    _category_scores(partial, "gpt-test", 80.0, complete=False)
    _category_scores(complete, "complete-model", 30.0, complete=True)

    board = tmp_path / "board"
    result = runner.invoke(cli, ["leaderboard", str(partial), str(complete), "--output", str(board)])
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader((board / "leaderboard.csv").read_text(encoding="utf-8").splitlines()))
    mcqa, diagnosis = f"{MCQA} (mcqa_accuracy)", f"{DIAGNOSIS} (diagnosis_accuracy)"
    assert [row["model"] for row in table] == ["gpt-test", "complete-model"]
    assert (table[0][mcqa], table[0][diagnosis]) == (f"80.00{PARTIAL_MARK}", "80.00")
    assert (table[1][mcqa], table[1]["partial"]) == ("30.00", "")
    assert f"{PARTIAL_MARK} {MCQA}: 1 of 8 tasks; missing meds-bench/medqa_question_answering_zh" in table[0]["partial"]
    assert DIAGNOSIS not in table[0]["partial"]

    markdown = (board / "leaderboard.md").read_text(encoding="utf-8")
    assert f"| gpt-test | 80.00{PARTIAL_MARK} |" in markdown
    assert f"{PARTIAL_MARK} gpt-test, {MCQA}: partial, 1 of 8 tasks; missing meds-bench/medqa_question_answering_zh" in markdown
    assert f"{PARTIAL_MARK} gpt-test, {DIAGNOSIS}" not in markdown

    page = (board / "index.html").read_text(encoding="utf-8")
    rows = {line.split("</th>")[0].rsplit(">", 1)[-1]: line for line in page.splitlines() if line.startswith("<tr><th scope")}
    assert rows["gpt-test"].startswith('<tr><th scope="row">gpt-test</th><td class="partial" title="partial: 1 of 8 tasks; '
                                       f'missing meds-bench/medqa_question_answering_zh')
    assert rows["gpt-test"].count("best") == 1 and rows["gpt-test"].endswith('<td class="best">80.00</td></tr>')  # Diagnosis
    assert rows["complete-model"].count('<td class="best">30.00</td>') == 4 and "partial" not in rows["complete-model"]
    assert f"{PARTIAL_MARK} marks a partial category" in page

    from medsreg.leaderboard import chart_labels, read_results

    entries = read_results([partial, complete])
    title, labels = chart_labels(entries, (MCQA, "mcqa_accuracy"))
    assert f"{PARTIAL_MARK} partial: gpt-test" in title and labels == [f"80.00{PARTIAL_MARK}", "30.00"]
    title, labels = chart_labels(entries, (DIAGNOSIS, "diagnosis_accuracy"))
    assert PARTIAL_MARK not in title and labels == ["80.00", "30.00"]
    assert (board / "leaderboard.png").read_bytes().startswith(b"\x89PNG")


# --------------------------------------------------------------------------- resuming, --require complete, build


def test_a_resumed_run_with_more_tasks_available_goes_on_and_says_so(runner, unconfigured, server, tmp_path):
    fewer = tmp_path / "MedS-Bench"
    shutil.copytree(FIXTURE, fewer)
    shutil.rmtree(fewer / "NER")
    output = tmp_path / "eval"
    first = evaluate(runner, server, output, "--suite", "meds-bench", source=fewer)
    assert first.exit_code == 0, first.output
    assert len((output / "predictions.jsonl").read_text(encoding="utf-8").splitlines()) == ROWS - 10
    requests = len(server.requests)
    again = evaluate(runner, server, output, "--suite", "meds-bench")
    assert again.exit_code == 0, again.output
    assert "3 of 53 tasks then, 4 of 53 now; newly available: meds-bench/bc4chem_named_enetity_recognition" in again.stderr
    assert len(server.requests) - requests == 10  # only the new task's rows are generated
    assert json.loads((output / "config.json").read_text(encoding="utf-8"))["availability"]["tasks"] == 4
    assert categories(score_json(runner, output / "predictions.jsonl"))[NER]["tasks"] == 1


def test_require_complete_refuses_a_partial_suite_in_eval(runner, unconfigured, server, tmp_path):
    result = evaluate(runner, server, tmp_path / "eval", "--suite", "meds-bench", "--require", "complete")
    error = one_error(result)
    assert "suite meds-bench/meds-bench needs test sets that are not available here" in error
    assert "meds-bench/medqa_question_answering_zh" in error and "source 'meds-bench'" in error
    assert not (tmp_path / "eval").exists() and server.requests == []


def test_no_task_readable_is_refused_without_require(runner, unconfigured, server, tmp_path):
    result = runner.invoke(cli, ["eval", "--backend", "openai", "--model", "gpt-test", "--api-base", server.url,
                                 "--suite", "meds-bench", "--output", str(tmp_path / "eval")])
    assert "needs test sets that are not available here: all 53 of its tasks" in one_error(result)


def test_build_writes_the_partial_suite_and_eval_data_finds_what_it_lacks(runner, unconfigured, server, tmp_path):
    """``medsreg build --suite meds-bench`` with most sources unconfigured, then ``eval --data`` on what it wrote."""
    pytest.importorskip("datasets")
    built = tmp_path / "build"
    result = runner.invoke(cli, ["build", "--suite", "meds-bench", "--source", f"meds-bench={FIXTURE}", "--quiet",
                                 "--output", str(built)])
    assert result.exit_code == 0, result.output
    assert "suite meds-bench/meds-bench is partial: 4 of 53 tasks" in result.stderr
    refused = runner.invoke(cli, ["build", "--suite", "meds-bench", "--source", f"meds-bench={FIXTURE}", "--quiet",
                                  "--require", "complete", "--output", str(tmp_path / "strict")])
    assert "meds-bench/medqa_question_answering_zh" in one_error(refused)

    from medsreg.build.writer import suite_path

    folder = built / suite_path("meds-bench/meds-bench")
    output = tmp_path / "eval"
    result = runner.invoke(cli, ["eval", "--backend", "openai", "--model", "gpt-test", "--api-base", server.url,
                                 "--data", str(folder), "--output", str(output), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "suite meds-bench/meds-bench is partial: 4 of 53 tasks" in result.stderr
    availability = json.loads((output / "config.json").read_text(encoding="utf-8"))["availability"]
    assert (availability["tasks"], availability["of"]) == (4, 53)
    assert "rebuild" in next(entry["why"] for entry in availability["missing"])
    assert_marked(score_json(runner, output / "predictions.jsonl"))
    strict = runner.invoke(cli, ["eval", "--backend", "openai", "--model", "gpt-test", "--api-base", server.url,
                                 "--data", str(folder), "--output", str(tmp_path / "strict-eval"), "--require", "complete"])
    assert "holds 4 of the 53 tasks of suite meds-bench/meds-bench" in one_error(strict)
