"""``medsreg build`` end to end on temporary plugins: dry run, default build, suites, and every bad input as one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REGISTER_SUITES, make_plugin, task_document, write_json
from medsreg.cli import cli

LEARN = "Please learn from the few-shot cases to see what content you have to output."
TEST_QUESTION = "Which enzyme does allopurinol inhibit in the purine degradation pathway?\nA. xanthine oxidase\nB. HMG-CoA reductase"


def _task(name: str, split: str, category: str, inputs: list[str], definition: list[str]) -> dict:
    return task_document(
        Categories=[category], Definition=definition, Split_Type=split,
        medsreg={"name": name, "version": "1.0", "license": "CC-BY-4.0", "access": "public", "synthetic": True},
        Instances=[{"id": f"{name}-{i}", "input": text, "output": [f"{name} answer {i}"]} for i, text in enumerate(inputs)],
    )


SUITE = {
    "name": "demo/bench", "description": "A two-task bench.", "shots": 3, "seed": 0,
    "categories": [
        {"name": "Multilingual MCQA", "tasks": [{"task": "demo/mcqa_test", "metrics": ["mcqa_accuracy"], "shots": 0}]},
        {"name": "Named entity recognition", "tasks": [{"task": "demo/ner_test", "metrics": ["entity_f1"]}]},
    ],
}
@pytest.fixture
def plugins(tmp_path, isolated_plugins, no_sources) -> Path:
    """Plugin 'demo': two training tasks (one planted copy of a test question), two test tasks and a suite;
    plugin 'remote': a suite whose test set lives in a source nobody configured."""
    root = tmp_path / "plugins"
    ner_train = [f"Sentence {i} mentions the drug number {i} given at a dose of {i} mg daily." for i in range(14)]
    ner_train.append(TEST_QUESTION.upper())  # the planted overlap: equal to a test input once normalized
    demo = make_plugin(root, "demo", {
        "chem_ner": _task("chem_ner", "Train", "Named Entity Recognition", ner_train,
                          ["Extract the drug names.", "List every drug.", "Name the drugs."]),
        "dx": _task("dx", "Train", "Diagnosis", [f"Vignette {i}: fever and cough for {i} days." for i in range(12)],
                    ["Give the diagnosis."]),
        "mcqa_test": _task("mcqa_test", "Test", "Question Answering",
                           [TEST_QUESTION] + [f"Test question {i}?\nA. yes\nB. no" for i in range(5)],
                           ["Answer the multiple-choice question."]),
        "ner_test": _task("ner_test", "Test", "Named Entity Recognition",
                          [f"Test sentence {i} names the compound {i}-azole." for i in range(8)], ["Extract the chemicals."]),
    }, init_py=REGISTER_SUITES)
    write_json(demo / "medsreg_demo" / "suite.json", SUITE)
    remote_task = task_document(
        Categories=["Named Entity Recognition"], Split_Type="Test", Instances=None,
        medsreg={"name": "ner_test", "version": "1.0", "license": "CC-BY-4.0", "access": "public",
                 "instances_from": {"kind": "local", "key": "remote-bench", "path": "ner_test.json",
                                    "how_to_obtain": "Download the remote bench."}},
    )
    remote = make_plugin(root, "remote", {"ner_test": remote_task}, init_py=REGISTER_SUITES)
    write_json(remote / "medsreg_remote" / "suite.json", {
        "name": "remote/bench", "description": "Needs a source.",
        "categories": [{"name": "NER", "tasks": [{"task": "remote/ner_test", "metrics": ["entity_f1"]}]}],
    })
    return root


def build(runner, plugins: Path, *args: str):
    return runner.invoke(cli, ["build", "--plugins-dir", str(plugins), *args])


# --------------------------------------------------------------------------- dry run


def test_dry_run_prints_the_plan_and_writes_nothing(runner, plugins, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir() if p.name != "cache")
    result = build(runner, plugins, "--dry-run", "--output", "out")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1:5] for line in result.stdout.splitlines() if line.startswith("demo/")}
    # available, decontaminated, taken, factor: the planted copy of the test question is removed
    assert lines == {"demo/chem_ner": ["15", "1", "14", "1.000"], "demo/dx": ["12", "0", "12", "1.000"]}
    assert "suite demo/bench: 2 tasks, 14 rows" in result.stdout and "nothing written" in result.stdout
    assert "skipped suite remote/bench" in result.stderr and "remote/ner_test" in result.stderr
    # no output, no partial directory (cache: the fixture's MEDSREG_CACHE, where langcodes' answers may be kept)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == before


def test_dry_run_with_a_spec_and_overrides(runner, plugins, tmp_path):
    spec = write_json(tmp_path / "mix.json", {"include": [{"task": "demo/chem_ner", "weight": 3}, {"category": "Diagnosis"}],
                                              "total": 40, "decontaminate": False})
    result = build(runner, plugins, "--dry-run", "--spec", str(spec), "--total", "20")
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:5] for line in result.stdout.splitlines() if line.startswith("demo/")}
    # rates 3 * 15 and 1 * 12 share 20 rows: 15.79 -> 16 and 4.21 -> 4; nothing removed without decontamination
    assert rows == {"demo/chem_ner": ["15", "0", "16", "1.067"], "demo/dx": ["12", "0", "4", "0.333"]}


def test_a_configured_suite_source_makes_the_suite_available(runner, plugins, tmp_path):
    folder = tmp_path / "remote-data"
    write_json(folder / "ner_test.json", _task("ner_test", "Test", "Named Entity Recognition",
                                               [f"Remote sentence {i} names ibuprofen." for i in range(5)], ["Extract."]))
    result = build(runner, plugins, "--dry-run", "--suite", "remote/bench", "--source", f"remote-bench={folder}")
    assert result.exit_code == 0, result.output
    assert "suite remote/bench: 1 tasks, 5 rows" in result.stdout and "demo/bench" not in result.stdout


# --------------------------------------------------------------------------- bad input


def _spec(tmp_path: Path, document: dict) -> str:
    return str(write_json(tmp_path / "spec.json", document))


@pytest.mark.parametrize("case", [
    "unknown task", "unknown category", "zero weights", "cap below 1", "total below fixed", "suite not configured",
    "unknown suite", "tokenizer missing", "output exists",
])
def test_bad_input_is_one_sentence_and_exit_1(runner, plugins, tmp_path, case):
    output = tmp_path / "out"
    args: list[str] = ["--output", str(output)]
    expected = {
        "unknown task": "include[0].task: no task named 'demo/chem_nre'. Did you mean 'demo/chem_ner'?",
        "unknown category": "'Diagnosys' is not a category. Did you mean 'Diagnosis'?",
        "zero weights": "weights of the mixture spec's 2 weighted tasks sum to zero",
        "cap below 1": "$.cap: input should be greater than or equal to 1 (got 0)",
        "total below fixed": "total (5) is smaller than the rows its 'n' and 'fraction' entries fix (8)",
        "suite not configured": "suite remote/bench needs test sets that are not available here: 1 of its 1 tasks "
                                "(remote/ner_test); configure source 'remote-bench' (--source remote-bench=",
        "unknown suite": "no suite named 'bnech'. Did you mean 'bench'?",
        "tokenizer missing": "the tokenizer folder",
        "output exists": "already exists; pass --overwrite",
    }[case]
    if case == "unknown task":
        args += ["--spec", _spec(tmp_path, {"include": [{"task": "demo/chem_nre"}]})]
    elif case == "unknown category":
        args += ["--spec", _spec(tmp_path, {"include": [{"category": "Diagnosys"}]})]
    elif case == "zero weights":
        args += ["--spec", _spec(tmp_path, {"include": [{"task": "demo/dx", "weight": 0}, {"task": "demo/chem_ner", "weight": 0}]})]
    elif case == "cap below 1":
        args += ["--spec", _spec(tmp_path, {"cap": 0})]
    elif case == "total below fixed":
        args += ["--spec", _spec(tmp_path, {"include": [{"task": "demo/dx", "n": 8}], "total": 5})]
    elif case == "suite not configured":
        args += ["--suite", "remote/bench"]
    elif case == "unknown suite":
        args += ["--suite", "bnech"]
    elif case == "tokenizer missing":
        args += ["--tokenizer", str(tmp_path / "no-such-tokenizer")]
    else:
        output.mkdir()
        (output / "keep.txt").write_text("previous output", encoding="utf-8")
    result = build(runner, plugins, *args)
    assert result.exit_code == 1, result.output
    errors = [line for line in result.stderr.splitlines() if not line.startswith(("note:", "warning:"))]
    assert len(errors) == 1 and errors[0].startswith("error: ") and expected in errors[0], result.stderr
    assert "Traceback" not in result.output
    if case == "output exists":
        assert [p.name for p in output.iterdir()] == ["keep.txt"]
        assert (output / "keep.txt").read_text(encoding="utf-8") == "previous output"
    else:
        assert not output.exists()


# --------------------------------------------------------------------------- real builds


@pytest.fixture
def writer_modules():
    """The writer, card and manifest modules (and datasets) a real build needs."""
    pytest.importorskip("datasets")
    for module in ("medsreg.build.writer", "medsreg.build.card", "medsreg.build.manifest"):
        pytest.importorskip(module)


def test_default_build_writes_a_decontaminated_mixture_and_the_suite(runner, plugins, tmp_path, writer_modules):
    from datasets import load_from_disk

    output = tmp_path / "out"
    result = build(runner, plugins, "--output", str(output), "--quiet")
    assert result.exit_code == 0, result.output
    mixture = load_from_disk(str(output / "mixture"))["train"]
    assert mixture.num_rows == 26
    assert TEST_QUESTION.upper() not in {m[1]["content"] for m in mixture["messages"]}
    assert all(TEST_QUESTION.upper() not in prompt for prompt in mixture["prompt"])  # neither as query nor as a shot
    assert all(row["instance_id"] not in row["shot_ids"] for row in mixture)
    suite = load_from_disk(str(output / "suites" / "demo--bench"))["test"]
    assert suite.num_rows == 14
    rows = {row["instance_id"]: row for row in suite}
    assert rows["mcqa_test-0"]["messages"] == [{"role": "system", "content": "Answer the multiple-choice question."},
                                               {"role": "user", "content": TEST_QUESTION}]
    ner = rows["ner_test-3"]
    assert len(ner["shot_ids"]) == 3 and ner["messages"][0]["content"].endswith("Extract the chemicals." + LEARN)
    assert ner["messages"][1]["content"] == "Input:\nTest sentence 3 names the compound 3-azole.\nOutput:\n"
    assert ner["references"] == ["ner_test answer 3"] and ner["metrics"] == ["entity_f1"]
    assert (output / "README.md").is_file() and (output / "manifest.json").is_file()
    assert not output.with_name(".out.partial").exists()


def test_same_seed_same_bytes_other_seed_other_mixture_same_suite(runner, plugins, tmp_path, writer_modules):
    def manifest(name: str, *args: str) -> dict:
        result = build(runner, plugins, "--output", str(tmp_path / name), "--quiet", *args)
        assert result.exit_code == 0, result.output
        return json.loads((tmp_path / name / "manifest.json").read_text(encoding="utf-8"))

    def data_bytes(name: str) -> dict[str, bytes]:
        return {str(p.relative_to(tmp_path / name)): p.read_bytes() for p in sorted((tmp_path / name).rglob("*")) if p.is_file()}

    first, again, other = manifest("a"), manifest("b"), manifest("c", "--seed", "1")
    assert first == again and data_bytes("a") == data_bytes("b")
    assert first != other
    mixture = "mixture/train/data-00000-of-00001.arrow"
    suite = "suites/demo--bench/test/data-00000-of-00001.arrow"
    assert data_bytes("a")[mixture] != data_bytes("c")[mixture]
    assert data_bytes("a")[suite] == data_bytes("c")[suite]  # the suite's prompts are fixed by the suite's own seed


def test_sourced_tasks_stream_through_buckets_the_same_with_one_or_two_workers(runner, isolated_plugins, no_sources,
                                                                               tmp_path, monkeypatch, writer_modules):
    """Training tasks read from a configured source, a mixture over several shuffle buckets: each task gives its
    planned rows, the tasks are interleaved, and the bytes do not depend on the number of worker processes."""
    from collections import Counter

    import medsreg.build.plan
    from datasets import load_from_disk

    monkeypatch.setattr(medsreg.build.plan, "BUCKET_ROWS", 16)  # 60 rows: 4 buckets
    data = tmp_path / "data"
    cards = {}
    for name, rows in (("alpha", 25), ("beta", 20), ("gamma", 15)):
        write_json(data / f"{name}.json", _task(name, "Train", "Diagnosis",
                                                [f"{name} vignette {i}: fever for {i} days." for i in range(rows)],
                                                [f"Diagnose ({name})."]))
        cards[name] = task_document(
            Categories=["Diagnosis"], Split_Type="Train", Instances=None, Definition=[f"Diagnose ({name})."],
            medsreg={"name": name, "version": "1.0", "license": "CC-BY-4.0", "access": "public",
                     "instances_from": {"kind": "local", "key": "streamed", "path": f"{name}.json"}})
    root = tmp_path / "plugins"
    make_plugin(root, "streamed", cards)

    def run(name: str, workers: str) -> Path:
        result = runner.invoke(cli, ["build", "--plugins-dir", str(root), "--source", f"streamed={data}", "--quiet",
                                     "--workers", workers, "--output", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        return tmp_path / name

    one, two = run("one", "1"), run("two", "2")
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    assert all((one / path).read_bytes() == (two / path).read_bytes() for path in files)
    mixture = load_from_disk(str(one / "mixture"))["train"]
    assert Counter(mixture["task"]) == {"streamed/alpha": 25, "streamed/beta": 20, "streamed/gamma": 15}
    assert sorted(mixture["instance_id"]) == sorted(f"{n}-{i}" for n, k in (("alpha", 25), ("beta", 20), ("gamma", 15))
                                                    for i in range(k))
    first_half = Counter(mixture["task"][:30])
    assert len(first_half) == 3  # shuffled across tasks, not written task after task
    assert all(shot.split("-")[0] == row["instance_id"].split("-")[0] != "" and shot != row["instance_id"]
               for row in mixture for shot in row["shot_ids"])
    assert not list(one.rglob(".scratch*")) and not list(tmp_path.glob(".one*"))


def test_a_misspelled_source_is_named_with_did_you_mean(runner, plugins):
    result = build(runner, plugins, "--dry-run", "--source", "remote-bnech=/nowhere")
    assert result.exit_code == 0, result.output
    assert "source 'remote-bnech' (--source remote-bnech=) is configured but no installed task or corpus reads it" in result.stderr
    assert "Did you mean 'remote-bench'?" in result.stderr


def test_a_build_killed_while_workers_render_leaves_nothing_and_the_rerun_is_identical(tmp_path, no_sources):
    """SIGKILL of ``medsreg build`` while its worker processes make the mixture (its rows planned in the scratch)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    data, root = tmp_path / "data", tmp_path / "plugins"
    cards = {}
    for name in ("alpha", "beta", "gamma"):
        write_json(data / f"{name}.json", _task(name, "Train", "Diagnosis",
                                                [f"{name} vignette {i}: fever for {i % 17} days, cough." for i in range(9000)],
                                                [f"Diagnose ({name})."]))
        cards[name] = task_document(
            Categories=["Diagnosis"], Split_Type="Train", Instances=None, Definition=[f"Diagnose ({name})."],
            medsreg={"name": name, "version": "1.0", "license": "CC-BY-4.0", "access": "public",
                     "instances_from": {"kind": "local", "key": "streamed", "path": f"{name}.json"}})
    make_plugin(root, "streamed", cards)
    env = {**os.environ, "MEDSREG_PLUGINS": "streamed", "MEDSREG_SOURCE_STREAMED": str(data)}

    def start(output: Path) -> subprocess.Popen:
        code = "import sys; from medsreg.cli import cli; cli(sys.argv[1:])"
        return subprocess.Popen([sys.executable, "-c", code, "build", "--plugins-dir", str(root), "--quiet",
                                 "--workers", "2", "--output", str(output)], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    output = tmp_path / "out"
    process = start(output)
    scratch = tmp_path / f".out.partial-{process.pid}" / ".scratch"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and not any(scratch.rglob("task-*.rows")):
        time.sleep(0.005)
    assert process.poll() is None, "the build finished before it could be killed; give it more rows"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not output.exists()

    time.sleep(0.5)  # the orphaned workers see their parent gone and stop
    assert start(output).wait(timeout=300) == 0
    assert start(tmp_path / "reference").wait(timeout=300) == 0
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == json.loads((tmp_path / "reference" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["datasets"]["mixture"]["rows"] == 27_000
    # (cache: the fixture's MEDSREG_CACHE, where layout.py keeps what datasets writes around the rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "data", "out", "plugins", "reference"]


def test_overwrite_replaces_a_previous_build(runner, plugins, tmp_path, writer_modules):
    output = tmp_path / "out"
    assert build(runner, plugins, "--output", str(output), "--quiet").exit_code == 0
    result = build(runner, plugins, "--output", str(output), "--quiet", "--overwrite", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert json.loads((output / "manifest.json").read_text(encoding="utf-8"))


def test_suites_named_in_the_spec_decontaminate_without_being_built(runner, plugins, tmp_path):
    folder = tmp_path / "remote-data"
    write_json(folder / "ner_test.json", _task("ner_test", "Test", "Named Entity Recognition",
                                               [f"Remote sentence {i} names ibuprofen." for i in range(5)], ["Extract."]))
    spec = write_json(tmp_path / "mix.json", {"suites": ["demo/bench"]})
    result = build(runner, plugins, "--dry-run", "--spec", str(spec), "--suite", "remote/bench",
                   "--source", f"remote-bench={folder}")
    assert result.exit_code == 0, result.output
    assert "suite remote/bench" in result.stdout and "suite demo/bench" not in result.stdout
    chem = next(line.split() for line in result.stdout.splitlines() if line.startswith("demo/chem_ner"))
    assert chem[1:4] == ["15", "1", "14"]
    not_configured = write_json(tmp_path / "bad.json", {"suites": ["remote/bench"]})
    result = build(runner, plugins, "--dry-run", "--spec", str(not_configured))
    assert result.exit_code == 1 and "suite remote/bench needs test sets" in result.stderr


def test_messages_column_goes_through_a_chat_template(runner, plugins, tmp_path, writer_modules):
    """The TRL conversational format: a tokenizer's own chat template accepts the rows as they are."""
    pytest.importorskip("transformers")
    pytest.importorskip("jinja2")  # chat templates are Jinja: transformers needs it, without requiring it
    from datasets import load_from_disk
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    output = tmp_path / "out"
    assert build(runner, plugins, "--output", str(output), "--quiet").exit_code == 0
    words = Tokenizer(models.WordLevel({"[UNK]": 0, "<s>": 1}, unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]", bos_token="<s>")
    tokenizer.chat_template = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
                               "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    for split, path in (("train", "mixture"), ("test", "suites/demo--bench")):
        row = load_from_disk(str(output / path))[split][0]
        text = tokenizer.apply_chat_template(row["messages"], tokenize=False, add_generation_prompt=split == "test")
        assert text.startswith("<|system|>" + row["messages"][0]["content"] + "\n<|user|>" + row["messages"][1]["content"])
        assert tokenizer.apply_chat_template(row["messages"], tokenize=True)


def test_without_training_tasks_the_default_build_makes_the_suites_alone(runner, plugins, tmp_path):
    folder = tmp_path / "remote-data"
    write_json(folder / "ner_test.json", _task("ner_test", "Test", "Named Entity Recognition",
                                               [f"Remote sentence {i} names ibuprofen." for i in range(5)], ["Extract."]))
    args = ["build", "--plugins-dir", str(plugins / "remote"), "--source", f"remote-bench={folder}", "--dry-run"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "suite remote/bench: 1 tasks, 5 rows" in result.stdout and "only the suites are built" in result.stderr
    # a spec asks for a mixture: an empty one is an error
    result = runner.invoke(cli, args + ["--spec", str(write_json(tmp_path / "mix.json", {"seed": 1}))])
    assert result.exit_code == 1 and "selects no available training task" in result.stderr


def test_the_bundled_samples_give_a_real_default_build(runner, no_sources, bundled_plugins_only, tmp_path, monkeypatch,
                                                      writer_modules):
    """What the README's Quickstart runs: 'medsreg build' with the bundled plugins installed, nothing configured. Any
    other installed plugin is blocked: one with data of its own (a contribution) is rightly built instead of the samples."""
    from importlib.metadata import entry_points

    if "samples" not in {entry.name for entry in entry_points(group="medsreg")}:
        pytest.skip("the bundled samples plugin is not installed")
    monkeypatch.setenv("MEDSREG_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["build", "--quiet"])
    assert result.exit_code == 0, result.output
    from datasets import load_from_disk

    mixture = load_from_disk("build/mixture")["train"]
    assert mixture.num_rows > 0 and {name.split("/")[0] for name in mixture["task"]} == {"samples"}
    assert "built from the bundled sample plugins" in (tmp_path / "build" / "README.md").read_text(encoding="utf-8")
    manifest = json.loads((tmp_path / "build" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["hash"]
