"""Clean and dirty test instances (``medsreg.contamination``) on real builds of a temporary plugin: a planted overlap is
found and nothing else, the training data is resolved from a build, its manifest.json, a mixture folder and a model's
medsreg-train.json, a rebuilt build and bad paths are one sentence, and ``medsreg train`` (and ``--merge``) records the
build it trained on."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from pathlib import Path

import pytest
from conftest import REGISTER_SUITES, make_plugin, task_document, write_json
from medsreg.cli import cli
from medsreg.contamination import (
    FORMAT,
    MAX_JSON_BYTES,
    Contamination,
    TrainingData,
    dirty_instances,
    resolve_training,
    trained_on_record,
    training_texts,
)
from medsreg.errors import MedsregError
from test_eval_openai import server  # noqa: F401 - fixture

_RNG = random.Random(7)
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "bo", "du", "fe", "gi", "ho", "ju", "pe"]


def _word() -> str:
    return "".join(_RNG.choices(_SYLLABLES, k=4))


def _sentence(words: int) -> str:
    return " ".join(_word() for _ in range(words)).capitalize() + "."


TEST_INPUTS = [_sentence(22) for _ in range(8)]
OTHER_TEST_INPUTS = [_sentence(18) for _ in range(5)]
SUITE = {"name": "demo/bench", "description": "Two test tasks.", "shots": 0, "seed": 0, "max_new_tokens": 8,
         "categories": [{"name": "Question Answering", "tasks": [
             {"task": "demo/qa_test", "metrics": ["mcqa_accuracy"]},
             {"task": "demo/other_test", "metrics": ["mcqa_accuracy"]}]}]}
"""demo/bench: the suite eval runs (a letter answers every test instance, so outputs are right or wrong)."""
PLANTED = (1, 4)
"""The test instances of qa_test whose input is copied into training instances."""


def _task(name: str, split: str, inputs: list[str], answer: str | None = None) -> dict:
    return task_document(
        Categories=["Question Answering"], Definition=[f"Answer the {name} question.", f"Reply to the {name} item."],
        Split_Type=split,
        medsreg={"name": name, "version": "1.0", "license": "CC-BY-4.0", "access": "public", "synthetic": True},
        Instances=[{"id": f"{name}-{i}", "input": text, "output": [answer or f"answer {i}"]}
                   for i, text in enumerate(inputs)])


@pytest.fixture
def plugins(tmp_path, isolated_plugins, no_sources) -> Path:
    """Plugin 'demo': two training tasks, one holding copies of two qa_test inputs (one inside a longer text, one
    upper-cased) and the first six words of a third (a near miss: not most of it); two test tasks."""
    notes = [_sentence(25) for _ in range(12)]
    notes[3] = f"Referral letter. {TEST_INPUTS[PLANTED[0]]} Please review the history."
    notes[8] = TEST_INPUTS[PLANTED[1]].upper()
    notes[10] = " ".join(TEST_INPUTS[2].split()[:6]) + " " + _sentence(20)
    folder = make_plugin(tmp_path / "plugins", "demo", {
        "notes_train": _task("notes_train", "Train", notes),
        "other_train": _task("other_train", "Train", [_sentence(25) for _ in range(6)]),
        "qa_test": _task("qa_test", "Test", TEST_INPUTS, "A"),
        "other_test": _task("other_test", "Test", OTHER_TEST_INPUTS, "A"),
    }, init_py=REGISTER_SUITES)
    write_json(folder / "medsreg_demo" / "suite.json", SUITE)
    return folder.parent


def _build(runner, plugins: Path, output: Path, seed: int = 0, *args: str) -> Path:
    # not decontaminated, so that the planted copies stay; zero-shot, so that each instance is in one row
    spec = write_json(output.parent / f"spec-{output.name}.json",
                      {"name": "demo/mix", "decontaminate": False, "p_zero_shot": 1.0, "seed": seed})
    result = runner.invoke(cli, ["build", "--plugins-dir", str(plugins), "--spec", str(spec), "--output", str(output),
                                 "--workers", "1", "-q", *args])
    assert result.exit_code == 0, result.output
    return output


@pytest.fixture
def build(runner, plugins, tmp_path) -> Path:
    return _build(runner, plugins, tmp_path / "build")


def _tests() -> list[tuple[str, str, str]]:
    return ([("demo/qa_test", f"qa_test-{i}", text) for i, text in enumerate(TEST_INPUTS)]
            + [("demo/other_test", f"other_test-{i}", text) for i, text in enumerate(OTHER_TEST_INPUTS)])


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _record(model: Path, dataset: Path, **config) -> Path:
    """A model folder's medsreg-train.json as 'medsreg train' writes it (the part read here)."""
    trained_on, why = trained_on_record(dataset)
    model.mkdir(parents=True, exist_ok=True)
    write_json(model / "config.json", {"model_type": "llama"})
    return write_json(model / "medsreg-train.json", {"model": "tiny", "config": {"tasks": None, **config},
                                                     "trained_on": trained_on, "trained_on_reason": why})


