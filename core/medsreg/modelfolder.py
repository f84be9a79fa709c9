"""Loading tokenizers and models from a local folder (never the Hub), and the one rule on the code such a folder ships.

A folder saved with ``save_pretrained`` may name classes of its own in the ``auto_map`` of its config.json or
tokenizer_config.json; transformers then imports, that is runs, the folder's Python modules. Model and tokenizer
folders come from strangers, so this module owns the decision, for every command (``build --tokenizer``, ``eval``,
``train``): such a folder is refused with one sentence before transformers is even called, unless the user passed
``--trust-remote-code`` (``TRUST_FLAG``), and transformers is always given ``trust_remote_code`` explicitly: left
unset, it would ask on stdin, and whatever a pipe holds would decide.

It also owns what a "model folder" is for those commands (``model_folder``, ``load_model``): a folder saved with
``save_pretrained``, or a LoRA adapter folder (adapter_config.json, as ``medsreg train --lora`` writes) loaded on the
base model its adapter_config.json names or ``--base-model`` gives, both local folders under the same rule.

transformers, torch and peft are imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


# --------------------------------------------------------------------------- model folders and LoRA adapters

ADAPTER_CONFIG = "adapter_config.json"
"""The file peft's ``save_pretrained`` writes beside an adapter's weights: it makes a folder an adapter."""
BASE_FLAG = "--base-model"
"""The option, spelled the same on eval and train, that names an adapter's base model folder."""
TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json")


def how_to_give(option: str = "--model") -> str:
    """The end of the sentences about a model folder that cannot be used, for the option that named it."""
    return (f"give {option} a local folder saved with save_pretrained (config.json, the weights and the tokenizer), or "
            f"the output folder of 'medsreg train --lora' (a LoRA adapter)")


@dataclass(frozen=True)
class ModelFolder:
    """A local model to load: a saved model folder, or a LoRA adapter folder (``path``) over its ``base`` model."""

    path: Path
    base: Path | None = None
    """The base model folder when ``path`` is an adapter; None for a whole model."""

    @property
    def is_adapter(self) -> bool:
        return self.base is not None

    @property
    def tokenizer(self) -> Path:
        """The folder the tokenizer comes from: the adapter's when it holds one ('medsreg train' saves it beside the
        adapter, possibly with tokens of its own), else the base model's."""
        if self.base is None or any((self.path / name).is_file() for name in TOKENIZER_FILES):
            return self.path
        return self.base


def model_folder(model: str | Path, base_model: str | Path | None = None, *, option: str = "--model") -> ModelFolder:
    """``model`` (given with ``option``) as a local model folder, or as a LoRA adapter folder over the base model
    that ``base_model`` or else its adapter_config.json names; MedsregError (one sentence) unless it is one. Nothing
    is loaded: the cheap checks every command makes before reading its data."""
    path = Path(model).expanduser()
    how = how_to_give(option)
    if not path.exists():
        raise MedsregError(f"the model folder {model} does not exist; {how} (models are never downloaded from the Hub)")
    if not path.is_dir():
        raise MedsregError(f"the model path {model} is a file, not a folder; {how}")
    if (path / ADAPTER_CONFIG).is_file():
        return ModelFolder(path, adapter_base(path, base_model))
    if base_model is not None:
        raise MedsregError(f"{BASE_FLAG} is for a LoRA adapter folder, and {model} holds no {ADAPTER_CONFIG} (it is not "
                           f"an adapter); leave {BASE_FLAG} out, or give {option} the adapter's folder")
    if not (path / "config.json").is_file():
        raise MedsregError(f"{model} holds no config.json, so it is not a saved model, and no {ADAPTER_CONFIG}, so it is "
                           f"not a LoRA adapter either; {how}")
    return ModelFolder(path)


