"""``medsreg score --ci``: seeded 95% bootstrap intervals per task and category; the leaderboard marks non-separable rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from medsreg.cli import cli
from medsreg.leaderboard import NOT_SEPARABLE, read_results, render_markdown
from medsreg.score import BOOTSTRAP_RESAMPLES, _draws
from test_score import _jsonl, _prediction, _score, plugins  # noqa: F401  (the fixture)


def _diagnoses(count: int, right: int) -> list[dict]:
    return [_prediction("ddx", index, "pneumonia" if index < right else "asthma", "The diagnosis result is pneumonia.")
            for index in range(count)]


def _summaries(count: int) -> list[dict]:
    return [_prediction("meqsum", index, "the patient has a fever ." if index % 2 else "no", "the patient has fever .")
            for index in range(count)]


def _rows(runner, plugins, path: Path, *args: str) -> dict:
    result = _score(runner, plugins, path, "--format", "json", "--ci", *args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    return {(row["kind"], row["name"]): row for row in document["rows"]} | {"document": document}


def test_the_interval_is_seeded_holds_the_estimate_and_narrows_with_more_instances(runner, plugins, tmp_path):
    small = _jsonl(tmp_path / "small.jsonl", _diagnoses(20, 12))
    first, again = _rows(runner, plugins, small), _rows(runner, plugins, small, "--seed", "0")
    other = _rows(runner, plugins, small, "--seed", "7")
    key = ("task", "bench/ddx")
    assert first[key]["ci95"] == again[key]["ci95"]
    assert first["document"]["bootstrap"] == {"resamples": BOOTSTRAP_RESAMPLES, "seed": 0, "level": 95}
    low, high = first[key]["ci95"]["diagnosis_accuracy"]
    assert low <= first[key]["scores"]["diagnosis_accuracy"] == 60.0 <= high and high - low > 10
    assert other[key]["scores"] == first[key]["scores"]  # another seed: the same score, an interval that may differ
    big = _rows(runner, plugins, _jsonl(tmp_path / "big.jsonl", _diagnoses(2000, 1200)))
    big_low, big_high = big[key]["ci95"]["diagnosis_accuracy"]
    assert big_low <= 60.0 <= big_high and big_high - big_low < (high - low) / 4


def test_without_ci_nothing_changes(runner, plugins, tmp_path):
    result = _score(runner, plugins, _jsonl(tmp_path / "p.jsonl", _diagnoses(20, 12)), "--format", "json")
    document = json.loads(result.stdout)
    assert "bootstrap" not in document and all("ci95" not in row for row in document["rows"])


def test_a_corpus_metric_is_recomputed_and_every_format_shows_the_interval(runner, plugins, tmp_path):
    path = _jsonl(tmp_path / "p.jsonl", _summaries(30) + _diagnoses(10, 5))
    rows = _rows(runner, plugins, path)
    for key in [("task", "bench/meqsum"), ("category", "Text summarization"), ("category", "Diagnosis")]:
        for metric, (low, high) in rows[key]["ci95"].items():
            assert low <= rows[key]["scores"][metric] <= high and low < high
    text = _score(runner, plugins, path, "--ci").stdout
    low, high = rows[("category", "Diagnosis")]["ci95"]["diagnosis_accuracy"]
    assert f"50.00 [{low:.2f}, {high:.2f}]" in text and "bootstrap interval" in text
    markdown = _score(runner, plugins, path, "--ci", "--format", "markdown").stdout
    assert f"50.00 [{low:.2f}, {high:.2f}] |" in markdown
    table = list(csv.DictReader(_score(runner, plugins, path, "--ci", "--format", "csv").stdout.splitlines()))
    diagnosis = next(row for row in table if row["kind"] == "category" and row["name"] == "Diagnosis")
    assert float(diagnosis["diagnosis_accuracy ci95 low"]) == pytest.approx(low, abs=1e-3)
    assert float(diagnosis["diagnosis_accuracy ci95 high"]) == pytest.approx(high, abs=1e-3)


def test_a_category_resamples_within_its_tasks_and_averages_them(runner, plugins, tmp_path):
    # two averaged tasks in one category: its draws are the mean of each task's own draws (same seeds)
    rows = _summaries(40)
    rows += [{**row, "task": "bench/other", "instance_id": f"other-{index}", "output": "no" if index % 4 else row["output"]}
             for index, row in enumerate(_summaries(40))]
    found = _rows(runner, plugins, _jsonl(tmp_path / "p.jsonl", rows))
    category = found[("category", "Text summarization")]
    tasks = [found[("task", "bench/meqsum")], found[("task", "bench/other")]]
    from medsreg.metrics.generation import generation_scores

    draws = []
    for name in ("bench/meqsum", "bench/other"):
        mine = [row for row in rows if row["task"] == name]
        values = np.array([generation_scores([row["output"]], [row["references"]], ["en"])["bleu1"] for row in mine])
        draws.append(values[_draws(name, len(mine), 0)].mean(axis=1))
    expected = np.percentile((draws[0] + draws[1]) / 2, [2.5, 97.5])
    assert category["ci95"]["bleu1"] == pytest.approx(list(expected), abs=1e-3)
    # narrower than resampling the tasks as a whole would make it (two very different tasks)
    assert category["ci95"]["bleu1"][0] > min(task["scores"]["bleu1"] for task in tasks)


def _results(path: Path, model: str, value: float, interval: tuple[float, float] | None) -> Path:
    row = {"kind": "category", "category": "Diagnosis", "name": "Diagnosis", "count": 100,
           "scores": {"diagnosis_accuracy": value}, **({"ci95": {"diagnosis_accuracy": list(interval)}} if interval else {})}
    path.write_text(json.dumps({"format": "medsreg-results/1", "model": model, "suite": "s", "compat": "fixed",
                                "rows": [row]}), encoding="utf-8")
    return path


def test_the_leaderboard_marks_models_not_separable_from_the_best(runner, tmp_path):
    paths = [_results(tmp_path / "a.json", "a", 70.0, (65.0, 75.0)), _results(tmp_path / "b.json", "b", 68.0, (63.0, 72.0)),
             _results(tmp_path / "c.json", "c", 50.0, (45.0, 55.0))]
    entries = {entry.model: entry for entry in read_results(paths)}
    key = ("Diagnosis", "diagnosis_accuracy")
    assert key in entries["b"].close and not entries["a"].close and not entries["c"].close
    markdown = render_markdown(list(entries.values()))
    assert f"68.00{NOT_SEPARABLE}" in markdown and f"70.00{NOT_SEPARABLE}" not in markdown and "not separable" in markdown
    result = runner.invoke(cli, ["leaderboard", *map(str, paths), "--output", str(tmp_path / "board")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "board" / "index.html").read_text(encoding="utf-8")
    assert '<td class="best">70.00</td>' in page and f"68.00{NOT_SEPARABLE}" in page
    # without intervals nothing is marked
    bare = read_results([_results(tmp_path / "d.json", "d", 70.0, None), _results(tmp_path / "e.json", "e", 69.0, None)])
    assert not any(entry.close for entry in bare)
