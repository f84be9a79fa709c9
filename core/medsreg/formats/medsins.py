"""Reader of MedS-Ins task files: template and released variants, normalized with a report.

Reading goes through three registered stages, each a check of ``medsreg validate``:
``readable`` (size, UTF-8), ``json`` (``load_json``: strict JSON, a repeated key is an error) and
``schema``, then ``normalized`` (what had to be converted, reported as notes, never silently).
Nothing in a file can make reading raise or hang: every problem is a located finding.

A file holds one task, or is a catalog (``{"defaults": {...}, "tasks": [card, ...]}``) whose
cards are task files without instances; problems in a card are located at ``$.tasks[i]``.
A ``.jsonl`` file is read like ``.json`` (one object), as the official MedS-Bench loader does.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from medsreg.errors import NotUtf8Error, decode_text, quoted
from medsreg.models import (
    Example,
    Instance,
    InstanceSplit,
    LocalSource,
    RegistryBlock,
    Task,
    TaskCollection,
    TaskFile,
)
from medsreg.validate.problems import Findings, check
from medsreg.vocabulary import canonical_category, did_you_mean, language_code

DEFAULT_MAX_FILE_MB = 100
"""GitHub refuses files over 100 MB, so a contributed task file cannot be larger."""

TASK_STEM = re.compile(r"^task(\d+)_(.+)$", re.IGNORECASE)
_UNION_TAG = re.compile(r"^(str|int|float|bool|none|local|hub|(list|dict|literal)\[.*\])$")
_TAG_WORDS = {
    "str": "a string",
    "int": "an integer",
    "list[str]": "a list of strings",
    "list[Example]": "a list of {input, output, explanation} objects",
    "literal['']": "an empty string",
}
_LIST_FIELDS = {
    "contributors": "Contributors",
    "source": "Source",
    "url": "URL",
    "categories": "Categories",
    "reasoning": "Reasoning",
    "definition": "Definition",
    "input_language": "Input_language",
    "output_language": "Output_language",
    "instruction_language": "Instruction_language",
    "domains": "Domains",
}
_INVALID = object()
_KNOWN_KEYS = [f.alias or name for name, f in TaskFile.model_fields.items()]


@dataclass
class ReadResult:
    """A file read: its tasks with the JSON path of each (``$`` or ``$.tasks[i]``), and everything found on the way."""

    path: Path
    entries: list[tuple[Task, str]] = field(default_factory=list)
    native: bool = False
    """True when the file has a ``medsreg`` block (a medsreg task file, not a raw MedS-Ins one)."""
    findings: Findings = field(default_factory=Findings)

    @property
    def task(self) -> Task | None:
        """The task of a single-task file (None if it could not be read)."""
        return self.entries[0][0] if len(self.entries) == 1 else None


def task_files(path: Path) -> list[Path]:
    """The task files a path stands for: the file itself, or every ``*.json`` in a folder (not recursive)."""
    return sorted(path.glob("*.json")) if path.is_dir() else [path]


def read_task_file(path: Path, plugin: str, *, max_file_mb: float = DEFAULT_MAX_FILE_MB) -> ReadResult:
    """Read, validate and normalize one task file (or catalog) for ``plugin``; never raises for bad content."""
    result = ReadResult(path)
    where = str(path)
    text = read_text(path, where, max_file_mb, result.findings)
    if text is None:
        return result
    parsed = parse_json(text, where, result.findings)
    if parsed is _INVALID:
        return result
    if is_collection(parsed):
        result.native = True
        collection = parse_collection(parsed, where, result.findings)
        for index, card in enumerate(collection.tasks if collection else ()):
            prefix = f"$.tasks[{index}]"
            document = parse_task_file(merge_card(collection.defaults, card), where, result.findings, prefix)
            task = document and normalize(document, path, plugin, where, result.findings, prefix)
            if task is not None:
                result.entries.append((task, prefix))
        return result
    document = parse_task_file(parsed, where, result.findings)
    if document is None:
        return result
    result.native = document.medsreg is not None
    task = normalize(document, path, plugin, where, result.findings)
    if task is not None:
        result.entries.append((task, "$"))
    return result


def is_collection(document: Any) -> bool:
    """A catalog of task cards rather than one task: ``tasks`` is a list and no task field is present."""
    return isinstance(document, dict) and isinstance(document.get("tasks"), list) and not (
        {"Instances", "Definition", "Categories"} & document.keys()
    )


def merge_card(defaults: dict[str, Any], card: dict[str, Any]) -> dict[str, Any]:
    """``card`` over ``defaults``; the ``medsreg`` blocks merge key by key."""
    merged = {**defaults, **card}
    if isinstance(defaults.get("medsreg"), dict) and isinstance(card.get("medsreg"), dict):
        merged["medsreg"] = {**defaults["medsreg"], **card["medsreg"]}
    return merged


# --------------------------------------------------------------------------- stage 1: bytes


@check("readable", scope="file")
def read_text(path: Path, where: str, max_file_mb: float, findings: Findings) -> str | None:
    """The file exists, is at most --max-file-mb MB and is UTF-8 text."""
    try:
        size = path.stat().st_size
        data = path.read_bytes() if size <= max_file_mb * 1e6 else b""
    except OSError as error:
        findings.add("readable", "error", where, "", f"cannot be read ({error.strerror}); check the path")
        return None
    if size > max_file_mb * 1e6:
        findings.add(
            "readable", "error", where, "",
            f"is {size / 1e6:.0f} MB, over the {max_file_mb:g} MB limit for a task file; split the instances "
            "over several task files, or keep them outside the repository and point 'medsreg.instances_from' at them",
        )
        return None
    if data.startswith(b"\xef\xbb\xbf"):  # Windows editors write one; JSON forbids it
        findings.add("readable", "note", where, "", "starts with a UTF-8 byte-order mark, which was ignored")
    try:
        return decode_text(data, where)
    except NotUtf8Error as error:
        findings.add("readable", "error", where, "", str(error))
        return None


# --------------------------------------------------------------------------- stage 2: JSON and schema


@check("json", scope="file")
def parse_json(text: str, where: str, findings: Findings) -> Any:
    """The file parses as JSON (reported with line and column); a key repeated in one object is an error."""
    try:
        return load_json(text)
    except JsonError as error:
        findings.add("json", "error", where, "", str(error))
        return _INVALID


class JsonError(ValueError):
    """Why a text is not JSON medsreg reads: ``str()`` is the rest of a sentence that starts with the file's name
    ("is not valid JSON: ... at line 3 column 5; fix ...")."""


class _RepeatedKey(Exception):
    def __init__(self, key: str, index: int | None = None):
        self.key, self.index = key, index


class _Constant(Exception):
    pass


def load_json(text: str) -> Any:
    """``text`` parsed as JSON, or ``JsonError`` with the line and column.

    Stricter than ``json.loads`` where the laxness would silently change data: a key repeated in one object
    (``json`` keeps the last value), ``NaN`` / ``Infinity`` (not JSON) and escapes of half a surrogate pair
    (no character: printing or writing it fails later) are errors.
    """
    try:
        document = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _RepeatedKey as repeated:
        index = _repeated_key_index(text)
        where = f" (line {text.count(chr(10), 0, index) + 1})" if index is not None else ""
        raise JsonError(f"repeats the key {quoted(repeated.key)} in one object{where}; JSON readers keep only the "
                        "last value, so remove or rename one of them") from None
    except _Constant as constant:
        raise JsonError(f"is not valid JSON: {constant} is no JSON value; write a number or null") from None
    except json.JSONDecodeError as error:
        raise JsonError(f"is not valid JSON: {error.msg[:1].lower()}{error.msg[1:]} at line {error.lineno} column "
                        f"{error.colno}; fix the syntax at that position") from None
    except RecursionError:
        raise JsonError("nests lists and objects too deeply to be read (hundreds of levels); flatten it") from None
    except ValueError:  # an integer literal of more than sys.get_int_max_str_digits() digits
        raise JsonError("holds a number with thousands of digits; write such a value as a string") from None
    if _SURROGATE_ESCAPE.search(text):
        _check_surrogates(text, document)
    return document


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""An escape of half a surrogate pair: one regular-expression pass finds it in 1 ms per MB (``in`` takes twice that)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        counts = Counter(key for key, _ in pairs)
        raise _RepeatedKey(next(key for key, count in counts.items() if count > 1))
    return result


def _no_constant(name: str) -> Any:
    raise _Constant(name)


def _repeated_key_index(text: str) -> int | None:
    """Where the value of the first repeated key starts, found with json's pure-Python scanner (slow; it runs only
    once a repeat is known, to say its line)."""
    decoder = json.JSONDecoder(parse_constant=float)

    def parse_object(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):
        starts: list[int] = []

        def scan_value(string: str, index: int) -> Any:
            starts.append(index)
            return scan_once(string, index)

        pairs, end = json.decoder.JSONObject(s_and_end, strict, scan_value, None, list, memo)
        seen: set[str] = set()
        for (key, _), start in zip(pairs, starts):
            if key in seen:
                raise _RepeatedKey(key, start)
            seen.add(key)
        return dict(pairs), end

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    try:
        decoder.decode(text)
    except _RepeatedKey as repeated:
        return repeated.index
    except (ValueError, RecursionError):
        return None
    return None


def _check_surrogates(text: str, document: Any) -> None:
    """Raise ``JsonError`` for a string holding half of a surrogate pair (``"\\ud800"`` escaped alone)."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as error:
                escape = f"\\u{ord(value[error.start]):04x}"
                index = text.lower().find(escape)
                where = f" at line {text.count(chr(10), 0, index) + 1}" if index >= 0 else ""
                raise JsonError(f"holds the escape {escape}{where}, half of a surrogate pair, which is no character; "
                                "write the character itself, or both halves of the pair") from None
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