def adapter_base(adapter: Path, base_model: str | Path | None = None) -> Path:
    """The base model folder of the adapter in ``adapter``: ``base_model`` when given (``BASE_FLAG``), else the
    ``base_model_name_or_path`` of its adapter_config.json, which must be a local folder holding a saved model."""
    config_path = adapter / ADAPTER_CONFIG
    fix = f"pass {BASE_FLAG} DIR, the local folder of the model the adapter was trained from"
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise MedsregError(f"{config_path} cannot be read as JSON ({first_line(error)}), so {adapter} is not a usable "
                           "LoRA adapter; save the adapter again (peft's save_pretrained, or 'medsreg train --lora')") from None
    if not isinstance(document, dict):
        raise MedsregError(f"{config_path} holds a {type(document).__name__}, not the JSON object peft writes, so "
                           f"{adapter} is not a usable LoRA adapter; save the adapter again")
    if base_model is not None:
        base, named = Path(base_model).expanduser(), f"{BASE_FLAG} {base_model}"
    else:
        value = document.get("base_model_name_or_path")
        if not isinstance(value, str) or not value.strip():
            raise MedsregError(f"the LoRA adapter in {adapter} does not name its base model (no base_model_name_or_path "
                               f"in {ADAPTER_CONFIG}); {fix}")
        base, named = Path(value).expanduser(), f"its base model {value} (base_model_name_or_path in {config_path})"
    # a Hub name such as meta-llama/Llama-3.1-8B is not a folder here either: models are never downloaded
    if not base.is_dir():
        raise MedsregError(f"the LoRA adapter in {adapter} cannot be loaded: {named} is not a local folder; {fix} "
                           "(models are never downloaded from the Hub)")
    if (base / ADAPTER_CONFIG).is_file():
        raise MedsregError(f"{named} of the LoRA adapter in {adapter} is itself an adapter; merge it first ('medsreg "
                           f"train --merge {base} --output DIR') and pass {BASE_FLAG} DIR")
    if not (base / "config.json").is_file():
        raise MedsregError(f"the LoRA adapter in {adapter} cannot be loaded: {named} holds no config.json, so it is not "
                           f"a saved model; {fix}")
    return base


@contextmanager
def peft_deprecations_hidden() -> Iterator[None]:
    """Around peft's wrapping of a model: peft 0.21 asks transformers 5 ``is_gradient_checkpointing``, which it
    deprecated, and the FutureWarning is nothing a user can act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing", category=FutureWarning)
        yield


def load_model(folder: ModelFolder, *, trust_remote_code: bool, what: str, how: str, trainable: bool = False,
               merge: bool = False, **kwargs: Any) -> Any:
    """The causal LM of ``folder`` (``kwargs``: dtype, device_map, ...): ``load_causal_lm`` for a whole model; for an
    adapter, its base by ``load_causal_lm`` wrapped in ``peft.PeftModel`` (its weights ``trainable`` or frozen), or
    with ``merge`` the base with the adapter merged into its weights (a plain transformers model, no peft left).
    Neither folder's own code runs unless ``trust_remote_code``; every failure is a sentence naming ``what``."""
    if folder.base is None:
        return load_causal_lm(folder.path, trust_remote_code=trust_remote_code, what=what, how=how, **kwargs)
    # the adapter folder's tokenizer_config.json may name classes of its own just as a model folder can
    refuse_custom_code(folder.path, trust_remote_code=trust_remote_code)
    try:
        from peft import PeftModel
    except ImportError as error:
        raise MedsregError(f"{what} is a LoRA adapter ({folder.path / ADAPTER_CONFIG}), and loading one needs peft "
                           f"({error}); install it with pip install peft") from None
    base = load_causal_lm(folder.base, trust_remote_code=trust_remote_code, what=f"the base model {folder.base} of {what}",
                          how=f"pass {BASE_FLAG} DIR, the local folder of the model the adapter was trained from",
                          **kwargs)
    try:
        with peft_deprecations_hidden():
            model = PeftModel.from_pretrained(base, str(folder.path), is_trainable=trainable)
    except Exception as error:  # noqa: BLE001 - ValueError, KeyError, RuntimeError (shapes), OSError for a broken adapter
        raise MedsregError(f"the LoRA adapter in {folder.path} cannot be put on its base model {folder.base} "
                           f"({type(error).__name__}: {first_line(error)}); pass {BASE_FLAG} DIR, the folder of the model "
                           "it was trained from, or save the adapter again") from None
    if merge:
        return model.merge_and_unload()
    # an adapter saved from this model (training it further) names the base actually used, by a path that holds from
    # any working directory
    for config in model.peft_config.values():
        config.base_model_name_or_path = str(folder.base.resolve())
    return model
