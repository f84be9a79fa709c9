"""The training configuration: one pydantic model, named presets, a YAML / JSON file and command-line overrides.

Precedence, lowest first: the model's defaults, the preset (``preset:`` in the file or ``--preset``),
the config file, the command line (explicit options and ``--set KEY=VALUE``, dotted for nested
fields: ``--set lora.r=8``). Nothing here imports torch: a bad file is reported before any model is
loaded.

The ``mmedbench`` preset is MMedLM's MMedBench fine-tuning (SEEDS.md §4): both formats (the
``mmedlm_rationale_*`` and ``mmedlm_direct_*`` training tasks of the mmedbench plugin, i.e. each
record twice: rationale then answer, and the answer directly), the Alpaca prompt frame, loss on the
output and EOS only, at most 2048 tokens. The seed states no optimizer values for this recipe; the
learning rate 1e-5, the batch of 128 sequences (4 per device x 32 accumulation on one GPU: divide the
accumulation by the number of GPUs) and bf16 are the values §1.4 gives (marked uncertain) for the
same group's MMedIns-Llama 3 run; 3 epochs is medsreg's choice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from medsreg.errors import MedsregError
from medsreg.modelfolder import TRUST_FLAG


class LoraSettings(BaseModel):
    """peft's LoraConfig, the fields that matter."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(16, ge=1, description="Rank of the adapters.")
    alpha: int = Field(32, ge=1, description="lora_alpha: the adapters' output is scaled by alpha / r.")
    dropout: float = Field(0.05, ge=0, lt=1, description="Dropout on the adapters' input.")
    target_modules: list[str] | Literal["all-linear"] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        description="Module names given adapters (Llama / Mistral / Qwen names), or 'all-linear'.")


class TrainConfig(BaseModel):
    """What ``medsreg train`` does; every field can be set in the config file or with ``--set``, except
    ``trust_remote_code`` (``--trust-remote-code`` only)."""

    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(None, description="A named preset applied under this file's values (see PRESETS).")
    model: str | None = Field(None, description="The local model folder to start from (save_pretrained), or a LoRA "
                              "adapter folder: method lora trains that adapter further (its own r, alpha and target "
                              "modules), method full trains every weight of the base with the adapter merged in.")
    base_model: str | None = Field(None, description="The base model folder of a LoRA adapter given as model (default: "
                                   "the base_model_name_or_path of its adapter_config.json).")
    data: str | None = Field(None, description="The dataset folder: the mixture of 'medsreg build' (SFT) or a packed "
                             "corpus (CLM), as written by save_to_disk.")
    output_dir: str | None = Field(None, description="Checkpoints, the final model (or adapter) and medsreg-train.json.")
    objective: Literal["sft", "clm"] = Field("sft", description="sft: loss on the assistant part only; clm: continued "
                                             "pretraining on fixed-length input_ids windows.")
    method: Literal["full", "lora"] = Field("full", description="Train every weight, or LoRA adapters only (peft).")
    prompt_format: Literal["chat", "alpaca"] = Field(
        "chat", description="sft rows with messages: the model's chat template, or the Alpaca frame (instruction = the "
        "system message, input = the user message) as MMedLM trained.")
    tasks: list[str] | None = Field(None, description="Keep only rows whose 'task' matches one of these fnmatch patterns.")
    learning_rate: float = Field(2e-5, gt=0)
    epochs: float = Field(3.0, gt=0)
    max_steps: int = Field(-1, ge=-1, description="Stop after this many optimizer steps (-1: run the epochs).")
    batch_size: int = Field(4, ge=1, description="Sequences per device per forward pass.")
    gradient_accumulation: int = Field(1, ge=1)
    max_length: int = Field(2048, ge=2, description="Tokens per sequence at most (rows are truncated, packs filled).")
    packing: bool = Field(False, description="sft: pack whole examples into sequences of max_length tokens, kept apart "
                          "by position_ids (no cross-example attention, no padding).")
    lora: LoraSettings = Field(default_factory=LoraSettings)
    gradient_checkpointing: bool = False
    seed: int = 42
    save_steps: int = Field(500, ge=1, description="A checkpoint every this many optimizer steps.")
    save_total_limit: int | None = Field(2, ge=1, description="Older checkpoints are deleted beyond this many.")
    logging_steps: int = Field(10, ge=1)
    warmup: float = Field(0.03, ge=0, description="Warmup: a fraction of the steps (< 1) or a number of steps.")
    lr_scheduler: str = Field("cosine", description="transformers' scheduler name (linear, cosine, constant, ...).")
    weight_decay: float = Field(0.0, ge=0)
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA when there is a GPU, else the CPU.")
    precision: Literal["auto", "bf16", "fp16", "fp32"] = Field(
        "auto", description="auto: bf16 mixed precision on a GPU that supports it (fp16 otherwise), fp32 on CPU.")
    fsdp: str = Field("", description="TrainingArguments.fsdp, e.g. 'full_shard auto_wrap' (run under torchrun or "
                      "accelerate launch); empty: DDP when several processes, nothing on one.")
    fsdp_config: dict[str, Any] | None = Field(None, description="TrainingArguments.fsdp_config, e.g. "
                                               "{transformer_layer_cls_to_wrap: [LlamaDecoderLayer]}.")
    dataloader_workers: int = Field(0, ge=0)
    report_to: list[str] = Field(default_factory=lambda: ["none"], description="Loggers (tensorboard, wandb, ...).")
    trust_remote_code: bool = Field(False, description="Run the Python code the model folder ships (auto_map in its "
                                    "config.json / tokenizer_config.json); set by --trust-remote-code only, never by a "
                                    "config file or --set. Without it such a folder is refused.")

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.objective == "clm" and self.prompt_format != "chat":
            raise ValueError("prompt_format applies to sft only; leave it at 'chat' with objective clm")
        return self


