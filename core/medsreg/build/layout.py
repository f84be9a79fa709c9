"""What ``datasets`` writes around the rows of a split, for one features declaration: the Arrow schema, the header of an
Arrow file (``ArrowWriter``'s schema message), its batch size, and ``dataset_info.json``.

All of it comes from ``datasets`` itself. But ``import datasets`` costs about a second of CPU (pandas, the Hub client),
as much as writing a small build, and a build's features are always the same few declarations: so what datasets made
for a declaration is kept in the cache (``medsreg.sources.cache_dir``), keyed by the declaration, the split and the
hash of the installed datasets' and pyarrow's versions and of the datasets files that decide these bytes, and read
from there next time without importing datasets. A cache that cannot be read or written is only slower.

``dataset_info.json`` depends on the split's sizes: datasets renders it once with marker sizes (``_MARKER_BYTES``,
``_MARKER_SHARDS``), and the cache keeps that rendering as the template the sizes are put into; a rendering with other
sizes must come out of the template exactly as datasets makes it, or nothing is kept and every build asks datasets.

A declaration is the dict ``datasets.Features.from_dict`` takes (the ``features`` of a dataset_info.json, where a list
of one feature is a list); a ``datasets.Features`` is taken as its ``to_dict()``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

END_OF_STREAM = b"\xff\xff\xff\xff\x00\x00\x00\x00"
"""What closes an Arrow IPC stream (a continuation marker and a zero length): the last 8 bytes of every shard."""

_FORMAT = 1
"""Of the cache's files: another number when what they hold changes."""
_DECIDING_FILES = ("features/features.py", "arrow_writer.py", "info.py", "splits.py", "utils/py_utils.py")
"""The datasets files whose code makes what a layout holds (hashed into the cache key with datasets' version)."""

_MARKER_BYTES = 7_340_033_171
_MARKER_SHARDS = (2_719_051_331, 2_451_220_272)
"""Marker sizes (the split's bytes, the rows of its shards): numbers no split has, so that where datasets put each is
found in its rendering."""


def value(dtype: str) -> dict[str, str]:
    """A ``datasets.Value`` in a declaration."""
    return {"dtype": dtype, "_type": "Value"}


@dataclass(frozen=True)
class Layout:
    """What datasets writes around the rows of one split with one declaration of features."""

    split: str
    features: dict
    """``Features.to_dict()``: what dataset_info.json and the fingerprint hold."""
    schema: pa.Schema
    """``Features.arrow_schema``: of the tables handed to the writer."""
    header: bytes
    """The schema message ``ArrowWriter`` starts a file with (the features in its metadata)."""
    batch_rows: int
    """``ArrowWriter``'s batch size."""
    info: dict | None
    """dataset_info.json's values with the marker sizes: {"one": for one shard, "many": for several}; None where they
    could not be told apart from the rest (datasets is then asked each time)."""

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def dataset_info(self, num_bytes: int, shard_rows: list[int]) -> dict:
        """dataset_info.json's values, as ``asdict(DatasetInfo(...))`` gives them, for a split of these sizes."""
        if self.info is None:
            return _dataset_info(self.datasets_features(), self.split, num_bytes, shard_rows)
        return _filled(self.info[_shape(shard_rows)], num_bytes, shard_rows)

    def datasets_features(self) -> datasets.Features:
        """The ``datasets.Features`` (imports datasets: for the writers that need the object, the Parquet export's)."""
        from datasets import Features

        return Features.from_dict(self.features)


def layout_of(features: Any, split: str) -> Layout:
    """The layout of a split of ``features`` (a declaration, or a ``datasets.Features``)."""
    declaration = features.to_dict() if hasattr(features, "to_dict") else features  # a Features is a dict too
    return _layout(json.dumps(declaration, ensure_ascii=False), split)


@lru_cache(maxsize=16)
def _layout(declaration: str, split: str) -> Layout:
    from medsreg.files import write_text_atomically

    path = _cache_file(declaration, split)
    if path is not None:
        try:
            return _from_record(json.loads(path.read_text(encoding="utf-8")), split)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    record, checked = _from_datasets(json.loads(declaration), split)
    if not checked:
        return replace(_from_record(record, split), info=None)
    if path is not None:
        try:
            write_text_atomically(path, json.dumps(record, ensure_ascii=False))
        except OSError:
            pass
    return _from_record(record, split)


