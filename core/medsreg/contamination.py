"""Clean and dirty test instances: which instances of an evaluation overlap the data the evaluated model was trained on.

This module owns three things:

* where a model's training data is (:func:`resolve_training`): the build ``medsreg train`` recorded in the model's
  ``medsreg-train.json`` (``trained_on``, written by :func:`trained_on_record`), checked against the build's
  ``manifest.json`` as it is now (a build rebuilt since is refused), or a build folder, its manifest.json or a mixture
  folder inside it given directly;
* which test instances leak into those training rows (:func:`dirty_instances`): the test side indexed, the training
  rows streamed, with ``medsreg.overlap.OverlapIndex``, the one implementation behind ``validate``'s leakage check and
  ``build``'s decontamination, with their rules and parameters;
* the record of it (:class:`Contamination`), the file ``contamination.json`` that ``medsreg eval`` writes into its
  output folder and ``medsreg score`` reads (``"format": "medsreg-contamination/1"``).

The two sides are those the leakage check and decontamination compare, with the training side widened to all a model
reads: a test instance's text is its ``input`` (what both index: never its references, which would make a copied
answer option or a common label evidence), and a training row's text is every message of the row (system, user,
assistant; ``prompt`` and ``completion`` for a dataset of those columns) joined by newlines, i.e. the instruction, the
k-shot examples, the query and the answer: a test input copied into any of them was in front of the model. Rows of
tasks the training left out (its ``tasks`` setting) are not read. The streamed rows form one group per chunk of
``overlap.CHUNK`` rows: a window held by ceil(sqrt(rows of the chunk)) distinct rows or more (142 of 20,000; at least 5)
is a training template and no evidence. Grouping by task, as decontamination does over a task's distinct instances,
would take an instance repeated by upsampling, or drawn as a k-shot example in many rows, for its task's template and
miss it; one group per chunk misses it only when it fills that share of a chunk (in a mixture of a few dozen rows,
an instance in five of them).

Model folders come from strangers: nothing in them is executed, a JSON file is read only when it is a regular file of
at most :data:`MAX_JSON_BYTES`, and the datasets read are the mixtures a build's manifest lists, inside that build.
Every failure is a ``MedsregError``: one sentence naming the path and the fix.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError

FORMAT = "medsreg-contamination/1"
FILE = "contamination.json"
"""The file ``medsreg eval`` writes into its output folder."""
RECORD = "medsreg-train.json"
"""The record ``medsreg train`` writes into its output folder and every checkpoint (``medsreg.train.run.RECORD``)."""
MANIFEST = "manifest.json"
"""The manifest of a build, in the build folder (``medsreg.build.writer.BUILD_MARKER``)."""
BUILD_FORMAT = "medsreg-build/"
"""The prefix of a build manifest's ``format`` (a corpus folder has a manifest.json of its own, without it)."""
TRAINED_ON_FLAG = "--trained-on"
"""The option that names the training data when the model folder does not (medsreg eval / score)."""
MAX_JSON_BYTES = 10 * 1024 * 1024
"""A JSON file read here (a record, a manifest, a dataset's state.json, contamination.json) is at most this big."""
LEVELS_UP = 3
"""How far above a dataset folder its build's manifest.json can be: build/mixtures/<name>/train."""
_PATH_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TEXT_COLUMNS = ("messages", "prompt", "completion", "text")


# --------------------------------------------------------------------------- reading files from strangers


