"""``medsreg train`` on CPU with a tiny Llama built here: SFT loss goes down, checkpoints are written and resumed (the
global step goes on), the prompt carries no loss (chat template and Alpaca frame), packed batches keep examples apart,
LoRA trains the adapters only, continued pretraining on a packed corpus, the presets and the config file, and every
bad input as one sentence."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("datasets")

from test_eval_rows import WORDS, one_error, save_tiny_model  # noqa: E402 - after the importorskips

from medsreg.build.tokenize import IGNORE_INDEX  # noqa: E402
from medsreg.cli import cli  # noqa: E402
from medsreg.errors import MedsregError  # noqa: E402
from medsreg.train.config import PRESETS, build_config  # noqa: E402

ANSWERS = ["pneumonia", "cardiac", "aspirin daily"]


def mixture_rows(count: int, seed: int = 0) -> list[dict]:
    """Rows shaped like the mixture of 'medsreg build' (the columns training reads, and task / instance_id)."""
    rng = random.Random(seed)

    def text(low: int, high: int) -> str:
        return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))

    rows = []
    for i in range(count):
        system, user, answer = text(3, 8), f"Input:\n{text(3, 10)}\nOutput:\n", ANSWERS[i % len(ANSWERS)]
        rows.append({"messages": [{"role": "system", "content": system}, {"role": "user", "content": user},
                                  {"role": "assistant", "content": answer}],
                     "prompt": system + "\n" + user, "completion": answer,
                     "task": f"mmedbench/mmedlm_{'rationale' if i % 2 else 'direct'}_en_train" if i % 4 else "demo/other",
                     "instance_id": f"i{i}"})
    return rows


def save_rows(rows: list[dict], folder: Path) -> Path:
    from datasets import Dataset

    Dataset.from_list(rows).save_to_disk(str(folder))
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="module")
def mixture(tmp_path_factory) -> Path:
    return save_rows(mixture_rows(48), tmp_path_factory.mktemp("data") / "mixture")


def settings(model: Path, data: Path, output: Path, **values):
    base = dict(model=str(model), data=str(data), output_dir=str(output), learning_rate=3e-3, batch_size=8,
                logging_steps=1, warmup=0, lr_scheduler="constant", save_steps=100)
    return build_config(overrides={**base, **values})


def train(config, **kwargs):
    from medsreg.train.run import run_train

    return run_train(config, quiet=True, say=lambda line: None, **kwargs)


# --------------------------------------------------------------------------- SFT, checkpoints, resume


def test_sft_loss_goes_down_writes_checkpoints_and_resumes(runner, model_dir, tmp_path):
    mixture = save_rows(mixture_rows(48), tmp_path / "mixture")
    files = sorted(p.name for p in mixture.iterdir())
    output = tmp_path / "run"
    result = train(settings(model_dir, mixture, output, max_steps=6, save_steps=3))
    assert result.global_step == 6
    assert result.losses[-1] < result.losses[0] - 0.5, result.losses
    assert [p.name for p in sorted(output.glob("checkpoint-*"))] == ["checkpoint-3", "checkpoint-6"]
    record = json.loads((output / "checkpoint-6" / "medsreg-train.json").read_text())
    assert record["config"]["objective"] == "sft" and record["precision"] == "fp32" and record["device"] == "cpu"
    assert (output / "model.safetensors").is_file() and (output / "tokenizer_config.json").is_file()
    assert sorted(p.name for p in mixture.iterdir()) == files  # no cache file written into the build's folder

    # through the command line: the latest checkpoint goes on to step 9 (optimizer, scheduler and data position kept)
    out = runner.invoke(cli, ["train", "--model", str(model_dir), "--data", str(mixture), "--output", str(output),
                              "--max-steps", "9", "--save-steps", "3", "--batch-size", "8", "--lr", "3e-3",
                              "--set", "warmup=0", "--set", "lr_scheduler=constant", "--resume", "-q"])
    assert out.exit_code == 0, out.output
    state = json.loads((output / "checkpoint-9" / "trainer_state.json").read_text())
    assert state["global_step"] == 9
    logged = [entry["step"] for entry in state["log_history"] if "loss" in entry]
    assert logged[:6] == [1, 2, 3, 4, 5, 6] and logged[-1] == 9  # one history: the resumed steps follow the first ones


def test_resume_says_where_it_starts(runner, model_dir, mixture, tmp_path):
    output = tmp_path / "run"
    train(settings(model_dir, mixture, output, max_steps=2, save_steps=2))
    out = runner.invoke(cli, ["train", "--model", str(model_dir), "--data", str(mixture), "--output", str(output),
                              "--max-steps", "3", "--resume"])
    assert out.exit_code == 0, out.output
    assert "resuming from checkpoint-2" in out.output and "trained to step 3" in out.output


# --------------------------------------------------------------------------- the prompt carries no loss


def _manual_loss(model, batch, answer_positions: list[list[int]]) -> float:
    """Cross-entropy over the answer tokens only (positions given independently of the labels), by hand."""
    import torch

    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    total, count = 0.0, 0
    for row, positions in enumerate(answer_positions):
        for position in positions:  # the token at `position` is predicted from the logits one step before
            target = batch["input_ids"][row, position]
            total += torch.nn.functional.cross_entropy(logits[row, position - 1][None], target[None], reduction="sum").item()
            count += 1
    return total / count


@pytest.mark.parametrize("prompt_format", ["chat", "alpaca"])
def test_prompt_tokens_carry_no_loss(model_dir, mixture, tmp_path, prompt_format):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medsreg.train.data import ALPACA, PaddingCollator, load_dataset_folder, sft_dataset

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    config = settings(model_dir, mixture, tmp_path / "unused", prompt_format=prompt_format)
    rows = mixture_rows(48)[:6]
    dataset = sft_dataset(load_dataset_folder(mixture).select(range(6)), tokenizer, config, mixture)
    answer_positions = []
    for row, got in zip(rows, dataset):
        messages = row["messages"]
        if prompt_format == "chat":
            prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, return_dict=False)
        else:
            prompt = tokenizer(ALPACA.format(instruction=messages[0]["content"], input=messages[1]["content"]))["input_ids"]
        cut = len(prompt)
        assert got["input_ids"][:cut] == list(prompt)
        # -100 exactly on the prompt; the answer (and the end of turn / EOS) is learnt
        assert [label == IGNORE_INDEX for label in got["labels"]] == [True] * cut + [False] * (len(got["labels"]) - cut)
        assert got["labels"][cut:] == got["input_ids"][cut:]
        assert got["labels"][-1] == tokenizer.eos_token_id or tokenizer.decode(got["labels"][cut:]).startswith(
            messages[-1]["content"])
        answer_positions.append(list(range(cut, len(got["input_ids"]))))

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    model.eval()
    batch = PaddingCollator(tokenizer.pad_token_id)([dict(row) for row in dataset])
    assert (batch["labels"][batch["attention_mask"] == 0] == IGNORE_INDEX).all()  # padding is masked as well
    with torch.no_grad():
        loss = model(**batch).loss.item()
    assert loss == pytest.approx(_manual_loss(model, batch, answer_positions), rel=1e-5)
    # and the mask matters: the same batch with the prompt labelled gives another loss
    unmasked = dict(batch, labels=torch.where(batch["attention_mask"] == 1, batch["input_ids"], IGNORE_INDEX))
    with torch.no_grad():
        assert model(**unmasked).loss.item() != pytest.approx(loss, rel=1e-3)


@pytest.mark.parametrize("attention, mask", [("sdpa", "bool"), ("eager", "additive")])
def test_packed_batches_keep_examples_apart(model_dir, mixture, tmp_path, attention, mask):
    """The loss of a batch of packed rows (of unequal lengths: one is padded) equals the token-weighted loss of its
    examples run one by one."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medsreg.train.data import PackedCollator, PaddingCollator, load_dataset_folder, sft_dataset

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    data = load_dataset_folder(mixture).select(range(8))
    single = sft_dataset(data, tokenizer, settings(model_dir, mixture, tmp_path), mixture)
    packed = sft_dataset(data, tokenizer, settings(model_dir, mixture, tmp_path, packing=True, max_length=160), mixture)
    assert 1 < len(packed) < len(single) and "position_ids" in packed.column_names
    assert len({len(row["input_ids"]) for row in packed}) > 1  # the collator pads one row
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation=attention)
    model.eval()
    with torch.no_grad():
        batch = PackedCollator(tokenizer.pad_token_id, mask)([dict(row) for row in packed])
        assert batch["attention_mask"].shape == (len(packed), 1, batch["input_ids"].shape[1], batch["input_ids"].shape[1])
        packed_loss = model(**batch).loss.item()
        total, tokens = 0.0, 0
        for row in single:
            one = PaddingCollator(tokenizer.pad_token_id)([dict(row)])
            n = int((one["labels"][0, 1:] != IGNORE_INDEX).sum())
            total += model(**one).loss.item() * n
            tokens += n
    assert packed_loss == pytest.approx(total / tokens, rel=1e-6)


