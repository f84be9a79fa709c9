"""Loading tokenizers and models from a local folder (never the Hub), and the one rule on the code such a folder ships.

A folder saved with ``save_pretrained`` may name classes of its own in the ``auto_map`` of its config.json or
tokenizer_config.json; transformers then imports, that is runs, the folder's Python modules. Model and tokenizer
folders come from strangers, so this module owns the decision, for every command (``build --tokenizer``, ``eval``,
``train``): such a folder is refused with one sentence before transformers is even called, unless the user passed
``--trust-remote-code`` (``TRUST_FLAG``), and transformers is always given ``trust_remote_code`` explicitly: left
unset, it would ask on stdin, and whatever a pipe holds would decide.

transformers and torch are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError

TRUST_FLAG = "--trust-remote-code"
"""The option, spelled the same on every command, that lets a folder's own code run."""
CODE_MAPS = ("config.json", "tokenizer_config.json")
"""The files of a folder whose ``auto_map`` makes transformers import the folder's modules."""


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message (its type's name when it has none): what fits in a sentence."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def custom_code(folder: Path) -> dict[str, list[str]]:
    """{file: the custom classes its ``auto_map`` names ('module.Class')} for ``folder``'s config.json and
    tokenizer_config.json, files that name none left out: {} for a folder that ships no code to run."""
    found: dict[str, list[str]] = {}
    for name in CODE_MAPS:
        try:
            document = json.loads((Path(folder) / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):  # missing or broken: transformers reports it, and runs nothing from it
            continue
        mapping = document.get("auto_map") if isinstance(document, dict) else None
        if not mapping:
            continue
        # {"AutoX": "module.Class"}, {"AutoTokenizer": [slow, fast]}, or the legacy [slow, fast] of tokenizers
        values = mapping.values() if isinstance(mapping, dict) else [mapping]
        classes: list[str] = []
        for value in values:
            for ref in value if isinstance(value, (list, tuple)) else [value]:
                if ref and str(ref) not in classes:
                    classes.append(str(ref))
        found[name] = classes or ["custom classes"]
    return found


def refuse_custom_code(folder: Path, *, trust_remote_code: bool) -> None:
    """MedsregError (one sentence naming ``TRUST_FLAG``) when ``folder`` names custom classes and the user did not
    pass the flag."""
    found = custom_code(folder)
    if found and not trust_remote_code:
        names = "; ".join(f"{name} names {', '.join(classes)}" for name, classes in found.items())
        raise MedsregError(f"the folder {folder} holds custom code ({names}), which medsreg never runs unless asked: "
                           f"pass {TRUST_FLAG} if you trust that folder")


def _quiet_transformers() -> None:
    # transformers announces at import that it found no PyTorch: true, and irrelevant to tokenizing
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")


def load_tokenizer(path: Path, *, trust_remote_code: bool, what: str, how: str) -> Any:
    """``AutoTokenizer`` from the local folder ``path``; a folder with custom code is refused unless
    ``trust_remote_code``, and one transformers cannot read is the sentence: ``what`` cannot be loaded (the reason);
    ``how``."""
    refuse_custom_code(path, trust_remote_code=trust_remote_code)
    _quiet_transformers()
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), local_files_only=True, trust_remote_code=trust_remote_code)
    except Exception as error:  # noqa: BLE001 - transformers raises OSError, ValueError, JSONDecodeError, ... for a broken folder
        raise MedsregError(f"{what} cannot be loaded ({type(error).__name__}: {first_line(error)}); {how}") from None


def load_causal_lm(path: Path, *, trust_remote_code: bool, what: str, how: str, **kwargs: Any) -> Any:
    """``AutoModelForCausalLM`` from the local folder ``path`` (``kwargs``: dtype, device_map, ...), with the rules
    and the sentence of ``load_tokenizer``."""
    refuse_custom_code(path, trust_remote_code=trust_remote_code)
    _quiet_transformers()
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True,
                                                    trust_remote_code=trust_remote_code, **kwargs)
    except Exception as error:  # noqa: BLE001 - OSError, ValueError, RuntimeError, ... for a broken or foreign folder
        raise MedsregError(f"{what} cannot be loaded ({type(error).__name__}: {first_line(error)}); {how}") from None
