"""Writing a build to disk: streamed, reproducible and atomic.

This module owns the layout of ``OUT/``: every dataset is streamed into Arrow files laid out
exactly as ``datasets.DatasetDict.save_to_disk`` lays them out (so ``datasets.load_from_disk``
reads them; the files' bytes are shards.py's), the optional Parquet / JSONL export, the split
metadata, the swap of the finished directory into place, and the scratch folders a build keeps
between its steps.

* Streaming: a dataset is a generator of rows (converted ``BATCH_ROWS`` at a time), of pyarrow
  tables, or of pieces that worker processes wrote straight into its shards (``Shards.put``);
  nothing holds a whole dataset, so memory stays flat from thousands to millions of rows. A
  producer gets a scratch folder inside the partial build, removed once its dataset is written
  (or with the partial build).
* Reproducible: the same rows give the same bytes, whichever process wrote them. The content hash
  is the sha256 of the dataset's Arrow files concatenated in order (``cat OUT/mixture/train/data-*.arrow
  | sha256sum``), computed as they are written; the datasets fingerprint is derived from it, and
  nothing written holds a time or a machine path.
* Atomic: everything is written into ``.<name>.partial-<pid>`` beside the output and
  renamed on success; an overwritten output is moved to ``.<name>.old-<pid>`` and deleted
  only after the new one is in place. Leftovers of killed builds (and their ``.<name>.scratch-<pid>``)
  are cleaned (or, for an interrupted swap, restored) by the next build.

pyarrow is imported inside the functions, and datasets only where layout.py has not kept what it writes around rows of
these features, or for the Parquet export: importing this module stays cheap, and so does a build.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medsreg.build.layout import Layout, layout_of
from medsreg.build.shards import Piece, Shards, shard_name
from medsreg.errors import MedsregError
from medsreg.progress import progress_bar

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 1000
"""Rows converted to Arrow at a time: datasets' own writer batch size (config.DEFAULT_MAX_BATCH_SIZE)."""
MAX_SHARD_BYTES = 500 * 10**6
"""Arrow bytes per data file before a new shard starts: datasets' save_to_disk default (config.MAX_SHARD_SIZE)."""
EXPORT_FORMATS = ("parquet", "jsonl")
TOP_LEVEL_FILES = ("README.md", "manifest.json")
SCRATCH = ".scratch"
"""Folder of the partial build where table producers keep temporary files."""
BUILD_MARKER = "manifest.json"
"""A directory holding this file is a previous build, which --overwrite may replace."""

_PATH_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


@dataclass
class OutputDataset:
    """One split of one dataset of the build, produced on demand."""

    path: str
    """Directory inside the output, '/'-separated, e.g. "mixture" or "suites/meds-bench--meds-bench"."""
    split: str
    """"train" or "test": the split of the DatasetDict saved under ``path``."""
    features: Any
    """A declaration of features (layout.py) or a ``datasets.Features``."""
    rows: Callable[[], Iterator[dict]] | None = None
    """Called once; yields the rows, each a dict with exactly the columns of ``features``."""
    total: int | None = None
    """Rows expected, when known: only for the progress bar."""
    tables: Callable[[Path], Iterator[pa.Table]] | None = None
    """Instead of ``rows``: called once with a scratch folder; yields pyarrow tables of the features' schema."""
    pieces: Callable[[Path, Shards], Iterator[Piece]] | None = None
    """Instead of ``rows``: called once with a scratch folder and the dataset's ``Shards``, which it hands to worker
    processes that put the tables there (``Shards.put``, pieces numbered from 0); yields the placed pieces in order."""
    shards: Shards | None = field(default=None, init=False, repr=False)
    """Of a dataset of ``pieces``: made by ``write_build`` before the first dataset is written, so that the producer of
    a dataset may have the workers it forks make the pieces of a later one too."""


def canonical_lines(rows: Iterable[dict[str, Any]]) -> bytes:
    """The rows as canonical JSON lines (sorted keys, UTF-8, no spaces): the JSONL export's bytes."""
    return "".join(_CANONICAL.encode(row) + "\n" for row in rows).encode("utf-8")


def export_name(path: str, export: str) -> str:
    """File name of a dataset in ``OUT/export/``: its path with '/' written '--'."""
    return f"{path.replace('/', '--')}.{export}"


