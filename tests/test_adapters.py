"""LoRA adapters are models: the output folder of ``medsreg train --lora`` is evaluated as it is (its base from its
adapter_config.json, or ``--base-model``), ``medsreg train --merge`` makes it a standalone model that evaluates the
same without peft, training goes on from it (and resumes), and a broken adapter folder is one sentence."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")
pytest.importorskip("datasets")

from medsreg.cli import cli
from test_eval_rows import demo_plugins, one_error, predictions_of, save_tiny_model
from test_train import mixture_rows, save_rows, settings, train

LORA = {"r": 8, "alpha": 16, "dropout": 0.0, "target_modules": "all-linear"}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="module")
def adapter(tmp_path_factory, model_dir) -> Path:
    """A LoRA adapter of the tiny model, trained hard enough (a high learning rate) to change what it generates."""
    root = tmp_path_factory.mktemp("lora")
    mixture = save_rows(mixture_rows(32), root / "mixture")
    output = root / "adapter"
    train(settings(model_dir, mixture, output, max_steps=6, method="lora", learning_rate=3e-2, lora=LORA))
    return output


@pytest.fixture
def plugins(tmp_path, isolated_plugins, no_sources) -> Path:
    return demo_plugins(tmp_path / "plugins")


def evaluate(runner, plugins: Path, model: Path, output: Path, *args: str):
    return runner.invoke(cli, ["eval", "--model", str(model), "--suite", "demo/bench", "--plugins-dir", str(plugins),
                               "--output", str(output), "--limit", "4", "-q", *args])


def outputs(folder: Path) -> dict[tuple, str]:
    return {(r["task"], r["instance_id"]): r["output"] for r in predictions_of(folder)}


def merge(runner, adapter: Path, output: Path, *args: str):
    return runner.invoke(cli, ["train", "--merge", str(adapter), "--output", str(output), "-q", *args])


def _with_base(adapter: Path, folder: Path, base: object) -> Path:
    """A copy of ``adapter`` whose adapter_config.json names ``base`` (a path, or None for no base at all)."""
    shutil.copytree(adapter, folder, ignore=shutil.ignore_patterns("checkpoint-*"))
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base
    (folder / "adapter_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def _wider_model(model_dir: Path, folder: Path) -> Path:
    """The tiny model's architecture and tokenizer with a hidden size of 64: the adapter's modules, other shapes."""
    from transformers import AutoConfig, AutoModelForCausalLM

    shutil.copytree(model_dir, folder)
    config = AutoConfig.from_pretrained(str(model_dir))
    config.hidden_size = 64
    AutoModelForCausalLM.from_config(config).save_pretrained(str(folder))
    return folder


# --------------------------------------------------------------------------- eval, merge


def test_the_adapter_evaluates_as_its_merged_model_and_unlike_its_base(runner, plugins, model_dir, adapter, tmp_path,
                                                                       monkeypatch):
    from safetensors.torch import load_file

    config = json.loads((adapter / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["base_model_name_or_path"] == str(model_dir.resolve())  # found from any working directory

    result = evaluate(runner, plugins, adapter, tmp_path / "adapter-eval")
    assert result.exit_code == 0, result.output
    # trained on a dataset outside a build: its record names no build, which is a note, not a refusal
    assert "note: clean vs dirty:" in result.output and "names no build" in result.output
    assert not (tmp_path / "adapter-eval" / "contamination.json").exists()
    recorded = json.loads((tmp_path / "adapter-eval" / "config.json").read_text(encoding="utf-8"))
    assert recorded["config"]["base_model"] == str(model_dir.resolve())  # another base would be another run

    merged = tmp_path / "merged"
    made = merge(runner, adapter, merged)
    assert made.exit_code == 0, made.output
    assert (merged / "config.json").is_file() and (merged / "tokenizer_config.json").is_file()
    assert not (merged / "adapter_config.json").exists()
    base_weights, merged_weights = load_file(str(model_dir / "model.safetensors")), load_file(str(merged / "model.safetensors"))
    assert set(merged_weights) == set(base_weights)  # the base's names: no lora_ weight left
    assert any(not (merged_weights[k] == base_weights[k]).all() for k in base_weights)

    monkeypatch.setitem(sys.modules, "peft", None)  # the merged model is loaded by transformers alone
    assert evaluate(runner, plugins, merged, tmp_path / "merged-eval").exit_code == 0
    assert evaluate(runner, plugins, model_dir, tmp_path / "base-eval").exit_code == 0
    assert outputs(tmp_path / "adapter-eval") == outputs(tmp_path / "merged-eval")
    assert len(outputs(tmp_path / "adapter-eval")) == 8
    assert outputs(tmp_path / "adapter-eval") != outputs(tmp_path / "base-eval")


def test_base_model_overrides_the_adapters_base(runner, plugins, model_dir, adapter, tmp_path):
    moved = _with_base(adapter, tmp_path / "moved", str(tmp_path / "gone"))
    line = one_error(evaluate(runner, plugins, moved, tmp_path / "e1"))
    assert f"its base model {tmp_path / 'gone'}" in line and "is not a local folder" in line and "--base-model DIR" in line
    assert not (tmp_path / "e1").exists()  # refused before anything was written

    given = evaluate(runner, plugins, moved, tmp_path / "e2", "--base-model", str(model_dir))
    assert given.exit_code == 0, given.output
    reference = evaluate(runner, plugins, adapter, tmp_path / "e3")
    assert reference.exit_code == 0, reference.output
    assert outputs(tmp_path / "e2") == outputs(tmp_path / "e3")

    # merged the same way
    made = merge(runner, moved, tmp_path / "merged", "--base-model", str(model_dir))
    assert made.exit_code == 0, made.output


def test_a_broken_adapter_folder_is_one_sentence(runner, plugins, model_dir, adapter, tmp_path):
    not_json = _with_base(adapter, tmp_path / "not-json", None)
    (not_json / "adapter_config.json").write_text("{not json", encoding="utf-8")
    nameless = _with_base(adapter, tmp_path / "nameless", None)
    stacked = _with_base(adapter, tmp_path / "stacked", str(adapter))
    other = _wider_model(model_dir, tmp_path / "wider")
    # code of the adapter folder's own, or of its base's, runs only with --trust-remote-code
    coded = _with_base(adapter, tmp_path / "coded", str(model_dir))
    tokenizer_config = json.loads((coded / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer_config["auto_map"] = {"AutoTokenizer": [None, "tokenization_evil.EvilTokenizer"]}
    (coded / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    coded_base = shutil.copytree(model_dir, tmp_path / "coded-base")
    model_config = json.loads((coded_base / "config.json").read_text(encoding="utf-8"))
    model_config["auto_map"] = {"AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"}
    (coded_base / "config.json").write_text(json.dumps(model_config), encoding="utf-8")
    cases = {
        "custom code in the adapter": ([], coded, "holds custom code (tokenizer_config.json names tokenization_evil"),
        "custom code in the base": (["--base-model", str(coded_base)], adapter,
                                    "holds custom code (config.json names modeling_evil.EvilForCausalLM"),
        "not JSON": ([], not_json, "adapter_config.json cannot be read as JSON"),
        "no base named": ([], nameless, "does not name its base model"),
        "base is an adapter": ([], stacked, "is itself an adapter; merge it first"),
        "--base-model on a whole model": (["--base-model", str(model_dir)], model_dir, "--base-model is for a LoRA adapter"),
        "--base-model not a folder": (["--base-model", str(tmp_path / "nowhere")], adapter, "is not a local folder"),
    }
    for name, (args, folder, expected) in cases.items():
        line = one_error(evaluate(runner, plugins, folder, tmp_path / name.replace(" ", "-"), *args))
        assert expected in line, (name, line)
    line = one_error(merge(runner, not_json, tmp_path / "m1"))
    assert "cannot be read as JSON" in line
    line = one_error(merge(runner, adapter, tmp_path / "m2", "--base-model", str(other)))
    assert f"cannot be put on its base model {tmp_path / 'wider'}" in line and "--base-model DIR" in line
    line = one_error(merge(runner, model_dir, tmp_path / "m3"))
    assert "not a LoRA adapter and there is nothing to merge" in line
    line = one_error(merge(runner, adapter, model_dir))
    assert "is not an empty folder" in line
    mixed = runner.invoke(cli, ["train", "--merge", str(adapter), "--output", str(tmp_path / "m4"), "--data", "x"])
    assert mixed.exit_code == 2 and "--merge trains nothing" in mixed.output


# --------------------------------------------------------------------------- training from an adapter


def test_training_goes_on_from_an_adapter_and_resumes(runner, model_dir, adapter, tmp_path):
    mixture = save_rows(mixture_rows(16, seed=1), tmp_path / "mixture")
    output = tmp_path / "more"
    args = ["train", "--model", str(adapter), "--data", str(mixture), "--output", str(output), "--lora",
            "--batch-size", "8", "--save-steps", "1", "--set", "warmup=0", "-q"]
    first = runner.invoke(cli, [*args, "--max-steps", "1"])
    assert first.exit_code == 0, first.output
    assert (output / "adapter_config.json").is_file() and not (output / "config.json").exists()
    config = json.loads((output / "adapter_config.json").read_text(encoding="utf-8"))
    assert config["base_model_name_or_path"] == str(model_dir.resolve()) and config["r"] == LORA["r"]  # its own r

    again = runner.invoke(cli, [*args, "--max-steps", "2", "--resume"])
    assert again.exit_code == 0, again.output
    assert json.loads((output / "checkpoint-2" / "trainer_state.json").read_text())["global_step"] == 2

    # the checkpoints were trained from this adapter on this base: another adapter is another model
    other = _with_base(adapter, tmp_path / "other", str(model_dir))
    (other / "adapter_config.json").write_text(
        json.dumps({**config, "lora_alpha": 99}), encoding="utf-8")
    line = one_error(runner.invoke(cli, [*args[:2], str(other), *args[3:], "--max-steps", "3", "--resume"]))
    assert "was trained from another model" in line