PRESETS: dict[str, dict[str, Any]] = {
    "mmedbench": {
        "objective": "sft",
        "prompt_format": "alpaca",
        "tasks": ["mmedbench/mmedlm_rationale_*_train", "mmedbench/mmedlm_direct_*_train"],
        "max_length": 2048,
        "learning_rate": 1e-5,
        "batch_size": 4,
        "gradient_accumulation": 32,
        "epochs": 3.0,
        "precision": "auto",
        "lr_scheduler": "cosine",
        "warmup": 0.03,
    },
}
"""Named recipes: ``--preset NAME`` or ``preset: NAME`` in the config file."""


def read_config_file(path: Path) -> dict[str, Any]:
    """The mapping in a YAML (.yaml / .yml) or JSON file; MedsregError (one sentence) when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise MedsregError(f"the config file {path} does not exist; give a YAML or JSON file of training settings")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as error:  # noqa: BLE001 - yaml.YAMLError, json.JSONDecodeError
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise MedsregError(f"the config file {path} is not valid {'YAML' if path.suffix.lower() in ('.yaml', '.yml') else 'JSON'} "
                           f"({reason})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MedsregError(f"the config file {path} must hold a mapping of settings (learning_rate: 2e-5, ...), not a "
                           f"{type(data).__name__}")
    return data


def parse_assignment(text: str) -> tuple[list[str], Any]:
    """``KEY=VALUE`` of ``--set``: the dotted key, and the value read as YAML (numbers, booleans, lists) when it can be."""
    if "=" not in text:
        raise MedsregError(f"--set {text!r} is not KEY=VALUE; e.g. --set learning_rate=1e-5 or --set lora.r=8")
    key, value = text.split("=", 1)
    key = key.strip()
    if not key:
        raise MedsregError(f"--set {text!r} has no key before '='")
    try:
        import yaml

        parsed = yaml.safe_load(value) if value.strip() else value
    except Exception:  # noqa: BLE001 - not YAML: keep the string
        parsed = value
    if isinstance(parsed, str) and _is_float(parsed):  # YAML 1.1 reads 1e-5 as a string
        parsed = float(parsed)
    return key.split("."), parsed


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _deep_update(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_update(out[key], value)
        else:
            out[key] = value
    return out


def _refuse_trust_setting(where: str) -> None:
    # a settings file travels with recipes from anyone: only the user's own flag may let a folder's code run
    raise MedsregError(f"trust_remote_code cannot be set {where}; pass {TRUST_FLAG} on the command line if you trust "
                       "the model folder's code")


def build_config(file: Path | None = None, preset: str | None = None, overrides: dict[str, Any] | None = None,
                 assignments: tuple[str, ...] = ()) -> TrainConfig:
    """The configuration from (lowest first) the preset, ``file``, ``overrides`` (explicit options, None = unset) and
    ``assignments`` (``--set``); MedsregError naming the bad field otherwise."""
    values: dict[str, Any] = read_config_file(file) if file is not None else {}
    if "trust_remote_code" in values:
        _refuse_trust_setting(f"in the config file {file}")
    for text in assignments:
        path, value = parse_assignment(text)
        if path == ["trust_remote_code"]:
            _refuse_trust_setting("with --set")
        nested: dict[str, Any] = {path[-1]: value}
        for key in reversed(path[:-1]):
            nested = {key: nested}
        values = _deep_update(values, nested)
    values = _deep_update(values, {key: value for key, value in (overrides or {}).items() if value is not None})
    name = preset or values.get("preset")
    if name is not None:
        if name not in PRESETS:
            raise MedsregError(f"there is no preset named {name!r}; the presets are {', '.join(sorted(PRESETS))}")
        values = _deep_update(PRESETS[name], {**values, "preset": name})
    try:
        return TrainConfig.model_validate(values)
    except ValidationError as error:
        where = f" in {file}" if file is not None else ""
        problems = "; ".join(f"{'.'.join(str(part) for part in item['loc']) or 'config'}: {item['msg']}"
                             for item in error.errors())
        raise MedsregError(f"the training settings{where} are not valid ({problems}); "
                           "'medsreg train --help' lists the fields") from None
