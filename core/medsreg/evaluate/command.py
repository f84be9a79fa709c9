"""The ``medsreg eval`` click command: options in, ``run.run_eval`` called, lines out.

Imports click only: torch, transformers, vllm and datasets are imported when the command runs, so
``medsreg --help`` stays instant. A ``MedsregError`` raised here is turned into one sentence and
exit code 1 by the ``medsreg`` group.
"""

from __future__ import annotations

from pathlib import Path

import click

from medsreg.options import require_option, source_option, trust_remote_code_option


@click.command("eval")
@click.option("--model", "-m", metavar="PATH", help="A local model folder (save_pretrained), a LoRA adapter folder "
              "('medsreg train --lora'; hf backend), or for --backend openai the model name the endpoint serves.")
@click.option("--base-model", metavar="DIR", help="hf: the base model folder of a LoRA adapter given as --model "
              "(default: the base_model_name_or_path of its adapter_config.json).")
@click.option("--suite", metavar="NAME", help="The installed suite to run (e.g. meds-bench), rendered exactly as "
              "'medsreg build --suite' renders it: its readable tasks (partial, and said so) unless --require complete.")
@require_option
@click.option("--data", type=click.Path(path_type=Path), metavar="DIR",
              help="Instead of --suite: a suite folder written by 'medsreg build' (build/suites/<suite>).")
@click.option("--backend", type=click.Choice(["hf", "vllm", "openai"]), default="hf", show_default=True,
              help="hf: transformers, batched; vllm: the vLLM engine (pip install 'medsreg[vllm]'); openai: an "
              "OpenAI-compatible HTTP endpoint (--api-base).")
@click.option("--output", "-o", type=click.Path(path_type=Path, file_okay=False),
              help="Folder of predictions.jsonl, config.json and submission/ (default: eval/<suite>/<model>). A rerun "
              "into it skips the rows already predicted.")
@click.option("--limit", type=click.IntRange(min=1), help="Only the first N rows of each task (a smoke run).")
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Prompts generated together (default: hf 16, vllm 256, openai 8 requests in flight); hf halves it on a "
              "CUDA out-of-memory error.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), help="Tokens generated at most per prompt (default: the "
              "suite's, 200 as the official evaluation).")
@click.option("--max-input-tokens", type=click.IntRange(min=1), help="Longer prompts keep their last N tokens (default: the "
              "suite's, 2048).")
@click.option("--dtype", type=click.Choice(["auto", "bfloat16", "float16", "float32"]), default="auto", show_default=True,
              help="Weights' dtype for hf / vllm; auto: bfloat16 on a GPU, float32 on CPU.")
@trust_remote_code_option
@click.option("--tensor-parallel-size", type=click.IntRange(min=1), default=1, show_default=True,
              help="vllm: GPUs one copy of the model is split over.")
@click.option("--api-base", metavar="URL", help="openai: the endpoint up to /v1, e.g. https://api.openai.com/v1.")
@click.option("--api-key-env", default="OPENAI_API_KEY", show_default=True, metavar="NAME",
              help="openai: the environment variable holding the API key.")
@click.option("--request-timeout", type=click.FloatRange(min=0, min_open=True), default=120.0, show_default=True,
              help="openai: seconds to wait for one answer.")
@click.option("--max-retries", type=click.IntRange(min=0), default=5, show_default=True,
              help="openai: retries of a request that timed out or got HTTP 5xx / 429.")
@click.option("--retry-wait", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="openai: seconds before the first retry, doubled for each next one.")
@click.option("--shuffle-options", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="Option-order robustness: evaluate each multiple-choice row (tasks scored with mcqa_accuracy) in N "
              "cyclic orders of its options: permutation k moves the option at position i to (i + k) mod n (A's text "
              "to B for k=1, the last one's to A), its reference letters remapped; permutation 0 is the suite's own "
              "prompt. Rows without option lines 'A. ...' and other tasks are evaluated once. Each predictions line "
              "records its permutation.")
