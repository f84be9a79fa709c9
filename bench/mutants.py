"""Mutation test of ``medsreg validate``: seeded mutants of a valid task file, each validated in-process.

Run from the repository root::

    .venv/bin/python bench/mutants.py                      # 1,000 mutants, seed 0
    .venv/bin/python bench/mutants.py -n 200 --seed 7 --show 5 --json /tmp/mutants.json

This module owns three things:

* **the mutants**: the template plugin's example task (plugins/_template, a clean task file) changed by 1-3
  operators drawn from ``OPERATORS`` (keys deleted, duplicated in the JSON text or retyped; empty, huge and
  unicode strings; deep nesting; wrong flags and numbers; bad URLs, ids, licences, categories, languages,
  access tiers and splits; broken bytes: truncation, UTF-16, Windows-1252, NaN, lone surrogates ...);
* **the oracle** (``broken_rules``): the rules CONTRIBUTING.md states that a mutant breaks, judged from the file
  alone without medsreg's checks (strict JSON without repeated keys, required fields and their types, non-blank
  metadata, http(s) URLs, strict flags, the ``medsreg`` block's keys, unique non-blank ids, at least 10
  instances, split marks ...). Values it cannot judge on its own (a random string as a language or licence) are
  left unjudged, never guessed;
* **the verdicts**: each mutant is written into one plugin folder and ``medsreg validate --strict`` (what CI runs)
  is invoked in this process under a per-mutant timeout. Counted: internal errors (an exception other than a
  usage error or an exit code other than 0, 1, 2), hangs (over --timeout), rejections without a located line
  (``file::path: error: ...``), mutants accepted although they break a rule (wrongly accepted), and, for
  information, mutants rejected although the oracle found no broken rule (rules it does not know, e.g. an
  unknown licence id).

The run fails (exit 1) unless internal errors, hangs, unlocated rejections and wrongly accepted mutants are all 0.
Instance sources (``instances_from``) are not mutated.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TEMPLATE_TASK = REPO / "plugins" / "_template" / "medsreg_template" / "tasks" / "dosing_frequency.json"
PLUGIN = "mutant"
TASK_FILE = Path("medsreg_mutant") / "tasks" / "dosing_frequency.json"


# --------------------------------------------------------------------------- values the operators draw from

UNICODE = ["\u200b", "\u202e", "\u0301", "😀", "日本語", "\u2028", "\x00", "\x07", "\ufeff", "Ω", "e\u0301", "\t", "\n",
           "\U0010fffd", "ﷺ", "\\", "\"", "%0A::error::x"]
GOOD_LANGUAGES = {"en", "English", "Chinese", "zh", "zh-Hans", "Español", "French", "fr"}
BAD_LANGUAGES = {"Martian", "Not a language", "Englsh-ish tongue 42"}
GOOD_LICENCES = {"CC0-1.0", "CC-BY-4.0", "MIT", "MIT OR Apache-2.0", "CC-BY-NC-SA-4.0", "LicenseRef-PhysioNet-1.5.0"}
BAD_LICENCES = {"MIT OR", "()", "Foo", "CC-BY-4.0 AND", '"MIT"', "MIT/Apache", "mit", "cc-by-4.0", "GPL-2.0+", "AND"}
CATEGORY_VALUES = ["Drug Interaction Classification", "text classification", "NER", "", "Diagnosys",
                   "Question Answering (MCQA)", "Diagnosis", "Text Classification", " Diagnosis "]
URLS = ["javascript:alert(1)", "ftp://example.org/a", "www.example.org", "", "data:text/html,x", "http://", "file:///etc",
        "https://example.org/x", "HTTPS://EXAMPLE.ORG/A", "http://example.org", " https://example.org"]
FLAGS = ["yes", "true", 1, 0, "1", None, "no", 1.0, True, False, [], {}]
INTEGERS = [0, -1, "12", 12.0, True, 10**30, 12, None, 1.5]
VERSIONS = ["1", "1.0.0", 1.0, "v1", "2.3", "", None]
ACCESS = ["public", "credentialed", "private", "open", None, "", "Public"]
SPLITS = ["Train", "Test", "Train/Test", "train", "", None]
MARKS = ["train", "test", "dev", "", None, 1]


@dataclass
class Mutant:
    index: int
    operators: list[str] = field(default_factory=list)
    data: bytes = b""


# --------------------------------------------------------------------------- document operators

def _containers(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in ``value``, depth first."""
    if isinstance(value, dict):
        for key in list(value):
            out.append((value, key))
            _containers(value[key], out)
    elif isinstance(value, list):
        for index in range(len(value)):
            out.append((value, index))
            _containers(value[index], out)
    return out


