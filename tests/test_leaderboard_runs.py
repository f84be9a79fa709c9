"""A run is a row: ``medsreg score`` records which run it scored (model, suite, mode, date, config hash) and
``medsreg leaderboard`` keeps suites and metric modes apart (a section each, nothing compared across them) and tells two
runs of one model apart. Real runs come from ``medsreg eval`` against the stub OpenAI endpoint (no model)."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from medsreg.cli import cli
from medsreg.score import RESULTS_FORMAT
from test_eval_openai import evaluate, plugins, server  # noqa: F401  (the demo/bench plugin folder, the stub endpoint)
from test_eval_rows import one_error

MCQA = "Multilingual MCQA"


@pytest.fixture
def run_a(runner, plugins, server, tmp_path, monkeypatch) -> Path:  # noqa: F811
    """An eval run folder of gpt-test on demo/bench (a --plugins-dir suite)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    result = evaluate(runner, plugins, server, tmp_path / "run-a", "--quiet")
    assert result.exit_code == 0, result.output
    return tmp_path / "run-a"


def _score(runner, plugins: Path, predictions: Path, *args: str) -> dict:  # noqa: F811
    result = runner.invoke(cli, ["score", str(predictions), "--plugins-dir", str(plugins), "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _results(path: Path, model: str, suite: str, scores: dict[str, float], *, compat: str = "fixed",
             run: str = "", config: str = "") -> Path:
    """A results file as 'medsreg score --output' writes it: one category row per score (its metric: mcqa_accuracy)."""
    rows = [{"kind": "category", "category": category, "name": category, "count": 10, "scores": {"mcqa_accuracy": value}}
            for category, value in scores.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": RESULTS_FORMAT, "model": model, "suite": suite, "compat": compat,
                                "run": {"name": run, "config_sha256": config or None, "date": "2025-01-02",
                                        "evaluated": None, "scored": "2025-01-02"},
                                "rows": rows, "notes": []}), encoding="utf-8")
    return path


def _board(runner, tmp_path: Path, *paths: Path) -> tuple[str, list[dict[str, str]], str]:
    """(leaderboard.md, leaderboard.csv's rows, index.html) of ``paths``."""
    board = tmp_path / "board"
    result = runner.invoke(cli, ["leaderboard", *map(str, paths), "--output", str(board)])
    assert result.exit_code == 0, result.output
    assert (board / "leaderboard.png").read_bytes().startswith(b"\x89PNG")
    table = list(csv.DictReader((board / "leaderboard.csv").read_text(encoding="utf-8").splitlines()))
    return (board / "leaderboard.md").read_text(encoding="utf-8"), table, (board / "index.html").read_text(encoding="utf-8")


def _html_sections(page: str) -> dict[str, str]:
    """Each <section> of the page by its heading."""
    found = {}
    for part in page.split("<section>")[1:]:
        found[part.split("<h2>", 1)[1].split("</h2>", 1)[0]] = part.split("</section>", 1)[0]
    return found


# --------------------------------------------------------------------------- score records the run


