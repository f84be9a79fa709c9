"""``--backend hf``: transformers' ``generate`` on batches of left-padded prompts, greedy.

* the prompt is the model's own chat template over the row's system + user messages, with the
  generation prompt; longer than ``--max-input-tokens`` it keeps its end;
* batches are formed longest first (the runner sorts by ``cost``) and padded on the left, with an
  attention mask: each row's output is the one it gets alone (checked in fp32 by the tests and
  bench/eval.py);
* greedy decoding with a generation config of medsreg's own (the model's sampling defaults, e.g.
  temperature 0.6, never leak in), stopping at EOS and the end-of-turn tokens the tokenizer has;
* bf16 on CUDA (fp16 where bf16 is not supported), fp32 on CPU, unless ``--dtype``; on one GPU
  ``device_map="auto"`` (a model larger than one GPU spreads over all), under data parallelism
  the rank's own GPU (``LOCAL_RANK``);
* a CUDA out-of-memory error halves the batch and goes on (reported); at batch size 1 it stops
  with a sentence;
* never the folder's own code unless ``--trust-remote-code`` (``medsreg.modelfolder`` refuses it);
* ``--model`` may be a LoRA adapter folder (``medsreg train --lora``): its base model (``--base-model``, else the one
  its adapter_config.json names) is loaded and wrapped in ``peft.PeftModel``, unmerged, as it was trained; the
  tokenizer is the adapter folder's when it holds one.
"""

from __future__ import annotations

from typing import Any

from medsreg.errors import MedsregError
from medsreg.evaluate.backends import Backend, Echo, GenerationOptions
from medsreg.evaluate.backends.local import (
    HOW,
    TokenizedPrompts,
    chat_tokenizer,
    stop_token_ids,
)
from medsreg.modelfolder import load_model, model_folder
from medsreg.progress import bars_hidden

DTYPES = ("auto", "bfloat16", "float16", "float32")