def _read_capped(path: Path, what: str, fix: str) -> bytes:
    """The bytes of the regular file ``path`` (at most MAX_JSON_BYTES); MedsregError naming it otherwise."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise MedsregError(f"{what} {path} does not exist; {fix}") from None
    except OSError as error:
        raise MedsregError(f"{what} {path} cannot be read ({error.strerror or error}); {fix}") from None
    if not stat.S_ISREG(info.st_mode):  # a FIFO or a device would block or never end
        raise MedsregError(f"{what} {path} is not a regular file; {fix}")
    if info.st_size > MAX_JSON_BYTES:
        raise MedsregError(f"{what} {path} is {info.st_size:,} bytes, more than the {MAX_JSON_BYTES:,} such a file "
                           f"ever needs, so it is not read; {fix}")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_JSON_BYTES + 1)
    except OSError as error:
        raise MedsregError(f"{what} {path} cannot be read ({error.strerror or error}); {fix}") from None
    if len(data) > MAX_JSON_BYTES:  # it grew since the stat
        raise MedsregError(f"{what} {path} is more than {MAX_JSON_BYTES:,} bytes, so it is not read; {fix}")
    return data


def _parse_object(data: bytes, path: Path, what: str, fix: str) -> dict[str, Any]:
    """``data`` as a JSON object, read as strictly as task files are (``formats.medsins.load_json``), or MedsregError
    naming ``path``."""
    from medsreg.formats.medsins import JsonError, load_json

    try:
        document = load_json(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise MedsregError(f"{what} {path} is not valid JSON ({error}); {fix}") from None
    except JsonError as error:
        raise MedsregError(f"{what} {path} {error}; {fix}") from None
    if not isinstance(document, dict):
        raise MedsregError(f"{what} {path} holds a JSON {type(document).__name__}, not an object; {fix}")
    return document


def read_json_object(path: Path, what: str, fix: str) -> dict[str, Any]:
    """The JSON object in the regular file ``path`` of at most MAX_JSON_BYTES; any problem is a MedsregError saying
    ``what`` the file is, where, and ``fix``."""
    path = Path(path)
    return _parse_object(_read_capped(path, what, fix), path, what, fix)


# --------------------------------------------------------------------------- builds and their manifests


@dataclass(frozen=True)
class _Build:
    """A build folder, its manifest as read, and the sha256 of manifest.json's bytes."""

    folder: Path
    manifest: dict[str, Any]
    sha256: str

    def mixtures(self) -> dict[str, dict[str, Any]]:
        """The manifest's mixtures whose key is a plain relative folder ('mixture', 'mixtures/<name>'), by key."""
        found = self.manifest.get("mixtures")
        if not isinstance(found, dict):
            return {}
        return {key: value if isinstance(value, dict) else {} for key, value in found.items()
                if isinstance(key, str) and all(_PATH_PART.match(part) for part in key.split("/"))}

    def name_of(self, key: str) -> str | None:
        name = self.mixtures().get(key, {}).get("name")
        return name if isinstance(name, str) else None


def _load_build(folder: Path, fix: str) -> _Build:
    """The build in ``folder`` (holding manifest.json of a medsreg build); MedsregError otherwise."""
    path = folder / MANIFEST
    what = "the build manifest"
    data = _read_capped(path, what, fix)
    manifest = _parse_object(data, path, what, fix)
    form = manifest.get("format")
    if not isinstance(form, str) or not form.startswith(BUILD_FORMAT):
        raise MedsregError(f"{path} is not the manifest of a 'medsreg build' (its format is {form!r}, not "
                           f"{BUILD_FORMAT}N); {fix}")
    return _Build(folder, manifest, hashlib.sha256(data).hexdigest())


def _find_build(dataset: Path) -> tuple[_Build, str] | str:
    """(the build holding the dataset folder ``dataset`` (resolved), the manifest's key of its mixture), or why not.

    The manifest.json is looked for in the folder's parents (a mixture is build/mixture or build/mixtures/<name>; its
    split folder, build/mixture/train, is one level further); a manifest.json that is not a build's is passed over."""
    for above in list(dataset.parents)[:LEVELS_UP]:
        if not (above / MANIFEST).is_file():
            continue
        try:
            build = _load_build(above, "")
        except MedsregError:
            continue  # a corpus's manifest.json, or a broken one: not this dataset's build
        relative = dataset.relative_to(above).as_posix()
        mixtures = build.mixtures()
        if relative in mixtures:
            return build, relative
        key, _, split = relative.rpartition("/")
        if key in mixtures and _PATH_PART.match(split):
            return build, key
        listed = ", ".join(sorted(mixtures)) or "none"
        return (f"{dataset} is inside the build {above} but is none of the mixtures its {MANIFEST} lists ({listed})")
    return f"{dataset} is not inside a 'medsreg build' output (no build {MANIFEST} in the {LEVELS_UP} folders above it)"


