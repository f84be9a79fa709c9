"""``medsreg leaderboard``: results of several models as Markdown, CSV, a web page and a PNG chart."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from medsreg.cli import cli
from medsreg.score import RESULTS_FORMAT


def _results(path: Path, model: str, scores: dict[str, dict[str, float]], compat: str = "fixed") -> Path:
    rows = [{"kind": "category", "category": category, "name": category, "count": 10, "scores": values}
            for category, values in scores.items()]
    rows.append({"kind": "task", "category": "Diagnosis", "name": "x/ddx", "count": 10, "scores": {"diagnosis_accuracy": 1.0}})
    path.write_text(json.dumps({"format": RESULTS_FORMAT, "model": model, "suite": "meds-bench/meds-bench",
                                "compat": compat, "rows": rows, "notes": []}), encoding="utf-8")
    return path


def test_table_page_and_chart(runner, tmp_path):
    first = _results(tmp_path / "a.json", "MMed-Llama 3 8B", {"Diagnosis": {"diagnosis_accuracy": 58.13},
                                                            "Text summarization": {"bleu1": 24.46, "rougeL": 25.66}})
    second = _results(tmp_path / "b.json", "tiny <model>", {"Diagnosis": {"diagnosis_accuracy": 60.24}})
    result = runner.invoke(cli, ["leaderboard", str(first), str(second), "--output", str(tmp_path / "board"),
                                 "--title", "Lab board"])
    assert result.exit_code == 0, result.output
    board = tmp_path / "board"
    table = list(csv.reader((board / "leaderboard.csv").read_text(encoding="utf-8").splitlines()))
    # each row's suite and metric mode, then the scores, then its run (these results files record none)
    assert table[0] == ["model", "suite", "compat", "Diagnosis (diagnosis_accuracy)", "Text summarization (bleu1)",
                        "Text summarization (rougeL)", "run", "config", "date"]
    suite = ["meds-bench/meds-bench", "fixed"]
    assert table[1] == ["MMed-Llama 3 8B", *suite, "58.13", "24.46", "25.66", "", "", ""]
    assert table[2] == ["tiny <model>", *suite, "60.24", "", "", "", "", ""]
    markdown = (board / "leaderboard.md").read_text(encoding="utf-8")
    assert markdown.startswith("# Lab board") and "| MMed-Llama 3 8B | 58.13 | 24.46 | 25.66 |" in markdown
    page = (board / "index.html").read_text(encoding="utf-8")
    assert "tiny &lt;model&gt;" in page and '<td class="best">60.24</td>' in page and 'src="leaderboard.png"' in page
    png = (board / "leaderboard.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert not [p for p in board.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_bad_results_are_one_sentence(runner, tmp_path):
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    (tmp_path / "other.json").write_text(json.dumps({"format": "something"}), encoding="utf-8")
    fixed = _results(tmp_path / "f.json", "m", {"Diagnosis": {"diagnosis_accuracy": 1.0}})
    # mixed --compat modes are no error now: each mode is a section of its own (test_leaderboard_runs)
    for paths, expected in (([tmp_path / "nowhere.json"], "does not exist"), ([tmp_path / "broken.json"], "is not a JSON results file"),
                            ([tmp_path / "other.json"], "is not a medsreg results file"),
                            ([fixed, fixed], "f.json is given twice")):
        result = runner.invoke(cli, ["leaderboard", *map(str, paths), "--output", str(tmp_path / "board")])
        assert result.exit_code == 1 and expected in result.stderr and "Traceback" not in result.output


def test_a_partial_column_with_no_complete_cell_bolds_the_best_partial_one_with_its_mark(tmp_path):
    """Partial cells compete only among themselves; the bold one keeps its mark (the complete-vs-partial case is in
    test_partial_suites)."""
    from medsreg.leaderboard import read_results, render_html, render_markdown
    from medsreg.score import PARTIAL_MARK

    paths = []
    for model, value in (("a", 40.0), ("b", 60.0)):
        path = tmp_path / f"{model}.json"
        path.write_text(json.dumps({"format": RESULTS_FORMAT, "model": model, "compat": "fixed", "rows": [
            {"kind": "category", "category": "Multilingual MCQA", "name": "Multilingual MCQA", "count": 10,
             "scores": {"mcqa_accuracy": value}, "partial": True, "missing": ["x/zh"], "tasks": 1, "of": 2}]}),
            encoding="utf-8")
        paths.append(path)
    entries = read_results(paths)
    page = render_html(entries, "board", "c.png")
    assert f'<td class="best partial" title="partial: 1 of 2 tasks; missing x/zh">60.00{PARTIAL_MARK}</td>' in page
    assert f'<td class="partial" title="partial: 1 of 2 tasks; missing x/zh">40.00{PARTIAL_MARK}</td>' in page
    assert f"{PARTIAL_MARK} a, Multilingual MCQA: partial, 1 of 2 tasks; missing x/zh" in render_markdown(entries)