class HFBackend(TokenizedPrompts, Backend):
    name = "hf"

    def __init__(self, options: GenerationOptions, warn: Echo) -> None:
        super().__init__(options, warn)
        self.folder = model_folder(options.model, options.base_model)
        try:
            import torch  # noqa: F401
            import transformers  # noqa: F401
        except ImportError as error:
            raise MedsregError(f"--backend hf needs torch and transformers ({error}); install them with "
                               "pip install 'medsreg[eval]'") from None
        self.tokenizer = chat_tokenizer(self.folder.tokenizer, options.trust_remote_code)
        self.device, self.dtype = _device_and_dtype(options)
        self.model: Any = None
        self.generation_config: Any = None
        self.stops: set[int] = set()
        self.pad_id = 0
        self.truncated = 0
        self.halvings: list[str] = []
        self.generated_tokens = 0

    def settings(self) -> dict[str, Any]:
        settings = {**super().settings(), "max_input_tokens": self.options.max_input_tokens, "dtype": self.dtype}
        if self.folder.base is not None:  # the same adapter on another base is another model: its predictions differ
            settings["base_model"] = str(self.folder.base)
        return settings

    def describe(self) -> str:
        adapter = f", LoRA adapter on {self.folder.base}" if self.folder.base is not None else ""
        return f"hf backend, {self.dtype} on {self.device}{adapter}"

    def load(self) -> None:
        import torch
        from transformers import GenerationConfig

        if bars_hidden(self.options.quiet):
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        kwargs: dict[str, Any] = {"dtype": getattr(torch, self.dtype)}
        move = None
        if self.device.startswith("cuda"):
            from transformers.utils import is_accelerate_available

            if is_accelerate_available():
                kwargs["device_map"] = {"": self.options.local_rank} if self.options.distributed else "auto"
            else:
                move = self.device
        model = load_model(self.folder, trust_remote_code=self.options.trust_remote_code,
                               what=f"the model in {self.options.model}", how=HOW, **kwargs)
        if move is not None:
            model = model.to(move)
        model.eval()
        configured = model.generation_config.eos_token_id if model.generation_config is not None else None
        stops = stop_token_ids(self.tokenizer, configured)
        if not stops:
            raise MedsregError(f"the model in {self.options.model} has no EOS token (neither its tokenizer nor its "
                               "generation_config.json names one), so generation could not stop; set eos_token there")
        pad = self.tokenizer.pad_token_id
        self.pad_id = pad if isinstance(pad, int) else stops[0]
        self.stops = set(stops)
        # medsreg's own decoding settings: the model's (sampling temperature, top_p, ...) must not leak in
        self.generation_config = GenerationConfig(
            max_new_tokens=self.options.max_new_tokens, do_sample=False, num_beams=1, eos_token_id=stops,
            pad_token_id=self.pad_id, bos_token_id=self.tokenizer.bos_token_id)
        model.generation_config = self.generation_config
        self.model = model

    def generate(self, batch: list[list[int]]) -> list[str]:
        if not batch:
            return []
        size = self.batch_size
        if len(batch) > size:  # the batch size was lowered since this batch was formed
            return [text for start in range(0, len(batch), size) for text in self.generate(batch[start:start + size])]
        try:
            return self._generate(batch)
        except _out_of_memory() as error:
            message = (str(error).strip().splitlines() or [""])[0]
        # retried outside the except clause: the exception's traceback holds the batch's tensors
        _free_cuda_memory()
        if len(batch) == 1:
            raise MedsregError(f"CUDA ran out of memory generating a single prompt of {len(batch[0])} tokens ({message}); "
                               "lower --max-input-tokens or --max-new-tokens, use a GPU with more memory, or --backend vllm")
        self.batch_size = len(batch) // 2
        self.halvings.append(f"CUDA ran out of memory on a batch of {len(batch)}; went on with batches of {self.batch_size}")
        self.warn(f"warning: {self.halvings[-1]}")
        return self.generate(batch)

    def _generate(self, batch: list[list[int]]) -> list[str]:
        import torch

        longest = max(len(ids) for ids in batch)
        device = self.model.device
        input_ids = torch.tensor([[self.pad_id] * (longest - len(ids)) + ids for ids in batch], device=device)
        mask = torch.tensor([[0] * (longest - len(ids)) + [1] * len(ids) for ids in batch], device=device)
        with torch.inference_mode():
            output = self.model.generate(input_ids=input_ids, attention_mask=mask, generation_config=self.generation_config)
        texts = []
        for tokens in output[:, longest:].tolist():
            end = next((i for i, token in enumerate(tokens) if token in self.stops), len(tokens))
            self.generated_tokens += end
            texts.append(self.tokenizer.decode(tokens[:end], skip_special_tokens=True).strip())
        return texts

    def notes(self) -> list[str]:
        notes = list(self.halvings)
        if self.truncated:
            notes.append(f"{self.truncated} prompts were longer than {self.options.max_input_tokens} tokens and lost their "
                         "beginning (--max-input-tokens)")
        return notes

    def close(self) -> None:
        self.model = None
        _free_cuda_memory()


def _device_and_dtype(options: GenerationOptions) -> tuple[str, str]:
    import torch

    if options.dtype not in DTYPES:
        raise MedsregError(f"--dtype {options.dtype!r} is not one of {', '.join(DTYPES)}")
    if torch.cuda.is_available():
        device = f"cuda:{options.local_rank}" if options.distributed else "cuda"
        dtype = options.dtype
        if dtype == "auto":
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return device, dtype
    return "cpu", "float32" if options.dtype == "auto" else options.dtype


def _out_of_memory() -> type[BaseException]:
    import torch

    return getattr(torch, "OutOfMemoryError", None) or torch.cuda.OutOfMemoryError


def _free_cuda_memory() -> None:
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover
        pass
