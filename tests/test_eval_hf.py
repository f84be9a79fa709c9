"""``medsreg eval --backend hf`` end to end on CPU with a tiny Llama built here: the suite through the CLI, batched
generation equal to one prompt at a time, a SIGKILL mid-way resumed to exactly N predictions, data-parallel
shards merged, a CUDA out-of-memory error halving the batch, and every bad input as one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from test_eval_rows import (  # noqa: E402 - after the importorskips
    MCQA_ROWS,
    NER_ROWS,
    demo_plugins,
    one_error,
    predictions_of,
    save_tiny_model,
    save_tokenizer,
)

from medsreg.cli import cli  # noqa: E402

ROWS = MCQA_ROWS + NER_ROWS


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture
def plugins(tmp_path, isolated_plugins, no_sources) -> Path:
    return demo_plugins(tmp_path / "plugins")


def evaluate(runner, plugins: Path, model: Path | str, output: Path, *args: str):
    return runner.invoke(cli, ["eval", "--model", str(model), "--suite", "demo/bench", "--plugins-dir", str(plugins),
                               "--output", str(output), *args])


def outputs(folder: Path) -> dict[tuple, str]:
    return {(r["task"], r["instance_id"], r["prompt_sha256"]): r["output"] for r in predictions_of(folder)}


# --------------------------------------------------------------------------- end to end


def test_the_suite_runs_end_to_end_on_cpu(runner, plugins, model_dir, tmp_path):
    import csv

    output = tmp_path / "run"
    result = evaluate(runner, plugins, model_dir, output, "--batch-size", "8")
    assert result.exit_code == 0, result.output
    records = predictions_of(output)
    assert len(records) == ROWS and len({(r["task"], r["instance_id"]) for r in records}) == ROWS
    config = json.loads((output / "config.json").read_text(encoding="utf-8"))
    assert config["config"] == {"backend": "hf", "decoding": "greedy", "dtype": "float32", "max_input_tokens": 2048,
                                "max_new_tokens": 12}  # the suite's max_new_tokens
    assert {r["config_sha256"] for r in records} == {config["config_sha256"]}
    assert {r["model"] for r in records} == {str(model_dir)}
    assert all(isinstance(r["output"], str) for r in records) and any(r["output"] for r in records)
    assert "generated 36 predictions" in result.stdout and "rows/s" in result.stdout
    with open(output / "submission" / "Multilingual_MCQA.csv", encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    by_id = {r["instance_id"]: r for r in records}
    assert [row["output"] for row in table] == [by_id[f"q{i}"]["output"] for i in range(MCQA_ROWS)]
    assert {row["task_id"] for row in table} == {"task57"}

    scored = runner.invoke(cli, ["score", str(output / "predictions.jsonl"), "--plugins-dir", str(plugins), "--format",
                                 "json"])  # the scorer reads what eval writes
    assert scored.exit_code == 0, scored.output
    assert "demo/mcqa_test" in scored.stdout and "demo/ner_test" in scored.stdout

    again = evaluate(runner, plugins, model_dir, output)  # a rerun has nothing left to do and changes nothing
    assert again.exit_code == 0, again.output
    assert "nothing to generate" in again.stdout and predictions_of(output) == records


def test_batched_generation_equals_one_prompt_at_a_time(runner, plugins, model_dir, tmp_path):
    batched, single = tmp_path / "batched", tmp_path / "single"
    assert evaluate(runner, plugins, model_dir, batched, "--batch-size", "16", "--max-new-tokens", "16").exit_code == 0
    assert evaluate(runner, plugins, model_dir, single, "--batch-size", "1", "--max-new-tokens", "16").exit_code == 0
    assert outputs(batched) == outputs(single) and len(outputs(single)) == ROWS
    assert len(set(outputs(single).values())) > 1  # the prompts do lead to different texts


def test_batches_are_formed_longest_first_and_prompts_keep_their_end(plugins, model_dir):
    from medsreg.evaluate.backends import GenerationOptions, make_backend
    from medsreg.evaluate.rows import suite_rows_from_catalog

    rows = suite_rows_from_catalog("demo/bench", (plugins,), warn=print).rows
    backend = make_backend("hf", GenerationOptions(model=str(model_dir), max_input_tokens=40, max_new_tokens=6), print)
    backend.load()
    prepared = [backend.prepare(row["messages"]) for row in rows]
    full = backend.tokenizer.apply_chat_template(rows[-1]["messages"], add_generation_prompt=True, return_dict=False)
    assert len(full) > 40 and prepared[-1] == full[-40:]  # the question and the assistant turn's opening are kept
    assert backend.truncated == sum(len(backend.tokenizer.apply_chat_template(
        row["messages"], add_generation_prompt=True, return_dict=False)) > 40 for row in rows)
    assert backend.generate(prepared[:5]) == [backend.generate([ids])[0] for ids in prepared[:5]]


# --------------------------------------------------------------------------- interrupted and resumed


def test_a_killed_eval_resumes_to_exactly_n_predictions(runner, plugins, model_dir, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    output = tmp_path / "killed"
    predictions = output / "predictions.jsonl"
    code = "import sys; from medsreg.cli import main; sys.argv[0] = 'medsreg'; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "eval", "--model", str(model_dir), "--suite", "demo/bench", "--plugins-dir",
         str(plugins), "--output", str(output), "--batch-size", "1", "--max-new-tokens", "48", "--quiet"],
        env={**os.environ, "CI": "1"}, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None and (
            not predictions.exists() or predictions.read_bytes().count(b"\n") < 3):
        time.sleep(0.002)
    assert process.poll() is None, "the eval finished before it could be killed: " + process.stderr.read().decode()
    process.send_signal(signal.SIGKILL)
    process.wait()
    lines = predictions.read_bytes().count(b"\n")
    assert 3 <= lines < ROWS
    with open(predictions, "a", encoding="utf-8") as handle:  # and as if the kill had torn the line being written
        handle.write('{"suite": "demo/bench", "task": "demo/ner')

    result = evaluate(runner, plugins, model_dir, output, "--batch-size", "1", "--max-new-tokens", "48")
    assert result.exit_code == 0, result.output
    assert "torn last line" in result.stderr and f"already done" in result.stdout
    records = predictions_of(output)  # every line whole JSON
    keys = [(r["task"], r["instance_id"], r["prompt_sha256"]) for r in records]
    assert len(keys) == ROWS and len(set(keys)) == ROWS

    reference = tmp_path / "reference"  # and the same predictions as a run never interrupted
    assert evaluate(runner, plugins, model_dir, reference, "--max-new-tokens", "48").exit_code == 0
    assert outputs(output) == outputs(reference)


# --------------------------------------------------------------------------- data parallel


def test_ranks_take_their_share_and_rank_0_merges(runner, plugins, model_dir, tmp_path, monkeypatch):
    output = tmp_path / "dp"
    monkeypatch.setenv("WORLD_SIZE", "2")
    for rank in (1, 0):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("LOCAL_RANK", str(rank))
        result = evaluate(runner, plugins, model_dir, output, "--limit", "5", "--merge-wait", "0")
        assert result.exit_code == 0, result.output
        if rank == 1:
            shard = [json.loads(line) for line in (output / "predictions-rank1.jsonl").read_text().splitlines()]
            assert sorted(r["instance_id"] for r in shard) == ["n0", "n2", "n4", "q1", "q3"]  # rows 1, 3, 5, 7, 9
            assert not (output / "predictions.jsonl").exists() and "rank 0 merges" in result.stdout
    assert sorted(p.name for p in output.iterdir()) == ["config.json", "predictions.jsonl", "submission"]
    merged = predictions_of(output)
    assert [r["instance_id"] for r in merged] == ["q0", "q1", "q2", "q3", "q4", "n0", "n1", "n2", "n3", "n4"]

    single = tmp_path / "single"  # the same predictions as one process
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert evaluate(runner, plugins, model_dir, single, "--limit", "5").exit_code == 0
    assert outputs(single) == outputs(output)
    assert (single / "submission" / "Multilingual_MCQA.csv").read_bytes() == (
        output / "submission" / "Multilingual_MCQA.csv").read_bytes()


def test_rank_0_done_first_leaves_the_merge_to_merge(runner, plugins, model_dir, tmp_path, monkeypatch):
    output = tmp_path / "dp"
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    result = evaluate(runner, plugins, model_dir, output, "--limit", "3", "--merge-wait", "0")
    assert result.exit_code == 0 and "run the same command with --merge" in result.stderr
    early = runner.invoke(cli, ["eval", "--merge", "--suite", "demo/bench", "--plugins-dir", str(plugins), "--limit", "3",
                                "--output", str(output)])
    assert "3 of 6 rows of demo/bench have no prediction" in one_error(early)
    monkeypatch.setenv("RANK", "1")
    assert evaluate(runner, plugins, model_dir, output, "--limit", "3").exit_code == 0
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    merged = runner.invoke(cli, ["eval", "--merge", "--suite", "demo/bench", "--plugins-dir", str(plugins), "--limit", "3",
                                 "--output", str(output)])
    assert merged.exit_code == 0, merged.output
    assert len(predictions_of(output)) == 6 and not list(output.glob("predictions-rank*"))
    assert (output / "submission" / "Named_entity_recognition.csv").is_file()


# --------------------------------------------------------------------------- CUDA out of memory


def test_out_of_memory_halves_the_batch_and_goes_on(plugins, model_dir, tmp_path, monkeypatch):
    import torch

    from medsreg.evaluate.backends.hf import HFBackend
    from medsreg.evaluate.run import EvalOptions, run_eval

    real = HFBackend._generate
    sizes = []

    def small_memory(self, batch):
        sizes.append(len(batch))
        if len(batch) > 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, batch)

    monkeypatch.setattr(HFBackend, "_generate", small_memory)
    warnings = []
    options = EvalOptions(model=str(model_dir), suite="demo/bench", plugins_dirs=(plugins,), output=tmp_path / "oom",
                          batch_size=16, quiet=True)
    result = run_eval(options, say=lambda line: None, warn=warnings.append)
    assert result.written == ROWS and len(predictions_of(tmp_path / "oom")) == ROWS
    assert sizes == [16, 8, 4] + [2] * 18  # every later batch (the rest of the first one too) has the lowered size
    assert "warning: CUDA ran out of memory on a batch of 16; went on with batches of 8" in warnings
    assert "warning: CUDA ran out of memory on a batch of 4; went on with batches of 2" in warnings
    assert any(note.startswith("note: CUDA ran out of memory on a batch of 16") for note in warnings)

    monkeypatch.setattr(HFBackend, "_generate", lambda self, batch: (_ for _ in ()).throw(torch.OutOfMemoryError("OOM")))
    with pytest.raises(Exception, match="CUDA ran out of memory generating a single prompt of .* tokens"):
        run_eval(EvalOptions(model=str(model_dir), suite="demo/bench", plugins_dirs=(plugins,), output=tmp_path / "oom1",
                             batch_size=1, quiet=True), say=lambda line: None, warn=lambda line: None)


# --------------------------------------------------------------------------- bad input: one sentence, exit code 1


@pytest.mark.parametrize("case", ["missing", "a file", "no config", "no chat template", "unknown suite", "not available",
                                  "other model", "other settings", "remote code", "data missing"])
def test_bad_input_is_one_sentence_and_exit_1(runner, plugins, model_dir, tmp_path, case):
    output = tmp_path / "out"
    model: Path | str = model_dir
    args: list[str] = []
    expected = {
        "missing": "the model folder {tmp}/nowhere does not exist; give --model a local folder saved with save_pretrained",
        "a file": "is a file, not a folder",
        "no config": "holds no config.json, so it is not a saved model",
        "no chat template": "has no chat template (no chat_template.jinja nor chat_template in tokenizer_config.json)",
        "unknown suite": "--suite: no suite named 'bnech'. Did you mean 'bench'?",
        "not available": "suite remote/bench needs test sets that are not available here: 1 of its 1 tasks (remote/ner_test); configure source",
        "other model": "already holds predictions of model",
        "other settings": "made with other generation settings (max_new_tokens 12 then, 5 now)",
        "remote code": "holds custom code (config.json names configuration_custom.CustomConfig, "
                       "modeling_custom.CustomModel), which medsreg never runs unless asked: pass --trust-remote-code",
        "data missing": "the suite folder {tmp}/no-data does not exist; give --data a suite folder written by",
    }[case].format(tmp=tmp_path)
    if case == "missing":
        model = tmp_path / "nowhere"
    elif case == "a file":
        model = tmp_path / "weights.bin"
        model.write_bytes(b"\0")
    elif case == "no config":
        model = save_tokenizer(tmp_path / "tokenizer-only")
    elif case == "no chat template":
        model = save_tokenizer(tmp_path / "plain", template=None)
        (model / "config.json").write_text((model_dir / "config.json").read_text())
    elif case == "unknown suite":
        args = ["--suite", "bnech"]
    elif case == "not available":
        remote = tmp_path / "plugins"
        _remote_plugin(remote)
        args = ["--suite", "remote/bench"]
    elif case in ("other model", "other settings"):
        assert evaluate(runner, plugins, model_dir, output, "--limit", "1").exit_code == 0
        if case == "other model":
            model = tmp_path / "other-model"
            save_tiny_model(model, seed=1)
        else:
            args = ["--max-new-tokens", "5"]
    elif case == "remote code":
        model = tmp_path / "custom"
        save_tiny_model(model)
        config = json.loads((model / "config.json").read_text())
        config["model_type"] = "custom_llama"  # a model type transformers does not know: only the folder's code has it
        config["auto_map"] = {"AutoConfig": "configuration_custom.CustomConfig",
                              "AutoModelForCausalLM": "modeling_custom.CustomModel"}
        (model / "config.json").write_text(json.dumps(config))
        (model / "modeling_custom.py").write_text("raise SystemExit('remote code ran')\n")
        (model / "configuration_custom.py").write_text("raise SystemExit('remote code ran')\n")
    before = predictions_of(output) if output.exists() else None
    if case == "data missing":
        result = runner.invoke(cli, ["eval", "--model", str(model), "--data", str(tmp_path / "no-data"), "--output",
                                     str(output)])
    else:
        suite = args[1] if args[:1] == ["--suite"] else "demo/bench"
        extra = args[2:] if args[:1] == ["--suite"] else args
        result = runner.invoke(cli, ["eval", "--model", str(model), "--suite", suite, "--plugins-dir", str(plugins),
                                     "--output", str(output), *extra])
    message = one_error(result)
    assert expected in message, message
    if before is None:
        assert not (output / "predictions.jsonl").exists()
    else:
        assert predictions_of(output) == before  # a refused run changes nothing


def _remote_plugin(root: Path) -> None:
    from conftest import make_plugin, task_document, write_json
    from conftest import REGISTER_SUITES

    remote = make_plugin(root, "remote", {"ner_test": task_document(
        Categories=["Named Entity Recognition"], Split_Type="Test", Instances=None,
        medsreg={"name": "ner_test", "version": "1.0", "license": "CC-BY-4.0", "access": "public",
                 "instances_from": {"kind": "local", "key": "remote-bench", "path": "ner_test.json"}})},
        init_py=REGISTER_SUITES)
    write_json(remote / "medsreg_remote" / "suite.json", {
        "name": "remote/bench", "description": "Needs a source.",
        "categories": [{"name": "NER", "tasks": [{"task": "remote/ner_test", "metrics": ["entity_f1"]}]}]})
