"""``medsreg train``: the model and tokenizer checked, the dataset prepared, transformers' Trainer run, resumable.

Device, precision and launcher come from configuration only: the same call runs on a laptop's CPU
(fp32), one GPU (bf16 mixed precision) or several under ``torchrun`` / ``accelerate launch``, where
Trainer wraps the model in DDP, or FSDP when ``fsdp`` is set (or the accelerate config says so).

The output folder holds ``medsreg-train.json`` (the settings, the fingerprint of the model
trained from: a hash of its config.json and of its weight files' names, sizes and sampled bytes, and
under ``data`` the rows read, trained on and left out per task and reason; under ``trained_on`` the build trained on:
the sha256 of its manifest.json, the build and dataset folders and the mixture's name, or null with
``trained_on_reason`` for data that is not a mixture of a build, see ``medsreg.contamination``), Trainer's
``checkpoint-N`` folders (each with its own copy of that file) and, at the end, the model (full
fine-tuning) or the adapter (LoRA) with the tokenizer. ``--resume`` continues from the latest
checkpoint (optimizer, scheduler, RNG and data position: the global step goes on); a checkpoint
folder written while training another model is refused, and so is training into a folder that
holds checkpoints without ``--resume``.

The model may be a LoRA adapter folder (``medsreg.modelfolder``): method lora trains that adapter further on its base,
method full trains every weight of the base with the adapter merged in; its fingerprint covers the adapter and its
base. ``merge_adapter`` (``--merge``) writes an adapter merged into its base as a standalone model, with the adapter's
medsreg-train.json (and ``merged_from``, the adapter folder).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsreg.contamination import read_json_object, trained_on_record
from medsreg.errors import MedsregError
from medsreg.modelfolder import (
    ADAPTER_CONFIG,
    ModelFolder,
    first_line,
    load_model,
    load_tokenizer,
    model_folder,
    peft_deprecations_hidden,
)
from medsreg.progress import bars_hidden, trainer_progress_callback
from medsreg.train.config import TrainConfig

Echo = Callable[[str], None]
RECORD = "medsreg-train.json"
CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
SAMPLE = 1 << 16
"""Bytes read at the start, middle and end of each weight file for the fingerprint (hashing 16 GB would take minutes)."""


@dataclass
class TrainResult:
    output_dir: Path
    global_step: int
    losses: list[float] = field(default_factory=list)
    """The training loss logged every logging_steps steps, in order."""
    resumed_from: Path | None = None
    trainer: Any = None
    """transformers' Trainer (its model, state), for callers that look further (the tests)."""


def model_fingerprint(folder: ModelFolder | Path) -> str:
    """sha256 of the model's config.json (as a canonical JSON, without the fields save_pretrained rewrites) and of
    its weight files' names, sizes and sampled bytes: the same for a copy of the folder, different for another model
    (another architecture, or other weights of the same one). An adapter's is that of its adapter_config.json and
    weights over its base's: the same adapter on another base is another model."""
    folder = folder if isinstance(folder, ModelFolder) else ModelFolder(Path(folder))
    if folder.base is None:
        return _folder_digest(folder.path, "config.json", ("_name_or_path", "transformers_version", "torch_dtype", "dtype"))
    # where the base lies is no part of the adapter (--base-model may move it): the base's own fingerprint covers it
    return _folder_digest(folder.path, ADAPTER_CONFIG, ("base_model_name_or_path", "revision"),
                          start=model_fingerprint(folder.base))


