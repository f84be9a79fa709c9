"""``--backend vllm``: vLLM's offline engine (optional extra ``medsreg[vllm]``, imported only here).

The prompts are the same token ids as the hf backend's (the model's chat template, truncated at
``--max-input-tokens`` keeping the end), handed to ``LLM.generate`` as token prompts; greedy
(temperature 0), ``--max-new-tokens``, stopping at EOS and the end-of-turn tokens.
``--tensor-parallel-size`` is passed to the engine (one process over that many GPUs). For data
parallelism with vLLM start one process per GPU group yourself, each with its own RANK,
WORLD_SIZE and CUDA_VISIBLE_DEVICES, rather than under torchrun (vLLM runs its own workers).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from medsreg.errors import MedsregError
from medsreg.evaluate.backends import Backend, Echo, GenerationOptions
from medsreg.evaluate.backends.local import (
    TokenizedPrompts,
    chat_tokenizer,
    stop_token_ids,
)
from medsreg.modelfolder import model_folder

NOT_INSTALLED = ("--backend vllm needs vLLM, which is not installed here; install it with pip install 'medsreg[vllm]' "
                 "(Linux with a CUDA GPU), or use --backend hf")


def vllm_available() -> bool:
    try:
        return importlib.util.find_spec("vllm") is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken one
        return False


class VLLMBackend(TokenizedPrompts, Backend):
    name = "vllm"

    def __init__(self, options: GenerationOptions, warn: Echo) -> None:
        super().__init__(options, warn)
        if not vllm_available():
            raise MedsregError(NOT_INSTALLED)
        if options.tensor_parallel_size < 1:
            raise MedsregError(f"--tensor-parallel-size {options.tensor_parallel_size} is below 1; give the number of GPUs "
                               "one copy of the model runs on")
        folder = model_folder(options.model, options.base_model)
        if folder.is_adapter:  # vLLM serves whole models: an adapter is merged into one first
            raise MedsregError(f"{options.model} is a LoRA adapter (on the base model {folder.base}), and --backend vllm "
                               f"runs whole models; merge it with 'medsreg train --merge {options.model} --output DIR' "
                               "and evaluate DIR, or use --backend hf")
        self.path = folder.path
        # also refuses a folder with code of its own before vLLM (which would import it when trusted) is started
        self.tokenizer = chat_tokenizer(self.path, options.trust_remote_code)
        self.engine: Any = None
        self.sampling: Any = None
        self.truncated = 0
        self.generated_tokens = 0

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "max_input_tokens": self.options.max_input_tokens, "dtype": self.options.dtype}

    def describe(self) -> str:
        return f"vllm backend, tensor parallel size {self.options.tensor_parallel_size}"

    def load(self) -> None:
        try:
            from vllm import LLM, SamplingParams
        except ImportError as error:
            raise MedsregError(f"{NOT_INSTALLED} ({error})") from None
        try:
            self.engine = LLM(model=str(self.path), tokenizer=str(self.path), dtype=self.options.dtype,
                              tensor_parallel_size=self.options.tensor_parallel_size,
                              trust_remote_code=self.options.trust_remote_code, seed=0)
        except Exception as error:  # noqa: BLE001 - vLLM raises many kinds for a model it cannot serve
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise MedsregError(f"vLLM cannot load the model in {self.options.model} ({type(error).__name__}: {reason}); "
                               "try --backend hf") from None
        self.sampling = SamplingParams(temperature=0.0, max_tokens=self.options.max_new_tokens,
                                       stop_token_ids=stop_token_ids(self.tokenizer), skip_special_tokens=True)

    def generate(self, batch: list[list[int]]) -> list[str]:
        outputs = self.engine.generate([{"prompt_token_ids": ids} for ids in batch], self.sampling, use_tqdm=False)
        texts = []
        for output in outputs:
            completion = output.outputs[0]
            self.generated_tokens += len(completion.token_ids)
            texts.append(completion.text.strip())
        return texts

    def notes(self) -> list[str]:
        if not self.truncated:
            return []
        return [f"{self.truncated} prompts were longer than {self.options.max_input_tokens} tokens and lost their beginning "
                "(--max-input-tokens)"]

    def close(self) -> None:
        self.engine = None