def _strings(document: Any) -> list[tuple[Any, Any]]:
    return [(c, k) for c, k in _containers(document, []) if isinstance(c[k], str)]


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(["int", "float", "bool", "null", "str", "list", "dict", "big"] if depth < 2 else ["int", "str", "null"])
    return {
        "int": lambda: rng.randint(-5, 10**6), "float": lambda: rng.choice([0.5, -1e300, 1e-300, 3.0]),
        "bool": lambda: rng.random() < 0.5, "null": lambda: None, "str": lambda: _random_text(rng, rng.randint(0, 12)),
        "list": lambda: [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))],
        "dict": lambda: {_random_text(rng, 4): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))},
        "big": lambda: 10 ** rng.randint(20, 400),
    }[kind]()


def _random_text(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(UNICODE) if rng.random() < 0.3 else chr(rng.randint(0x20, 0x7e)) for _ in range(length))


def _pick(rng: random.Random, document: Any, keep: Callable[[Any, Any], bool] = lambda c, k: True) -> tuple[Any, Any] | None:
    found = [(c, k) for c, k in _containers(document, []) if keep(c, k)]
    return rng.choice(found) if found else None


def _set(document: Any, path: tuple, value: Any) -> None:
    """Set ``document[path...]`` where the containers exist; a missing medsreg block is created."""
    target = document
    for part in path[:-1]:
        if isinstance(target, dict) and not isinstance(target.get(part), (dict, list)):
            target[part] = {}
        if not isinstance(target, (dict, list)):
            return
        try:
            target = target[part]
        except (IndexError, KeyError, TypeError):
            return
    if isinstance(target, dict) or (isinstance(target, list) and isinstance(path[-1], int) and path[-1] < len(target)):
        if value is _DELETE:
            if isinstance(target, dict):
                target.pop(path[-1], None)
        else:
            target[path[-1]] = value


_DELETE = object()


def _instance_count(document: Any) -> int:
    instances = document.get("Instances") if isinstance(document, dict) else None
    return len(instances) if isinstance(instances, list) else 0


def op_delete_key(rng, document):
    found = _pick(rng, document, lambda c, k: isinstance(c, dict))
    if found:
        del found[0][found[1]]


def op_retype(rng, document):
    found = _pick(rng, document)
    if found:
        found[0][found[1]] = _random_value(rng)


def op_empty(rng, document):
    found = _pick(rng, document)
    if found:
        found[0][found[1]] = rng.choice(["", " ", [], {}, None, [""], "\t\n"])