def _folder_digest(path: Path, config_name: str, volatile: tuple[str, ...], start: str = "") -> str:
    config = json.loads((path / config_name).read_text(encoding="utf-8"))
    for key in volatile:
        config.pop(key, None)
    digest = hashlib.sha256(start.encode("utf-8"))  # nothing for a whole model: its fingerprints stay as they were
    digest.update(json.dumps(config, sort_keys=True).encode("utf-8"))
    for weight in sorted(p for p in path.iterdir() if p.is_file() and p.suffix in WEIGHT_SUFFIXES):
        size = weight.stat().st_size
        digest.update(f"{weight.name}:{size}".encode())
        with weight.open("rb") as handle:  # three samples of the bytes: another model of the same shape differs there
            for offset in sorted({0, max(size // 2 - SAMPLE // 2, 0), max(size - SAMPLE, 0)}):
                handle.seek(offset)
                digest.update(handle.read(SAMPLE))
    return digest.hexdigest()


def checkpoints(folder: Path) -> list[Path]:
    """The ``checkpoint-N`` folders in ``folder``, by N."""
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := CHECKPOINT.match(p.name))]
    return [p for _, p in sorted(found)]


def _model_folder(config: TrainConfig) -> ModelFolder:
    if not config.model:
        raise MedsregError("give --model PATH (a local model folder saved with save_pretrained, or a LoRA adapter "
                           "folder) or 'model:' in --config")
    return model_folder(config.model, config.base_model)


def _load_tokenizer(path: Path, shown: str, trust_remote_code: bool) -> Any:
    tokenizer = load_tokenizer(path, trust_remote_code=trust_remote_code, what=f"the tokenizer of the model {shown}",
                               how="save the tokenizer beside the model with tokenizer.save_pretrained")
    if tokenizer.eos_token_id is None:
        raise MedsregError(f"the tokenizer of the model {shown} has no EOS token, so a trained model would never learn "
                           "to stop; set tokenizer.eos_token (e.g. the end-of-turn token) and save_pretrained it")
    return tokenizer


def _check_output(output: Path, fingerprint: str, config: TrainConfig, resume: bool, say: Echo) -> Path | None:
    """The checkpoint to resume from (None: start at step 0); MedsregError for a folder that is not this run's."""
    found = checkpoints(output)
    if not found:
        if resume:
            say(f"no checkpoint in {output} yet: starting at step 0")
        return None
    if not resume:
        raise MedsregError(f"{output} already holds checkpoints (the latest {found[-1].name}); add --resume to continue "
                           "that run, or give another --output")
    latest = found[-1]
    record_path = latest / RECORD if (latest / RECORD).is_file() else output / RECORD
    if not record_path.is_file():
        raise MedsregError(f"the checkpoint {latest} has no {RECORD}, so medsreg cannot tell which model it was trained "
                           "from; resume it with the script that wrote it, or give another --output")
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MedsregError(f"{record_path} cannot be read ({error}); give another --output") from None
    if record.get("model_fingerprint") != fingerprint:
        raise MedsregError(f"the checkpoint {latest} was trained from another model ({record.get('model', 'unknown')}, "
                           f"fingerprint {str(record.get('model_fingerprint'))[:12]}) than {config.model} (fingerprint "
                           f"{fingerprint[:12]}); resume with that model, or give another --output")
    for key in ("objective", "method"):
        was = record.get("config", {}).get(key)
        if was is not None and was != getattr(config, key):
            raise MedsregError(f"the checkpoint {latest} was written by a {key} {was!r} run, not {getattr(config, key)!r}; "
                               f"resume with {key} {was}, or give another --output")
    return latest


def _device_and_precision(config: TrainConfig) -> tuple[str, str]:
    import torch

    cuda = torch.cuda.is_available()
    if config.device == "cuda" and not cuda:
        raise MedsregError("the settings ask for device cuda but torch sees no CUDA GPU; install a CUDA build of torch "
                           "or set device: cpu")
    device = "cuda" if (config.device == "cuda" or (config.device == "auto" and cuda)) else "cpu"
    precision = config.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if device == "cuda" else "fp32"
    if precision == "fp16" and device == "cpu":
        raise MedsregError("fp16 mixed precision needs a CUDA GPU; use precision fp32 (or bf16) on the CPU")
    return device, precision


def _load_model(folder: ModelFolder, config: TrainConfig, precision: str, shown: str) -> Any:
    import torch

    # full fine-tuning keeps fp32 master weights under bf16 / fp16 autocast; LoRA's base weights are frozen, so they
    # are loaded in the half precision directly (half the memory) and only the adapters stay fp32
    dtype = torch.float32
    if config.method == "lora" and precision in ("bf16", "fp16"):
        dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    # an adapter given as the model: trained further (lora), or merged into its base and every weight trained (full)
    model = load_model(folder, trust_remote_code=config.trust_remote_code, dtype=dtype, trainable=config.method == "lora",
                       merge=config.method == "full", what=f"the model in {shown} as a causal language model",
                       how="give a folder saved with save_pretrained")
    if config.method == "lora" and not folder.is_adapter:  # a new adapter, as the lora settings say
        try:
            from peft import LoraConfig, get_peft_model
        except ImportError as error:
            raise MedsregError(f"method lora needs peft ({error}); install it with pip install 'medsreg[train]'") from None
        lora = LoraConfig(r=config.lora.r, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
                          target_modules=config.lora.target_modules, task_type="CAUSAL_LM")
        try:
            with peft_deprecations_hidden():
                model = get_peft_model(model, lora)
        except ValueError as error:
            raise MedsregError(f"LoRA cannot be put on the model {shown} ({first_line(error)}); set lora.target_modules "
                               "to module names the model has (or 'all-linear')") from None
        # the adapter's adapter_config.json names its base by an absolute path: 'medsreg eval --model ADAPTER' finds
        # it from any working directory
        model.peft_config["default"].base_model_name_or_path = str(folder.path.resolve())
    if config.method == "lora" and config.gradient_checkpointing:
        model.enable_input_require_grads()  # checkpointed blocks need an input that requires grad
    return model


def run_train(config: TrainConfig, *, resume: bool = False, quiet: bool = False, say: Echo = print,
              warn: Echo = print) -> TrainResult:
    """Train as ``config`` says; the path every caller (the CLI, the tests, a script under torchrun) takes."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as error:
        raise MedsregError(f"'medsreg train' needs torch and transformers ({error}); install them with "
                           "pip install 'medsreg[train]'") from None
    if config.data is None:
        raise MedsregError("give --data DIR (the mixture of 'medsreg build', or a packed corpus with --objective clm)")
    if config.output_dir is None:
        raise MedsregError("give --output DIR (checkpoints and the trained model are written there)")
    folder = _model_folder(config)
    output = Path(config.output_dir)
    if bars_hidden(quiet):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    fingerprint = model_fingerprint(folder)
    checkpoint = _check_output(output, fingerprint, config, resume, say)
    tokenizer = _load_tokenizer(folder.tokenizer, str(config.model), config.trust_remote_code)

    import datasets

    from medsreg.build.tokenize import TokenCounts
    from medsreg.train.data import (
        PackedCollator,
        PaddingCollator,
        clm_dataset,
        data_record,
        drop_lines,
        load_dataset_folder,
        sft_dataset,
    )

    data_path = Path(config.data)
    raw = load_dataset_folder(data_path)
    # the build trained on (its manifest's sha256, folders): 'medsreg score' tells the test instances it holds apart
    trained_on, not_in_build = trained_on_record(data_path)
    before = _recorded_manifest(checkpoint, output) if checkpoint is not None else None  # what the steps so far saw
    # Dataset.map would write its cache files into the build's folder (beside the Arrow files its manifest hashes):
    # without caching they go to a temporary folder instead
    caching = datasets.is_caching_enabled()
    datasets.disable_caching()
    counts = TokenCounts()  # every row read, and why any is not trained on
    try:
        if config.objective == "clm":
            dataset = clm_dataset(raw, tokenizer, config, data_path)
            counts.read("", len(raw))
        else:
            from medsreg.evaluate.backends.local import chat_tokenizer

            dataset = sft_dataset(raw, tokenizer, config, data_path, counts=counts,
                                  chat_tokenizer=lambda: chat_tokenizer(folder.tokenizer, config.trust_remote_code))
    finally:
        if caching:
            datasets.enable_caching()
    packed = "position_ids" in dataset.column_names
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    device, precision = _device_and_precision(config)
    model = _load_model(folder, config, precision, str(config.model))
    collator = PaddingCollator(pad_id)
    if packed:
        attention = str(getattr(model.config, "_attn_implementation", None) or "eager")
        mask = None if "flash" in attention else ("bool" if attention == "sdpa" else "additive")
        collator = PackedCollator(pad_id, mask)
    args = training_arguments(config, device, precision, quiet)
    if args.process_index != 0:  # one process speaks for a multi-GPU run
        say = lambda line: None
    record = {"model": str(config.model), "model_fingerprint": fingerprint, "config": config.model_dump(mode="json"),
              "device": device, "precision": precision, "rows": len(dataset), "packed": packed,
              "data": data_record(counts), "trained_on": trained_on}
    if trained_on is None:
        record["trained_on_reason"] = not_in_build
    if args.process_index == 0:
        output.mkdir(parents=True, exist_ok=True)
        (output / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    from transformers import Trainer, TrainerCallback

    class _Record(TrainerCallback):
        """Every checkpoint carries the record: a folder copied elsewhere is still recognized."""

        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if folder.is_dir():
                    (folder / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    progress = trainer_progress_callback(quiet)  # steps, rate, ETA and loss: a bar or, in a job's log, plain lines
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                      processing_class=tokenizer, callbacks=[_Record(), *([progress] if progress is not None else [])])
    if quiet:
        from transformers import PrinterCallback

        trainer.remove_callback(PrinterCallback)
    for line in drop_lines(counts, data_path, config):
        say(line)
    if args.process_index == 0 and before is not None and trained_on is not None \
            and before != trained_on["manifest_sha256"]:
        warn(f"warning: the build {trained_on['build']} changed since {checkpoint.name} was trained on it (the sha256 "
             f"of its manifest.json was {before[:12]}, it is now {trained_on['manifest_sha256'][:12]}): the steps "
             f"before and after it saw different rows, and {RECORD} names the build as it is now")
    if trained_on is None and config.objective == "sft":
        say(f"note: {not_in_build}, so {RECORD} records no build and 'medsreg score' cannot tell which test instances "
            "the training rows hold")
    trained = counts.rows - counts.dropped
    what = f"{config.objective} ({config.method}{', packed' if packed else ''}) on {trained:,} of {counts.rows:,} rows"
    if counts.blocks:
        what += f" in {counts.blocks:,} blocks"
    say(f"training {config.model}: {what}, {precision} on {device}"
        + (f", resuming from {checkpoint.name}" if checkpoint else ""))
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    trainer.save_model(str(output))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(output))
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    say(f"trained to step {trainer.state.global_step}; wrote {output}")
    return TrainResult(output_dir=output, global_step=trainer.state.global_step, losses=losses,
                       resumed_from=checkpoint, trainer=trainer)


def merge_adapter(adapter: str, output_dir: str | None, *, base_model: str | None = None,
                  trust_remote_code: bool = False, quiet: bool = False, say: Echo = print) -> Path:
    """``medsreg train --merge``: the LoRA adapter in ``adapter`` merged into its base model's weights, saved with the
    tokenizer in ``output_dir`` as a standalone model (loaded by transformers alone, no peft; what vLLM and 'medsreg
    eval --backend vllm' need). The weights keep the base's dtype. Returns the folder written."""
    try:
        import transformers  # noqa: F401
    except ImportError as error:
        raise MedsregError(f"'medsreg train --merge' needs torch, transformers and peft ({error}); install them with "
                           "pip install 'medsreg[train]'") from None
    folder = model_folder(adapter, base_model, option="--merge")
    if not folder.is_adapter:
        raise MedsregError(f"{adapter} holds no {ADAPTER_CONFIG}, so it is not a LoRA adapter and there is nothing to "
                           "merge; give --merge the output folder of 'medsreg train --lora'")
    if output_dir is None:
        raise MedsregError("give --output DIR, the new folder the merged model is written to")
    output = Path(output_dir)
    # never over another model, nor over the adapter itself: a half-written mix of both would load as neither
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise MedsregError(f"{output} already exists and is not an empty folder; give --output a new folder for the "
                           "merged model")
    if bars_hidden(quiet):
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    tokenizer = _load_tokenizer(folder.tokenizer, adapter, trust_remote_code)
    model = load_model(folder, trust_remote_code=trust_remote_code, merge=True, dtype="auto",
                       what=f"the LoRA adapter in {adapter}", how="give --merge the output folder of 'medsreg train --lora'")
    output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(output))
    tokenizer.save_pretrained(str(output))
    _carry_record(folder.path, output, say)
    say(f"merged the LoRA adapter {adapter} into its base model {folder.base}; wrote {output}")
    return output


def _recorded_manifest(checkpoint: Path, output: Path) -> str | None:
    """The manifest sha256 the record of ``checkpoint`` (or of ``output``) says the run trained on, None if none."""
    for folder in (checkpoint, output):
        try:
            record = read_json_object(folder / RECORD, "the training record", "")
        except MedsregError:
            continue
        trained_on = record.get("trained_on")
        found = trained_on.get("manifest_sha256") if isinstance(trained_on, dict) else None
        return found if isinstance(found, str) else None
    return None


def _carry_record(adapter: Path, output: Path, say: Echo) -> None:
    """The adapter's medsreg-train.json (what it was trained on: ``trained_on``), into the merged model's folder with
    ``merged_from`` (the adapter folder) added; an adapter without one (not trained by medsreg) gives none."""
    source = adapter / RECORD
    if not source.exists() or (output / RECORD).exists():
        return
    try:
        record = read_json_object(source, "the training record", "")
    except MedsregError as error:
        say(f"note: {str(error).rstrip('; ')}, so the merged model gets no {RECORD}")
        return
    record["merged_from"] = str(adapter.resolve())
    (output / RECORD).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def training_arguments(config: TrainConfig, device: str, precision: str, quiet: bool = False) -> Any:
    import dataclasses

    from transformers import TrainingArguments

    # transformers 5 renamed gradient_checkpointing (now a deprecated alias) to activation_checkpointing
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    checkpointing = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    extra: dict[str, Any] = {}
    if config.gradient_checkpointing:
        extra = {checkpointing: True, f"{checkpointing}_kwargs": {"use_reentrant": False}}
    return TrainingArguments(
        **extra,
        output_dir=str(config.output_dir),
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=device == "cpu",
        seed=config.seed,
        data_seed=config.seed,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        warmup_steps=config.warmup,
        lr_scheduler_type=config.lr_scheduler,
        weight_decay=config.weight_decay,
        fsdp=config.fsdp or None,
        fsdp_config=config.fsdp_config,
        dataloader_num_workers=config.dataloader_workers,
        remove_unused_columns=False,  # the collators read exactly the columns the dataset was cut down to
        report_to=config.report_to,
        disable_tqdm=True,
        log_level="warning" if quiet else "passive",
    )