def _one_sentence(error: pytest.ExceptionInfo, *parts: str) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message, message
    for part in parts:
        assert part in message, message
    return message


# --------------------------------------------------------------------------- the planted overlap


def test_the_planted_overlap_is_dirty_and_every_other_instance_clean(build, tmp_path):
    assert (build / "mixture").is_dir() and json.loads((build / "manifest.json").read_text())["mixtures"]["mixture"]
    training = resolve_training(build)
    assert [path.name for path in training.datasets] == ["mixture"]
    rows = list(training_texts(training))
    assert len(rows) == 18  # every row of both training tasks, nothing more
    assert sum(TEST_INPUTS[1] in row for row in rows) == 1 and sum(TEST_INPUTS[4].upper() in row for row in rows) == 1

    found = dirty_instances(_tests(), training)
    assert found.dirty == {"demo/qa_test": frozenset({"qa_test-1", "qa_test-4"}), "demo/other_test": frozenset()}
    assert found.tested == {"demo/qa_test": 8, "demo/other_test": 5}
    assert found.counts() == {"demo/qa_test": (2, 8), "demo/other_test": (0, 5)}
    assert found.is_dirty("demo/qa_test", "qa_test-4") and not found.is_dirty("demo/qa_test", "qa_test-2")

    # contamination.json: the format, what it was checked against and how, sorted ids; read back the same
    document = found.to_json()
    assert document["format"] == FORMAT == "medsreg-contamination/1"
    assert document["trained_on"]["manifest_sha256"] == _sha256(build / "manifest.json")
    assert document["trained_on"]["build"] == str(build.resolve())
    assert document["trained_on"]["datasets"] == [str((build / "mixture").resolve())]
    assert "demo/mix" in document["trained_on"]["description"]
    assert document["method"]["ngram"] == 13 and document["method"]["min_tokens"] == 8
    assert document["method"]["min_share"] == 0.5
    assert document["dirty"] == {"demo/other_test": [], "demo/qa_test": ["qa_test-1", "qa_test-4"]}
    assert document["tested"] == {"demo/other_test": 5, "demo/qa_test": 8}
    path = found.write(tmp_path / "eval")
    assert path.name == "contamination.json" and json.loads(path.read_text()) == document
    again = Contamination.read(tmp_path / "eval")
    assert again == Contamination.from_json(document) and again.dirty == found.dirty and again.tested == found.tested
    assert again.to_json() == document


def test_the_training_rows_read_are_those_trained_on(build, tmp_path):
    """A model trained on some tasks only (the tasks setting) saw none of the others' rows; a path works as well."""
    record = _record(tmp_path / "model", build / "mixture", tasks=["demo/other_*"])
    training = resolve_training(record.parent)
    assert training.tasks == ("demo/other_*",) and len(list(training_texts(training))) == 6
    assert dirty_instances(_tests(), record.parent).dirty["demo/qa_test"] == frozenset()
    record = _record(tmp_path / "model-2", build / "mixture", tasks=["demo/notes_*"])
    assert dirty_instances(_tests(), record).dirty["demo/qa_test"] == frozenset({"qa_test-1", "qa_test-4"})