def test_results_record_model_suite_compat_date_and_config_hash(runner, plugins, run_a, tmp_path):  # noqa: F811
    config = json.loads((run_a / "config.json").read_text(encoding="utf-8"))
    today = datetime.now(timezone.utc).date().isoformat()
    document = _score(runner, plugins, run_a / "predictions.jsonl", "--output", str(tmp_path / "results.json"))
    assert json.loads((tmp_path / "results.json").read_text(encoding="utf-8")) == document
    assert (document["model"], document["suite"], document["compat"]) == ("gpt-test", "demo/bench", "fixed")
    assert config["date"].startswith(today)  # eval records when the run started
    assert document["run"] == {"name": "run-a", "config_sha256": config["config_sha256"], "date": config["date"],
                               "evaluated": config["date"], "scored": today}
    # a submission CSV eval wrote: the run folder above submission/ gives the same run
    submission = next((run_a / "submission").glob("*.csv"))
    assert _score(runner, plugins, submission, "--compat", "official")["run"]["config_sha256"] == config["config_sha256"]
    text = runner.invoke(cli, ["score", str(run_a / "predictions.jsonl"), "--plugins-dir", str(plugins)]).stdout
    assert text.splitlines()[0] == (f"gpt-test on demo/bench (metrics: fixed); run run-a, "
                                    f"config {config['config_sha256'][:12]}, evaluated {config['date']}")

    # where config.json records the eval's date, that is the run's date
    (run_a / "config.json").write_text(json.dumps({**config, "date": "2025-03-04T05:06:07+00:00"}), encoding="utf-8")
    run = _score(runner, plugins, run_a / "predictions.jsonl")["run"]
    assert (run["date"], run["evaluated"], run["scored"]) == ("2025-03-04T05:06:07+00:00", "2025-03-04T05:06:07+00:00", today)

    # without config.json, the predictions lines still carry the config hash; the run is named after the file
    alone = tmp_path / "elsewhere" / "predictions.jsonl"
    alone.parent.mkdir()
    alone.write_bytes((run_a / "predictions.jsonl").read_bytes())
    run = _score(runner, plugins, alone)["run"]
    assert (run["name"], run["config_sha256"], run["evaluated"]) == ("elsewhere/predictions.jsonl", config["config_sha256"], None)


def test_an_unknown_task_hints_at_plugins_dir_only_where_that_is_plausible(runner, plugins, run_a, tmp_path):  # noqa: F811
    submission = next((run_a / "submission").glob("*.csv"))
    # demo/bench comes from a plugin folder: without --plugins-dir its tasks are unknown
    error = one_error(runner.invoke(cli, ["score", str(submission)]))
    assert "is not a task of an installed suite; if the suite comes from a plugin folder, pass --plugins-dir DIR." in error
    # a misspelt id of a known task is a typo, not a missing plugin folder
    lines = submission.read_text(encoding="utf-8").split("\n")
    task_id = lines[1].split(",", 1)[0]
    typo = tmp_path / "typo.csv"
    typo.write_text("\n".join([lines[0], task_id + "x" + lines[1][len(task_id):], *lines[2:]]), encoding="utf-8")
    error = one_error(runner.invoke(cli, ["score", str(typo), "--plugins-dir", str(plugins)]))
    assert "is not a task of an installed suite." in error and "Did you mean" in error and "--plugins-dir" not in error


# --------------------------------------------------------------------------- leaderboard: a section per suite and mode


def test_two_suites_are_two_column_groups_never_compared(runner, tmp_path):
    """The tester's case: gpt on two suites that both have a Multilingual MCQA category, another model on one."""
    gpt_a = _results(tmp_path / "gpt" / "a" / "results.json", "gpt", "meds-bench/meds-bench", {MCQA: 40.0}, run="a")
    gpt_b = _results(tmp_path / "gpt" / "b" / "results.json", "gpt", "mmedbench/mmedbench", {MCQA: 90.0}, run="b")
    other = _results(tmp_path / "other.json", "other", "meds-bench/meds-bench", {MCQA: 50.0, "Diagnosis": 10.0})
    markdown, table, page = _board(runner, tmp_path, gpt_a, gpt_b, other)

    # Markdown: a heading and a table per suite, the rows of that suite only, each labelled by its model alone
    first, second = markdown.split("## ")[1:]
    assert first.startswith("meds-bench/meds-bench (metrics: fixed)") and second.startswith("mmedbench/mmedbench (metrics: fixed)")
    assert "| gpt | 40.00 |  |" in first and "| other | 50.00 | 10.00 |" in first and "90.00" not in first
    assert "| gpt | 90.00 |" in second and "other" not in second and "Diagnosis" not in second
    assert "- gpt: run a, 2025-01-02" in first

    # CSV: one column group per suite, each row filling its own suite's group only
    meds, mmed = f"meds-bench/meds-bench: {MCQA} (mcqa_accuracy)", f"mmedbench/mmedbench: {MCQA} (mcqa_accuracy)"
    assert list(table[0]) == ["model", "suite", "compat", meds, "meds-bench/meds-bench: Diagnosis (mcqa_accuracy)", mmed,
                              "run", "config", "date"]
    assert [(row["model"], row["suite"], row[meds], row[mmed]) for row in table] == [
        ("gpt", "meds-bench/meds-bench", "40.00", ""), ("other", "meds-bench/meds-bench", "50.00", ""),
        ("gpt", "mmedbench/mmedbench", "", "90.00")]

    # HTML: a section per suite; the best is chosen within a suite (50 beats 40; gpt's 90 on the other suite is not
    # compared), and a suite with one row bolds nothing
    sections = _html_sections(page)
    assert list(sections) == ["meds-bench/meds-bench (metrics: fixed)", "mmedbench/mmedbench (metrics: fixed)"]
    meds_html, mmed_html = sections.values()
    assert '<td class="best">50.00</td>' in meds_html and "<td>40.00</td>" in meds_html and "90.00" not in meds_html
    assert "<td>90.00</td>" in mmed_html and "best" not in mmed_html


