"""The bytes a build writes are pinned: the same inputs give the same datasets, whatever the worker count, and a change
to how the build runs (parallel rendering, the order work is done in, where the hash is computed) never changes them.

The hashes below were recorded with the build of commit 41306e0 (before issue 16 made the build faster); a
change that must alter the bytes updates them and says why in its description. The plugin is generated here, with
a fixed seed, so that no edit of a bundled plugin moves the pins: training tasks sized to span several shuffle
buckets, rewritten instructions, repeats and a subset (weight 2.5), a fraction, a planted leak, duplicated inputs,
and a suite of a zero-shot task, a 3-shot task and a 3-shot task smaller than render.py's small-pool threshold
(4,740 rows: two pieces of suitebuild.py's jobs, tables that end inside a task).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from conftest import REGISTER_SUITES, make_plugin, task_document, write_json
from medsreg.build.manifest import manifest_hash
from medsreg.cli import cli

WORDS = ["patient", "fever", "cough", "chest", "pain", "dyspnea", "nausea", "sepsis", "insulin", "heparin",
         "warfarin", "aspirin", "troponin", "lactate", "creatinine", "sodium", "anemia", "biopsy", "carcinoma",
         "stroke", "seizure", "syncope", "ulcer", "cirrhosis", "dialysis", "oxygen"]

PINNED = {
    "mixture": "909d600883e3c47031e6bf8b48b2d07ca3c59536add8d1c2b327cadb0d14f471",
    "suites/pinned--bench": "7b4f267ed4ee8682baf8fa351210e03c17cb39ff7b9e7f8a1c781ab36838c8e4",
    "manifest": "d889e2b42367a32c29ef15823740ec804bca8d22de3632a98c1d77731005ed61",
}
"""sha256 of each dataset's Arrow files, and the manifest's hash with ``medsreg_version`` set to "pinned"."""


def _text(generator: random.Random, low: int, high: int) -> str:
    return " ".join(generator.choices(WORDS, k=generator.randint(low, high))) + "."


def _task(name: str, category: str, split: str, rows: list[dict], rewrites: int) -> dict:
    return task_document(
        Categories=[category], Split_Type=split,
        Definition=[f"Read the clinical text and answer ({name})."]
        + [f"Rewrite {k} of the instruction of {name}." for k in range(1, rewrites + 1)],
        medsreg={"name": name, "version": "1.0", "license": "CC0-1.0", "access": "public", "synthetic": True},
        Instances=rows)


@pytest.fixture
def pinned_plugin(tmp_path, isolated_plugins, no_sources) -> tuple[Path, Path]:
    """(plugins folder, spec file): plugin 'pinned' with four training tasks, three test tasks and a suite."""
    generator = random.Random(16)
    tests = {}
    for name, size, labels in (("qa_test", 4500, ["A", "B", "C", "D"]), ("summary_test", 200, None),
                               ("tiny_test", 40, ["yes", "no"])):
        tests[name] = [{"id": f"{name}-{i}", "input": _text(generator, 20, 40),
                        "output": [generator.choice(labels) if labels else _text(generator, 3, 10)]}
                       for i in range(size)]
    tests["tiny_test"][7]["input"] = tests["tiny_test"][3]["input"]  # a duplicated input: never a shot of its twin
    training = {}
    for number, (category, size) in enumerate((("Question Answering", 9000), ("Text Summarization", 7000),
                                               ("Diagnosis", 5000), ("Text Classification", 30))):
        name = f"train_{number}"
        training[name] = [{"id": f"{name}-{i}", "input": _text(generator, 15, 35), "output": [_text(generator, 1, 6)]}
                          for i in range(size)]
    training["train_0"][11]["input"] = tests["qa_test"][5]["input"]  # a leak decontamination removes
    training["train_1"][20]["input"] = training["train_1"][21]["input"]
    documents = {name: _task(name, "Question Answering", "Test", rows, 2) for name, rows in tests.items()}
    categories = ["Question Answering", "Text Summarization", "Diagnosis", "Text Classification"]
    documents.update({name: _task(name, category, "Train", rows, number)
                      for number, ((name, rows), category) in enumerate(zip(training.items(), categories))})
    root = tmp_path / "plugins"
    plugin = make_plugin(root, "pinned", documents, init_py=REGISTER_SUITES)
    write_json(plugin / "medsreg_pinned" / "suite.json", {
        "name": "pinned/bench", "description": "Pinned bytes.", "shots": 3, "seed": 0, "instruction": "original",
        "categories": [
            {"name": "QA", "tasks": [{"task": "pinned/qa_test", "metrics": ["mcqa_accuracy"], "shots": 0},
                                     {"task": "pinned/tiny_test", "metrics": ["accuracy"]}]},
            {"name": "Summary", "tasks": [{"task": "pinned/summary_test", "metrics": ["bleu1", "rougeL"]}]},
        ],
    })
    spec = write_json(tmp_path / "spec.json", {
        "name": "pinned", "seed": 3, "include": [
            {"task": "pinned/train_0", "weight": 2.5}, {"task": "pinned/train_1", "fraction": 0.5},
            {"task": "pinned/train_2"}, {"task": "pinned/train_3", "weight": 4}]})
    return root, spec


def _build(runner, root: Path, spec: Path, output: Path, workers: int, *extra: str) -> dict:
    result = runner.invoke(cli, ["build", "--plugins-dir", str(root), "--spec", str(spec), "--output", str(output),
                                 "--workers", str(workers), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    manifest = json.loads((output / "manifest.json").read_text(encoding="utf-8"))
    for path, entry in manifest["datasets"].items():  # the hash is that of the files on disk, in order
        files = sorted((output / path / entry["split"]).glob("data-*.arrow"))
        assert entry["sha256"] == hashlib.sha256(b"".join(file.read_bytes() for file in files)).hexdigest(), path
    return manifest


def _pins(manifest: dict) -> dict[str, str]:
    pins = {path: entry["sha256"] for path, entry in manifest["datasets"].items()}
    pins["manifest"] = manifest_hash({**manifest, "medsreg_version": "pinned"})
    return pins


@pytest.mark.parametrize("workers", [1, 2])
def test_a_build_writes_the_pinned_bytes_whatever_the_workers(runner, pinned_plugin, tmp_path, workers):
    root, spec = pinned_plugin
    manifest = _build(runner, root, spec, tmp_path / "out", workers)
    assert manifest["mixtures"]["mixture"]["decontaminated"] == 1
    taken = {name: task["taken"] for name, task in manifest["mixtures"]["mixture"]["tasks"].items()}
    # repeats and a seeded subset (2.5 x 8,999), a fraction, all rows once, four repeats: two shuffle buckets
    assert taken == {"pinned/train_0": 22498, "pinned/train_1": 3500, "pinned/train_2": 5000, "pinned/train_3": 120}
    assert _pins(manifest) == PINNED


def test_the_export_does_not_change_the_datasets(runner, pinned_plugin, tmp_path):
    root, spec = pinned_plugin
    manifest = _build(runner, root, spec, tmp_path / "out", 2, "--export", "jsonl")
    assert _pins(manifest) == PINNED
    lines = (tmp_path / "out" / "export" / "mixture.jsonl").read_bytes().count(b"\n")
    assert lines == manifest["datasets"]["mixture"]["rows"]


PINNED_SHARDED = {
    "mixture": "36ec3ef51b334fde48dd45baf732d29d51ed38743db1fbb953fd49035a47e53c",
    "suites/pinned--bench": "ad1d604c517d8df37da6982a84e5e2879997eb1d099cb8b48f99454a502ccb00",
}
"""The same build cut into shards of 1 MB (every bucket, every suite table starts a new one): the shard boundaries,
each shard's header and end marker, as save_to_disk places them."""


@pytest.mark.parametrize("workers", [1, 2])
def test_shard_boundaries_are_pinned_whatever_the_workers(runner, pinned_plugin, tmp_path, workers, monkeypatch):
    from medsreg.build import writer

    write_build = writer.write_build
    monkeypatch.setattr(writer, "write_build", lambda *args, **kwargs: write_build(*args, **{**kwargs,
                                                                                             "max_shard_bytes": 1_000_000}))
    root, spec = pinned_plugin
    manifest = _build(runner, root, spec, tmp_path / "out", workers)
    shards = sorted((tmp_path / "out" / "suites" / "pinned--bench" / "test").glob("data-*.arrow"))
    assert len(shards) > 1 and len(list((tmp_path / "out" / "mixture" / "train").glob("data-*.arrow"))) > 1
    assert {path: entry["sha256"] for path, entry in manifest["datasets"].items()} == PINNED_SHARDED