# --------------------------------------------------------------------------- resolving the training data


def test_the_training_data_is_resolved_from_every_kind_of_path(build, tmp_path, monkeypatch):
    sha = _sha256(build / "manifest.json")
    mixture = (build / "mixture").resolve()
    by_build = resolve_training(build)
    assert by_build.build == build.resolve() and by_build.manifest_sha256 == sha and by_build.datasets == (mixture,)
    assert by_build.tasks is None and "\n" not in by_build.description and sha[:12] in by_build.description
    assert resolve_training(build / "manifest.json") == by_build
    monkeypatch.chdir(build)  # a relative path is resolved
    assert resolve_training("manifest.json") == by_build
    by_dataset = resolve_training("mixture")
    assert (by_dataset.build, by_dataset.manifest_sha256, by_dataset.datasets) == (build.resolve(), sha, (mixture,))
    by_split = resolve_training(build / "mixture" / "train")  # the split folder load_from_disk also reads
    assert by_split.datasets == (mixture / "train",) and len(list(training_texts(by_split))) == 18

    record = _record(tmp_path / "model", build / "mixture")
    trained_on = json.loads(record.read_text())["trained_on"]
    assert trained_on == {"manifest_sha256": sha, "build": str(build.resolve()), "dataset": str(mixture),
                          "path": "mixture", "mixture": "demo/mix"}
    by_model = resolve_training(tmp_path / "model")
    assert (by_model.build, by_model.manifest_sha256, by_model.datasets) == (build.resolve(), sha, (mixture,))
    assert str(tmp_path / "model") in by_model.description
    assert resolve_training(record) == by_model  # the record file itself

    # a default build's layout: build/mixtures/<plugin>--<name>, listed under that key
    other = tmp_path / "default-layout"
    shutil.copytree(build, other)
    (other / "mixtures").mkdir()
    (other / "mixture").rename(other / "mixtures" / "demo--mix")
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["mixtures"] = {"mixtures/demo--mix": manifest["mixtures"]["mixture"]}
    (other / "manifest.json").write_text(json.dumps(manifest))
    found = resolve_training(other / "mixtures" / "demo--mix" / "train")
    assert found.build == other.resolve() and found.manifest_sha256 == _sha256(other / "manifest.json")
    assert trained_on_record(other / "mixtures" / "demo--mix")[0]["path"] == "mixtures/demo--mix"
    assert resolve_training(other).datasets == ((other / "mixtures" / "demo--mix").resolve(),)


def test_a_rebuilt_build_is_refused(runner, plugins, build, tmp_path):
    _record(tmp_path / "model", build / "mixture")
    assert resolve_training(tmp_path / "model").manifest_sha256 == _sha256(build / "manifest.json")
    _build(runner, plugins, build, 1, "--overwrite")  # another seed: other rows, another manifest
    with pytest.raises(MedsregError) as error:
        resolve_training(tmp_path / "model")
    _one_sentence(error, "rebuilt", str(build.resolve()), "--trained-on")
    with pytest.raises(MedsregError) as error:
        dirty_instances(_tests(), tmp_path / "model")
    _one_sentence(error, "rebuilt")
    assert resolve_training(build).manifest_sha256 == _sha256(build / "manifest.json")  # the build as it is now