@check("schema", scope="file")
def parse_task_file(document: Any, where: str, findings: Findings, prefix: str = "$") -> TaskFile | None:
    """The file conforms to schemas/task-file.schema.json (a catalog: task-collection.schema.json); errors are located by JSON path."""
    instances = document.get("Instances") if isinstance(document, dict) else None
    plain = instances is not None and plain_instances(instances)
    try:
        task_file = TaskFile.model_validate({**document, "Instances": None} if plain else document)
    except ValidationError as error:
        for path, message, _ in _located_errors(error):
            findings.add("schema", "error", where, prefix + path[1:], message)
        return None
    if plain:
        task_file.instances = instances
    for key in task_file.model_extra or {}:
        findings.add(
            "schema", "warning", where, prefix + json_path((key,))[1:],
            f"unknown field {quoted(key)} is ignored.{did_you_mean(key, _KNOWN_KEYS)}",
        )
    return task_file


_ABSENT = object()
_INSTANCE_SPLITS = frozenset(InstanceSplit.__args__)


def plain_instances(instances: Any) -> bool:
    """Whether every instance of a parsed file is one ``RawInstance`` accepts as it is: a dict with a string
    ``input``, an ``output`` that is a string or a list of strings, an ``id`` (if any) that is a string or an integer
    and a ``split`` (if any) of train / test, whatever else it holds.

    The check pydantic would make, on JSON's own types, in a few passes of C over all instances at once (pydantic
    validates them one by one, copying each: a fifth of the time of reading a large task file). False sends the
    instances through pydantic, which says where and why when one is wrong; tests hold the two to the same answers.
    """
    if instances.__class__ is not list:
        return False
    try:
        if not set(map(type, instances)) <= {dict}:
            return False
        outputs = list(map(itemgetter("output"), instances))
        if not set(map(type, map(itemgetter("input"), instances))) <= {str}:
            return False
    except KeyError:
        return False
    kinds = set(map(type, outputs))
    if not kinds <= {str, list}:
        return False
    lists = outputs if str not in kinds else [output for output in outputs if output.__class__ is list]
    if not set(map(type, chain.from_iterable(lists))) <= {str}:
        return False
    if not set(map(type, map(dict.get, instances, repeat("id"), repeat(_ABSENT)))) <= {str, int, object}:
        return False  # bool is no id (a subclass of int, but another type)
    try:
        return set(map(dict.get, instances, repeat("split"), repeat(_ABSENT))) <= {*_INSTANCE_SPLITS, _ABSENT}
    except TypeError:  # a list or an object as split: unhashable
        return False


