"""Instance 'split' marks agree with the task's Split Type (validate), and a build never trains on an instance marked
test, whatever the Split Type says (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_plugin, task_document, write_json
from medsreg.build import plan
from medsreg.catalog import LoadedTask
from medsreg.cli import cli
from medsreg.models import Task
from medsreg.validate.content import SPLIT_PROBLEMS_PER_TASK, check_split_marks
from medsreg.validate.problems import Options
from medsreg.validate.runner import validate_paths


def _document(name: str, split_type: str, marks: list[str | None], prefix: str = "case") -> dict:
    """A valid task document whose instance i carries ``"split": marks[i]`` (None: no mark)."""
    instances = [{"id": f"{name}-{i}", "input": f"{prefix} {name} number {i}: the patient reports complaint variant {i}.",
                  "output": [f"answer {i % 3}"]} for i in range(len(marks))]
    for instance, mark in zip(instances, marks):
        if mark is not None:
            instance["split"] = mark
    return task_document(Categories=["Question Answering"], Split_Type=split_type, Instances=instances,
                         medsreg={"name": name, "version": "1.0", "license": "CC-BY-4.0", "access": "public",
                                  "synthetic": True})


def _task(split: str | None, marks: list[str | None]) -> Task:
    instances = [{"id": f"i{n}", "input": f"question {n}", "output": ["a"]} for n in range(len(marks))]
    for instance, mark in zip(instances, marks):
        if mark is not None:
            instance["split"] = mark
    return Task(name="p/t", split=split, categories=["Question Answering"], definition=["Answer."], instances=instances)


# --------------------------------------------------------------------------- validate


@pytest.mark.parametrize(("split_type", "marks", "wrong", "rule"), [
    ("Train", [None] * 5 + ["test"] + [None] * 6, 5, 'a Train task holds no instance marked "split": "test"'),
    ("Test", ["test"] * 3 + ["train"] + ["test"] * 8, 3, 'a Test task holds no instance marked "split": "train"'),
    ("Train/Test", ["train"] * 7 + [None] + ["test"] * 4, 7, 'a Train/Test task gives the side of each instance'),
], ids=["train-task-marked-test", "test-task-marked-train", "train-test-task-unmarked"])
def test_validate_locates_each_instance_that_contradicts_the_split_type(runner, tmp_path, split_type, marks, wrong, rule):
    folder = make_plugin(tmp_path, "splits", {"bad": _document("bad", split_type, marks)})
    for flags in ([], ["--strict"]):
        result = runner.invoke(cli, ["validate", *flags, str(folder)])
        assert result.exit_code == 1, result.output
        (line,) = [line for line in result.output.splitlines() if "[split-marks]" in line]
        # the task file and JSON path, the instance's index and id, the rule, and how to fix it
        assert f"bad.json::$.Instances[{wrong}]: error: instance {wrong} (id 'bad-{wrong}') of splits/bad" in line
        assert rule in line
        assert ('give each such instance "split": "train" or "split": "test"' if split_type == "Train/Test"
                else 'set the Split Type to "Train/Test" and give every instance a "split"') in line


@pytest.mark.parametrize(("split_type", "marks"), [
    ("Train", [None] * 12),
    ("Train", ["train"] * 12),
    ("Test", [None] * 12),
    ("Test", ["test"] * 12),
    ("Train/Test", ["train"] * 8 + ["test"] * 4),
], ids=["train-unmarked", "train-marked-train", "test-unmarked", "test-marked-test", "train-test-all-marked"])
def test_validate_accepts_marks_that_agree_with_the_split_type(runner, tmp_path, split_type, marks):
    folder = make_plugin(tmp_path, "splits", {"good": _document("good", split_type, marks)})
    result = runner.invoke(cli, ["validate", "--strict", str(folder)])
    assert result.exit_code == 0, result.output
    assert "split-marks" not in result.output


def test_a_wholly_unmarked_train_test_task_gives_ten_located_lines_and_one_summary(tmp_path):
    folder = make_plugin(tmp_path, "splits", {"both": _document("both", "Train/Test", [None] * 50)})
    problems = [p for p in validate_paths([folder], Options()).problems if p.check == "split-marks"]
    assert len(problems) == SPLIT_PROBLEMS_PER_TASK + 1 and all(p.severity == "error" for p in problems)
    assert [p.path for p in problems[:-1]] == [f"$.Instances[{i}]" for i in range(SPLIT_PROBLEMS_PER_TASK)]
    assert problems[-1].path == "$.Instances" and problems[-1].file.endswith("both.json")
    assert problems[-1].message.startswith("... and 40 more instances of splits/both (50 in all, from Instances[0])")


def test_marks_on_a_task_without_a_split_type_are_a_warning(tmp_path):
    folder = make_plugin(tmp_path, "splits", {"loose": _document("loose", "Train", ["test", None] * 6)})
    path = folder / "medsreg_splits" / "tasks" / "loose.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    del document["Split Type"]
    write_json(path, document)
    (problem,) = [p for p in validate_paths([folder], Options()).problems if p.check == "split-marks"]
    assert problem.severity == "warning" and "6 instances have a \"split\" but the task has no 'Split Type'" in problem.message


def test_instances_read_from_a_data_file_are_located_at_their_record():
    item = LoadedTask(_task("train", [None, "test"]), "plugin p (medsreg_p)", data_path="/data/release/task7_t.json")
    (problem,) = check_split_marks(item, Options())
    assert (problem.file, problem.path) == ("/data/release/task7_t.json", "record 1")
    assert "instance 1 (id 'i1') of p/t breaks its Split Type" in problem.message


def test_the_bundled_plugins_break_no_split_rule():
    report = validate_paths([Path(__file__).resolve().parents[1] / "plugins"], Options(select=frozenset({"split-marks"})))
    assert report.problems == []


# --------------------------------------------------------------------------- which instances a build reads


@pytest.mark.parametrize(("split", "marks", "training", "test"), [
    ("train", [None, "train", "test"], ["i0", "i1"], ["i2"]),
    ("train/test", [None, "train", "test"], ["i1"], ["i2"]),
    ("test", [None, "train", "test"], [], ["i0", "i1", "i2"]),
    (None, [None, "test"], [], ["i0", "i1"]),
])
def test_an_instance_marked_test_is_never_a_training_instance(split, marks, training, test):
    # plan.test_instances, not imported by name: pytest would collect it as a test
    task = _task(split, marks)
    assert [instance["id"] for instance in plan.training_instances(task)] == training
    assert [instance["id"] for instance in plan.test_instances(task)] == test


def test_left_out_reason_names_the_task_the_count_and_the_fix():
    assert plan.left_out_reason(_task("train", [None, "train"])) is None
    assert plan.left_out_reason(_task("test", ["train"])) is None  # never trained on: nothing is left out of a mixture
    reason = plan.left_out_reason(_task("train", ["test", None, "test"]))
    assert reason.startswith('p/t: 2 of its 3 instances break its Split Type (a Train task holds no instance marked '
                             '"split": "test"), so the mixture leaves them out; move such instances')
    assert "1 of its 2 instances" in plan.left_out_reason(_task("train/test", [None, "train"]))


# --------------------------------------------------------------------------- build


@pytest.fixture
def marked(tmp_path, isolated_plugins, no_sources) -> Path:
    """Plugin 'split' with a clean Train task of 20 instances and a Train task whose 50 instances are marked test."""
    root = tmp_path / "plugins"
    make_plugin(root, "split", {"clean": _document("clean", "Train", [None] * 20, "training"),
                                "marked": _document("marked", "Train", ["test"] * 50, "held-out")})
    return root


def test_build_puts_no_instance_marked_test_in_the_mixture(runner, marked, tmp_path):
    from datasets import load_from_disk

    result = runner.invoke(cli, ["build", "--plugins-dir", str(marked), "--output", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert ('split/marked: 50 of its 50 instances break its Split Type (a Train task holds no instance marked "split": '
            '"test"), so the mixture leaves them out') in result.output  # said, not silent
    rows = load_from_disk(str(tmp_path / "out" / "mixture"))["train"].to_list()
    assert len(rows) == 20 and {row["task"] for row in rows} == {"split/clean"}
    used = {row["instance_id"] for row in rows} | {shot for row in rows for shot in row["shot_ids"]}
    assert not {identifier for identifier in used if identifier.startswith("marked-")}
    assert not [row for row in rows if "held-out" in row["prompt"]]


def test_a_train_task_partly_marked_test_gives_only_its_other_instances(runner, marked):
    make_plugin(marked, "split", {"marked": _document("marked", "Train", ["test"] * 10 + [None] * 30, "held-out")})
    result = runner.invoke(cli, ["build", "--plugins-dir", str(marked), "--dry-run"])
    assert result.exit_code == 0, result.output
    table = {line.split()[0]: line.split()[1:4] for line in result.output.splitlines() if line.startswith("split/")}
    assert table == {"split/clean": ["20", "0", "20"], "split/marked": ["30", "0", "30"]}
    assert "warning: split/marked: 10 of its 40 instances break its Split Type" in result.output


def test_a_train_test_task_trains_only_on_instances_marked_train(runner, marked, tmp_path):
    """Unmarked instances of a Train/Test task may be test instances: left out, loudly; wholly unmarked, the task is not
    available (skipped with a note by a default build, an error for a spec that names it)."""
    make_plugin(marked, "split", {"marked": _document("marked", "Train/Test", ["train"] * 6 + ["test"] * 4 + [None] * 5)})
    result = runner.invoke(cli, ["build", "--plugins-dir", str(marked), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert next(line for line in result.output.splitlines() if line.startswith("split/marked")).split()[1] == "6"
    assert "warning: split/marked: 5 of its 15 instances break its Split Type" in result.output

    make_plugin(marked, "split", {"marked": _document("marked", "Train/Test", [None] * 15)})
    result = runner.invoke(cli, ["build", "--plugins-dir", str(marked), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if line.startswith("split/marked")]
    assert "not available here and are left out (e.g. split/marked: 15 of its 15 instances" in result.output

    spec = write_json(tmp_path / "only.json", {"include": [{"task": "split/marked"}]})
    result = runner.invoke(cli, ["build", "--plugins-dir", str(marked), "--spec", str(spec), "--dry-run"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "include[0].task: split/marked: 15 of its 15 instances break its Split Type" in result.output
    assert 'give each such instance "split": "train" or "split": "test"' in result.output
