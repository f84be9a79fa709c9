"""Benchmark of ``medsreg eval --backend hf`` against the official one-prompt-at-a-time generation loop.

Run from the repository root::

    .venv/bin/python bench/eval.py                       # quick run on CPU (about a minute on 2 cores)
    .venv/bin/python bench/eval.py --rows 256 --batch-size 64 --hidden 256 --layers 4

What it does:

1. Writes, under a temporary folder (or ``--out``), a plugin with a suite in the MedS-Bench shape
   (an MCQA task, zero-shot, and a generation task, 3-shot, as the official evaluation prompts
   them) and a tiny Llama: a byte-level BPE tokenizer trained here with a chat template, and a
   randomly initialized ``LlamaForCausalLM`` (``--hidden``, ``--layers``), saved with save_pretrained.
2. ``medsreg``: ``run_eval`` through the library entry point (the command's path: the suite rendered,
   batches of ``--batch-size`` longest first, left padding, greedy, predictions appended and fsync'd
   per batch), fp32 on CPU (bf16 where a GPU is, unless ``--dtype``).
3. ``official``: the loop of the official MedS-Ins evaluation over the very same prompts: for each row
   ``apply_chat_template(..., return_tensors="pt")``, the last 2048 tokens, ``model.generate(input_ids,
   max_new_tokens=N, do_sample=False)`` with the same stop tokens, decode the new tokens.
4. Prints both times (generation only, model loading excluded on both sides), the speed-up (goal >= 5x
   on CPU) and whether every output is identical (it must be, in fp32); writes ``bench_eval.json``.
   Exit code 1 when the outputs differ.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "evalbench"
SUITE_NAME = f"{PLUGIN}/bench"
SEED = 20240611
WORDS = ("patient fever cough chest pain dyspnea pneumonia myocardial infarction aspirin heparin metformin insulin dose "
         "daily twice tablet mg blood pressure glucose diagnosis treatment history presents with year old male female "
         "emergency department admitted discharged follow up the a of and with for to in on was is which following most "
         "likely answer option question input output extract summarize explain").split()
ROLES = ["<|system|>", "<|user|>", "<|assistant|>"]
END = "<|end|>"
TEMPLATE = ("{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}"
            "{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(low, high)))


def write_plugin(root: Path, rows: int) -> Path:
    """The plugin 'evalbench': mcqa (zero-shot) and summary (3-shot) test tasks of rows/2 instances each, and the suite."""
    rng = random.Random(SEED)
    module = root / PLUGIN / f"medsreg_{PLUGIN}"
    (module / "tasks").mkdir(parents=True, exist_ok=True)
    (module.parent / "pyproject.toml").write_text(
        f'[project]\nname = "medsreg-{PLUGIN}"\nversion = "0.1.0"\n\n[project.entry-points.medsreg]\n'
        f'{PLUGIN} = "medsreg_{PLUGIN}"\n\n[tool.medsreg]\ntasks = ["medsreg_{PLUGIN}/tasks"]\n', encoding="utf-8")
    (module / "__init__.py").write_text(
        "from pathlib import Path\n\nfrom medsreg import hookimpl\n\nHERE = Path(__file__).parent\n\n\n"
        "@hookimpl\ndef register_tasks():\n    return [HERE / 'tasks']\n\n\n"
        "@hookimpl\ndef register_suites():\n    return [HERE / 'suite.json']\n", encoding="utf-8")

    def task(name: str, category: str, instances: list[dict]) -> dict:
        return {"Contributors": ["medsreg benchmark"], "Source": ["synthetic"], "URL": ["https://example.org"],
                "Categories": [category], "Definition": [f"Synthetic {category.lower()} task: answer from the text."],
                "Input_language": ["English"], "Output_language": ["English"], "Instruction_language": ["English"],
                "Domains": ["Medicine"], "Split Type": "Test", "Instances": instances,
                "medsreg": {"name": name, "version": "1.0", "license": "CC0-1.0", "access": "public", "synthetic": True}}

    half = rows // 2
    mcqa = [{"id": f"q{i}", "input": _text(rng, 20, 90) + "?\n" + "\n".join(f"{letter}. {_text(rng, 1, 4)}"
                                                                        for letter in "ABCD"), "output": ["A"]}
            for i in range(half)]
    summary = [{"id": f"s{i}", "input": _text(rng, 30, 120), "output": [_text(rng, 5, 20)]} for i in range(rows - half)]
    for name, category, instances in (("mcqa", "Question Answering", mcqa), ("summary", "Text Summarization", summary)):
        (module / "tasks" / f"{name}.json").write_text(json.dumps(task(name, category, instances)), encoding="utf-8")
    (module / "suite.json").write_text(json.dumps({
        "name": SUITE_NAME, "description": "bench/eval.py's suite", "shots": 3, "seed": 0,
        "categories": [
            {"name": "Multilingual MCQA", "tasks": [{"task": f"{PLUGIN}/mcqa", "metrics": ["mcqa_accuracy"], "shots": 0}]},
            {"name": "Text summarization", "tasks": [{"task": f"{PLUGIN}/summary", "metrics": ["bleu1", "rougeL"]}]},
        ]}), encoding="utf-8")
    return root


def write_model(folder: Path, hidden: int, layers: int) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=["<s>", "<pad>", END, *ROLES],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator([_text(random.Random(i), 30, 60) for i in range(500)], trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token=END, pad_token="<pad>",
                                        additional_special_tokens=ROLES)
    tokenizer.chat_template = TEMPLATE
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(SEED)
    config = LlamaConfig(hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                         num_attention_heads=max(2, hidden // 64), num_key_value_heads=max(2, hidden // 64),
                         vocab_size=len(tokenizer), max_position_embeddings=4096, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder


def official_loop(model_dir: Path, rows: list[dict], max_new_tokens: int, dtype: str) -> tuple[dict, float]:
    """The official evaluation's loop: one prompt at a time, greedy; {(task, instance_id): output}, seconds."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medsreg.evaluate.backends.local import stop_token_ids

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=getattr(torch, dtype)).to(device).eval()
    stops = stop_token_ids(tokenizer, model.generation_config.eos_token_id)
    outputs = {}
    start = time.perf_counter()
    for row in rows:
        input_ids = tokenizer.apply_chat_template(row["messages"], add_generation_prompt=True, return_tensors="pt",
                                                  return_dict=False)[:, -2048:].to(device)
        with torch.inference_mode():
            output = model.generate(input_ids, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stops,
                                    pad_token_id=tokenizer.pad_token_id)
        new = output[0, input_ids.shape[1]:].tolist()
        end = next((i for i, token in enumerate(new) if token in stops), len(new))
        outputs[(row["task"], row["instance_id"])] = tokenizer.decode(new[:end], skip_special_tokens=True).strip()
    if device == "cuda":
        torch.cuda.synchronize()
    return outputs, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=128, help="Prompts in the suite (half MCQA zero-shot, half 3-shot).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--hidden", type=int, default=64, help="Hidden size of the tiny Llama.")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"],
                        help="Both sides' dtype; outputs are compared exactly in float32 only.")
    parser.add_argument("--out", type=Path, help="Keep the plugin, model and predictions here (default: a temporary folder).")
    args = parser.parse_args()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ["MEDSREG_PLUGINS"] = PLUGIN  # only the benchmark's plugin: installed ones change nothing
    os.environ["CI"] = os.environ.get("CI", "1")  # no progress bars in the timings
    sys.path.insert(0, str(ROOT / "core"))
    import torch
    from transformers.utils import logging as hf_logging

    from medsreg.evaluate.rows import suite_rows_from_catalog
    from medsreg.evaluate.run import EvalOptions, run_eval

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    torch.manual_seed(0)
    out = args.out or Path(tempfile.mkdtemp(prefix="medsreg-bench-eval-"))
    try:
        plugins = write_plugin(out / "plugins", args.rows)
        model_dir = write_model(out / "model", args.hidden, args.layers)
        rows = suite_rows_from_catalog(SUITE_NAME, (plugins,), warn=print).rows
        shutil.rmtree(out / "predictions", ignore_errors=True)
        wall = time.perf_counter()
        result = run_eval(EvalOptions(model=str(model_dir), suite=SUITE_NAME, plugins_dirs=(plugins,),
                                      output=out / "predictions", batch_size=args.batch_size,
                                      max_new_tokens=args.max_new_tokens, dtype=args.dtype, quiet=True),
                          say=lambda line: None, warn=print)
        wall = time.perf_counter() - wall
        ours = {(r["task"], r["instance_id"]): r["output"]
                for r in map(json.loads, (out / "predictions" / "predictions.jsonl").read_text(encoding="utf-8").splitlines())}
        official, official_s = official_loop(model_dir, rows, args.max_new_tokens, args.dtype)
        differing = sorted(key for key in official if ours.get(key) != official[key])
        prompt_tokens = [len(ids) for ids in _lengths(model_dir, rows)]
        figures = {
            "device": "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)",
            "rows": len(rows), "batch_size": args.batch_size, "max_new_tokens": args.max_new_tokens,
            "model": {"hidden": args.hidden, "layers": args.layers,
                      "parameters": sum(p.numel() for p in _parameters(model_dir))},
            "prompt_tokens": {"min": min(prompt_tokens), "mean": round(sum(prompt_tokens) / len(prompt_tokens), 1),
                              "max": max(prompt_tokens)},
            "dtype": args.dtype, "medsreg_generation_s": round(result.seconds, 3), "medsreg_wall_s": round(wall, 3),
            "official_generation_s": round(official_s, 3), "speedup": round(official_s / result.seconds, 2),
            "new_tokens": result.tokens, "identical_outputs": not differing, "differing": len(differing),
        }
        (out / "bench_eval.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"{len(rows)} prompts ({figures['prompt_tokens']['mean']:.0f} tokens on average), {args.max_new_tokens} new "
              f"tokens at most, tiny Llama of {figures['model']['parameters']:,} parameters, {args.dtype} on "
              f"{figures['device']}")
        print(f"  official loop, one prompt at a time   {official_s:8.2f} s")
        print(f"  medsreg eval --backend hf, batch {args.batch_size:<4} {result.seconds:8.2f} s   (whole run_eval, suite "
              f"rendering and model loading included: {wall:.2f} s)")
        print(f"  speed-up {figures['speedup']:.1f}x (goal >= 5x on CPU): {'met' if figures['speedup'] >= 5 else 'MISSED'}")
        if args.dtype == "float32":
            print(f"  outputs identical: {'yes' if not differing else f'NO, {len(differing)} differ, e.g. {differing[0]}'}")
        print(f"  figures in {out / 'bench_eval.json'}")
        return 1 if differing and args.dtype == "float32" else 0
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


def _lengths(model_dir: Path, rows: list[dict]) -> list[list[int]]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    return [tokenizer.apply_chat_template(row["messages"], add_generation_prompt=True, return_dict=False) for row in rows]


def _parameters(model_dir: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(model_dir)).parameters()


if __name__ == "__main__":
    sys.exit(main())