MIXTURE_PATH = "mixture"
"""The folder of the one mixture of a build made from a spec or a named mixture."""


def mixture_path(mixture_name: str) -> str:
    """The folder of a registered mixture in a default build, which writes each apart: 'mixtures/<plugin>--<mixture>'."""
    return "mixtures/" + mixture_name.replace("/", "--")


def suite_path(suite_name: str) -> str:
    """The folder of a suite in the output: 'suites/<plugin>--<suite>'."""
    return "suites/" + suite_name.replace("/", "--")


# --------------------------------------------------------------------------- the build directory


@contextlib.contextmanager
def scratch_beside(output: Path) -> Iterator[Path]:
    """A private folder beside ``output`` for what a build keeps between its steps (the training tasks' instances as
    read once); removed on exit, or by the next build if this one is killed. Beside the output, not in the system's
    temp folder: it takes room in proportion to the data, which the output's disk is chosen to have."""
    target = Path(os.path.abspath(output))
    folder = target.parent / f".{target.name}.scratch-{os.getpid()}"
    try:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    except OSError as error:
        raise MedsregError(_write_failure(error, output)) from error
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_build(
    output: Path,
    datasets: list[OutputDataset],
    finalize: Callable[[dict[str, dict]], dict[str, str]],
    *,
    overwrite: bool,
    export: str | None,
    quiet: bool,
    max_shard_bytes: int = MAX_SHARD_BYTES,
) -> dict[str, dict]:
    """Write every dataset, then ``finalize(stats)``'s files (README.md, manifest.json), and move the result to ``output``.

    Returns ``stats``: ``{path: {"split", "rows", "sha256"}}`` per dataset, in the order given.
    Raises MedsregError when ``output`` exists (without ``overwrite``) or writing fails; the
    previous output is then untouched and no partial directory is left behind.
    """
    _check_datasets(datasets)
    if export is not None and export not in EXPORT_FORMATS:
        raise MedsregError(f"--export {export!r} is not a known format; use one of: {', '.join(EXPORT_FORMATS)}")
    target = Path(os.path.abspath(output))
    if not target.name or target.parent == target:
        raise MedsregError(f"--output {str(output)!r} names no directory; give a folder such as 'build'")
    parent = target.parent
    try:
        if parent.is_dir():
            _clean_leftovers(parent, target.name, target)
        if target.exists() or target.is_symlink():
            if not overwrite:
                raise MedsregError(f"the output directory {output} already exists; pass --overwrite to replace it, "
                                   "or choose another --output")
            _check_replaceable(target, output)
    except OSError as error:
        raise MedsregError(_write_failure(error, output)) from error

    partial = parent / f".{target.name}.partial-{os.getpid()}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir()
        for dataset in datasets:
            dataset.shards = _open(partial, dataset, max_shard_bytes) if dataset.pieces is not None else None
        stats: dict[str, dict] = {}
        for dataset in datasets:
            stats[dataset.path] = _write_dataset(partial, dataset, export, quiet, max_shard_bytes)
        shutil.rmtree(partial / SCRATCH, ignore_errors=True)
        files = finalize(stats)
        for name in sorted(files):
            if name not in TOP_LEVEL_FILES:
                raise ValueError(f"finalize() returned {name!r}; only {', '.join(TOP_LEVEL_FILES)} are written")
            _write_text(partial / name, files[name])
        _swap_into_place(partial, target, output, overwrite)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise MedsregError(_write_failure(error, output)) from error
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return stats


def _check_datasets(datasets: list[OutputDataset]) -> None:
    """Paths are relative, distinct, not nested in one another, and leave room for export/ and the top files."""
    seen: list[str] = []
    for dataset in datasets:
        parts = dataset.path.split("/")
        if not all(_PATH_PART.match(part) for part in parts) or parts[0] == "export" or dataset.path in TOP_LEVEL_FILES:
            raise ValueError(f"dataset path {dataset.path!r} must be relative, '/'-separated names, outside 'export/'")
        if not _PATH_PART.match(dataset.split):
            raise ValueError(f"split {dataset.split!r} of {dataset.path!r} is not a plain name")
        for other in seen:
            if other == dataset.path or other.startswith(dataset.path + "/") or dataset.path.startswith(other + "/"):
                raise ValueError(f"dataset paths {other!r} and {dataset.path!r} overlap; give each dataset its own folder")
        seen.append(dataset.path)