def test_a_missing_or_garbage_path_is_one_sentence_naming_it(build, tmp_path):
    def refused(path: Path, *parts: str) -> str:
        with pytest.raises(MedsregError) as error:
            resolve_training(path)
        return _one_sentence(error, str(path), *parts)

    refused(tmp_path / "nowhere", "does not exist", "--trained-on")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "manifest.json").write_bytes(b"\x00\xff not json")
    refused(garbage, "not valid JSON")
    refused(garbage / "manifest.json", "not valid JSON")
    write_json(tmp_path / "corpus" / "manifest.json", {"corpus": "mmedc", "documents": {}})
    refused(tmp_path / "corpus", "not the manifest of a 'medsreg build'")
    (tmp_path / "notes.txt").write_text("hello")
    refused(tmp_path / "notes.txt", "neither")
    (tmp_path / "empty").mkdir()
    refused(tmp_path / "empty", "not inside a 'medsreg build'", "--trained-on")

    model = tmp_path / "downloaded-model"
    write_json(model / "config.json", {"model_type": "llama"})
    refused(model, "holds no medsreg-train.json", "--trained-on")
    write_json(model / "medsreg-train.json", ["not", "an", "object"])
    refused(model / "medsreg-train.json", "not an object")
    write_json(model / "medsreg-train.json", {"model": "x"})
    refused(model / "medsreg-train.json", "does not record the data")
    _record(model, tmp_path / "empty")  # trained on a dataset that is not a build's: the reason is passed on
    refused(model / "medsreg-train.json", "records no build", "not inside a 'medsreg build'", "--trained-on")
    record = json.loads((model / "medsreg-train.json").read_text())
    record["trained_on"] = {"manifest_sha256": "0" * 64, "build": str(tmp_path / "gone"), "dataset": "x"}
    write_json(model / "medsreg-train.json", record)
    refused(model / "medsreg-train.json", "is not here", str(tmp_path / "gone"))
    record["trained_on"] = {"manifest_sha256": _sha256(build / "manifest.json"), "build": str(build.resolve()),
                            "dataset": "/etc"}  # a stranger's record pointing out of the build
    write_json(model / "medsreg-train.json", record)
    refused(model / "medsreg-train.json", "not a mixture of the build")
    with open(model / "medsreg-train.json", "wb") as handle:  # too big to parse: refused unread
        handle.truncate(MAX_JSON_BYTES + 1)
    refused(model / "medsreg-train.json", "more than")

    suites_only = tmp_path / "suites-only"
    write_json(suites_only / "manifest.json", {"format": "medsreg-build/2", "mixtures": {}, "suites": {}})
    refused(suites_only, "has no training mixture")
    lost = tmp_path / "lost-mixture"
    write_json(lost / "manifest.json", {"format": "medsreg-build/2", "mixtures": {"mixture": {"name": "x"}}})
    refused(lost, "is missing", str(lost / "mixture"))


def test_a_packed_mixture_or_a_broken_dataset_is_one_sentence(tmp_path):
    from datasets import Dataset, DatasetDict

    packed = tmp_path / "packed"
    write_json(packed / "manifest.json", {"format": "medsreg-build/2", "mixtures": {"mixture": {"name": "x"}}})
    DatasetDict({"train": Dataset.from_dict({"input_ids": [[1, 2, 3]], "labels": [[1, 2, 3]],
                                             "position_ids": [[0, 1, 2]]})}).save_to_disk(str(packed / "mixture"))
    with pytest.raises(MedsregError) as error:
        dirty_instances(_tests(), packed)
    _one_sentence(error, str((packed / "mixture").resolve()), "--pack", "--trained-on")
    (packed / "mixture" / "train" / "state.json").write_text('{"_data_files": [{"filename": "../../manifest.json"}]}')
    with pytest.raises(MedsregError) as error:
        dirty_instances(_tests(), packed)
    _one_sentence(error, "state.json")


