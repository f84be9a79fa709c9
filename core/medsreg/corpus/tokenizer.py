"""The tokenizer that counts and packs a corpus: a local folder, as ``save_pretrained`` writes it.

Read with the ``tokenizers`` library from its ``tokenizer.json`` (fast, and no import of
transformers in every worker); a folder without one (a SentencePiece model only) is converted by
transformers' ``AutoTokenizer``. EOS is what ``tokenizer_config.json`` / ``special_tokens_map.json``
name, else ``eos_token_id`` of ``generation_config.json`` / ``config.json``: packing appends it to
every document, so a tokenizer without one is refused. Padding uses the pad token, else EOS (the
attention mask tells padding apart either way).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError


@dataclass
class CorpusTokenizer:
    path: str
    eos_id: int
    pad_id: int
    backend: Any
    """A ``tokenizers.Tokenizer``."""

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text with the tokenizer's own special tokens (BOS where it adds one) and EOS last."""
        encodings = self.backend.encode_batch_fast(texts, add_special_tokens=True)
        eos = self.eos_id
        result = []
        for encoding in encodings:
            ids = encoding.ids
            if not ids or ids[-1] != eos:
                ids.append(eos)
            result.append(ids)
        return result


def _token_name(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def _json(path: Path) -> dict:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _special_id(folder: Path, backend: Any, name: str) -> int | None:
    """The id of the ``eos`` / ``pad`` token the folder's configuration names."""
    for file in ("tokenizer_config.json", "special_tokens_map.json"):
        token = _token_name(_json(folder / file).get(f"{name}_token"))
        if token is not None:
            token_id = backend.token_to_id(token)
            if token_id is None:
                raise MedsregError(f"tokenizer {folder}: its {file} names {token!r} as the {name.upper()} token, "
                                   "which is not in its vocabulary")
            return token_id
    for file in ("generation_config.json", "config.json"):
        value = _json(folder / file).get(f"{name}_token_id")
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def load_tokenizer(path: str | Path) -> CorpusTokenizer:
    """The tokenizer in folder ``path``; every problem is a ``MedsregError`` sentence."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise MedsregError(f"tokenizer {folder} is not a folder; give the folder that save_pretrained wrote "
                           "(tokenizer.json, tokenizer_config.json)")
    file = folder / "tokenizer.json"
    if file.is_file():
        from tokenizers import Tokenizer

        try:
            backend = Tokenizer.from_file(str(file))
        except Exception as error:  # the library's own parse errors
            raise MedsregError(f"tokenizer {file} cannot be read: {error}") from None
    else:
        from medsreg.modelfolder import load_tokenizer

        # custom tokenizer code is never run here: corpus has no --trust-remote-code, and a fast tokenizer needs none
        converted = load_tokenizer(folder, trust_remote_code=False, what=f"tokenizer {folder} (it holds no tokenizer.json)",
                                   how="save it with a tokenizer.json (tokenizer.save_pretrained writes one)")
        backend = getattr(converted, "backend_tokenizer", None)
        if backend is None:
            raise MedsregError(f"tokenizer {folder} has no fast (Rust) version; save it with a tokenizer.json")
        if converted.eos_token_id is not None and _special_id(folder, backend, "eos") is None:
            return CorpusTokenizer(str(folder), converted.eos_token_id,
                                   converted.pad_token_id if converted.pad_token_id is not None else converted.eos_token_id,
                                   backend)
    eos = _special_id(folder, backend, "eos")
    if eos is None:
        raise MedsregError(f"tokenizer {folder} has no EOS token (neither tokenizer_config.json nor "
                           "special_tokens_map.json name an eos_token): packing appends EOS to every document, so "
                           "use a tokenizer that defines one")
    pad = _special_id(folder, backend, "pad")
    return CorpusTokenizer(str(folder), eos, eos if pad is None else pad, backend)