def _cache_file(declaration: str, split: str) -> Path | None:
    """Where the layout is kept, named by what decides it; None without datasets (it is then imported, and fails)."""
    import pyarrow as pa

    from medsreg.sources import package_cache_file

    key = json.dumps([_FORMAT, pa.__version__, split, declaration]).encode()
    return package_cache_file("datasets", _DECIDING_FILES, "layout", key)


def _from_datasets(declaration: dict, split: str) -> tuple[dict, bool]:
    """(the layout datasets makes, as the cache keeps it; whether the dataset_info template renders other sizes exactly
    as datasets does)."""
    import pyarrow as pa
    from datasets import Features
    from datasets.arrow_writer import ArrowWriter

    features = Features.from_dict(declaration)
    sink = pa.BufferOutputStream()
    writer = ArrowWriter(features=features, stream=sink)
    writer.finalize(close_stream=False)
    empty = sink.getvalue().to_pybytes()
    if not empty.endswith(END_OF_STREAM):
        raise RuntimeError("datasets' ArrowWriter no longer ends a stream with the IPC end-of-stream marker")
    info = {_shape(rows): _dataset_info(features, split, _MARKER_BYTES, rows)
            for rows in (list(_MARKER_SHARDS[:1]), list(_MARKER_SHARDS))}
    checked = all(_filled(info[_shape(rows)], 4_099_711, rows) == _dataset_info(features, split, 4_099_711, rows)
                  for rows in ([1_801], [1_801, 1_336]))
    record = {
        "features": features.to_dict(),
        "schema": base64.b64encode(features.arrow_schema.serialize().to_pybytes()).decode("ascii"),
        "header": base64.b64encode(empty[: -len(END_OF_STREAM)]).decode("ascii"),
        "batch_rows": writer.writer_batch_size,
        "info": info,
    }
    return record, checked


def _shape(shard_rows: list[int]) -> str:
    return "many" if len(shard_rows) > 1 else "one"


def _dataset_info(features: Any, split: str, num_bytes: int, shard_rows: list[int]) -> dict:
    """``asdict(DatasetInfo(...))`` for a split of these sizes, as ``Dataset.save_to_disk`` makes it."""
    from datasets import DatasetInfo, SplitDict, SplitInfo
    from datasets.utils.py_utils import asdict

    splits = SplitDict()
    splits.add(SplitInfo(name=split, num_bytes=num_bytes, num_examples=sum(shard_rows),
                         shard_lengths=list(shard_rows) if len(shard_rows) > 1 else None))
    # round-tripped through JSON: what the file holds, and what the cache keeps
    return json.loads(json.dumps(asdict(DatasetInfo(features=features, splits=splits, dataset_size=num_bytes))))


def _filled(template: Any, num_bytes: int, shard_rows: list[int]) -> Any:
    """The template with the marker sizes replaced by these."""
    if isinstance(template, dict):
        return {key: _filled(item, num_bytes, shard_rows) for key, item in template.items()}
    if isinstance(template, list):
        if template == list(_MARKER_SHARDS):
            return list(shard_rows)
        return [_filled(item, num_bytes, shard_rows) for item in template]
    if isinstance(template, int) and not isinstance(template, bool):
        if template == _MARKER_BYTES:
            return num_bytes
        if template in (_MARKER_SHARDS[0], sum(_MARKER_SHARDS)):  # the rows of one shard, or of both
            return sum(shard_rows)
    return template


def _from_record(record: dict, split: str) -> Layout:
    import pyarrow as pa

    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(record["schema"], validate=True)))
    header = base64.b64decode(record["header"], validate=True)
    info = record["info"]
    if not (isinstance(record["features"], dict) and isinstance(record["batch_rows"], int) and record["batch_rows"] > 0
            and isinstance(info, dict) and {"one", "many"} <= info.keys()):
        raise ValueError("not a layout")
    return Layout(split=split, features=record["features"], schema=schema, header=header,
                  batch_rows=record["batch_rows"], info=info)