def trained_on_record(data: str | Path) -> tuple[dict[str, Any] | None, str | None]:
    """What ``medsreg train`` records of the dataset folder ``data`` it trains on: (``trained_on``, None), or (None, why)
    when the folder is not a mixture of a build (a corpus, a dataset saved by hand: no error).

    ``trained_on``: ``manifest_sha256`` (of the build's manifest.json bytes), ``build`` (the build folder), ``dataset``
    (the folder trained on), both absolute, ``path`` (the mixture's key in the manifest) and ``mixture`` (its name, or
    None when the manifest does not say)."""
    dataset = Path(data).expanduser().resolve()
    found = _find_build(dataset)
    if isinstance(found, str):
        return None, found
    build, key = found
    return {"manifest_sha256": build.sha256, "build": str(build.folder), "dataset": str(dataset), "path": key,
            "mixture": build.name_of(key)}, None


# --------------------------------------------------------------------------- what a model was trained on


@dataclass(frozen=True)
class TrainingData:
    """The training rows of a model: mixture folders of one build."""

    build: Path
    """The build folder (holding manifest.json)."""
    manifest_sha256: str
    """sha256 of the build's manifest.json bytes."""
    datasets: tuple[Path, ...]
    """The mixture dataset folders whose rows were trained on."""
    description: str
    """One line saying what this is, for a report."""
    tasks: tuple[str, ...] | None = None
    """The training's ``tasks`` setting (fnmatch patterns): rows of other tasks were not trained on. None: all."""

    def to_json(self) -> dict[str, Any]:
        """The ``trained_on`` object of contamination.json."""
        return {"manifest_sha256": self.manifest_sha256, "build": str(self.build),
                "datasets": [str(path) for path in self.datasets], "description": self.description,
                "tasks": None if self.tasks is None else list(self.tasks)}

    def trains_on(self, task: str | None) -> bool:
        """Whether rows of ``task`` were trained on (the ``tasks`` setting)."""
        return self.tasks is None or any(fnmatch.fnmatchcase(task or "", pattern) for pattern in self.tasks)


_GIVE = (f"give {TRAINED_ON_FLAG} a model folder written by 'medsreg train', a 'medsreg build' output folder (or its "
         f"{MANIFEST}), or a mixture folder inside one")


def resolve_training(path: str | Path) -> TrainingData:
    """The training data ``path`` names: a model folder (or checkpoint, or LoRA adapter folder) holding the
    medsreg-train.json of 'medsreg train' (or that file itself): the mixture it recorded, checked against the build's
    manifest.json as it is now; a build folder or its manifest.json: every mixture the manifest lists; a mixture folder
    inside a build: that one. MedsregError (one sentence naming the path and the fix) for anything else."""
    given = Path(path).expanduser()
    try:
        resolved = given.resolve()
    except (OSError, RuntimeError) as error:
        raise MedsregError(f"{given} cannot be resolved ({error}); {_GIVE}") from None
    if not resolved.exists():
        raise MedsregError(f"{given} does not exist; {_GIVE}")
    if resolved.is_file():
        if resolved.name == RECORD:
            return _from_record(resolved)
        if resolved.name == MANIFEST:
            return _from_build(resolved.parent)
        raise MedsregError(f"{given} is a file but neither a {RECORD} nor a build's {MANIFEST}; {_GIVE}")
    if not resolved.is_dir():
        raise MedsregError(f"{given} is neither a file nor a folder; {_GIVE}")
    if (resolved / RECORD).exists():
        return _from_record(resolved / RECORD)
    if (resolved / MANIFEST).exists():
        return _from_build(resolved)
    found = _find_build(resolved)
    if not isinstance(found, str):
        build, key = found
        return _one_mixture(build, key, resolved, f"the mixture {_named(build, key)} of the build {build.folder}")
    if any((resolved / name).is_file() for name in ("config.json", "adapter_config.json")):
        raise MedsregError(f"the model folder {given} holds no {RECORD}, so it was not trained by 'medsreg train' and "
                           f"what it was trained on is unknown here; give {TRAINED_ON_FLAG} the build (or mixture "
                           "folder) it was trained on")
    raise MedsregError(f"{found}, and it is neither a model folder trained by 'medsreg train' nor a build; {_GIVE}")


def _named(build: _Build, key: str) -> str:
    name = build.name_of(key)
    return f"{name} ({key})" if name else key


def _short(sha256: str) -> str:
    return sha256[:12]


