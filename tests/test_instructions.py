"""Instruction sensitivity: ``medsreg eval --instructions K`` on the samples suite with a tiny local Llama (each
instance under the suite's instruction, byte for byte a plain run's prompt, and K seeded rewrites of its task's
instruction), and ``medsreg score``'s spread (mean, std, worst and best instruction) on known outputs; and
``score`` of an ``--shuffle-options`` run (the suite's own prompts scored, robustness reported apart)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from medsreg.build.render import instruction_rewrites
from medsreg.cli import cli
from medsreg.models import Task
from medsreg.robustness import category_spread, instruction_spread

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_models import save_tiny_model

SAMPLES = Path(__file__).resolve().parent.parent / "plugins" / "samples" / "medsreg_samples" / "tasks"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="module")
def runs(model_dir, tmp_path_factory) -> dict[str, Path]:
    """A plain run and an --instructions 2 run of the samples suite (the bundled plugins only)."""
    from importlib.metadata import entry_points

    from click.testing import CliRunner
    from conftest import BUNDLED_PLUGINS

    folder = tmp_path_factory.mktemp("runs")
    others = sorted({entry.name for entry in entry_points(group="medsreg")} - set(BUNDLED_PLUGINS))
    patch = pytest.MonkeyPatch()
    patch.setenv("MEDSREG_DISABLED_PLUGINS", ",".join(others))
    patch.setenv("MEDSREG_CONFIG", str(folder / "missing-config.toml"))
    try:
        found = {}
        for name, extra in (("plain", []), ("instructions", ["--instructions", "2"])):
            result = CliRunner().invoke(cli, ["eval", "--model", str(model_dir), "--suite", "samples", "--output",
                                              str(folder / name), "--max-new-tokens", "4", "--quiet", *extra])
            assert result.exit_code == 0, result.output
            found[name] = folder / name
        return found
    finally:
        patch.undo()


def lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "predictions.jsonl").read_text().splitlines()]


def definitions(task: str) -> list[str]:
    return json.loads((SAMPLES / f"{task}.json").read_text())["Definition"]


def test_instructions_2_gives_3_predictions_per_instance_and_instruction_0_is_the_plain_prompt(runs):
    plain, varied = lines(runs["plain"]), lines(runs["instructions"])
    assert len(plain) == 24 and len(varied) == 72
    by_instance: dict[tuple[str, str], list[dict]] = {}
    for record in varied:
        by_instance.setdefault((record["task"], record["instance_id"]), []).append(record)
    assert len(by_instance) == 24
    assert all(sorted(r["instruction_index"] for r in found) == [0, 1, 2] for found in by_instance.values())
    plain_hashes = {(r["task"], r["instance_id"]): r["prompt_sha256"] for r in plain}
    for key, found in by_instance.items():
        by_index = {r["instruction_index"]: r for r in found}
        assert by_index[0]["prompt_sha256"] == plain_hashes[key]  # instruction 0: byte for byte the plain prompt
        assert by_index[0]["instruction"] == 0
        assert len({r["prompt_sha256"] for r in found}) == 3  # the rewrites are other prompts
        assert {by_index[1]["instruction"], by_index[2]["instruction"]} <= {1, 2, 3}
        assert by_index[1]["instruction"] != by_index[2]["instruction"]
        assert all(r["references"] == by_index[0]["references"] for r in found)
    # the same rewrites for every instance of a task (a per-task choice, so that instructions compare)
    for task in ("samples/mcqa_drug_choice_test", "samples/chemical_ner_test"):
        chosen = {(r["instruction_index"], r["instruction"]) for r in varied if r["task"] == task}
        assert len(chosen) == 3
    # the submission holds the suite's own prompts only: the same files as the plain run's
    for path in (runs["plain"] / "submission").iterdir():
        assert (runs["instructions"] / "submission" / path.name).read_text() == path.read_text()
    config = json.loads((runs["instructions"] / "config.json").read_text())
    assert config["config"]["instructions"] == 2 and "instructions" not in json.loads(
        (runs["plain"] / "config.json").read_text())["config"]


def test_the_rewrites_render_their_instruction_with_the_same_shots(runs):
    """The rows of instruction k differ from instruction 0's only by the instruction's text."""
    from medsreg.evaluate.rows import suite_rows_from_catalog

    rows = suite_rows_from_catalog("samples", (), lambda line: None, instructions=2).rows
    assert len(rows) == 72
    for row in rows:
        assert definitions(row["task"].split("/")[1])[row["instruction"]] in row["prompt"]
    first = [row for row in rows if row["instance_id"] == "ner-test-003"]
    base = first[0]
    for row in first[1:]:
        own, other = definitions("chemical_ner_test")[0], definitions("chemical_ner_test")[row["instruction"]]
        assert row["prompt"] == base["prompt"].replace(own, other) and row["shot_ids"] == base["shot_ids"]
        assert row["shot_ids"]  # a 3-shot task: the shots are kept


def test_score_prints_the_spread_over_instructions(runs, runner):
    result = runner.invoke(cli, ["score", str(runs["instructions"] / "predictions.jsonl")])
    assert result.exit_code == 0, result.output
    section = result.output.split("Instruction sensitivity", 1)[1]
    header = section.splitlines()[1].split()
    assert header[-5:] == ["metric", "mean", "std", "worst", "best"]
    assert "samples/mcqa_drug_choice_test" in section and "samples/chemical_ner_test" in section
    data = json.loads(runner.invoke(cli, ["score", str(runs["instructions"] / "predictions.jsonl"),
                                          "--format", "json"]).output)
    task = next(row for row in data["rows"] if row["name"] == "samples/mcqa_drug_choice_test")
    spread = task["instructions"]["mcqa_accuracy"]
    assert set(spread) >= {"mean", "std", "min", "max", "worst", "best", "scores"} and len(spread["scores"]) == 3
    assert spread["scores"][0] == task["scores"]["mcqa_accuracy"]  # instruction 0 is the task's score


def record(task: str, instance: str, index: int, output: str, reference: str, metric: str = "mcqa_accuracy",
           category: str = "MCQA", **extra) -> dict:
    return {"suite": "s", "task": task, "legacy_id": None, "category": category, "group": None, "average": True,
            "metrics": [metric], "instance_id": instance, "prompt_sha256": f"{task}{instance}{index}",
            "references": [reference], "output": output, "model": "m", "config_sha256": "c",
            "instruction_index": index, "instruction": index, **extra}


def test_the_spread_is_the_scores_of_each_instruction(tmp_path, runner):
    """Instruction 0: 2 of 4 right (50), instruction 1: 4 of 4 (100), instruction 2: 0 of 4 (0)."""
    right = {0: {"a", "b"}, 1: {"a", "b", "c", "d"}, 2: set()}
    rows = [record("t/mcqa", instance, index, "A" if instance in right[index] else "B", "A. x")
            for index in range(3) for instance in "abcd"]
    rows += [record("t/other", instance, index, "A" if index == 0 else "B", "A. y") for index in range(2)
             for instance in "ab"]  # 100 then 0
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    data = json.loads(runner.invoke(cli, ["score", str(path), "--format", "json"]).output)
    by_name = {row["name"]: row for row in data["rows"]}
    assert by_name["t/mcqa"]["scores"] == {"mcqa_accuracy": 50.0}  # the suite's own prompts only
    spread = by_name["t/mcqa"]["instructions"]["mcqa_accuracy"]
    assert spread["scores"] == [50.0, 100.0, 0.0] and spread["mean"] == 50.0
    assert spread["std"] == pytest.approx(round(math.sqrt((0 + 2500 + 2500) / 3), 4))
    assert (spread["min"], spread["worst"], spread["max"], spread["best"]) == (0.0, 2, 100.0, 1)
    other = by_name["t/other"]["instructions"]["mcqa_accuracy"]
    assert (other["mean"], other["std"], other["worst"]) == (50.0, 50.0, 1)
    category = by_name["MCQA"]["instructions"]["mcqa_accuracy"]  # the mean of its tasks' figures
    assert category["mean"] == 50.0 and category["min"] == 0.0 and category["max"] == 100.0
    assert category["std"] == pytest.approx((spread["std"] + 50.0) / 2, abs=1e-3) and category["tasks"] == 2


def test_a_rewrite_predicted_twice_is_refused_with_its_instruction(tmp_path, runner):
    rows = [record("t/mcqa", "a", 0, "A", "A. x"), record("t/mcqa", "a", 1, "A", "A. x"),
            record("t/mcqa", "a", 1, "B", "A. x")]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = runner.invoke(cli, ["score", str(path)])
    assert result.exit_code == 1 and "p.jsonl:3: t/mcqa instance a is predicted twice under instruction 1" in result.output


def test_a_shuffled_run_scores_its_own_prompts_and_reports_each_order(tmp_path, runner):
    """Two orders: a and b right under order 0, only a under order 1: accuracy 100 / 50, consistency 50."""
    rows = [record("t/mcqa", "a", 0, "A", "A. x", permutation=0), record("t/mcqa", "b", 0, "B", "B. y", permutation=0),
            record("t/mcqa", "a", 0, "B", "B. x", permutation=1), record("t/mcqa", "b", 0, "B", "C. y", permutation=1)]
    for row in rows:
        del row["instruction_index"], row["instruction"]
        row["prompt_sha256"] += str(row["permutation"])
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    for compat in ("fixed", "official"):
        data = json.loads(runner.invoke(cli, ["score", str(path), "--format", "json", "--compat", compat]).output)
        task = next(row for row in data["rows"] if row["name"] == "t/mcqa")
        assert task["count"] == 2 and task["scores"] == {"mcqa_accuracy": 100.0}
        assert task["options"] == {"accuracy_per_permutation": [100.0, 50.0], "consistency": 50.0, "items": 2}
    text = runner.invoke(cli, ["score", str(path)]).output
    assert "Option-order robustness" in text and "100.00  50.00" in text


def test_rewrites_are_a_seeded_choice_per_task():
    task = Task.model_construct(name="t/x", definition=["own", "r1", "r2", "r3", "r4"])
    first = instruction_rewrites(0, task, 2)
    assert first == instruction_rewrites(0, task, 2) and len(set(first)) == 2 and 0 not in first
    assert sorted(instruction_rewrites(0, task, 10)) == [1, 2, 3, 4]  # all it has
    assert {tuple(instruction_rewrites(seed, task, 2)) for seed in range(20)} != {tuple(first)}


def test_instruction_and_category_spread_on_ties():
    spread = instruction_spread({0: {"m": 10.0}, 1: {"m": 10.0}, 2: {"m": 30.0}}, {0: 0, 1: 5, 2: 7})
    assert spread["m"]["worst"] == 0 and spread["m"]["best"] == 2 and spread["m"]["instructions"] == [0, 5, 7]
    assert category_spread([spread, {"m": {**spread["m"], "min": 0.0}}])["m"]["min"] == 5.0


def test_instructions_with_a_built_suite_folder_is_one_sentence(runner, tmp_path, model_dir):
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "dataset_dict.json").write_text("{}")
    result = runner.invoke(cli, ["eval", "--model", str(model_dir), "--data", str(folder), "--instructions", "2"])
    assert result.exit_code == 1 and "give --suite NAME instead of --data" in result.output


def test_the_leaderboard_shows_the_spread_beside_the_score(tmp_path, runner):
    rows = [record("t/mcqa", instance, index, "A" if (index, instance) != (1, "a") else "B", "A. x")
            for index in range(2) for instance in "ab"]  # instruction 0: 100, instruction 1: 50
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert runner.invoke(cli, ["score", str(path), "--output", str(tmp_path / "r.json")]).exit_code == 0
    result = runner.invoke(cli, ["leaderboard", str(tmp_path / "r.json"), "--output", str(tmp_path / "board")])
    assert result.exit_code == 0, result.output
    assert "| m | 100.00 ±25.00 |" in (tmp_path / "board" / "leaderboard.md").read_text()
    assert "worst 50.00, mean 75.00, best 100.00" in (tmp_path / "board" / "index.html").read_text()