def parse_collection(document: Any, where: str, findings: Findings) -> TaskCollection | None:
    try:
        return TaskCollection.model_validate(document)
    except ValidationError as error:
        for path, message, _ in _located_errors(error):
            findings.add("schema", "error", where, path, message)
        return None


def _located_errors(error: ValidationError) -> list[tuple[str, str, str]]:
    """(JSON path, message, error type) per problem, union alternatives folded into one message."""
    items = [(tuple(e["loc"]), e) for e in error.errors(include_url=False)]
    return [(json_path(loc), message, kind) for loc, message, kind in _fold(items)]


def _fold(items: list[tuple[tuple, dict[str, Any]]]) -> list[tuple[tuple, str, str]]:
    out: list[tuple[tuple, str, str]] = []
    unions: dict[tuple, list[tuple[str, tuple, dict[str, Any]]]] = {}
    for loc, error in items:
        tag_at = next((i for i, part in enumerate(loc) if isinstance(part, str) and _UNION_TAG.match(part)), None)
        if tag_at is None:
            out.append((loc, _message(error), error["type"]))
        else:
            unions.setdefault(loc[:tag_at], []).append((loc[tag_at], loc[tag_at + 1 :], error))
    for prefix, members in unions.items():
        deeper = [(rest, error) for _, rest, error in members if rest]
        if deeper:
            # the value had the right shape for one alternative: its inner errors are the useful ones
            out.extend((prefix + loc, message, kind) for loc, message, kind in _fold(deeper))
        else:
            expected = " or ".join(dict.fromkeys(_TAG_WORDS.get(tag, tag) for tag, _, _ in members))
            got = type(members[0][2]["input"]).__name__
            out.append((prefix, f"expected {expected}, got {_json_type(got)}", members[0][2]["type"]))
    return out


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "missing":
        return "required field is missing"
    if error["type"] == "model_type" and not error["loc"]:
        return "expected a JSON object holding one task"
    if error["type"] == "extra_forbidden":
        return "unknown field; remove it or check its spelling"
    expected = _EXPECTED.get(error["type"])
    if expected:
        # strict: "yes" is no flag and "3" no number; say what JSON to write instead of pydantic's wording
        return f"expected {expected}, got {_json_type(type(error['input']).__name__)}"
    return error["msg"]