def test_a_malformed_contamination_file_is_one_sentence(tmp_path):
    good = Contamination(TrainingData(tmp_path, "0" * 64, (tmp_path / "mixture",), "a build"),
                         {"t": frozenset({"b", "a"})}, {"t": 3})
    assert good.to_json()["dirty"] == {"t": ["a", "b"]}
    assert Contamination.from_json(good.to_json()).dirty == good.dirty
    for broken in ({**good.to_json(), "format": "medsreg-contamination/0"},
                   {**good.to_json(), "tested": {"t": "three"}},
                   {**good.to_json(), "dirty": {"t": ["a", "b", "c", "d"]}},
                   {**good.to_json(), "dirty": {"u": ["a"]}},
                   {**good.to_json(), "trained_on": None}, []):
        with pytest.raises(MedsregError) as error:
            Contamination.from_json(broken, tmp_path / "contamination.json")
        _one_sentence(error, str(tmp_path / "contamination.json"))
    (tmp_path / "contamination.json").write_text("{")
    with pytest.raises(MedsregError) as error:
        Contamination.read(tmp_path)
    _one_sentence(error, "not valid JSON")


# --------------------------------------------------------------------------- medsreg train records the build


def _train(model_dir: Path, data: Path, output: Path, resume: bool = False, warn=print, **values):
    from medsreg.train.config import build_config
    from medsreg.train.run import run_train

    values = {"max_steps": 1, **values}
    config = build_config(overrides=dict(model=str(model_dir), data=str(data), output_dir=str(output), batch_size=4,
                                         save_steps=1, warmup=0, **values))
    return run_train(config, resume=resume, quiet=True, say=lambda line: None, warn=warn)