def op_huge_string(rng, document):
    targets = [("Input_language", 0), ("medsreg", "license"), ("Categories", 0), ("medsreg", "name"), ("URL", 0),
               ("Domains", 0), ("Instances", 0, "id"), ("Instances", 0, "input"), ("Source", 0), ("medsreg", "version")]
    size = rng.choice([10_000, 100_000, 1_000_000])
    text = rng.choice(["x" * size, "ab " * (size // 3), _random_text(rng, 200) * (size // 200)])
    _set(document, rng.choice(targets), text)


def op_unicode(rng, document):
    found = rng.choice(_strings(document) or [(None, None)])
    if found[0] is not None:
        found[0][found[1]] = _random_text(rng, rng.randint(1, 30))


_NESTED = re.compile(r'"<nested (\d+) (\d+)>"')
"""Stands in the document for a value nested DEPTH levels deep, written out in the text (json.dumps would recurse)."""


def op_nesting(rng, document):
    found = _pick(rng, document)
    if found:
        found[0][found[1]] = f"<nested {rng.choice([20, 200, 900, 3000])} {rng.randrange(2**32)}>"


def _nested(match: re.Match) -> str:
    rng = random.Random(int(match.group(2)))
    kinds = [rng.random() < 0.5 for _ in range(int(match.group(1)))]
    return "".join("[" if is_list else '{"k": ' for is_list in kinds) + '"deep"' + "".join(
        "]" if is_list else "}" for is_list in reversed(kinds))


def op_flag(rng, document):
    _set(document, ("medsreg", "synthetic"), rng.choice(FLAGS))


def op_integer(rng, document):
    _set(document, ("medsreg", "legacy_id"), rng.choice(INTEGERS))


def op_version(rng, document):
    _set(document, ("medsreg", "version"), rng.choice(VERSIONS))


def op_url(rng, document):
    if rng.random() < 0.3:
        document["URL"] = rng.choice([*URLS, []])
    else:
        _set(document, ("URL", 0), rng.choice(URLS))


def op_id(rng, document):
    count = _instance_count(document)
    if not count:
        return
    index = rng.randrange(count)
    other = document["Instances"][rng.randrange(count)]
    value = rng.choice(["", " ", other.get("id") if isinstance(other, dict) else "x", True, 1.5, 10**40, 7, _DELETE, "7"])
    _set(document, ("Instances", index, "id"), value)


def op_domains(rng, document):
    document["Domains"] = rng.choice(["", [], [""], ["Medicine"], "Medicine", [" "], ["Medicine", ""], None, [1]])


def op_licence(rng, document):
    _set(document, ("medsreg", "license"), rng.choice([*sorted(GOOD_LICENCES), *sorted(BAD_LICENCES), "", " ", None]))


def op_category(rng, document):
    value = rng.choice(CATEGORY_VALUES)
    document["Categories"] = rng.choice([[value], value, [value, "Diagnosis"], []])


def op_language(rng, document):
    key = rng.choice(["Input_language", "Output_language", "Instruction_language"])
    value = rng.choice([*sorted(GOOD_LANGUAGES), *sorted(BAD_LANGUAGES), ""])
    document[key] = rng.choice([[value], value, []])


def op_access(rng, document):
    _set(document, ("medsreg", "access"), rng.choice(ACCESS))
    if rng.random() < 0.5:
        _set(document, ("medsreg", "synthetic"), False)


def op_split(rng, document):
    if rng.random() < 0.5:
        value = rng.choice(SPLITS)
        if value is None:
            document.pop("Split Type", None)
        else:
            document["Split Type"] = value
    count = _instance_count(document)
    for index in rng.sample(range(count), k=min(count, rng.choice([1, 3, count or 1]))):
        mark = rng.choice(MARKS)
        _set(document, ("Instances", index, "split"), _DELETE if mark is None else mark)


def op_instances(rng, document):
    instances = document.get("Instances")
    if not isinstance(instances, list) or not instances:
        return
    choice = rng.choice(["none", "few", "copy", "same-input", "empty-input", "empty-output", "extra-key", "not-object"])
    index = rng.randrange(len(instances))
    if choice == "none":
        document["Instances"] = []
    elif choice == "few":
        del instances[rng.randint(1, 9):]
    elif choice == "copy":
        instances.append(copy.deepcopy(instances[index]))
    elif choice == "same-input" and isinstance(instances[index], dict):
        instances.append({**copy.deepcopy(instances[index]), "id": "copy", "output": ["another answer"]})
    elif choice == "empty-input":
        _set(document, ("Instances", index, "input"), rng.choice(["", " "]))
    elif choice == "empty-output":
        _set(document, ("Instances", index, "output"), rng.choice(["", [], [""], [" "], None, [1]]))
    elif choice == "extra-key":
        _set(document, ("Instances", index, "foo"), 1)
    else:
        instances[index] = rng.choice(["text", 3, None, []])


def op_examples(rng, document):
    key = rng.choice(["Positive Examples", "Negative Examples"])
    choice = rng.choice(["no-explanation", "extra", "empty-input", "blank", "null", "string-output"])
    if choice == "blank":
        document[key] = ""
    elif choice == "null":
        document[key] = None
    else:
        field_, value = {"no-explanation": ("explanation", _DELETE), "extra": ("why", "x"), "empty-input": ("input", ""),
                         "string-output": ("output", "once a day")}[choice]
        _set(document, (key, 0, field_), value)


def op_unknown_key(rng, document):
    path = rng.choice([("Catgories",), ("medsreg", "licence"), ("medsreg", "instances"), ("Instances", 0, "foo"),
                       ("Positive Examples", 0, "foo")])
    _set(document, path, ["x"])


def op_top_level(rng, document):
    return rng.choice([[], "task", 3, None, [document]])


DOCUMENT_OPERATORS: dict[str, Callable[[random.Random, Any], Any]] = {
    name.removeprefix("op_"): function for name, function in globals().items() if name.startswith("op_")
}


# --------------------------------------------------------------------------- text and byte operators

_KEY = re.compile(r'\n(\s*)"((?:[^"\\]|\\.)+)": ')


def text_duplicate_key(rng, text: str) -> bytes:
    found = list(_KEY.finditer(text))
    if not found:
        return text.encode()
    match = rng.choice(found)
    value = json.dumps(rng.choice(["MIT", True, None, 0, ["x"], "CC-BY-4.0", "train"]))
    repeated = f'\n{match.group(1)}"{match.group(2)}": {value},'
    before = rng.random() < 0.5  # the repeat before or after the original: either value would be the one kept
    if before:
        return (text[:match.start()] + repeated + text[match.start():]).encode()
    end = text.find("\n", match.end())
    end = len(text) if end < 0 else end
    line = text[match.start():end]
    if not line.rstrip().endswith(","):
        return (text[:match.start()] + repeated + text[match.start():]).encode()
    return (text[:end] + repeated + text[end:]).encode()


def text_truncate(rng, text: str) -> bytes:
    data = text.encode()
    return data[: rng.randrange(len(data))]


def text_random_bytes(rng, text: str) -> bytes:
    data = bytearray(text.encode())
    for _ in range(rng.randint(1, 5)):
        data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
    return bytes(data)


def text_encoding(rng, text: str) -> bytes:
    text = text.replace("Medicine", "Médecine")
    return rng.choice([lambda: text.encode("utf-16"), lambda: text.encode("utf-16-le"), lambda: text.encode("cp1252", "replace"),
                       lambda: b"\xef\xbb\xbf" + text.encode(), lambda: text.encode("utf-32")])()


def text_constant(rng, text: str) -> bytes:
    found = list(_KEY.finditer(text))
    if not found:
        return text.encode()
    match = rng.choice(found)
    end = text.find("\n", match.end())
    value = rng.choice(["NaN", "Infinity", "-Infinity", "1e999", "undefined", "'single'", "01", "0x10", "True"])
    tail = "," if text[match.end():end].rstrip().endswith(",") else ""
    if text[match.end():end].strip() in ("{", "["):
        return text.encode()  # an object or list opens here: replacing one line would leave its body behind
    return (text[:match.end()] + value + tail + text[end:]).encode()


def text_syntax(rng, text: str) -> bytes:
    index = text.rfind("}")
    return rng.choice([lambda: text[:index] + ",}" + text[index + 1:], lambda: "// comment\n" + text,
                       lambda: text + "\n{}", lambda: text.replace('"', "'", 4), lambda: "\x00" + text,
                       lambda: text.replace(": ", ":\x00 ", 1)])().encode()


def text_surrogate(rng, text: str) -> bytes:
    return text.replace("Medicine", rng.choice(["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\ud83dx", "\\\\ud800"]), 1).encode()


TEXT_OPERATORS: dict[str, Callable[[random.Random, str], bytes]] = {
    name.removeprefix("text_"): function for name, function in globals().items() if name.startswith("text_")
}


def make_mutants(count: int, seed: int) -> list[Mutant]:
    """``count`` mutants of the template task, the same for the same seed."""
    base = json.loads(TEMPLATE_TASK.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    names = sorted(DOCUMENT_OPERATORS)
    mutants = []
    for index in range(count):
        mutant = Mutant(index)
        document: Any = copy.deepcopy(base)
        for _ in range(rng.choice([1, 1, 2, 3])):
            name = rng.choice(names)
            mutant.operators.append(name)
            replaced = DOCUMENT_OPERATORS[name](rng, document)
            if name == "top_level":
                document = replaced
                break
        text = _NESTED.sub(_nested, json.dumps(document, ensure_ascii=False, indent=1))
        if rng.random() < 0.3:
            name = rng.choice(sorted(TEXT_OPERATORS))
            mutant.operators.append(name)
            mutant.data = TEXT_OPERATORS[name](rng, text)
        else:
            mutant.data = text.encode("utf-8", "surrogatepass")
        mutants.append(mutant)
    return mutants


# --------------------------------------------------------------------------- the oracle

class _Repeated(Exception):
    pass


def _strict_pairs(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Repeated
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and all(isinstance(item, str) for item in value))


def _as_list(value: Any) -> list[str]:
    return ([value] if value.strip() else []) if isinstance(value, str) else value


TASK_KEYS = {"Contributors", "Source", "URL", "Categories", "Reasoning", "Definition", "Input_language",
             "Output_language", "Instruction_language", "Domains", "Positive Examples", "Negative Examples",
             "Split Type", "Instances", "medsreg"}
BLOCK_KEYS = {"name", "legacy_id", "version", "license", "access", "source_revision", "synthetic", "description",
              "released_name", "instances_from", "instructions_from"}
REQUIRED_LISTS = ["Contributors", "Source", "URL", "Categories", "Definition", "Input_language", "Output_language",
                  "Instruction_language", "Domains"]


def broken_rules(data: bytes) -> list[str]:
    """The rules of CONTRIBUTING.md ('Task file', 'Validate') the file ``data`` breaks, as short labels."""
    try:
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        return ["not UTF-8"]
    try:
        document = json.loads(text, object_pairs_hook=_strict_pairs, parse_constant=_no_constant)
    except _Repeated:
        return ["repeated key"]
    except (ValueError, RecursionError):
        return ["not JSON"]
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return ["lone surrogate"]
    except (ValueError, RecursionError):
        pass
    if not isinstance(document, dict):
        return ["not one task object"]
    broken = []
    broken += [f"unknown field {key!r}" for key in document if key not in TASK_KEYS]
    for key in REQUIRED_LISTS:
        if key not in document:
            broken.append(f"{key} missing")
        elif not _is_str_list(document[key]):
            broken.append(f"{key} not a list of strings")
        elif not any(item.strip() for item in _as_list(document[key])):
            broken.append(f"{key} empty")
    if _is_str_list(document.get("URL")):
        broken += [f"URL {url[:40]!r} not http(s)" for url in _as_list(document["URL"])
                   if not re.match(r"^https?://[^\s/]", url, re.IGNORECASE)]
    if "Reasoning" in document and document["Reasoning"] is not None and not _is_str_list(document["Reasoning"]):
        broken.append("Reasoning not a list of strings")
    broken += _category_rules(document)
    broken += _language_rules(document)
    broken += _block_rules(document)
    broken += _example_rules(document)
    broken += _instance_rules(document)
    return broken


def _category_rules(document: dict) -> list[str]:
    # the category list is data (CONTRIBUTING.md lists it), not a check of medsreg's
    from medsreg.vocabulary import CATEGORIES, CATEGORY_ALIASES

    if not _is_str_list(document.get("Categories")):
        return []
    known = {category.lower() for category in CATEGORIES} | set(CATEGORY_ALIASES)
    return [f"category {value[:40]!r} unknown" for value in _as_list(document["Categories"])
            if value not in CATEGORIES and value.strip().lower() not in known]


def _language_rules(document: dict) -> list[str]:
    broken = []
    for key in ("Input_language", "Output_language", "Instruction_language"):
        if _is_str_list(document.get(key)):
            broken += [f"{key} {value[:20]!r} no language" for value in _as_list(document[key])
                       if value in BAD_LANGUAGES or not value.strip() or len(value) > 1000]
    return broken


def _block_rules(document: dict) -> list[str]:
    block = document.get("medsreg")
    if not isinstance(block, dict):
        return ["no medsreg block"]
    broken = [f"medsreg.{key} unknown" for key in block if key not in BLOCK_KEYS]
    checks = {
        "name": lambda v: isinstance(v, str) and re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", v),
        "legacy_id": lambda v: v is None or (type(v) is int and v >= 1),
        "version": lambda v: isinstance(v, str) and re.fullmatch(r"\d+\.\d+", v),
        "source_revision": lambda v: v is None or isinstance(v, str),
        "synthetic": lambda v: isinstance(v, bool),
        "description": lambda v: isinstance(v, str),
        "released_name": lambda v: v is None or (isinstance(v, str) and re.fullmatch(r"task\d+_[^/\\]+\.jsonl?", v)),
    }
    broken += [f"medsreg.{key} invalid" for key, valid in checks.items() if key in block and not valid(block[key])]
    licence = block.get("license")
    if not isinstance(licence, str) or not licence.strip() or licence in BAD_LICENCES or len(licence) > 1000:
        broken.append("licence missing or invalid")
    access = block.get("access")
    if access not in ("public", "credentialed", "private"):
        broken.append("access missing or invalid")
    elif (access != "public" and isinstance(document.get("Instances"), list) and document["Instances"]
          and block.get("synthetic") is not True):
        broken.append("credentialed instances in the file")
    return broken


def _example_rules(document: dict) -> list[str]:
    broken = []
    for key in ("Positive Examples", "Negative Examples"):
        examples = document.get(key)
        if examples in (None, ""):
            continue
        if not isinstance(examples, list):
            broken.append(f"{key} not a list")
            continue
        for example in examples:
            if not isinstance(example, dict) or set(example) - {"input", "output", "explanation"}:
                broken.append(f"{key} entry not {{input, output, explanation}}")
                continue
            if not isinstance(example.get("input"), str) or not example["input"].strip():
                broken.append(f"{key} input missing or empty")
            output = example.get("output")
            if not _is_str_list(output) or not _as_list(output) or not all(o.strip() for o in _as_list(output)):
                broken.append(f"{key} output missing or empty")
            if not isinstance(example.get("explanation", ""), str) or not example.get("explanation", "").strip():
                broken.append(f"{key} explanation missing or empty")
    return broken


def _instance_rules(document: dict) -> list[str]:
    split_type = document.get("Split Type")
    broken = [] if split_type in (None, "Train", "Test", "Train/Test") else ["Split Type invalid"]
    instances = document.get("Instances")
    if not isinstance(instances, list):
        return [*broken, "Instances missing or not a list"]
    if not instances:
        return [*broken, "no instances"]
    if len(instances) < 10:
        broken.append("fewer than 10 instances")
    ids: Counter[str] = Counter()
    inputs: dict[str, Any] = {}
    for index, instance in enumerate(instances):
        if not isinstance(instance, dict) or not {"input", "output"} <= set(instance):
            broken.append("instance not {id, input, output}")
            continue
        if set(instance) - {"id", "input", "output", "split"}:
            broken.append("instance key unknown")
        identifier = instance.get("id", index)
        if isinstance(identifier, bool) or not isinstance(identifier, (str, int)):
            broken.append("instance id not a string")
        elif isinstance(identifier, str) and not identifier.strip():
            broken.append("instance id blank")
        ids[str(identifier)] += 1
        text, output = instance["input"], instance["output"]
        if not isinstance(text, str) or not text.strip():
            broken.append("instance input missing or blank")
        if not _is_str_list(output) or not _as_list(output) or not all(o.strip() for o in _as_list(output)):
            broken.append("instance output missing or blank")
        mark = instance.get("split")
        if "split" in instance and mark not in ("train", "test"):
            broken.append("instance split invalid")
        elif split_type is None and "split" in instance:
            broken.append("split mark without Split Type")
        elif (split_type == "Train" and mark == "test") or (split_type == "Test" and mark == "train"):
            broken.append("split mark against Split Type")
        elif split_type == "Train/Test" and mark is None:
            broken.append("Train/Test instance without split mark")
        if isinstance(text, str):
            if text in inputs:
                broken.append("input repeated")
            inputs[text] = output
    broken += [f"id {identifier[:20]!r} repeated" for identifier, count in ids.items() if count > 1]
    return broken


# --------------------------------------------------------------------------- running validate

class Hang(BaseException):
    """Raised by the timer inside validate; a BaseException so that no ``except Exception`` in medsreg swallows it."""


@dataclass
class Verdict:
    mutant: Mutant
    exit_code: int | None
    seconds: float
    broken: list[str]
    output: str
    internal: str | None = None
    hang: bool = False
    unlocated: bool = False

    @property
    def accepted(self) -> bool:
        return self.exit_code == 0 and self.internal is None and not self.hang


def _on_alarm(signum, frame):
    raise Hang


def plugin_folder(root: Path) -> Path:
    """A plugin folder (the template renamed) whose task file each mutant replaces."""
    from medsreg.scaffold import new_plugin

    return new_plugin(PLUGIN, root)


def judge(mutant: Mutant, folder: Path, timeout: float) -> Verdict:
    """Write ``mutant`` into ``folder`` and run ``medsreg validate --strict`` on it in this process."""
    from click.testing import CliRunner
    from medsreg.cli import cli

    task_file = folder / TASK_FILE
    task_file.write_bytes(mutant.data)
    broken = broken_rules(mutant.data)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    started = time.perf_counter()
    try:
        result = CliRunner().invoke(cli, ["validate", "--strict", str(folder)], catch_exceptions=True)
    except Hang:
        result = None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    seconds = time.perf_counter() - started
    if result is None:
        return Verdict(mutant, None, seconds, broken, "", hang=True)
    output = result.output
    verdict = Verdict(mutant, result.exit_code, seconds, broken, output)
    exception = result.exception
    if isinstance(exception, Hang) or seconds > timeout:
        verdict.hang = True
    elif (exception is not None and not isinstance(exception, SystemExit)) or result.exit_code not in (0, 1, 2):
        verdict.internal = f"{type(exception).__name__}: {exception}" if exception else f"exit code {result.exit_code}"
    elif "Traceback" in output or "internal error" in output:
        verdict.internal = "a traceback in the output"
    elif result.exit_code == 1:
        located = [line for line in output.splitlines() if re.search(r": (error|warning): ", line)]
        verdict.unlocated = not located or not all(line.startswith(str(folder)) for line in located)
    return verdict


def run(count: int, seed: int, timeout: float) -> list[Verdict]:
    """Judge ``count`` seeded mutants; the plugin folder is temporary."""
    with tempfile.TemporaryDirectory(prefix="medsreg-mutants-") as root:
        folder = plugin_folder(Path(root))
        return [judge(mutant, folder, timeout) for mutant in make_mutants(count, seed)]


def tally(verdicts: list[Verdict]) -> dict[str, Any]:
    """The figures of a run, and the indexes of the mutants behind each count that must be 0."""
    wrongly = [v for v in verdicts if v.accepted and v.broken]
    return {
        "mutants": len(verdicts),
        "accepted": sum(v.accepted for v in verdicts),
        "rejected": sum(v.exit_code == 1 and v.internal is None and not v.hang for v in verdicts),
        "internal_errors": [v.mutant.index for v in verdicts if v.internal],
        "hangs": [v.mutant.index for v in verdicts if v.hang],
        "unlocated_rejections": [v.mutant.index for v in verdicts if v.unlocated],
        "wrongly_accepted": [v.mutant.index for v in wrongly],
        "rejected_without_known_rule": sum(v.exit_code == 1 and not v.broken for v in verdicts),
        "slowest_s": round(max((v.seconds for v in verdicts), default=0.0), 3),
        "broken_rules": dict(Counter(rule.split(" '")[0].split(" {")[0] for v in verdicts for rule in v.broken).most_common()),
        "operators": dict(Counter(name for v in verdicts for name in v.mutant.operators).most_common()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--mutants", type=int, default=1000, help="How many mutants (default 1000).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the mutations (default 0).")
    parser.add_argument("--timeout", type=float, default=10.0, help="Seconds one validate may take (default 10).")
    parser.add_argument("--show", type=int, default=3, help="Mutants shown per failing count (default 3).")
    parser.add_argument("--json", type=Path, help="Also write the figures to this file.")
    args = parser.parse_args()
    started = time.perf_counter()
    verdicts = run(args.mutants, args.seed, args.timeout)
    figures = tally(verdicts)
    figures["seconds"] = round(time.perf_counter() - started, 1)
    by_index = {v.mutant.index: v for v in verdicts}
    print(f"{figures['mutants']} mutants (seed {args.seed}) in {figures['seconds']} s; slowest {figures['slowest_s']} s")
    print(f"  accepted by validate --strict:       {figures['accepted']}")
    print(f"  rejected with located problems:      {figures['rejected'] - len(figures['unlocated_rejections'])}")
    print(f"  rejected, no rule the oracle knows:  {figures['rejected_without_known_rule']} (information)")
    failing = ("internal_errors", "hangs", "unlocated_rejections", "wrongly_accepted")
    for key in failing:
        print(f"  {key.replace('_', ' ') + ':':36} {len(figures[key])}")
        for index in figures[key][: args.show]:
            verdict = by_index[index]
            print(f"    mutant {index} ({', '.join(verdict.mutant.operators)}): broken {verdict.broken[:3]}; "
                  f"{verdict.internal or ''}{verdict.output.strip().splitlines()[-1][:200] if verdict.output.strip() else ''}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    sys.exit(1 if any(figures[key] for key in failing) else 0)


if __name__ == "__main__":
    main()