_EXPECTED = {"bool_type": "true or false", "int_type": "an integer", "float_type": "a number",
             "string_type": "a string", "list_type": "a list", "dict_type": "an object"}


def _json_type(python_type: str) -> str:
    return {"str": "a string", "int": "a number", "float": "a number", "list": "a list", "dict": "an object",
            "NoneType": "null", "bool": "true/false"}.get(python_type, python_type)


def json_path(loc: tuple) -> str:
    """``$.a[0]['b c']``: where a value is in a document, untrusted keys shortened."""
    path = "$"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            path += f".{part}"
        else:
            path += f"[{quoted(str(part))}]"
    return path


# --------------------------------------------------------------------------- stage 3: normalization


@check("normalized", scope="file")
def normalize(document: TaskFile, path: Path, plugin: str, where: str, findings: Findings, prefix: str = "$") -> Task | None:
    """Released-variant drift is normalized and every conversion is reported as a note."""
    notes: list[str] = []
    block = document.medsreg or RegistryBlock()
    lists: dict[str, list[str]] = {}
    as_strings = []
    for attribute, key in _LIST_FIELDS.items():
        value = getattr(document, attribute)
        if isinstance(value, str):
            as_strings.append(key)
            value = [value] if value.strip() else []
        lists[attribute] = value or []
    if as_strings:
        notes.append(f"{', '.join(as_strings)} given as a string, read as a one-item list")

    name, legacy_id = block.name, block.legacy_id
    if prefix == "$":
        stem, stem_origin = path.stem, "the file name"
    elif block.released_name:
        stem, stem_origin = Path(block.released_name).stem, "'released_name'"
    else:
        stem, stem_origin = None, ""
    stem_match = TASK_STEM.match(stem) if stem else None
    if name is None and stem is None:
        findings.add("schema", "error", where, f"{prefix}.medsreg.name",
                     "a catalog card needs 'medsreg.name' (or 'medsreg.released_name' to derive it from)")
        return None
    if name is None:
        name = task_slug(stem_match.group(2) if stem_match else stem)
        if prefix == "$":
            notes.append(f"task name {name!r} taken from {stem_origin}")
    if legacy_id is None and stem_match:
        legacy_id = int(stem_match.group(1))
        if prefix == "$":
            notes.append(f"legacy id {legacy_id} taken from {stem_origin}")

    categories = []
    for value in lists["categories"]:
        category, respelled = canonical_category(value)
        if respelled:
            notes.append(f"category {value!r} read as {category!r}")
        categories.append(category or value)

    languages = {}
    mapped: dict[str, str] = {}
    for attribute in ("input_language", "output_language", "instruction_language"):
        codes = []
        for value in lists[attribute]:
            code = language_code(value)
            if code is not None and code != value:
                mapped[value] = code
            codes.append(code or value)
        languages[attribute] = list(dict.fromkeys(codes))
    if mapped:
        notes.append("languages read as ISO 639 codes: " + ", ".join(f"{name!r} -> {code!r}" for name, code in mapped.items()))

    native = document.medsreg is not None
    _check_metadata(lists, as_strings, native, where, findings, prefix)
    instances = None
    if document.instances is not None:
        instances, instance_notes = _normalize_instances(document.instances, native, where, findings, prefix)
        notes.extend(instance_notes)

    if legacy_id is None:
        for key in ("instances_from", "instructions_from"):
            if "{legacy_id}" in str(getattr(block, key)):
                findings.add("schema", "error", where, f"{prefix}.medsreg.{key}",
                             "uses {legacy_id} but the task has no legacy id; set 'medsreg.legacy_id' or write the path out")
                return None
    split = {"Train": "train", "Test": "test", "Train/Test": "train/test", None: None}[document.split_type]
    try:
        task = Task(
            name=f"{plugin}/{name}",
            legacy_id=legacy_id,
            version=block.version,
            license=block.license,
            access=block.access,
            split=split,
            contributors=lists["contributors"],
            source=lists["source"],
            url=lists["url"],
            source_revision=block.source_revision,
            categories=categories,
            reasoning=lists["reasoning"],
            definition=lists["definition"],
            input_languages=languages["input_language"],
            output_languages=languages["output_language"],
            instruction_languages=languages["instruction_language"],
            domains=lists["domains"],
            positive_examples=_examples(document.positive_examples),
            negative_examples=_examples(document.negative_examples),
            synthetic=block.synthetic,
            description=block.description,
            released_name=block.released_name,
            instances_from=_fill_paths(block.instances_from, legacy_id, name),
            instructions_from=_fill_paths(block.instructions_from, legacy_id, name),
        )
    except ValidationError as error:
        for loc, message, _ in _fold([(tuple(e["loc"]), e) for e in error.errors(include_url=False)]):
            field_name = loc[0] if loc else ""
            findings.add("schema", "error", where, prefix, f"{field_name}: {message}" if field_name else message)
        return None
    # instances were validated by pydantic-core with the file; re-validating 1M dicts costs seconds
    task.instances = instances
    for note in notes:
        findings.add("normalized", "note", where, "" if prefix == "$" else prefix, note)
    return task


