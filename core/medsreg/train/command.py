"""The ``medsreg train`` click command: settings in (preset, file, options), ``run.run_train`` called, lines out.

Imports click and the settings model only: torch, transformers, peft and datasets are imported when
the command runs. A ``MedsregError`` raised here becomes one sentence and exit code 1.
"""

from __future__ import annotations

from pathlib import Path

import click

from medsreg.options import trust_remote_code_option


@click.command("train")
@click.option("--model", "-m", metavar="PATH", help="The local model folder to start from (save_pretrained), or a LoRA "
              "adapter folder: --lora trains that adapter further, --full every weight with the adapter merged in.")
@click.option("--base-model", metavar="DIR", help="The base model folder of a LoRA adapter given as --model or --merge "
              "(default: the base_model_name_or_path of its adapter_config.json).")
@click.option("--data", metavar="DIR", help="A mixture of 'medsreg build' (build/mixture or build/mixtures/<name>), tokenized or not; with "
              "--objective clm a packed corpus of input_ids windows.")
@click.option("--output", "-o", "output_dir", metavar="DIR", help="Checkpoints and the trained model (or adapter).")
@click.option("--config", "-c", "config_file", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="A YAML or JSON file of settings (any field below, and lora: {r, alpha, dropout, target_modules}, "
              "fsdp, fsdp_config, ...).")
@click.option("--preset", metavar="NAME", help="A named recipe under the file and the options: mmedbench (MMedLM's "
              "MMedBench fine-tuning: both formats, Alpaca prompt, 2048 tokens).")
@click.option("--objective", type=click.Choice(["sft", "clm"]), help="sft (default): loss on the assistant part only; "
              "clm: continued pretraining on a packed corpus.")
@click.option("--lora/--full", "lora", default=None, help="Train LoRA adapters only (peft), or every weight (default).")
@click.option("--learning-rate", "--lr", "learning_rate", type=float, help="Peak learning rate (default 2e-5).")
@click.option("--epochs", type=float, help="Passes over the data (default 3).")
@click.option("--max-steps", type=int, help="Stop after N optimizer steps (overrides --epochs).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Sequences per device per step (default 4).")
@click.option("--gradient-accumulation", type=click.IntRange(min=1), help="Steps accumulated per optimizer step.")
@click.option("--max-length", type=click.IntRange(min=2), help="Tokens per sequence at most (default 2048).")
@click.option("--packing/--no-packing", default=None, help="sft: pack examples into max-length sequences.")
@click.option("--gradient-checkpointing/--no-gradient-checkpointing", default=None,
              help="Recompute activations in the backward pass (less memory, about a third slower).")
@click.option("--seed", type=int, help="Seed of the initialization, dropout and data order (default 42).")
@click.option("--save-steps", type=click.IntRange(min=1), help="A checkpoint every N optimizer steps (default 500).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="auto (default): CUDA when present.")
@click.option("--precision", type=click.Choice(["auto", "bf16", "fp16", "fp32"]),
              help="auto (default): bf16 on a GPU, fp32 on CPU.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE",
              help="Any other setting, e.g. --set lora.r=8 --set warmup=100 (repeatable).")
@trust_remote_code_option
@click.option("--resume", is_flag=True, help="Continue from the latest checkpoint in --output (same model and settings).")
@click.option("--merge", "merge", metavar="ADAPTER_DIR", help="Train nothing: merge the LoRA adapter in ADAPTER_DIR "
              "into its base model and write a standalone model to --output (for --backend vllm, or to share).")
@click.option("--quiet", "-q", is_flag=True, help="Only errors.")
def train_command(model: str | None, base_model: str | None, data: str | None, output_dir: str | None, config_file: Path | None,
                  preset: str | None, objective: str | None, lora: bool | None, learning_rate: float | None,
                  epochs: float | None, max_steps: int | None, batch_size: int | None, gradient_accumulation: int | None,
                  max_length: int | None, packing: bool | None, gradient_checkpointing: bool | None, seed: int | None,
                  save_steps: int | None, device: str | None, precision: str | None, assignments: tuple[str, ...],
                  trust_remote_code: bool, resume: bool, merge: str | None, quiet: bool) -> None:
    """Fine-tune a model on a built mixture (SFT, full or LoRA), or continue its pretraining on a corpus.

    Runs unchanged on CPU, one GPU, or several under 'torchrun --nproc-per-node N' / 'accelerate
    launch' (DDP, or FSDP with 'fsdp: full_shard auto_wrap' in --config). Checkpoints go to --output;
    add --resume to continue after an interruption. With --lora, --output holds an adapter: 'medsreg eval --model'
    takes it as it is, and --merge ADAPTER_DIR --output DIR makes it a standalone model.
    """
    say = (lambda line: None) if quiet else click.echo
    if merge is not None:
        given = [name for name, value in (("--model", model), ("--data", data), ("--config", config_file),
                                          ("--preset", preset), ("--resume", resume)) if value]
        if given:
            raise click.UsageError(f"--merge trains nothing, so {', '.join(given)} cannot go with it; give --merge "
                                   "ADAPTER_DIR --output DIR (and --base-model DIR when the adapter's base has moved)")
        from medsreg.train.run import merge_adapter

        merge_adapter(merge, output_dir, base_model=base_model, trust_remote_code=trust_remote_code, quiet=quiet, say=say)
        return
    from medsreg.train.config import build_config
    from medsreg.train.run import run_train

    overrides = {
        "model": model, "base_model": base_model, "data": data, "output_dir": output_dir, "objective": objective,
        "method": None if lora is None else ("lora" if lora else "full"), "learning_rate": learning_rate,
        "epochs": epochs, "max_steps": max_steps, "batch_size": batch_size,
        "gradient_accumulation": gradient_accumulation, "max_length": max_length, "packing": packing,
        "gradient_checkpointing": gradient_checkpointing, "seed": seed, "save_steps": save_steps, "device": device,
        "precision": precision,
        # the flag only grants: without it, the config file's trust_remote_code (default false) stands
        "trust_remote_code": trust_remote_code or None,
    }
    config = build_config(config_file, preset, overrides, assignments)
    run_train(config, resume=resume, quiet=quiet, say=say,
              warn=lambda line: click.echo(line, err=True))