def test_packed_and_pretokenized_mixtures_train(model_dir, mixture, tmp_path):
    """The three SFT shapes: messages packed here, and the build's tokenized output (input_ids / labels) as it is."""
    from transformers import AutoTokenizer

    from medsreg.build.tokenize import tokenize_rows
    from medsreg.train.data import load_dataset_folder

    packed = train(settings(model_dir, mixture, tmp_path / "packed", max_steps=3, packing=True, max_length=128,
                            gradient_checkpointing=True))
    assert packed.trainer.model.is_gradient_checkpointing
    assert packed.global_step == 3 and json.loads((tmp_path / "packed" / "medsreg-train.json").read_text())["packed"]
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    tokenized = tokenize_rows(load_dataset_folder(mixture), tokenizer, max_length=128, num_proc=1)
    tokenized.save_to_disk(str(tmp_path / "tokenized"))
    result = train(settings(model_dir, tmp_path / "tokenized", tmp_path / "out", max_steps=3))
    assert result.global_step == 3 and result.losses[-1] < result.losses[0]


# --------------------------------------------------------------------------- rows left out, per task and reason

LONG_TASK = "demo/long"
SHORT_MAX_LENGTH = 64


def rows_with_long_prompts(count: int = 24, long: int = 6) -> list[dict]:
    """``mixture_rows`` plus ``long`` rows of LONG_TASK whose system message alone is far past SHORT_MAX_LENGTH."""
    rows = mixture_rows(count)
    for i in range(long):
        system = " ".join(WORDS * 4)
        rows.append({"messages": [{"role": "system", "content": system}, {"role": "user", "content": f"Input:\ncase {i}\nOutput:\n"},
                                  {"role": "assistant", "content": "cardiac"}],
                     "prompt": system, "completion": "cardiac", "task": LONG_TASK, "instance_id": f"long{i}"})
    return rows