def _from_build(folder: Path) -> TrainingData:
    fix = f"give {TRAINED_ON_FLAG} the output folder of 'medsreg build'"
    build = _load_build(folder, fix)
    mixtures = build.mixtures()
    if not mixtures:
        raise MedsregError(f"the build {folder} has no training mixture (its {MANIFEST} lists none: a build of suites "
                           f"only); give {TRAINED_ON_FLAG} the build holding the mixture the model was trained on")
    datasets = tuple(_mixture_folder(build, key) for key in mixtures)
    names = ", ".join(_named(build, key) for key in mixtures)
    what = f"the mixture {names}" if len(mixtures) == 1 else f"the {len(mixtures)} mixtures {names}"
    return TrainingData(build.folder, build.sha256, datasets,
                        f"{what} of the build {build.folder} (manifest sha256 {_short(build.sha256)})")


def _mixture_folder(build: _Build, key: str) -> Path:
    folder = build.folder.joinpath(*key.split("/"))
    if not folder.is_dir():
        raise MedsregError(f"the mixture folder {folder} that {build.folder / MANIFEST} lists is missing; build it "
                           f"again, or give {TRAINED_ON_FLAG} a complete build")
    return folder


def _one_mixture(build: _Build, key: str, dataset: Path, what: str, tasks: tuple[str, ...] | None = None) -> TrainingData:
    _mixture_folder(build, key)
    return TrainingData(build.folder, build.sha256, (dataset,), f"{what} (manifest sha256 {_short(build.sha256)})",
                        tasks)


_RECORD_FIX = f"give {TRAINED_ON_FLAG} the build (or mixture folder) the model was trained on"


def recorded_training(model: Path) -> tuple[TrainingData | None, str]:
    """What the medsreg-train.json of the folder ``model`` says it was trained on: (its training data, "") or, for a
    model trained on data outside a build (``trained_on`` null), (None, why); MedsregError for a broken record."""
    path = Path(model) / RECORD
    record = read_json_object(path, "the training record", _RECORD_FIX)
    if "trained_on" in record and record["trained_on"] is None:
        why = record.get("trained_on_reason")
        return None, why if isinstance(why, str) and why else "it records no build"
    return _from_record(path, record), ""


def _from_record(path: Path, record: dict[str, Any] | None = None) -> TrainingData:
    model = path.parent
    fix = _RECORD_FIX
    if record is None:
        record = read_json_object(path, "the training record", fix)
    if "trained_on" not in record:
        raise MedsregError(f"{path} does not record the data the model was trained on (written by a medsreg before "
                           f"'trained_on'); {fix}")
    trained_on = record["trained_on"]
    if trained_on is None:
        why = record.get("trained_on_reason")
        why = f" ({why})" if isinstance(why, str) and why else ""
        raise MedsregError(f"{path} records no build: the model was not trained on a mixture of 'medsreg build'{why}; "
                           f"{fix}")
    fields = ("manifest_sha256", "build", "dataset")
    if not isinstance(trained_on, dict) or not all(isinstance(trained_on.get(key), str) for key in fields) \
            or not _SHA256.match(trained_on["manifest_sha256"]):
        raise MedsregError(f"{path}: 'trained_on' is not what 'medsreg train' writes (an object with the strings "
                           f"{', '.join(fields)}); {fix}")
    tasks = (record.get("config") or {}).get("tasks") if isinstance(record.get("config"), dict) else None
    if tasks is not None and (not isinstance(tasks, list) or not all(isinstance(task, str) for task in tasks)):
        raise MedsregError(f"{path}: 'config.tasks' is not a list of task patterns; {fix}")
    build_folder = Path(trained_on["build"])
    if not build_folder.is_absolute() or not (build_folder / MANIFEST).is_file():
        raise MedsregError(f"the build {build_folder} that {path} says the model was trained on is not here (no "
                           f"{MANIFEST}); {fix}, wherever it is now")
    build = _load_build(build_folder.resolve(), fix)
    recorded = trained_on["manifest_sha256"]
    if build.sha256 != recorded:
        raise MedsregError(f"the build {build.folder} was rebuilt since the model {model} was trained on it (the sha256 "
                           f"of its {MANIFEST} is now {_short(build.sha256)}, {path} recorded {_short(recorded)}), so "
                           f"its rows are not the ones trained on; give {TRAINED_ON_FLAG} the build actually used")
    dataset = Path(trained_on["dataset"]).resolve()
    found = _find_build(dataset)
    if isinstance(found, str) or found[0].folder != build.folder:
        raise MedsregError(f"{path} says the model was trained on {dataset}, which is not a mixture of the build "
                           f"{build.folder}; {fix}")
    key = found[1]
    only = f", tasks {', '.join(tasks)} only" if tasks else ""
    return _one_mixture(build, key, dataset, f"the mixture {_named(build, key)} of the build {build.folder} that "
                        f"{model} was trained on{only}", tuple(tasks) if tasks else None)