@click.option("--instructions", type=click.IntRange(min=0), default=0, show_default=True, metavar="K",
              help="Instruction sensitivity: evaluate each instance under the suite's instruction and K rewrites of its "
              "task's instruction (the MedS-Ins rewrites: a seeded choice per suite and task, the same for every model; "
              "fewer for a task with fewer, said so). Each predictions line records its instruction_index (0: the "
              "suite's own prompt, byte for byte a plain run's); 'medsreg score' reports the mean, standard deviation, "
              "worst and best instruction. Needs --suite.")
@click.option("--trained-on", type=click.Path(path_type=Path), metavar="BUILD",
              help="Clean vs dirty: the model's training data (a 'medsreg build' folder, its manifest.json, a mixture "
              "folder in it, or the folder of a model 'medsreg train' wrote), when the model folder does not record it "
              "(a model medsreg trained does). eval writes contamination.json: the evaluated instances whose input "
              "overlaps a training row (the leakage check's rules); 'medsreg score' then gives each task's score on "
              "the clean and the dirty instances apart.")
@click.option("--merge", is_flag=True, help="Generate nothing: merge the ranks' predictions files of a data-parallel run "
              "and write the submission (give the run's --suite or --data, --limit, --shuffle-options, --instructions "
              "and --output).")
@click.option("--merge-wait", type=click.FloatRange(min=0), default=3600.0, show_default=True,
              help="Data parallel: seconds rank 0 waits for the other ranks before leaving the merge to --merge.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no progress lines.")
@source_option
@click.option("--plugins-dir", "plugins_dirs", multiple=True, type=click.Path(path_type=Path),
              help="Also load plugins from this folder without installing them.")
def eval_command(model: str | None, base_model: str | None, suite: str | None, data: Path | None, backend: str, output: Path | None,
                 limit: int | None, batch_size: int | None, max_new_tokens: int | None, max_input_tokens: int | None,
                 dtype: str, trust_remote_code: bool, tensor_parallel_size: int, api_base: str | None, api_key_env: str,
                 request_timeout: float, max_retries: int, retry_wait: float, shuffle_options: int, instructions: int, trained_on: Path | None, merge: bool, merge_wait: float, quiet: bool,
                 plugins_dirs: tuple[Path, ...], require: str | None) -> None:
    """Run a model over an evaluation suite: predictions.jsonl, and the leaderboard's submission CSVs.

    Predictions are appended as they are generated; run the same command again after an
    interruption and it goes on where it stopped. A suite missing test sets runs over the others
    (a warning names them, config.json records them, 'medsreg score' marks their categories partial). Under torchrun / accelerate launch each
    process takes its share of the rows and rank 0 merges. Score the result with 'medsreg score'.
    """
    from medsreg.evaluate.run import EvalOptions, run_eval

    if suite is None and data is None:
        raise click.UsageError("give --suite NAME (e.g. meds-bench; 'medsreg list --suites' lists them) or --data DIR")
    if suite is not None and data is not None:
        raise click.UsageError("give --suite or --data, not both")
    if model is None and not merge:
        raise click.UsageError("give --model PATH (a local model folder, or the model name an --api-base endpoint serves)")
    if base_model is not None and backend != "hf":
        raise click.UsageError(f"--base-model is for a LoRA adapter, which --backend hf runs; --backend {backend} takes "
                               "a whole model (merge an adapter with 'medsreg train --merge ADAPTER --output DIR')")
    options = EvalOptions(model=model, base_model=base_model, suite=suite, data=data, backend=backend, output=output, limit=limit,
                          batch_size=batch_size, max_new_tokens=max_new_tokens, max_input_tokens=max_input_tokens,
                          dtype=dtype, trust_remote_code=trust_remote_code, tensor_parallel_size=tensor_parallel_size,
                          api_base=api_base, api_key_env=api_key_env, request_timeout=request_timeout,
                          max_retries=max_retries, retry_wait=retry_wait, shuffle_options=shuffle_options, instructions=instructions, trained_on=trained_on, merge=merge, merge_wait=merge_wait, quiet=quiet,
                          plugins_dirs=plugins_dirs, require_complete=require == "complete")
    run_eval(options, say=(lambda line: None) if quiet else click.echo,
             warn=lambda line: click.echo(line, err=True))
