"""What the hf and vllm backends share: the sentence about the model folder (``medsreg.modelfolder`` checks it), its
chat tokenizer, prompt token ids and stop tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError
from medsreg.modelfolder import how_to_give

HOW = how_to_give("--model")


def chat_tokenizer(path: Path, trust_remote_code: bool = False) -> Any:
    """The model's tokenizer, with the checks of ``medsreg build --tokenizer`` (a chat template that accepts a
    system / user conversation, no code of the folder's own run unless ``trust_remote_code``)."""
    try:
        from medsreg.build.tokenize import load_chat_tokenizer
    except ImportError as error:  # pragma: no cover - the module imports nothing heavy at import time
        raise MedsregError(f"the model's tokenizer needs transformers ({error}); pip install 'medsreg[eval]'") from None
    try:
        return load_chat_tokenizer(path, trust_remote_code)
    except MedsregError as error:  # the same sentences, about --model rather than --tokenizer
        message = str(error).replace("give --tokenizer a local folder saved with tokenizer.save_pretrained", "give --model a "
                                     "local folder saved with save_pretrained").replace("--tokenizer needs transformers",
                                                                                        "--model needs transformers")
        raise MedsregError(message.replace("pip install 'medsreg[tokenize]'", "pip install 'medsreg[eval]'")) from None


def prompt_ids(tokenizer: Any, messages: list[dict[str, str]], max_input_tokens: int) -> tuple[list[int], bool]:
    """(the token ids of the conversation with the generation prompt, by the model's own chat template; whether it was
    truncated): a prompt longer than ``max_input_tokens`` keeps its end (the question and the assistant turn's opening)."""
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=False)
    ids = list(ids)
    if len(ids) > max_input_tokens:
        return ids[-max_input_tokens:], True
    return ids, False


def stop_token_ids(tokenizer: Any, configured: Any = None) -> list[int]:
    """EOS of the tokenizer and of the model's generation config, plus the end-of-turn special tokens it has."""
    from medsreg.evaluate.backends import END_OF_TURN_TOKENS

    ids: set[int] = set()
    for value in (tokenizer.eos_token_id, configured):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(item for item in value if isinstance(item, int))
    added = tokenizer.get_added_vocab() if hasattr(tokenizer, "get_added_vocab") else {}
    special = set(getattr(tokenizer, "all_special_tokens", []))
    for token in END_OF_TURN_TOKENS:
        if token in added or token in special:
            token_id = tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
                ids.add(token_id)
    return sorted(ids)


class TokenizedPrompts:
    """Mixin of the backends that run a local model: prompts become token ids (truncated, counted), cost = length."""

    tokenizer: Any
    options: Any
    truncated: int

    def prepare(self, messages: list[dict[str, str]]) -> list[int]:
        ids, cut = prompt_ids(self.tokenizer, messages, self.options.max_input_tokens)
        self.truncated += cut
        return ids

    def cost(self, prepared: list[int]) -> int:
        return len(prepared)
