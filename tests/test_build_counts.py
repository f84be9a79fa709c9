"""Every row of a build accounted for: the manifest's counts equal the rows of the written datasets, and the rows
left out (decontaminated, too long for --max-length, with an empty answer) are counted per task and reason in the
manifest, the card and the end of 'medsreg build''s output, for a plain build, a --tokenizer build and a --pack one.

``assert_build_counts(output)`` checks any build folder; other build tests may call it on theirs.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import REGISTER_SUITES, make_plugin, task_document, write_json

pytest.importorskip("datasets")

QUIZ = "Which enzyme does allopurinol inhibit in the purine degradation pathway?"
LONG = " ".join(["the patient has fever and cough and chest pain for days"] * 30)
# the assistant turn ends with nothing after the answer: an empty answer then leaves no label to learn
NO_END_TEMPLATE = ("{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}"
                   "{% if message['role'] != 'assistant' %}{{ eos_token }}\n{% endif %}{% endfor %}"
                   "{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
MAX_LENGTH = 192


def assert_build_counts(output: Path) -> dict:
    """The manifest of the build in ``output`` against its datasets, read back with load_from_disk: every dataset's
    rows, each mixture's rows (examples; with --pack, its blocks apart) in total and per task, and the rows left out
    adding up to what the plan took. Returns the manifest."""
    from datasets import load_from_disk

    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    written = {}
    for path, entry in manifest["datasets"].items():
        written[path] = load_from_disk(str(output / path))[entry["split"]]
        assert entry["rows"] == written[path].num_rows, path
    for path, mixture in manifest["mixtures"].items():
        data = written[path]
        if "blocks" in mixture:  # packed: the dataset's rows are blocks; each lists the tasks of its examples
            assert mixture["blocks"] == data.num_rows
            per_task = Counter(task for tasks in data["tasks"] for task in tasks)
        else:
            assert mixture["rows"] == data.num_rows
            per_task = Counter(data["task"])
        assert mixture["rows"] == sum(per_task.values())
        assert {name: task["rows"] for name, task in mixture["tasks"].items() if task["rows"]} == dict(per_task)
        for name, task in mixture["tasks"].items():
            assert task["rows"] == task["taken"] - sum(task["dropped"].values()), name
        assert mixture["planned"] == sum(task["taken"] for task in mixture["tasks"].values())
        assert mixture["rows"] == mixture["planned"] - sum(mixture["dropped"].values())
        assert mixture["decontaminated"] == sum(task["decontaminated"] for task in mixture["tasks"].values())
        tokenization = manifest["datasets"][path].get("tokenization")
        if tokenization is not None:
            assert tokenization["rows"] == mixture["planned"] and tokenization["dropped"] == sum(mixture["dropped"].values())
            assert tokenization["dropped_by_reason"] == mixture["dropped"]
    for name, suite in manifest["suites"].items():
        assert sum(task["rows"] for task in suite["tasks"].values()) == written[suite["path"]].num_rows, name
    return manifest


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory) -> Path:
    pytest.importorskip("transformers")
    from tiny_models import save_tokenizer

    return save_tokenizer(tmp_path_factory.mktemp("tokenizer") / "no-end", template=NO_END_TEMPLATE)


@pytest.fixture
def plugins(tmp_path, isolated_plugins, no_sources) -> Path:
    return make_demo_plugins(tmp_path / "plugins")


def make_demo_plugins(root: Path) -> Path:
    """Plugin 'demo' in ``root``: 'notes' (short rows, a planted copy of the suite's question, two empty answers),
    'reports' (every input far longer than MAX_LENGTH tokens), a test task and its suite."""
    def task(name: str, split: str, instances: list[dict]) -> dict:
        return task_document(Categories=["Diagnosis"], Definition=["Give the diagnosis."], Split_Type=split,
                             Instances=instances, medsreg={"name": name, "version": "1.0", "license": "CC0-1.0",
                                                           "access": "public", "synthetic": True})

    notes = [{"id": f"n{i}", "input": f"patient {i} has fever and cough", "output": ["" if i in (3, 7) else f"pneumonia {i}"]}
             for i in range(12)] + [{"id": "n-copy", "input": QUIZ, "output": ["xanthine oxidase"]}]
    reports = [{"id": f"r{i}", "input": f"report {i}: {LONG}", "output": ["cardiac"]} for i in range(6)]
    quiz = [{"id": "q0", "input": QUIZ, "output": ["xanthine oxidase"]},
            {"id": "q1", "input": "Which drug is a loop diuretic?", "output": ["furosemide"]}]
    demo = make_plugin(root, "demo", {"notes": task("notes", "Train", notes), "reports": task("reports", "Train", reports),
                                      "quiz_test": task("quiz_test", "Test", quiz)}, init_py=REGISTER_SUITES)
    write_json(demo / "medsreg_demo" / "suite.json", {
        "name": "demo/bench", "description": "One quiz.",
        "categories": [{"name": "QA", "tasks": [{"task": "demo/quiz_test", "metrics": ["mcqa_accuracy"]}]}]})
    return root


def _build(runner, plugins: Path, output: Path, *args: str):
    from medsreg.cli import cli

    result = runner.invoke(cli, ["build", "--plugins-dir", str(plugins), "--output", str(output), *args])
    assert result.exit_code == 0, result.output
    return result


def _expected_drops(mixture, tokenizer) -> dict[str, dict[str, int]]:
    """From the rows of the plain build, independently of tokenize.py: a row whose prompt fills MAX_LENGTH is too
    long; a row that fits with an empty answer has nothing to learn under NO_END_TEMPLATE."""
    expected: dict[str, Counter] = {}
    for row in mixture:
        prompt = tokenizer.apply_chat_template(row["messages"][:-1], add_generation_prompt=True, return_dict=False)
        reason = "too_long" if len(prompt) >= MAX_LENGTH else ("empty_answer" if not row["completion"] else None)
        if reason:
            expected.setdefault(row["task"], Counter())[reason] += 1
    return {task: dict(reasons) for task, reasons in sorted(expected.items())}


@pytest.mark.parametrize("config", ["plain", "tokenizer", "tokenizer --pack"])
def test_manifest_counts_equal_the_written_rows_and_every_left_out_row_is_explained(
        runner, plugins, tokenizer_dir, tmp_path, config):
    from datasets import load_from_disk

    from medsreg.build.tokenize import load_chat_tokenizer

    plain = _build(runner, plugins, tmp_path / "plain")
    manifest = assert_build_counts(tmp_path / "plain")
    assert manifest["mixtures"]["mixture"]["tasks"]["demo/notes"]["decontaminated"] == 1  # the planted copy of the quiz
    if config == "plain":
        assert manifest["mixtures"]["mixture"]["rows"] == manifest["mixtures"]["mixture"]["planned"] and manifest["mixtures"]["mixture"]["dropped"] == {}
        assert "rows left out: 1 of 2 tasks lost some" in plain.stdout and "decontaminated: 1 training instance" in plain.stdout
        return

    rows = load_from_disk(str(tmp_path / "plain" / "mixture"))["train"]
    expected = _expected_drops(rows, load_chat_tokenizer(tokenizer_dir))
    assert expected["demo/reports"] == {"too_long": manifest["mixtures"]["mixture"]["tasks"]["demo/reports"]["taken"]}
    assert expected["demo/notes"].get("empty_answer")  # the fixture exercises both reasons

    output = tmp_path / "tokenized"
    args = ["--tokenizer", str(tokenizer_dir), "--max-length", str(MAX_LENGTH)] + (["--pack"] if "pack" in config else [])
    result = _build(runner, plugins, output, *args)
    manifest = assert_build_counts(output)
    mixture = manifest["mixtures"]["mixture"]
    assert {name: task["dropped"] for name, task in mixture["tasks"].items() if task["dropped"]} == expected
    assert mixture["tasks"]["demo/reports"]["rows"] == 0
    assert ("blocks" in mixture) == ("pack" in config)

    # the end of the output: a line per task that lost rows, the totals, how to keep each kind
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("rows left out: 2 of 2 tasks lost some"))
    table = {line.split()[0]: [int(cell.replace(",", "")) for cell in line.split()[1:]]
             for line in lines[start + 3:] if line.startswith("demo/")}
    reports = mixture["tasks"]["demo/reports"]
    notes = mixture["tasks"]["demo/notes"]
    # available, decontaminated, planned, too long, empty answer, in the mixture
    assert table["demo/reports"] == [reports["available"], 0, reports["taken"], reports["taken"], 0, 0]
    assert table["demo/notes"] == [notes["available"], 1, notes["taken"], expected["demo/notes"].get("too_long", 0),
                                   expected["demo/notes"]["empty_answer"], notes["rows"]]
    total = next(line for line in lines[start:] if line.startswith("total ("))
    assert total.split()[-1] == f"{mixture['rows']:,}"
    too_long = sum(reasons.get("too_long", 0) for reasons in expected.values())
    assert f"too long: {too_long:,} rows whose prompt alone fills {MAX_LENGTH} tokens" in result.stdout
    assert "raise --max-length" in result.stdout and "empty answer: " in result.stdout

    size = f"{mixture['rows']:,} examples in {mixture['blocks']:,} blocks" if "pack" in config else f"{mixture['rows']:,} rows"
    assert f"mixture {size} from 2 tasks (1 training instance removed by decontamination)" in result.stdout

    card = (output / "README.md").read_text(encoding="utf-8")
    examples = f"a training mixture of {mixture['rows']:,} chat examples"
    assert examples + (f" packed into {mixture['blocks']:,} blocks" if "pack" in config else " from") in card
    assert (f"| `demo/reports` | — | Diagnosis | unit-test source | CC0-1.0 | {reports['available']} | 0 | "
            f"{reports['taken']} | {reports['taken']} | 0 | 0 |") in card
    assert f"- too long: {too_long:,} rows whose prompt alone fills {MAX_LENGTH} tokens" in card


@pytest.mark.parametrize("extra", [[], ["--tokenizer"], ["--tokenizer", "--pack"]])
def test_the_bundled_samples_build_counts_add_up(runner, tmp_path, monkeypatch, no_sources, extra):
    """The default build of the bundled sample plugins (real task files, shots, rewrites), plain, tokenized short
    enough that rows drop, and packed."""
    from importlib.metadata import entry_points

    from medsreg.cli import cli

    if "samples" not in {entry.name for entry in entry_points(group="medsreg")}:
        pytest.skip("the bundled samples plugin is not installed")
    monkeypatch.setenv("MEDSREG_OFFLINE", "1")
    args = ["build", "--output", str(tmp_path / "out")]
    if extra:
        pytest.importorskip("transformers")
        from tiny_models import save_tokenizer

        args += [extra[0], str(save_tokenizer(tmp_path / "tokenizer")), "--max-length", "256", *extra[1:]]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    mixture = assert_build_counts(tmp_path / "out")["mixtures"]["mixture"]
    if extra:
        assert mixture["dropped"], "the sample prompts with shots pass 256 tokens of the tiny tokenizer"
        assert f"total ({len(mixture['tasks'])} tasks)" in result.stdout and "raise --max-length" in result.stdout
    else:
        assert mixture["rows"] == mixture["planned"]