# --------------------------------------------------------------------------- reading the training rows


def _split_folder(dataset: Path) -> Path:
    """The folder of the Arrow files of a dataset saved with save_to_disk: ``dataset`` (a Dataset) or its ``train``
    split (a DatasetDict, as 'medsreg build' writes a mixture)."""
    fix = "give the mixture folder of 'medsreg build' (build/mixture or build/mixtures/<name>)"
    if (dataset / "state.json").is_file():
        return dataset
    if (dataset / "dataset_dict.json").is_file():
        splits = read_json_object(dataset / "dataset_dict.json", "the dataset dictionary", fix).get("splits")
        if not isinstance(splits, list) or "train" not in splits or not (dataset / "train" / "state.json").is_file():
            raise MedsregError(f"the dataset in {dataset} has no 'train' split; {fix}")
        return dataset / "train"
    raise MedsregError(f"{dataset} is not a saved Hugging Face dataset (no state.json nor dataset_dict.json); {fix}")


def _arrow_files(dataset: Path) -> list[Path]:
    """The Arrow files of the dataset folder ``dataset``, in order, as its state.json lists them."""
    folder = _split_folder(dataset)
    fix = "build the mixture again with 'medsreg build'"
    state = read_json_object(folder / "state.json", "the dataset state", fix)
    entries = state.get("_data_files")
    names = [entry.get("filename") for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []
    if not names or not all(isinstance(name, str) and _PATH_PART.match(name) and name.endswith(".arrow") for name in names):
        raise MedsregError(f"{folder / 'state.json'} does not list the dataset's Arrow files as save_to_disk writes "
                           f"them; {fix}")
    files = [folder / name for name in names]
    for file in files:
        if not file.is_file():
            raise MedsregError(f"the Arrow file {file} that {folder / 'state.json'} lists is missing; {fix}")
    return files


def _batches(file: Path) -> Iterator[Any]:
    """The record batches of one Arrow file (the stream format datasets writes; the file format too), memory-mapped."""
    import pyarrow as pa

    try:
        with pa.memory_map(str(file)) as source:
            try:
                reader = pa.ipc.open_stream(source)
            except pa.ArrowInvalid:
                source.seek(0)
                reader = pa.ipc.open_file(source)
                for index in range(reader.num_record_batches):
                    yield reader.get_batch(index)
                return
            yield from reader
    except (pa.ArrowException, OSError) as error:
        raise MedsregError(f"the Arrow file {file} cannot be read ({error}); build the mixture again with "
                           "'medsreg build'") from None


def _text_kind(schema: Any, dataset: Path) -> str:
    """Which columns hold a row's text: 'messages', 'prompt' (with 'completion'), or 'text'."""
    import pyarrow as pa

    names = set(schema.names)
    if "messages" in names:
        kind = schema.field("messages").type
        if (pa.types.is_list(kind) or pa.types.is_large_list(kind)) and pa.types.is_struct(kind.value_type) \
                and kind.value_type.get_field_index("content") >= 0:
            return "messages"
    if {"prompt", "completion"} <= names:
        return "prompt"
    if "text" in names:
        return "text"
    if "input_ids" in names:
        raise MedsregError(f"the dataset {dataset} holds token ids only (built with --tokenizer --pack), not the rows' "
                           f"text, so what overlaps the test sets cannot be found in it; give {TRAINED_ON_FLAG} a build "
                           "of the same spec and seed without --pack (it renders the same rows)")
    raise MedsregError(f"the dataset {dataset} has none of the text columns {', '.join(_TEXT_COLUMNS)} (it has "
                       f"{', '.join(sorted(names))}); give {TRAINED_ON_FLAG} a mixture of 'medsreg build'")


def _strings(array: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = array.cast(pa.string())
    return pc.fill_null(array, "")


def _texts_of(batch: Any, kind: str) -> list[str]:
    """The text of each row of ``batch``: its messages' contents (prompt and completion; text) joined by newlines."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "messages":
        messages = batch.column("messages")
        contents = _strings(messages.values.field("content"))  # the offsets index the whole child, slice or not
        joined = pc.binary_join(type(messages).from_arrays(messages.offsets, contents), "\n")
    elif kind == "prompt":
        joined = pc.binary_join_element_wise(_strings(batch.column("prompt")), _strings(batch.column("completion")),
                                             "\n")
    else:
        joined = batch.column("text")
    return _strings(joined if isinstance(joined, pa.Array) else pa.array(joined)).to_pylist()


def training_texts(training: TrainingData, progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """The text of every training row (``training.tasks`` applied), dataset after dataset, a record batch at a time:
    only the text columns and ``task`` are read, memory-mapped. ``progress`` gets the rows read, batch after batch."""
    for dataset in training.datasets:
        files = _arrow_files(dataset)
        matches: dict[str | None, bool] = {}
        for file in files:
            kind = None
            for batch in _batches(file):
                if kind is None:
                    kind = _text_kind(batch.schema, dataset)
                texts = _texts_of(batch, kind)
                if training.tasks is not None and "task" in batch.schema.names:
                    tasks = batch.column("task").to_pylist()
                    for task in dict.fromkeys(tasks):
                        if task not in matches:
                            matches[task] = training.trains_on(task)
                    texts = [text for text, task in zip(texts, tasks) if matches[task]]
                if progress is not None:
                    progress(batch.num_rows)
                yield from texts


# --------------------------------------------------------------------------- the overlap


def overlap_method() -> dict[str, Any]:
    """The overlap parameters (medsreg.overlap's) and the two sides compared, as contamination.json records them."""
    from medsreg.overlap import MIN_SHARE, MIN_TOKENS, NGRAM

    return {"ngram": NGRAM, "min_tokens": MIN_TOKENS, "min_share": MIN_SHARE, "test_side": "input",
            "training_side": "messages"}


@dataclass(frozen=True)
class Contamination:
    """Per task, the test instances evaluated and those whose input is in the training rows of the model."""

    trained_on: TrainingData
    dirty: dict[str, frozenset[str]]
    """Task -> the ids of its dirty instances (every tested task, clean ones with an empty set)."""
    tested: dict[str, int]
    """Task -> the test instances checked."""
    method: dict[str, Any] = field(default_factory=overlap_method)
    """The overlap parameters and the sides compared (:func:`overlap_method`)."""

    def is_dirty(self, task: str, instance_id: str) -> bool:
        return instance_id in self.dirty.get(task, frozenset())

    def counts(self) -> dict[str, tuple[int, int]]:
        """Task -> (dirty, tested)."""
        return {task: (len(self.dirty.get(task, ())), tested) for task, tested in self.tested.items()}

    def to_json(self) -> dict[str, Any]:
        """The document of contamination.json (tasks and ids sorted)."""
        return {"format": FORMAT, "trained_on": self.trained_on.to_json(), "method": dict(self.method),
                "dirty": {task: sorted(self.dirty.get(task, ())) for task in sorted(self.tested)},
                "tested": {task: self.tested[task] for task in sorted(self.tested)}}

    @classmethod
    def from_json(cls, document: Any, where: str | Path = FILE) -> Contamination:
        """The document of a contamination.json (``where``: its path, for the messages); MedsregError if malformed."""
        fix = "run 'medsreg eval' again to write it"
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            got = document.get("format") if isinstance(document, dict) else type(document).__name__
            raise MedsregError(f"{where} is not a {FORMAT} document (format {got!r}); {fix}")
        trained_on, tested, dirty = document.get("trained_on"), document.get("tested"), document.get("dirty")
        if not isinstance(trained_on, dict) or not isinstance(trained_on.get("manifest_sha256"), str) \
                or not isinstance(trained_on.get("build"), str) or not isinstance(trained_on.get("description"), str) \
                or not isinstance(trained_on.get("datasets"), list) \
                or not all(isinstance(path, str) for path in trained_on["datasets"]):
            raise MedsregError(f"{where}: 'trained_on' is not an object with manifest_sha256, build, datasets and "
                               f"description; {fix}")
        tasks = trained_on.get("tasks")
        if tasks is not None and (not isinstance(tasks, list) or not all(isinstance(task, str) for task in tasks)):
            raise MedsregError(f"{where}: 'trained_on.tasks' is not a list of task patterns; {fix}")
        if not isinstance(tested, dict) or not all(isinstance(count, int) and not isinstance(count, bool) and count >= 0
                                                   for count in tested.values()):
            raise MedsregError(f"{where}: 'tested' is not an object of task -> instances; {fix}")
        if not isinstance(dirty, dict) or not all(isinstance(ids, list) and all(isinstance(i, str) for i in ids)
                                                  for ids in dirty.values()):
            raise MedsregError(f"{where}: 'dirty' is not an object of task -> instance ids; {fix}")
        for task, ids in dirty.items():
            if task not in tested or len(set(ids)) > tested[task]:
                raise MedsregError(f"{where}: task {task!r} has {len(set(ids))} dirty instances of "
                                   f"{tested.get(task, 0)} tested; {fix}")
        method_ = document.get("method")
        training = TrainingData(Path(trained_on["build"]), trained_on["manifest_sha256"],
                                tuple(Path(path) for path in trained_on["datasets"]), trained_on["description"],
                                None if tasks is None else tuple(tasks))
        return cls(training, {task: frozenset(dirty.get(task, ())) for task in tested}, dict(tested),
                   dict(method_) if isinstance(method_, dict) else {})

    def write(self, folder: str | Path) -> Path:
        """contamination.json in ``folder`` (created if missing); returns its path."""
        from medsreg.files import write_text_atomically

        path = Path(folder) / FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")
        return path

    @classmethod
    def read(cls, path: str | Path) -> Contamination:
        """contamination.json at ``path`` (the file, or the folder holding it)."""
        path = Path(path)
        if path.is_dir():
            path = path / FILE
        fix = "run 'medsreg eval' again to write it"
        return cls.from_json(read_json_object(path, "the contamination record", fix), path)


def dirty_instances(tests: Iterable[tuple[str, str, str]], training: TrainingData | str | Path, *,
                    progress: Callable[[int], None] | None = None) -> Contamination:
    """Which of the evaluated test instances ``tests`` ((task, instance id, text) each; text: the instance's ``input``,
    what the leakage check and decontamination index) leak into the training rows of ``training`` (a TrainingData, or
    a path for :func:`resolve_training`).

    The test texts are indexed once (``OverlapIndex``, grouped by task: each task's templates are learned from its own
    instances); the training rows' texts (:func:`training_texts`) are streamed through it in chunks, so memory stays
    bounded by the test side and one chunk, whatever the mixture's size. An instance is dirty when one training row
    holds most of its informative tokens, or all of it (medsreg.overlap's rules). A (task, id) given twice counts once.
    ``progress`` gets the training rows read, batch after batch.
    """
    from medsreg.overlap import OverlapIndex

    if not isinstance(training, TrainingData):
        training = resolve_training(training)
    keys: list[tuple[str, str]] = []
    texts: list[str] = []
    seen: set[tuple[str, str]] = set()
    for task, instance_id, text in tests:
        key = (str(task), str(instance_id))
        if key not in seen:
            seen.add(key)
            keys.append(key)
            texts.append(text if isinstance(text, str) else "")
    tested: dict[str, int] = {}
    for task, _ in keys:
        tested[task] = tested.get(task, 0) + 1
    dirty: dict[str, set[str]] = {task: set() for task in tested}
    if keys:
        index = OverlapIndex(texts, groups=[task for task, _ in keys])
        found: set[int] = set()
        for match in index.matches(training_texts(training, progress)):
            if match.reference not in found:
                found.add(match.reference)
                task, instance_id = keys[match.reference]
                dirty[task].add(instance_id)
                if len(found) == len(keys):  # every instance is dirty: the rest of the rows can change nothing
                    break
    return Contamination(training, {task: frozenset(ids) for task, ids in dirty.items()}, tested)


__all__ = ["FILE", "FORMAT", "Contamination", "TrainingData", "dirty_instances", "overlap_method", "read_json_object",
           "recorded_training", "resolve_training", "trained_on_record", "training_texts"]