def _check_replaceable(target: Path, shown: Path) -> None:
    """--overwrite replaces an empty directory or a previous build, never an unrelated folder or a file."""
    if target.is_symlink() or not target.is_dir():
        raise MedsregError(f"{shown} exists and is not a directory; remove it or choose another --output")
    if (target / BUILD_MARKER).is_file() or not any(target.iterdir()):
        return
    raise MedsregError(f"{shown} is not a medsreg build (it has no {BUILD_MARKER}), so --overwrite does not replace it; "
                       "remove it yourself or choose another --output")


def _swap_into_place(partial: Path, target: Path, shown: Path, overwrite: bool) -> None:
    aside = target.parent / f".{target.name}.old-{os.getpid()}"
    replacing = target.exists() or target.is_symlink()
    if replacing and not overwrite:
        # another process created it while this build ran
        raise MedsregError(f"the output directory {shown} appeared while building; pass --overwrite to replace it, "
                           "or choose another --output")
    if replacing:
        os.rename(target, aside)
        try:
            os.rename(partial, target)
        except OSError:
            os.rename(aside, target)
            raise
        # the new build is in place: a failure to delete the old one only leaves a directory the next build removes
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.rename(partial, target)


def _clean_leftovers(parent: Path, name: str, target: Path) -> None:
    """Remove partial builds of dead processes; put back an output whose replacement was interrupted mid-swap."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.(partial|old|scratch)-(\d+)$")
    for entry in sorted(parent.iterdir()):
        match = pattern.match(entry.name)
        if not match or not entry.is_dir() or _process_alive(int(match.group(2))):
            continue
        if match.group(1) == "scratch" and int(match.group(2)) == os.getpid():
            continue  # this build's own, in use
        if match.group(1) == "old" and not (target.exists() or target.is_symlink()):
            with contextlib.suppress(OSError):  # left in place, it is retried by the next build
                os.rename(entry, target)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        # a leftover of this very process (an earlier call that could not clean up): nobody is writing it
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    except OSError:
        return False
    return True


def _write_failure(error: OSError, shown: Path) -> str:
    where = f" ({error.filename})" if error.filename else ""
    reason = error.strerror or str(error) or type(error).__name__
    if error.errno == errno.ENOSPC:
        how = "the disk is full: free some space or choose an --output on another disk, then run the build again"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        how = f"make the folder of {shown} writable or choose another --output, then run the build again"
    else:
        how = "fix the cause and run the build again"
    return f"writing the build to {shown} failed: {reason}{where}; {how} (the previous output, if any, is untouched)"


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


# --------------------------------------------------------------------------- one dataset


def _open(root: Path, dataset: OutputDataset, max_shard_bytes: int) -> Shards:
    """The folders of a dataset in ``root`` (the DatasetDict layout) and the shards of its split."""
    dict_dir = root / dataset.path
    split_dir = dict_dir / dataset.split
    split_dir.mkdir(parents=True)
    # the exact bytes DatasetDict.save_to_disk writes
    _write_text(dict_dir / "dataset_dict.json", json.dumps({"splits": [dataset.split]}))
    return Shards(split_dir, layout_of(dataset.features, dataset.split), max_shard_bytes)


def _write_dataset(root: Path, dataset: OutputDataset, export: str | None, quiet: bool, max_shard_bytes: int) -> dict:
    """Stream one dataset into ``root/path`` (the DatasetDict layout) and the export; return its stats."""
    shards = dataset.shards if dataset.shards is not None else _open(root, dataset, max_shard_bytes)
    layout = shards.layout
    exporter = _Exporter(root, dataset.path, layout, export)
    scratch = root / SCRATCH / dataset.path.replace("/", "--")
    progress = progress_bar(f"writing {dataset.path}", dataset.total, quiet)
    try:
        if dataset.pieces is not None:
            for piece in dataset.pieces(scratch, shards):
                shards.absorb(piece)
                if exporter.active:
                    for table in shards.tables(piece):
                        exporter.write(table)
                progress.update(piece.rows)
        else:
            if dataset.tables is not None:
                tables = dataset.tables(scratch)
            else:
                tables = tables_of(dataset.rows() if dataset.rows is not None else iter(()), layout, dataset.path)
            schema = layout.schema
            for table in tables:
                if not table.schema.equals(schema):
                    raise ValueError(f"a table of {dataset.path!r} does not have the schema of its features: "
                                     f"{table.schema} != {schema}")
                shards.write(table)
                exporter.write(table)
                progress.update(table.num_rows)
        shard_rows, num_bytes, content_hash = shards.finish()
        exporter.finish()
    finally:
        progress.close()
        exporter.close()
        shutil.rmtree(scratch, ignore_errors=True)

    _write_split_metadata(shards.folder, layout, shard_rows, num_bytes, content_hash)
    return {"split": dataset.split, "rows": sum(shard_rows), "sha256": content_hash}


def tables_of(rows: Iterable[dict], features: Any, path: str) -> Iterator[pa.Table]:
    """Rows (dicts with exactly the columns of ``features``: a ``Layout``, a declaration or a ``datasets.Features``) as
    pyarrow tables of ``BATCH_ROWS`` rows."""
    import pyarrow as pa

    layout = features if isinstance(features, Layout) else layout_of(features, "train")
    schema, columns, done = layout.schema, layout.columns, 0
    for batch in _batches(iter(rows), BATCH_ROWS):
        _check_columns(batch, columns, path, done)
        done += len(batch)
        yield pa.Table.from_pylist(batch, schema=schema)


def _batches(rows: Iterator[dict], size: int) -> Iterator[list[dict]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _check_columns(batch: list[dict], columns: list[str], path: str, offset: int) -> None:
    """Every row has exactly the declared columns: pyarrow would silently drop extras and fill gaps with null."""
    expected = set(columns)
    for position, row in enumerate(batch):
        if row.keys() != expected:
            missing = sorted(expected - row.keys())
            extra = sorted(row.keys() - expected)
            raise ValueError(f"row {offset + position} of {path!r} does not match its features "
                             f"(missing {missing}, unexpected {extra})")


def _fingerprint(layout: Layout, content_hash: str) -> str:
    """datasets caches map() results by fingerprint: derive it from what the data is, so it is stable and unique."""
    features = json.dumps(layout.features, sort_keys=True)
    return hashlib.sha256(f"{layout.split}\n{features}\n{content_hash}".encode()).hexdigest()[:16]


def _write_split_metadata(split_dir: Path, layout: Layout, shard_rows: list[int], num_bytes: int,
                          content_hash: str) -> None:
    """state.json and dataset_info.json as Dataset.save_to_disk writes them (same keys, order and indentation)."""
    count = len(shard_rows)
    state = {
        "_data_files": [{"filename": shard_name(index, count)} for index in range(count)],
        "_fingerprint": _fingerprint(layout, content_hash),
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": layout.split,
    }
    _write_text(split_dir / "state.json", json.dumps(state, indent=2, sort_keys=True))
    info = layout.dataset_info(num_bytes, shard_rows)
    # datasets sorts only the first level: nested feature order is the column order
    _write_text(split_dir / "dataset_info.json", json.dumps({key: info[key] for key in sorted(info)}, indent=2))


class _Exporter:
    """The optional export file of one dataset, written from the same batches as the Arrow files."""

    def __init__(self, root: Path, path: str, layout: Layout, export: str | None) -> None:
        self.export = export
        self._parquet = None
        self._jsonl = None
        self.active = export is not None
        if export is None:
            return
        folder = root / "export"
        folder.mkdir(exist_ok=True)
        file = folder / export_name(path, export)
        if export == "parquet":
            from datasets.arrow_writer import ParquetWriter

            # datasets' own Parquet writer: the Hub-compatible layout (features metadata, content-defined chunks)
            self._parquet = ParquetWriter(features=layout.datasets_features(), path=str(file))
        else:
            self._jsonl = open(file, "wb")  # noqa: SIM115 - open across many write() calls, closed by close()

    def write(self, table) -> None:
        if self._parquet is not None:
            self._parquet.write_table(table)
        elif self._jsonl is not None:
            self._jsonl.write(canonical_lines(table.to_pylist()))

    def finish(self) -> None:
        if self._parquet is not None:
            self._parquet.finalize()
        self.close()

    def close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        if self._jsonl is not None:
            self._jsonl.close()
            self._jsonl = None