def test_the_same_model_twice_is_told_apart_by_its_run(runner, plugins, server, run_a, tmp_path):  # noqa: F811
    """Two real eval runs of gpt-test scored into results files of the same name: the rows name the run folders."""
    result = evaluate(runner, plugins, server, tmp_path / "run-b", "--quiet", "--max-new-tokens", "7")
    assert result.exit_code == 0, result.output
    paths = []
    for run in ("run-a", "run-b"):
        paths.append(tmp_path / "results" / run / "results.json")
        paths[-1].parent.mkdir(parents=True)
        _score(runner, plugins, tmp_path / run / "predictions.jsonl", "--output", str(paths[-1]))
    markdown, table, page = _board(runner, tmp_path, *paths)
    assert [row["model"] for row in table] == ["gpt-test (run-a)", "gpt-test (run-b)"]
    assert [row["run"] for row in table] == ["run-a", "run-b"] and table[0]["config"] != table[1]["config"]
    assert "| gpt-test (run-a) |" in markdown and '<th scope="row">gpt-test (run-b)</th>' in page

    # the same run name twice: the config hash tells them apart; results that record no run: their files do
    same = [_results(tmp_path / name / "results.json", "gpt", "s/s", {MCQA: 1.0}, run="eval", config=config)
            for name, config in (("x", "1" * 64), ("y", "2" * 64))]
    _, table, _ = _board(runner, tmp_path, *same)
    assert [row["model"] for row in table] == [f"gpt ({'1' * 12})", f"gpt ({'2' * 12})"]
    bare = [_results(tmp_path / name / "results.json", "gpt", "s/s", {MCQA: 1.0}) for name in ("p", "q")]
    for path in bare:
        document = json.loads(path.read_text(encoding="utf-8"))
        del document["run"]
        path.write_text(json.dumps(document), encoding="utf-8")
    _, table, _ = _board(runner, tmp_path, *bare)
    assert [row["model"] for row in table] == [f"gpt ({bare[0]})", f"gpt ({bare[1]})"]


def test_compat_modes_are_separate_sections(runner, tmp_path):
    """Official and fixed figures are both shown, in sections of their own: the best is chosen within a mode."""
    fixed = _results(tmp_path / "fixed.json", "gpt", "s/s", {MCQA: 40.0})
    official = _results(tmp_path / "official.json", "gpt", "s/s", {MCQA: 90.0}, compat="official")
    other = _results(tmp_path / "other.json", "other", "s/s", {MCQA: 50.0})
    markdown, table, page = _board(runner, tmp_path, fixed, official, other)
    assert [part.split("\n", 1)[0] for part in markdown.split("## ")[1:]] == ["s/s (metrics: fixed)", "s/s (metrics: official)"]
    column = f"fixed metrics: {MCQA} (mcqa_accuracy)"
    assert [(row["model"], row["compat"], row[column]) for row in table] == [
        ("gpt", "fixed", "40.00"), ("other", "fixed", "50.00"), ("gpt", "official", "")]
    assert table[2][f"official metrics: {MCQA} (mcqa_accuracy)"] == "90.00"
    fixed_html, official_html = _html_sections(page).values()
    assert '<td class="best">50.00</td>' in fixed_html and "best" not in official_html