def expected_left_out(rows: list[dict], tokenizer, max_length: int, patterns: list[str] | None = None,
                      prompt_format: str = "chat") -> dict[str, dict[str, int]]:
    """Independently of the code under test: per task, rows whose task no pattern matches, and rows whose prompt
    (the chat template's generation prompt, or the Alpaca frame) alone is max_length tokens or more."""
    import fnmatch

    from medsreg.train.data import ALPACA

    found: dict[str, dict[str, int]] = {}
    for row in rows:
        messages = row["messages"]
        if patterns and not any(fnmatch.fnmatchcase(row["task"], pattern) for pattern in patterns):
            reason = "not_selected"
        else:
            if prompt_format == "chat":
                prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, return_dict=False)
            else:
                prompt = tokenizer(ALPACA.format(instruction=messages[0]["content"], input=messages[1]["content"]))["input_ids"]
            if len(prompt) < max_length:
                continue
            reason = "too_long"
        found.setdefault(row["task"], {}).setdefault(reason, 0)
        found[row["task"]][reason] += 1
    return dict(sorted(found.items()))


def test_rows_left_out_are_reported_per_task_at_the_start_and_recorded(runner, model_dir, tmp_path):
    from transformers import AutoTokenizer

    rows = rows_with_long_prompts()
    data = save_rows(rows, tmp_path / "mixture")
    patterns = ["mmedbench/*", LONG_TASK]
    expected = expected_left_out(rows, AutoTokenizer.from_pretrained(str(model_dir)), SHORT_MAX_LENGTH, patterns)
    assert expected[LONG_TASK] == {"too_long": 6} and expected["demo/other"]["not_selected"] > 0  # both reasons
    left_out = sum(sum(reasons.values()) for reasons in expected.values())
    output = tmp_path / "run"
    out = runner.invoke(cli, ["train", "--model", str(model_dir), "--data", str(data), "--output", str(output),
                              "--max-length", str(SHORT_MAX_LENGTH), "--max-steps", "1", "--batch-size", "4",
                              "--set", f"tasks={json.dumps(patterns)}"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    kept = len(rows) - left_out
    assert f"{data}: {left_out:,} of {len(rows):,} rows are left out, so training sees {kept:,}; per task" in out.output
    # task, rows, not in 'tasks', too long, trained: the numbers at the end of each task's line
    table = {line.split()[0]: [int(cell) for cell in line.split()[-4:]] for line in lines
             if line.startswith(("demo/", "mmedbench/"))}
    assert table[LONG_TASK] == [6, 0, 6, 0]
    other = sum(row["task"] == "demo/other" for row in rows)
    assert table["demo/other"] == [other, other, 0, 0]
    total = next(line for line in lines if line.startswith("total ("))
    assert [int(cell) for cell in total.split()[-4:]] == [len(rows), expected["demo/other"]["not_selected"], 6, kept]
    assert f"too long: 6 rows whose prompt alone fills {SHORT_MAX_LENGTH} tokens" in out.output and "raise --max-length" in out.output
    assert "not in 'tasks': " in out.output and "change 'tasks'" in out.output
    start = next(i for i, line in enumerate(lines) if line.startswith("training "))
    assert f"on {kept:,} of {len(rows):,} rows" in lines[start]
    assert out.output.index(lines[start]) < out.output.index("trained to step")  # said before training

    record = json.loads((output / "medsreg-train.json").read_text())["data"]
    assert record["rows"] == len(rows) and record["trained"] == kept
    assert json.loads((output / "medsreg-train.json").read_text())["rows"] == kept  # the rows the trainer got
    assert {task: entry["dropped"] for task, entry in record["tasks"].items() if entry["dropped"]} == expected
    assert record["dropped"] == {"not_selected": expected["demo/other"]["not_selected"], "too_long": 6}
    assert sum(entry["trained"] for entry in record["tasks"].values()) == kept


@pytest.mark.parametrize("shape", ["chat", "alpaca", "tokenized", "packing"])
def test_every_sft_shape_counts_the_rows_it_leaves_out(model_dir, tmp_path, shape):
    from transformers import AutoTokenizer

    from medsreg.build.tokenize import TokenCounts, tokenize_rows
    from medsreg.train.data import load_dataset_folder, sft_dataset

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    rows = rows_with_long_prompts(12, 4)
    data = save_rows(rows, tmp_path / "mixture")
    prompt_format = "alpaca" if shape == "alpaca" else "chat"
    max_length = 4 * SHORT_MAX_LENGTH if shape == "alpaca" else SHORT_MAX_LENGTH  # the Alpaca frame alone is long
    if shape == "tokenized":  # built with room to spare, trained shorter: the cut happens at training
        tokenize_rows(load_dataset_folder(data), tokenizer, max_length=4096, num_proc=1).save_to_disk(str(tmp_path / "tok"))
        data = tmp_path / "tok"
    config = settings(model_dir, data, tmp_path / "unused", max_length=max_length, prompt_format=prompt_format,
                      packing=shape == "packing")
    counts = TokenCounts()
    dataset = sft_dataset(load_dataset_folder(data), tokenizer, config, data, counts=counts)
    expected = expected_left_out(rows, tokenizer, max_length, prompt_format=prompt_format)
    assert expected == {LONG_TASK: {"too_long": 4}}  # the long task's rows, and only those
    assert counts.dropped_by_task() == expected and counts.rows == len(rows)
    if shape == "packing":  # the blocks hold every example kept: each starts at position 0
        assert counts.blocks == len(dataset)
        assert sum(row["position_ids"].count(0) for row in dataset) == counts.rows - counts.dropped
    else:
        assert len(dataset) == counts.rows - counts.dropped


def test_a_dataset_whose_rows_are_all_left_out_is_one_sentence(model_dir, tmp_path):
    from transformers import AutoTokenizer

    from medsreg.train.data import load_dataset_folder, sft_dataset

    data = save_rows(rows_with_long_prompts(0, 3), tmp_path / "mixture")
    with pytest.raises(MedsregError, match=rf"no row of {data} is left to train on \(3 whose prompt alone fills "
                                           rf"max_length \({SHORT_MAX_LENGTH}\) tokens\); raise max_length above"):
        sft_dataset(load_dataset_folder(data), AutoTokenizer.from_pretrained(str(model_dir)),
                    settings(model_dir, data, tmp_path / "unused", max_length=SHORT_MAX_LENGTH), data)


# --------------------------------------------------------------------------- LoRA


def test_lora_trains_only_the_adapters(model_dir, mixture, tmp_path):
    from safetensors.torch import load_file

    original = load_file(str(model_dir / "model.safetensors"))
    result = train(settings(model_dir, mixture, tmp_path / "lora", max_steps=4, method="lora", gradient_checkpointing=True,
                            lora={"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}))
    model = result.trainer.model
    trainable = [name for name, parameter in model.named_parameters() if parameter.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    assert any("lora_B" in name for name in trainable)
    for name, parameter in model.named_parameters():
        if "lora_" in name:
            continue
        key = name.replace("base_model.model.", "").replace(".base_layer", "")
        assert key in original, name
        assert (parameter.detach().cpu() == original[key]).all(), f"{name} changed"
    lora_b = [p for n, p in model.named_parameters() if "lora_B" in n]
    assert any(p.abs().sum() > 0 for p in lora_b)  # lora_B starts at zero: it moved
    assert (tmp_path / "lora" / "adapter_config.json").is_file()
    assert result.losses[-1] < result.losses[0]


# --------------------------------------------------------------------------- continued pretraining


def test_clm_on_a_packed_corpus(model_dir, tmp_path):
    from datasets import Dataset
    from transformers import AutoTokenizer

    from medsreg.train.data import clm_dataset, load_dataset_folder

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    rng = random.Random(3)
    windows, masks = [], []
    for i in range(24):
        ids = tokenizer(" ".join(rng.choices(WORDS[:8], k=40)))["input_ids"] + [tokenizer.eos_token_id]
        length = 32 if i % 3 else 20  # every third document is short: padded on the right, mask 0
        ids = ids[:length] + [tokenizer.pad_token_id] * (32 - length)
        windows.append(ids)
        masks.append([1] * length + [0] * (32 - length))
    Dataset.from_dict({"input_ids": windows, "attention_mask": masks}).save_to_disk(str(tmp_path / "corpus"))
    config = settings(model_dir, tmp_path / "corpus", tmp_path / "clm", objective="clm", max_length=32, max_steps=8)
    prepared = clm_dataset(load_dataset_folder(tmp_path / "corpus"), tokenizer, config, tmp_path / "corpus")
    assert prepared[0]["labels"][20:] == [IGNORE_INDEX] * 12 and prepared[0]["labels"][:20] == windows[0][:20]
    assert prepared[1]["labels"] == windows[1]
    result = train(config)
    assert result.global_step == 8
    assert result.losses[-1] < result.losses[0] - 0.5, result.losses


# --------------------------------------------------------------------------- settings


def test_presets_file_and_overrides(tmp_path):
    (tmp_path / "train.yaml").write_text("preset: mmedbench\nlearning_rate: 2.0e-5\nlora:\n  r: 8\n", encoding="utf-8")
    config = build_config(tmp_path / "train.yaml", overrides={"epochs": 1.0}, assignments=("lora.alpha=16", "packing=true"))
    assert config.preset == "mmedbench" and config.prompt_format == "alpaca" and config.max_length == 2048
    assert config.learning_rate == 2e-5  # the file over the preset
    assert config.epochs == 1.0 and config.lora.r == 8 and config.lora.alpha == 16 and config.packing is True
    assert config.tasks == PRESETS["mmedbench"]["tasks"]
    assert build_config(preset="mmedbench").learning_rate == 1e-5
    (tmp_path / "train.json").write_text(json.dumps({"objective": "clm", "seed": 7}), encoding="utf-8")
    assert build_config(tmp_path / "train.json").seed == 7
    with pytest.raises(MedsregError, match=r"learning_rat: Extra inputs are not permitted"):
        build_config(assignments=("learning_rat=1",))


def test_mmedbench_preset_trains_both_mmedlm_formats_in_the_alpaca_frame(runner, model_dir, mixture, tmp_path):
    out = runner.invoke(cli, ["train", "--preset", "mmedbench", "--model", str(model_dir), "--data", str(mixture),
                              "--output", str(tmp_path / "mmedbench"), "--max-steps", "2", "--gradient-accumulation", "1",
                              "-q"])
    assert out.exit_code == 0, out.output
    record = json.loads((tmp_path / "mmedbench" / "medsreg-train.json").read_text())
    assert record["config"]["prompt_format"] == "alpaca" and record["config"]["learning_rate"] == 1e-5
    assert record["config"]["max_length"] == 2048 and record["config"]["batch_size"] == 4
    # the rows of the mmedlm_rationale_* and mmedlm_direct_* training tasks, none of the others
    assert record["rows"] == sum(1 for row in mixture_rows(48) if row["task"].startswith("mmedbench/mmedlm_"))


def test_the_command_imports_no_heavy_module():
    code = ("import sys\nfrom medsreg.cli import cli\ntry:\n    cli(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('torch', 'transformers', 'peft', 'datasets', 'accelerate') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    assert "--resume" in out.stdout and "--preset" in out.stdout


# --------------------------------------------------------------------------- bad input


def _tokenizer_without_eos(model_dir: Path, folder: Path) -> Path:
    from transformers import AutoTokenizer

    shutil.copytree(model_dir, folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    tokenizer.eos_token = None
    tokenizer.save_pretrained(str(folder))
    return folder


def _cases(model_dir: Path, mixture: Path, tmp: Path) -> dict[str, tuple[list[str], str]]:
    no_columns = save_rows([{"text": "fever", "label": 1}] * 4, tmp / "no-columns")
    corpus = save_rows([{"text": "fever"}] * 4, tmp / "text-corpus")
    other = save_tiny_model(tmp / "other-llama", seed=1)
    foreign = tmp / "foreign"
    train(settings(other, mixture, foreign, max_steps=1, save_steps=1))
    base = ["--model", str(model_dir), "--data", str(mixture), "--output", str(tmp / "out")]
    return {
        "dataset without training columns": (["--model", str(model_dir), "--data", str(no_columns), "--output",
                                              str(tmp / "o1")], "has neither 'messages' nor 'input_ids' + 'labels'"),
        "clm corpus without input_ids": (["--model", str(model_dir), "--data", str(corpus), "--output", str(tmp / "o2"),
                                          "--objective", "clm"], "has no 'input_ids' column"),
        "model that does not exist": (["--model", str(tmp / "missing"), "--data", str(mixture), "--output",
                                       str(tmp / "o3")], "does not exist"),
        "data folder that does not exist": (["--model", str(model_dir), "--data", str(tmp / "nowhere"), "--output",
                                             str(tmp / "o4")], "the dataset folder"),
        "tokenizer without EOS": (["--model", str(_tokenizer_without_eos(model_dir, tmp / "no-eos")), "--data",
                                   str(mixture), "--output", str(tmp / "o5")], "has no EOS token"),
        "checkpoint from another model": ([*base[:4], "--output", str(foreign), "--resume"],
                                          "was trained from another model"),
        "checkpoints without --resume": ([*base[:4], "--output", str(foreign)], "already holds checkpoints"),
        "unknown preset": ([*base, "--preset", "nope"], "no preset named 'nope'"),
        "bad setting": ([*base, "--set", "lora.r=0"], "lora.r: Input should be greater than or equal to 1"),
        "config file that does not exist": ([*base, "--config", str(tmp / "missing.yaml")], "does not exist"),
    }


def test_bad_input_is_one_sentence_and_exit_1(runner, model_dir, mixture, tmp_path):
    for name, (args, expected) in _cases(model_dir, mixture, tmp_path).items():
        result = runner.invoke(cli, ["train", *args, "-q"])
        line = one_error(result)
        assert expected in line, (name, line)
