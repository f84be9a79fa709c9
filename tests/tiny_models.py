"""Tiny chat models for tests, built offline in about a second: a byte-level BPE tokenizer trained here (role
tokens, an end-of-turn EOS, a chat template) and a randomly initialized 2-layer Llama saved with save_pretrained."""

from __future__ import annotations

import random
from pathlib import Path

ROLES = ["<|system|>", "<|user|>", "<|assistant|>"]
END = "<|end|>"
TEMPLATE = ("{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}"
            "{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")
WORDS = ["patient", "fever", "cough", "chest", "pain", "pneumonia", "cardiac", "aspirin", "heparin", "dose", "daily",
         "drug", "names", "sentence", "question", "answer", "input", "output", "extract", "the", "and", "has", "for", "days",
         "please", "learn", "from", "few-shot", "cases"]


def save_tokenizer(folder: Path, template: str | None = TEMPLATE, words: list[str] = WORDS) -> Path:
    """A byte-level BPE trained here in milliseconds, with role tokens, an end-of-turn EOS and a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<s>", "<pad>", END, *ROLES],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator([" ".join(random.Random(i).choices(words, k=30)) for i in range(200)], trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token=END, pad_token="<pad>",
                                        additional_special_tokens=ROLES)
    if template is not None:
        tokenizer.chat_template = template
    tokenizer.save_pretrained(str(folder))
    return folder


def save_tiny_model(folder: Path, template: str | None = TEMPLATE, seed: int = 0) -> Path:
    """A randomly initialized 2-layer Llama (hidden size 32) with the tokenizer above, saved with save_pretrained."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    save_tokenizer(folder, template)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    torch.manual_seed(seed)
    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=2, vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    return folder