def _fill_paths(sources: Any, legacy_id: int | None, name: str) -> Any:
    """Local source paths with ``{legacy_id}`` and ``{name}`` replaced (catalog defaults share one pattern)."""
    if sources is None:
        return None
    if isinstance(sources, list):
        return [_fill_paths(source, legacy_id, name) for source in sources]
    if isinstance(sources, LocalSource) and "{" in sources.path:
        return sources.model_copy(update={"path": sources.path.replace("{legacy_id}", str(legacy_id)).replace("{name}", name)})
    return sources


WEB_ADDRESS = re.compile(r"^https?://[^\s/]", re.IGNORECASE)
INSTANCE_KEYS = frozenset({"id", "input", "output", "split"})


def _check_metadata(lists: dict[str, list[str]], as_strings: list[str], native: bool, where: str, findings: Findings,
                    prefix: str) -> None:
    """Rules CONTRIBUTING.md states beyond types: Domains are named, the URL is given and every URL is a web address.
    An error in a medsreg task file; a note in a raw MedS-Ins file, which may be a user's copy of a release they
    cannot edit."""
    severity = "error" if native else "note"
    if not any(domain.strip() for domain in lists["domains"]):
        findings.add("schema", severity, where, f"{prefix}.Domains",
                     "is empty; name the fields of medicine the task covers, e.g. [\"Medicine\", \"Radiology\"]")
    if not lists["url"]:
        findings.add("schema", severity, where, f"{prefix}.URL", "is empty; give the source's http:// or https:// address")
    for index, url in enumerate(lists["url"]):
        if not WEB_ADDRESS.match(url):
            path = f"{prefix}.URL" if "URL" in as_strings else f"{prefix}.URL[{index}]"
            findings.add("schema", severity, where, path,
                         f"{quoted(url)} is not a web address; give the source's http:// or https:// address")


