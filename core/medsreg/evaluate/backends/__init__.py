"""Generation backends behind one small interface: a batch of chat conversations in, their texts out.

A backend is built from the command's options (cheap checks only: a missing model folder or
a tokenizer without a chat template is reported before the suite is read), then

* ``settings()``: what decides its outputs (backend, token limits, decoding, dtype), hashed into
  every predictions line's ``config_sha256``;
* ``load()``: the heavy part (model weights, an engine);
* ``prepare(messages)``: a conversation made ready to generate (token ids for hf and vllm, the
  messages themselves for an API); ``cost(prepared)``: its length, by which batches are formed
  (longest first: similar lengths pad little, and an out-of-memory shows on the first batch);
* ``generate(batch)``: the texts of a batch of prepared conversations, in order, greedy;
* ``batch_size``: how many conversations the runner hands it at once (hf may lower it on a CUDA
  out-of-memory error); ``notes()``: lines for the summary (truncated prompts, retries, ...).

torch, transformers and vllm are imported inside the backends' modules, which are imported only
when ``make_backend`` builds one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from medsreg.errors import MedsregError

BACKENDS = ("hf", "vllm", "openai")
DEFAULT_BATCH_SIZE = {"hf": 16, "vllm": 256, "openai": 8}
"""hf: conversations padded into one forward pass; vllm: handed to its scheduler at once (each batch is written
before the next starts); openai: requests in flight together."""
END_OF_TURN_TOKENS = ("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|end_of_turn|>", "<|endoftext|>",
                      "</s>", "<|eom_id|>")
"""Special tokens that end an assistant turn in common chat templates (Llama 3, ChatML/Qwen/InternLM, Phi,
Gemma, ...); generation stops at those the tokenizer has as special tokens, besides its EOS."""
Echo = Callable[[str], None]


class GenerationError(MedsregError):
    """A batch failed part-way: ``done`` maps positions in the batch to the texts generated before the failure."""

    def __init__(self, message: str, done: dict[int, str] | None = None) -> None:
        super().__init__(message)
        self.done = done or {}


@dataclass(kw_only=True)
class BackendSettings:
    """The ``medsreg eval`` options a backend reads as given (``EvalOptions`` has them too, one to one with the CLI)."""

    batch_size: int | None = None
    base_model: str | None = None
    """hf: the base model folder of a LoRA adapter given as ``model`` (default: the one its adapter_config.json names)."""
    dtype: str = "auto"
    trust_remote_code: bool = False
    tensor_parallel_size: int = 1
    api_base: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    request_timeout: float = 120.0
    max_retries: int = 5
    retry_wait: float = 1.0

    def backend_settings(self) -> dict[str, Any]:
        return {item.name: getattr(self, item.name) for item in fields(BackendSettings)}


@dataclass(kw_only=True)
class GenerationOptions(BackendSettings):
    """What a backend generates with: the settings as given, plus what ``run_eval`` works out (token limits, rank)."""

    model: str
    max_new_tokens: int = 200
    max_input_tokens: int = 2048
    local_rank: int = 0
    distributed: bool = False
    quiet: bool = False


class Backend:
    """The interface (see the module docstring); subclasses implement ``generate`` at least."""

    name = "backend"

    def __init__(self, options: GenerationOptions, warn: Echo) -> None:
        self.options = options
        self.warn = warn
        self.batch_size = options.batch_size or DEFAULT_BATCH_SIZE.get(self.name, 8)
        self.generated_tokens: int | None = None
        """New tokens generated so far, where the backend counts them (for the throughput line)."""

    def settings(self) -> dict[str, Any]:
        return {"backend": self.name, "max_new_tokens": self.options.max_new_tokens, "decoding": "greedy"}

    def describe(self) -> str:
        return f"{self.name} backend"

    def load(self) -> None:
        """Load the model (weights, engine); called once, after the cheap checks and the suite."""

    def prepare(self, messages: list[dict[str, str]]) -> Any:
        return messages

    def cost(self, prepared: Any) -> int:
        return 0

    def generate(self, batch: list[Any]) -> list[str]:
        raise NotImplementedError

    def notes(self) -> list[str]:
        return []

    def close(self) -> None:
        """Release what ``load`` took."""


def make_backend(name: str, options: GenerationOptions, warn: Echo) -> Backend:
    """The backend ``name`` with ``options`` (cheap checks done; ``load()`` not yet called)."""
    if name == "hf":
        from medsreg.evaluate.backends.hf import HFBackend

        return HFBackend(options, warn)
    if name == "vllm":
        from medsreg.evaluate.backends.vllm_engine import VLLMBackend

        return VLLMBackend(options, warn)
    if name == "openai":
        from medsreg.evaluate.backends.openai_api import OpenAIBackend

        return OpenAIBackend(options, warn)
    raise MedsregError(f"no backend named {name!r}; the backends are {', '.join(BACKENDS)}")
