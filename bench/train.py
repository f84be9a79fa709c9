"""Benchmark of ``medsreg train`` (SFT) on a tiny Llama: steps/second without and with packing.

Run from the repository root::

    .venv/bin/python bench/train.py --threads 1              # quick run on CPU (under a minute)
    .venv/bin/python bench/train.py --rows 2000 --steps 50 --hidden 256 --layers 4 --max-length 1024

What it does:

1. Writes, under a temporary folder (or ``--out``), a byte-level BPE tokenizer with a chat template
   trained here, a randomly initialized ``LlamaForCausalLM`` (``--hidden``, ``--layers``) and a
   mixture of ``--rows`` rows in the shape of ``medsreg build``'s (system / user / assistant
   messages, prompts of varied length as the 3-shot MedS-Ins rows have).
2. Runs ``run_train`` (the command's path) twice for ``--steps`` optimizer steps, ``--batch-size``
   sequences a step: ``unpacked`` (each row a sequence, padded to the longest of its batch) and
   ``packed`` (rows packed first-fit into ``--max-length``-token sequences, kept apart by position ids).
3. Prints, for each: steps/second, examples/second and trained (non-padding) tokens/second, from
   Trainer's own runtime (model loading and tokenization excluded); writes ``bench_train.json``.
   A packed step holds several examples, so examples/second is the fair comparison of the two.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["patient", "fever", "cough", "chest", "pain", "pneumonia", "cardiac", "aspirin", "heparin", "dose", "daily",
         "drug", "names", "sentence", "question", "answer", "input", "output", "extract", "the", "and", "has", "for",
         "days", "please", "learn", "from", "few-shot", "cases", "diagnosis", "history", "blood", "pressure"]
TEMPLATE = ("{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}"
            "{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def save_model(folder: Path, hidden: int, layers: int) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    roles = ["<|system|>", "<|user|>", "<|assistant|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=["<s>", "<pad>", "<|end|>", *roles],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator([" ".join(random.Random(i).choices(WORDS, k=30)) for i in range(300)], trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="<|end|>", pad_token="<pad>",
                                        additional_special_tokens=roles)
    tokenizer.chat_template = TEMPLATE
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=2, num_key_value_heads=2, vocab_size=len(tokenizer),
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder


def save_mixture(folder: Path, rows: int, seed: int) -> Path:
    from datasets import Dataset

    rng = random.Random(seed)

    def text(low: int, high: int) -> str:
        return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))

    out = []
    for i in range(rows):
        shots = "\n\n".join(f"Input:\n{text(5, 30)}\n\nOutput:\n{text(1, 10)}\n" for _ in range(rng.choice([0, 3])))
        system = (shots + "\n\n" if shots else "") + text(5, 20)
        out.append({"messages": [{"role": "system", "content": system},
                                 {"role": "user", "content": f"Input:\n{text(5, 40)}\nOutput:\n"},
                                 {"role": "assistant", "content": text(1, 30)}],
                    "task": f"bench/task_{i % 5}", "instance_id": str(i)})
    Dataset.from_list(out).save_to_disk(str(folder))
    return folder


def run(model: Path, data: Path, output: Path, args: argparse.Namespace, packing: bool) -> dict:
    from medsreg.train.config import build_config
    from medsreg.train.run import run_train

    config = build_config(overrides=dict(
        model=str(model), data=str(data), output_dir=str(output), max_steps=args.steps, batch_size=args.batch_size,
        max_length=args.max_length, packing=packing, learning_rate=1e-3, logging_steps=args.steps,
        save_steps=10 * args.steps, warmup=0, lr_scheduler="constant", dataloader_workers=0))
    result = run_train(config, quiet=True, say=lambda line: None)
    trainer = result.trainer
    runtime = next(entry["train_runtime"] for entry in trainer.state.log_history if "train_runtime" in entry)
    dataset = trainer.train_dataset
    per_step = args.batch_size
    consumed = min(args.steps * per_step, len(dataset))  # the first epoch's rows (steps never exceed one epoch here)
    rows = dataset.select(range(consumed))
    examples = sum(list(p).count(0) for p in rows["position_ids"]) if packing else consumed
    tokens = sum(len(ids) for ids in rows["input_ids"])
    return {"packing": packing, "steps": result.global_step, "seconds": runtime, "steps_per_second": result.global_step / runtime,
            "examples_per_second": examples / runtime, "tokens_per_second": tokens / runtime,
            "sequences": len(dataset), "final_loss": result.losses[-1] if result.losses else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=50, help="Optimizer steps per run (within the first epoch of both).")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's). On a shared machine 1 "
                        "thread gives steadier figures: OpenMP threads waiting on a busy core slow down tenfold.")
    parser.add_argument("--out", type=Path, help="Keep the model, data and runs here (default: a temporary folder).")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT / "core"))
    base = args.out or Path(tempfile.mkdtemp(prefix="medsreg-bench-train-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        model = save_model(base / "model", args.hidden, args.layers)
        data = save_mixture(base / "mixture", args.rows, args.seed)
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
        results = [run(model, data, base / f"run-{name}", args, packing)
                   for name, packing in (("unpacked", False), ("packed", True))]
        print(f"tiny Llama hidden {args.hidden}, {args.layers} layers; {args.rows} rows; {args.steps} steps of "
              f"{args.batch_size} sequences; max length {args.max_length}; {device}")
        print(f"{'':10} {'steps/s':>9} {'examples/s':>11} {'tokens/s':>10} {'sequences':>10}")
        for result in results:
            name = "packed" if result["packing"] else "unpacked"
            print(f"{name:10} {result['steps_per_second']:9.2f} {result['examples_per_second']:11.1f} "
                  f"{result['tokens_per_second']:10.0f} {result['sequences']:10d}")
        (base / "bench_train.json").write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                                           "device": device, "results": results}, indent=2) + "\n")
        print(f"wrote {base / 'bench_train.json'}")
    finally:
        if args.out is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
