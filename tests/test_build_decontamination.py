"""A build never trains on a test instance it can read: every readable test set, partial suites, no suite at all."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import REGISTER_SUITES, make_plugin, task_document, write_json
from medsreg.cli import cli
from medsreg.overlap import tokens

DRUGS = ["metformin", "warfarin", "heparin", "amiodarone", "lisinopril", "furosemide", "digoxin", "insulin",
         "vancomycin", "ceftriaxone", "prednisone", "levothyroxine", "atorvastatin", "clopidogrel", "omeprazole"]
FINDINGS = ["fever", "cough", "chest pain", "dyspnea", "syncope", "jaundice", "rash", "hematuria", "edema", "confusion",
            "palpitations", "weight loss", "headache", "diarrhea", "back pain"]


def _vignette(generator: random.Random, number: int) -> str:
    """A distinct clinical question of ~40 words (no two share a 13-gram by chance)."""
    age, days = generator.randint(18, 90), generator.randint(1, 30)
    findings = ", ".join(generator.sample(FINDINGS, 3))
    drugs = generator.sample(DRUGS, 4)
    return (f"Case {number}: a {age}-year-old patient on {drugs[0]} reports {findings} for {days} days; creatinine "
            f"{generator.randint(60, 300)} umol/L, sodium {generator.randint(120, 150)} mmol/L. Which drug should be "
            f"stopped first?\nA. {drugs[1]}\nB. {drugs[2]}\nC. {drugs[3]}\nD. {drugs[0]}")


def _task(name: str, split: str, instances: list[tuple[str, str]], **medsreg) -> dict:
    return task_document(
        Categories=["Question Answering"], Definition=["Answer the multiple-choice question with its letter."],
        Split_Type=split,
        medsreg={"name": name, "version": "1.0", "license": "CC-BY-4.0", "access": "public", "synthetic": True, **medsreg},
        Instances=[{"id": identifier, "input": text, "output": ["D"]} for identifier, text in instances],
    )


@pytest.fixture
def leaky(tmp_path, isolated_plugins, no_sources) -> tuple[Path, list[str], list[str]]:
    """Plugin 'leaky': a suite of two test tasks, one readable (40 questions) and one whose source nobody
    configured; a training task of 60 questions of its own plus 25 of the readable test questions, copied
    (one upper-cased, so only a normalized comparison finds it). Returns (plugins folder, test inputs, copy ids)."""
    generator = random.Random(7)
    tests = [(f"qa-{i}", _vignette(generator, i)) for i in range(40)]
    own = [(f"train-{i}", _vignette(generator, 1000 + i)) for i in range(60)]
    copies = [(f"copy-{i}", text.upper() if i == 0 else text) for i, (_, text) in enumerate(tests[:25])]
    root = tmp_path / "plugins"
    plugin = make_plugin(root, "leaky", {
        "qa_train": _task("qa_train", "Train", own[:30] + copies + own[30:]),
        "qa_test": _task("qa_test", "Test", tests),
        "private_test": task_document(
            Categories=["Question Answering"], Split_Type="Test", Instances=None,
            medsreg={"name": "private_test", "version": "1.0", "license": "CC-BY-4.0", "access": "credentialed",
                     "instances_from": {"kind": "local", "key": "private-bench", "path": "private_test.json",
                                        "how_to_obtain": "Request access to the private bench."}}),
    }, init_py=REGISTER_SUITES)
    write_json(plugin / "medsreg_leaky" / "suite.json", {
        "name": "leaky/bench", "description": "One readable test set, one credentialed.", "shots": 3, "seed": 0,
        "categories": [
            {"name": "Open QA", "tasks": [{"task": "leaky/qa_test", "metrics": ["mcqa_accuracy"]}]},
            {"name": "Private QA", "tasks": [{"task": "leaky/private_test", "metrics": ["mcqa_accuracy"]}]},
        ],
    })
    return root, [text for _, text in tests], [identifier for identifier, _ in copies]


def _rows(folder: Path) -> list[dict]:
    from datasets import load_from_disk

    return load_from_disk(str(folder))["train"].to_list()


def _normalized(text: str) -> str:
    return " ".join(tokens(text))


@pytest.mark.parametrize("suite_args", [(), ("--suite", "leaky/bench")], ids=["default", "named-suite"])
def test_a_partial_suite_keeps_every_readable_test_instance_out_of_the_mixture(runner, leaky, tmp_path, suite_args):
    root, test_inputs, copy_ids = leaky
    result = runner.invoke(cli, ["build", "--plugins-dir", str(root), "--output", str(tmp_path / "out"), "--quiet",
                                 *suite_args])
    assert result.exit_code == 0, result.output
    # loud: the suite is partial, and says what it misses and how to get it
    assert "suite leaky/bench is partial: 1 of 2 tasks" in result.output
    assert "leaky/private_test" in result.output or "private-bench" in result.output
    rows = _rows(tmp_path / "out" / "mixture")
    assert len(rows) == 60
    assert not {row["instance_id"] for row in rows} & set(copy_ids)
    assert not {shot for row in rows for shot in row["shot_ids"]} & set(copy_ids)  # never as a k-shot example either
    prompts = [_normalized(row["prompt"]) for row in rows]
    leaked = [text for text in test_inputs[:25] if any(_normalized(text) in prompt for prompt in prompts)]
    assert leaked == []
    # the suite holds the readable test set, and the manifest names the missing one
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert list(manifest["suites"]["leaky/bench"]["tasks"]) == ["leaky/qa_test"]
    assert manifest["mixtures"]["mixture"]["tasks"]["leaky/qa_train"]["decontaminated"] == 25


def test_decontamination_needs_no_suite(runner, leaky, tmp_path):
    """A test set is kept out of training even when no suite is built (here: a spec naming no suite, --dry-run)."""
    root, _, _ = leaky
    (root / "leaky" / "medsreg_leaky" / "suite.json").unlink()  # the test tasks belong to no suite now
    (root / "leaky" / "medsreg_leaky" / "__init__.py").write_text(
        "from pathlib import Path\n\nfrom medsreg import hookimpl\n\n\n@hookimpl\ndef register_tasks():\n"
        "    return [Path(__file__).parent / 'tasks']\n", encoding="utf-8")
    result = runner.invoke(cli, ["build", "--plugins-dir", str(root), "--dry-run"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("leaky/qa_train"))
    assert line.split()[1:4] == ["85", "25", "60"]  # available, decontaminated, taken
    assert "not against 1 others (leaky/private_test)" in result.output  # named, not silently skipped


def test_require_complete_refuses_a_partial_suite(runner, leaky, tmp_path):
    root, _, _ = leaky
    result = runner.invoke(cli, ["build", "--plugins-dir", str(root), "--output", str(tmp_path / "out"),
                                 "--suite", "leaky/bench", "--require", "complete"])
    assert result.exit_code == 1
    assert "suite leaky/bench needs test sets that are not available here" in result.output
    assert "leaky/private_test" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()
    # the default build skips it instead, and says why
    result = runner.invoke(cli, ["build", "--plugins-dir", str(root), "--output", str(tmp_path / "out"), "--quiet",
                                 "--require", "complete"])
    assert result.exit_code == 0, result.output
    assert "skipped suite leaky/bench" in result.output
    assert not (tmp_path / "out" / "suites").exists()


def test_a_test_set_without_an_instance_is_missing_not_available(runner, leaky, tmp_path):
    """A task whose data gives no instance is not 'available': the suite is partial and names it."""
    root, _, _ = leaky
    tasks = root / "leaky" / "medsreg_leaky" / "tasks"
    write_json(tasks / "empty_test.json", _task("empty_test", "Test", []))
    suite_file = root / "leaky" / "medsreg_leaky" / "suite.json"
    suite = json.loads(suite_file.read_text(encoding="utf-8"))
    suite["categories"][0]["tasks"].append({"task": "leaky/empty_test", "metrics": ["mcqa_accuracy"]})
    write_json(suite_file, suite)
    listed = runner.invoke(cli, ["list", "--plugins-dir", str(root), "--json", "--split", "test"])
    assert {row["name"]: row["status"] for row in json.loads(listed.stdout)}["leaky/empty_test"] == "empty"
    result = runner.invoke(cli, ["build", "--plugins-dir", str(root), "--output", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    availability = manifest["suites"]["leaky/bench"]["availability"]
    assert availability["partial_categories"] == {"Open QA": ["leaky/empty_test"], "Private QA": ["leaky/private_test"]}
    assert {"task": "leaky/empty_test", "status": "empty"} in manifest["decontamination"]["not_checked"]


@pytest.fixture
def two_leaky_tasks(tmp_path, isolated_plugins, no_sources) -> Path:
    """Plugin 'twice': a test task of 40 questions and two training tasks, each with 10 of them copied."""
    generator = random.Random(11)
    tests = [(f"qa-{i}", _vignette(generator, i)) for i in range(40)]
    documents = {"qa_test": _task("qa_test", "Test", tests)}
    for number in range(2):
        own = [(f"train{number}-{i}", _vignette(generator, 1000 * (number + 1) + i)) for i in range(50)]
        copies = [(f"copy{number}-{i}", text) for i, (_, text) in enumerate(tests[10 * number: 10 * number + 10])]
        documents[f"qa_train_{number}"] = _task(f"qa_train_{number}", "Train", own[:20] + copies + own[20:])
    root = tmp_path / "plugins"
    make_plugin(root, "twice", documents)
    return root


def test_tasks_read_before_the_index_is_made_are_decontaminated_all_the_same(runner, two_leaky_tasks, tmp_path,
                                                                            monkeypatch):
    """The index is made while the workers read the training tasks (mixture.survey); a task read before it is ready
    is scanned afterwards from its pool file. Here the index takes a second, so both tasks are: the same rows are
    removed, and the mixture has the same bytes, as when one process makes the index first and reads after."""
    import time

    from medsreg.overlap import OverlapIndex

    def build(workers: int, output: Path) -> dict:
        result = runner.invoke(cli, ["build", "--plugins-dir", str(two_leaky_tasks), "--output", str(output),
                                     "--workers", str(workers), "--quiet"])
        assert result.exit_code == 0, result.output
        return json.loads((output / "manifest.json").read_text(encoding="utf-8"))

    alone = build(1, tmp_path / "alone")
    made = OverlapIndex.__init__

    def slowly(self, *args, **kwargs):
        time.sleep(1.0)
        made(self, *args, **kwargs)

    monkeypatch.setattr(OverlapIndex, "__init__", slowly)
    late = build(2, tmp_path / "late")
    removed = [[manifest["mixtures"]["mixture"]["tasks"][f"twice/qa_train_{number}"]["decontaminated"]
                for number in range(2)] for manifest in (alone, late)]
    assert removed[0] == removed[1] and min(removed[1]) >= 10
    assert late["datasets"]["mixture"]["sha256"] == alone["datasets"]["mixture"]["sha256"]
    rows = _rows(tmp_path / "late" / "mixture")
    assert len(rows) == 120 - sum(removed[1]) and not any(row["instance_id"].startswith("copy") for row in rows)