def test_train_records_the_build_it_trained_on_and_merge_carries_it(runner, plugins, build, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("peft")
    from tiny_models import save_tiny_model

    model_dir = save_tiny_model(tmp_path / "tiny")
    _train(model_dir, build / "mixture", tmp_path / "run")
    sha = _sha256(build / "manifest.json")
    expected = {"manifest_sha256": sha, "build": str(build.resolve()), "dataset": str((build / "mixture").resolve()),
                "path": "mixture", "mixture": "demo/mix"}
    for folder in (tmp_path / "run", tmp_path / "run" / "checkpoint-1"):
        record = json.loads((folder / "medsreg-train.json").read_text())
        assert record["trained_on"] == expected and "trained_on_reason" not in record
    training = resolve_training(tmp_path / "run")
    assert training.manifest_sha256 == sha and training.datasets == ((build / "mixture").resolve(),)
    assert dirty_instances(_tests(), tmp_path / "run").dirty["demo/qa_test"] == frozenset({"qa_test-1", "qa_test-4"})

    # a dataset that is not in a build: recorded as null with why, no error
    plain = tmp_path / "plain"
    shutil.copytree(build / "mixture", plain)
    _train(model_dir, plain, tmp_path / "plain-run")
    record = json.loads((tmp_path / "plain-run" / "medsreg-train.json").read_text())
    assert record["trained_on"] is None and "not inside a 'medsreg build'" in record["trained_on_reason"]

    # a LoRA adapter trained on the build, merged: the merged model says what it was trained on
    _train(model_dir, build / "mixture", tmp_path / "adapter", method="lora",
           lora={"r": 2, "alpha": 4, "dropout": 0.0, "target_modules": ["q_proj"]})
    result = runner.invoke(cli, ["train", "--merge", str(tmp_path / "adapter"), "--output", str(tmp_path / "merged"),
                                 "-q"])
    assert result.exit_code == 0, result.output
    merged = json.loads((tmp_path / "merged" / "medsreg-train.json").read_text())
    assert merged["trained_on"] == expected and merged["merged_from"] == str((tmp_path / "adapter").resolve())
    assert merged["config"]["method"] == "lora"
    assert resolve_training(tmp_path / "merged").datasets == training.datasets

    # resumed on a build that changed since: said, and the record names the build as it is now
    _build(runner, plugins, build, 1, "--overwrite")
    warnings: list[str] = []
    _train(model_dir, build / "mixture", tmp_path / "run", resume=True, max_steps=2, warn=warnings.append)
    assert [line for line in warnings if "changed since checkpoint-1" in line and sha[:12] in line], warnings
    record = json.loads((tmp_path / "run" / "medsreg-train.json").read_text())
    assert record["trained_on"]["manifest_sha256"] == _sha256(build / "manifest.json") != sha


# --------------------------------------------------------------------------- eval and score: clean vs dirty


def test_eval_records_the_planted_overlap_and_score_splits_each_task(runner, plugins, build, tmp_path, server,  # noqa: F811
                                                                     monkeypatch):
    """eval --trained-on the build writes contamination.json (the two planted qa_test instances dirty); score then gives
    each task's score on the clean and the dirty instances apart, and the dirty share."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    output = tmp_path / "eval"
    result = runner.invoke(cli, ["eval", "--backend", "openai", "--model", "gpt-test", "--api-base", server.url,
                                 "--suite", "demo/bench", "--plugins-dir", str(plugins), "--output", str(output),
                                 "--trained-on", str(build)])
    assert result.exit_code == 0, result.output
    assert "clean vs dirty: 2 of 13 test instances overlap the training data" in result.output
    recorded = Contamination.read(output)
    assert recorded.dirty["demo/qa_test"] == {f"qa_test-{i}" for i in PLANTED} and not recorded.dirty["demo/other_test"]
    assert recorded.trained_on.manifest_sha256 == _sha256(build / "manifest.json")
    # the dirty instances answered right, the clean ones wrong (1 of 6 right): the split must show it
    lines = [json.loads(line) for line in (output / "predictions.jsonl").read_text().splitlines()]
    for line in lines:
        dirty = line["task"] == "demo/qa_test" and int(line["instance_id"].rsplit("-", 1)[1]) in PLANTED
        line["output"] = "A" if dirty or line["instance_id"] == "qa_test-0" else "B"
    (output / "predictions.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    scored = runner.invoke(cli, ["score", str(output / "predictions.jsonl"), "--plugins-dir", str(plugins),
                                 "--format", "json"])
    assert scored.exit_code == 0, scored.output
    data = json.loads(scored.output)
    task = next(row for row in data["rows"] if row["name"] == "demo/qa_test")
    assert task["scores"] == {"mcqa_accuracy": 37.5}  # 3 of 8
    assert task["contamination"] == {"clean": {"count": 6, "scores": {"mcqa_accuracy": round(100 / 6, 4)}},
                                     "dirty": {"count": 2, "scores": {"mcqa_accuracy": 100.0}}, "dirty_share": 25.0}
    other = next(row for row in data["rows"] if row["name"] == "demo/other_test")
    assert other["contamination"]["dirty"] == {"count": 0, "scores": {}}
    assert other["contamination"]["clean"]["count"] == 5 and other["contamination"]["dirty_share"] == 0.0
    assert data["trained_on"]["manifest_sha256"] == recorded.trained_on.manifest_sha256
    text = runner.invoke(cli, ["score", str(output / "predictions.jsonl"), "--plugins-dir", str(plugins)]).output
    assert "Clean vs dirty" in text and "100.00 (2)" in text and "25.0%" in text
    assert "no training data is recorded" not in text


def test_without_training_data_score_says_so_and_gives_one_score(runner, tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"task": "t/x", "instance_id": "1", "references": ["A"], "output": "A",
                                "metrics": ["mcqa_accuracy"], "category": "QA"}) + "\n")
    result = runner.invoke(cli, ["score", str(path)])
    assert result.exit_code == 0 and "no training data is recorded for this run, so each task has one score" in result.output
    assert "Clean vs dirty" not in result.output


def test_a_broken_trained_on_is_one_sentence_before_anything_is_written(runner, plugins, tmp_path, server,  # noqa: F811
                                                                        monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    output = tmp_path / "eval"
    result = runner.invoke(cli, ["eval", "--backend", "openai", "--model", "gpt-test", "--api-base", server.url,
                                 "--suite", "demo/bench", "--plugins-dir", str(plugins), "--output", str(output),
                                 "--trained-on", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(tmp_path / "nowhere") in result.output and not output.exists() and server.requests == []