def _already_normal(raw: list[dict[str, Any]]) -> bool:
    """Whether every (validated) instance is {id, input, output} with a non-blank string id and a list as output."""
    if not set(map(len, raw)) <= {3} or not set(map(type, map(itemgetter("output"), raw))) <= {list}:
        return False
    ids = list(map(dict.get, raw, repeat("id")))
    return set(map(type, ids)) <= {str} and all(map(str.strip, ids))


def _normalize_instances(raw: list[dict[str, Any]], native: bool, where: str, findings: Findings,
                         prefix: str) -> tuple[list[Instance], list[str]]:
    if _already_normal(raw):
        return raw, []  # type: ignore[return-value]  # nothing to convert
    out: list[Instance] = []
    append = out.append
    string_outputs = missing_ids = blank_ids = numeric_ids = 0
    unread: dict[str, int] = {}
    for index, item in enumerate(raw):
        if len(item) > 2 + ("id" in item) + ("split" in item):
            for key in item.keys() - INSTANCE_KEYS:
                unread.setdefault(key, index)
        output = item["output"]
        if output.__class__ is str:
            output = [output]
            string_outputs += 1
        identifier = item.get("id")
        if identifier.__class__ is str and not identifier.strip():
            if native:
                findings.add("schema", "error", where, f"{prefix}.Instances[{index}].id",
                             "is blank; give every instance a unique id, e.g. its position or the source's record id")
            identifier = str(index)
            blank_ids += 1
        elif identifier is None:
            identifier = str(index)
            missing_ids += 1
        elif identifier.__class__ is not str:
            identifier = str(identifier)
            numeric_ids += 1
        instance: Instance = {"id": identifier, "input": item["input"], "output": output}
        if "split" in item:
            instance["split"] = item["split"]
        append(instance)
    if unread:
        # a misspelt key ("spilt") would otherwise vanish without a word
        first = min(unread.values())
        keys = ", ".join(quoted(key) for key in sorted(unread)[:5])
        findings.add("schema", "warning" if native else "note", where, f"{prefix}.Instances[{first}]",
                     f"instances hold keys medsreg does not read ({keys}), which are ignored; remove them or check "
                     "their spelling: an instance has id, input, output and, in a Train/Test task, split")
    notes = []
    if string_outputs:
        notes.append(f"{string_outputs} of {len(raw)} instances have 'output' as a string, read as a one-item list")
    if missing_ids:
        notes.append(f"{missing_ids} of {len(raw)} instances have no 'id'; each gets its position in Instances as id")
    if blank_ids and not native:
        notes.append(f"{blank_ids} of {len(raw)} instances have a blank 'id'; each gets its position in Instances as id")
    if numeric_ids:
        notes.append(f"{numeric_ids} of {len(raw)} instances have a numeric 'id', read as a string")
    return out, notes


def _examples(value: list[Example] | str | None) -> list[Example]:
    return value if isinstance(value, list) else []


def task_slug(text: str) -> str:
    """A task name made from free text (a file name, a source): lower-case letters, digits, '_', '.', '-'."""
    slug = re.sub(r"[^a-z0-9_.-]+", "_", text.lower()).strip("_.-")
    return slug or "task"
