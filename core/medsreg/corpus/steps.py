"""The corpus pipeline's datatrove steps: readers, the keyword filter, the dedup glue, tokenizing and packing.

Imported only when a corpus pipeline runs (it imports datatrove). Every step is a plain
``PipelineStep`` of datatrove, so the same steps run under ``LocalPipelineExecutor`` here and
``SlurmPipelineExecutor`` on a cluster (see ``medsreg.corpus``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import PurePosixPath

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.dedup.exact_dedup import ExactDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashDedupSignature
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers.base import BaseDiskReader, BaseReader
from datatrove.utils.typeshelper import ExtensionHelperSD, StatHints
from datatrove.utils.word_tokenizers import WordTokenizer

from medsreg.corpus.keywords import KeywordFilter
from medsreg.corpus.packing import pack
from medsreg.errors import MedsregError

SUFFIXES = (".jsonl", ".jsonl.gz", ".json.gz", ".ndjson", ".txt", ".txt.gz", ".parquet")
"""Input files read: JSON Lines with a "text" field (one document a line), plain text (one document a
file, as MMedC's released .txt files), and Parquet with a "text" column."""


class CorpusInputError(MedsregError):
    """An input file that cannot be read as a corpus: not UTF-8, not JSON Lines, no text."""


# --------------------------------------------------------------------------- reading


def _decode(data: bytes, where: str, base: int) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusInputError(f"{where} is not UTF-8: byte {base + error.start} (0x{data[error.start]:02x}) starts no "
                               "UTF-8 character; convert the file to UTF-8 (e.g. iconv -f <its encoding> -t UTF-8)") from None


class CorpusFileReader(BaseDiskReader):
    """Reads the given files (paths relative to ``data_folder``); task ``rank`` reads files ``rank::world_size``.

    Bytes are decoded strictly: a file that is not UTF-8 stops the run with its name and the byte offset
    (in its decompressed content, for .gz files).
    """

    name = "medsreg corpus files"

    def __init__(self, data_folder: DataFolderLike, files: list[str], text_key: str = "text"):
        super().__init__(data_folder, text_key=text_key, add_file_path=False)
        self.files = list(files)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for document in self.read_files_shard(self.files[rank::world_size]):
            self.update_doc_stats(document)
            yield document

    def read_file(self, filepath: str) -> DocumentsPipeline:
        where = self.data_folder.resolve_paths(filepath)
        name = filepath.lower()
        if name.endswith(".parquet"):
            yield from self._read_parquet(filepath, where)
            return
        with self.data_folder.open(filepath, "rb", compression="infer") as handle:
            if name.endswith((".txt", ".txt.gz")):
                text = _decode(handle.read(), where, 0)
                if text.strip():
                    yield Document(text=text, id=str(PurePosixPath(filepath).with_suffix("")).removesuffix(".txt"))
                return
            import orjson

            offset = 0
            for number, line in enumerate(handle, start=1):
                start, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                text = _decode(line, where, start)
                try:
                    row = orjson.loads(text)
                except orjson.JSONDecodeError as error:
                    raise CorpusInputError(f"{where}: line {number} is not JSON ({error}); a corpus file in JSON Lines holds "
                                           "one object a line, with a \"text\" field") from None
                if not isinstance(row, dict) or not isinstance(row.get(self.text_key), str):
                    raise CorpusInputError(f"{where}: line {number} has no \"{self.text_key}\" string; each line must be an "
                                           f"object with the document's text under \"{self.text_key}\"")
                document = self.get_document_from_dict(row, filepath, number)
                if document is not None:
                    yield document

    def _read_parquet(self, filepath: str, where: str) -> DocumentsPipeline:
        import pyarrow.parquet as pq

        with self.data_folder.open(filepath, "rb") as handle:
            table = pq.ParquetFile(handle)
            if self.text_key not in table.schema_arrow.names:
                raise CorpusInputError(f"{where} has no \"{self.text_key}\" column (it has {', '.join(table.schema_arrow.names)})")
            row = 0
            for batch in table.iter_batches(batch_size=1024):
                for record in batch.to_pylist():
                    row += 1
                    if isinstance(record.get(self.text_key), str):
                        document = self.get_document_from_dict(record, filepath, row)
                        if document is not None:
                            yield document


class LoaderReader(BaseReader):
    """The documents of a plugin's ``loader()`` (a corpus without files): task ``rank`` keeps every
    ``world_size``-th one, so each task calls the loader once (fine for the small corpora loaders serve)."""

    name = "medsreg corpus loader"

    def __init__(self, loader: Callable[[], Iterable[str]], name: str):
        super().__init__()
        self.loader = loader
        self.corpus = name

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for index, text in enumerate(self.loader()):
            if index % world_size != rank:
                continue
            if not isinstance(text, str):
                raise CorpusInputError(f"corpus {self.corpus}: its loader gave a {type(text).__name__} as document "
                                       f"{index}; a loader yields the documents' texts as strings")
            if text.strip():
                self.stat_update("documents")
                document = Document(text=text, id=f"{self.corpus}/{index}")
                self.update_doc_stats(document)
                yield document


class RankReader(BaseReader):
    """Reads back ``{rank:05d}.jsonl`` of an earlier stage of the same task: the order the dedup indices refer to."""

    name = "medsreg stage files"

    def __init__(self, data_folder: DataFolderLike):
        super().__init__()
        self.data_folder = get_datafolder(data_folder)

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import orjson

        path = f"{rank:05d}.jsonl"
        if not self.data_folder.isfile(path):
            return  # the task kept no document
        with self.data_folder.open(path, "rb") as handle:
            for line in handle:
                row = orjson.loads(line)
                yield Document(text=row["text"], id=row["id"], metadata=row.get("metadata") or {})


# --------------------------------------------------------------------------- filtering


class KeywordFilterStep(BaseFilter):
    """The seed's keyword filter (``medsreg.corpus.keywords``), per document language.

    A document's language is its ``language`` field where the input has one, else the run's language.
    Kept documents carry ``keyword_hits`` and ``keyword_ratio`` in their metadata.
    """

    name = "medsreg keyword filter"

    def __init__(self, filters: dict[str, KeywordFilter], default_language: str):
        super().__init__()
        self.filters = filters
        self.default_language = default_language

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        language = doc.metadata.get("language") or self.default_language
        keyword_filter = self.filters.get(language)
        if keyword_filter is None:
            known = ", ".join(sorted(self.filters))
            raise CorpusInputError(f"document {doc.id} is in language {language!r}, for which this run has no keyword "
                                   f"list (it has {known}); give one with --keywords, or leave the document out")
        verdict = keyword_filter.verdict(doc.text)
        doc.metadata["keyword_hits"] = verdict.distinct
        doc.metadata["keyword_ratio"] = round(verdict.ratio, 6)
        if verdict.keep:
            return True
        return False, "too_few_keywords" if verdict.distinct < keyword_filter.min_hits else "keyword_ratio"


# --------------------------------------------------------------------------- deduplication


def document_text(doc: Document) -> bytes:
    """What exact deduplication compares: the text without leading or trailing whitespace (UTF-8: xxhash 4
    hashes bytes only)."""
    return doc.text.strip().encode("utf-8", "surrogatepass")


class ExactSignatures(ExactDedupSignature):
    """datatrove's exact-dedup signatures, passing the documents on (the stock step is a sink), so that
    the MinHash signatures of the same documents are computed in the same pass."""

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        signatures = []
        for doc_idx, doc in enumerate(data):
            with self.stats.time_stats:
                self.stat_update(StatHints.total)
                signatures.extend(self.get_hashes(doc, doc_idx))
            yield doc
        self.save_hashes(rank, signatures)


_UNSPACED = [(0x2E80, 0x2FDF), (0x3005, 0x3007), (0x3021, 0x3029), (0x3031, 0x3035), (0x3038, 0x303C),
             (0x3040, 0x30FF), (0x31F0, 0x31FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
             (0xFF66, 0xFF9F), (0x20000, 0x3FFFF)]
"""Han, kana and their marks: scripts written without spaces, whose every character is a token."""
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_BASE = 0x9E3779B97F4A7C15


@lru_cache(maxsize=1)
def _tables() -> tuple[np.ndarray, np.ndarray]:
    """(code point -> is ``\\w`` for Python's ``re``, code point -> is in a script without spaces); once per process."""
    import re

    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    word = np.zeros(0x110000, dtype=bool)
    for match in re.finditer(r"\w+", every):
        word[match.start() : match.end()] = True
    unspaced = np.zeros(0x110000, dtype=bool)
    for low, high in _UNSPACED:
        unspaced[low : high + 1] = True
    return word, unspaced & word


_POWERS = [np.ones(1, np.uint64), np.ones(1, np.uint64)]


def _powers(count: int) -> tuple[np.ndarray, np.ndarray]:
    """(_BASE**i, _BASE**-i) modulo 2**64 for i < count (kept, grown by doubling)."""
    global _POWERS
    if _POWERS[0].size < count:
        size = max(count, 2 * _POWERS[0].size, 4096)
        columns = []
        for base in (_BASE, pow(_BASE, -1, 1 << 64)):
            column = np.full(size, base, dtype=np.uint64)
            column[0] = 1
            columns.append(np.cumprod(column, dtype=np.uint64))  # wraps modulo 2**64, on purpose
        _POWERS = columns
    return _POWERS[0][:count], _POWERS[1][:count]


def token_hashes(text: str) -> np.ndarray:
    """A 64-bit hash of each token of ``text``, lower-cased: tokens are runs of ``\\w`` characters, except that
    every Han or kana character is a token of its own (Chinese, Japanese). All in numpy: nothing per token in Python."""
    points = np.frombuffer(text.lower().encode("utf-32-le", "surrogatepass"), dtype="<u4")
    word_table, unspaced_table = _tables()
    word = word_table[points]
    positions = np.flatnonzero(word)
    if not positions.size:
        return np.empty(0, np.uint64)
    unspaced = unspaced_table[points[positions]]
    # a token starts where a word character follows a non-word one, and at every unspaced character or its end
    starts = np.ones(positions.size, dtype=bool)
    starts[1:] = (positions[1:] != positions[:-1] + 1) | unspaced[1:] | unspaced[:-1]
    first = np.flatnonzero(starts)
    powers, inverse = _powers(points.size)
    values = points[positions].astype(np.uint64) + np.uint64(0x9E37)
    values *= _MIX
    values ^= values >> np.uint64(29)
    values *= powers[positions]
    hashes = np.add.reduceat(values, first)
    hashes *= inverse[positions[first]]  # the same token gives the same hash wherever it stands
    hashes *= _MIX
    hashes ^= hashes >> np.uint64(32)
    return hashes


class _Unused(WordTokenizer):
    """datatrove's MinHash step wants a word tokenizer (spaCy's by default); ``Shingles`` brings its own."""

    def word_tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    def sent_tokenize(self, text: str) -> list[str]:
        raise NotImplementedError

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        raise NotImplementedError


class Shingles(MinhashDedupSignature):
    """datatrove's MinHash signatures (stage 1) over medsreg's shingles: hashed n-grams of ``token_hashes``.

    The stock step normalizes and word-tokenizes each text in Python (with spaCy for Chinese and
    Japanese); here a document's shingles are computed in numpy, and Chinese and Japanese are shingled
    by character. The signatures, buckets, clustering and filtering are datatrove's.
    """

    def __init__(self, output_folder: DataFolderLike, config=None):
        super().__init__(output_folder, config=config, language=_Unused())

    def get_shingles(self, text: str) -> np.ndarray:
        hashes = token_hashes(text)
        n = self.config.n_grams
        count = hashes.size - n + 1
        if count <= 0:
            return np.empty((0, 1), dtype=np.uint64)
        shingles = hashes[:count].copy()
        for k in range(1, n):  # Horner: h0 * B^(n-1) + ... + h(n-1), modulo 2**64
            shingles *= np.uint64(_BASE)
            shingles += hashes[k : k + count]
        shingles *= _MIX
        shingles ^= shingles >> np.uint64(31)
        return shingles.reshape(-1, 1)

    def get_signature(self, shingles: np.ndarray) -> list[list[int]]:
        """The minimum of each of the ``num_buckets x hashes_per_bucket`` hash functions over the shingles.

        datatrove's own takes ``(a * x + b) mod (2**61 - 1)`` and spends most of its time on the uint64
        modulo; here each function is ``(a * x + b) mod 2**64``, its top 60 bits (multiply-shift hashing
        of already mixed 64-bit shingles), computed in place: the same kind of values (below 2**61 - 1, as
        datatrove's bucket stage expects), in about half the time.
        """
        a, b = self.parameters
        values = shingles * a  # (shingles, hashes), wrapping modulo 2**64
        values += b
        values >>= np.uint64(4)
        minima = values.min(axis=0)
        if self.config.hash_config.precision == 32:
            minima &= np.uint64(self.config.hash_config.max)
        return [part.tolist() for part in np.split(minima.astype(self.config.hash_config.np_dtype), self.config.num_buckets)]


class DropDuplicates(PipelineStep):
    """Removes, from the documents of a task in their stage-1 order, the duplicates that datatrove's exact-dedup
    finder (``*/{rank:05d}.c4_dup``) and MinHash clustering (``{rank:06d}.remove``) found.

    Equal texts have equal MinHash signatures, so every group of exact copies also lies in one MinHash
    cluster, and the clustering decides which member of the cluster survives: one document per cluster,
    exact and near copies together (taking the exact finder's choice as well could remove a whole group
    when the two choose different survivors). The exact finder alone decides for texts too short to have a
    shingle (fewer than ``n_grams`` tokens), which MinHash cannot see. Counts: ``exact_duplicates`` is the
    number of copies past the first of each text (whichever copy survives), ``dropped`` every removal.
    """

    name = "medsreg drop duplicates"
    type = "🫂 - DEDUP"

    def __init__(self, exact_folder: DataFolderLike, minhash_folder: DataFolderLike, n_grams: int):
        super().__init__()
        self.exact_folder = get_datafolder(exact_folder)
        self.minhash_folder = get_datafolder(minhash_folder)
        self.n_grams = n_grams

    def _indices(self, folder, paths: list[str]) -> set[int]:
        found: set[int] = set()
        for path in paths:
            with folder.open(path, "rb") as handle:
                found.update(np.frombuffer(handle.read(), dtype="<u4").tolist())
        return found

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        exact_files = self.exact_folder.list_files(glob_pattern=f"*/{rank:05d}{ExtensionHelperSD.stage_2_duplicates}")
        exact = self._indices(self.exact_folder, exact_files)
        near_file = f"{rank:06d}.remove"
        near = self._indices(self.minhash_folder, [near_file] if self.minhash_folder.isfile(near_file) else [])
        if exact:
            self.stat_update("exact_duplicates", value=len(exact), unit="task")
        for index, doc in enumerate(data):
            self.stat_update(StatHints.total)
            if index in near or (index in exact and token_hashes(doc.text).size < self.n_grams):
                self.stat_update(StatHints.dropped)
                continue
            self.stat_update(StatHints.forwarded)
            yield doc


# --------------------------------------------------------------------------- tokens and windows


class TokenizePack(PipelineStep):
    """Counts each document's tokens (EOS included: ``token_count``) and writes its windows
    (``medsreg.corpus.packing``) to ``{rank:05d}.parquet``: input_ids, attention_mask, document, window."""

    name = "medsreg tokenize and pack"
    type = "🔢 - TOKENIZER"

    def __init__(self, tokenizer: str, output_folder: DataFolderLike, window: int, stride: int, batch_size: int = 256,
                 rows_per_group: int = 1024):
        super().__init__()
        self.tokenizer = tokenizer
        self.output_folder = get_datafolder(output_folder)
        self.window = window
        self.stride = stride
        self.batch_size = batch_size
        self.rows_per_group = rows_per_group

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from medsreg.corpus.tokenizer import load_tokenizer

        os.environ["TOKENIZERS_PARALLELISM"] = "false"  # one core per task: the executor runs the tasks in parallel
        tokenizer = load_tokenizer(self.tokenizer)
        schema = pa.schema([
            ("input_ids", pa.list_(pa.int32(), self.window)),
            ("attention_mask", pa.list_(pa.int8(), self.window)),
            ("document", pa.string()),
            ("window", pa.int32()),
        ])
        pending: list[tuple[np.ndarray, np.ndarray, list[str], list[int]]] = []
        rows = 0
        writer = None
        handle = None

        def flush() -> None:
            nonlocal writer, handle, rows
            if not pending:
                return
            if writer is None:
                handle = self.output_folder.open(f"{rank:05d}.parquet", "wb")
                writer = pq.ParquetWriter(handle, schema)
            ids = np.concatenate([item[0] for item in pending]).astype(np.int32)
            mask = np.concatenate([item[1] for item in pending])
            table = pa.table({
                "input_ids": pa.FixedSizeListArray.from_arrays(pa.array(ids.reshape(-1)), self.window),
                "attention_mask": pa.FixedSizeListArray.from_arrays(pa.array(mask.reshape(-1)), self.window),
                "document": pa.array([name for item in pending for name in item[2]], pa.string()),
                "window": pa.array([index for item in pending for index in item[3]], pa.int32()),
            }, schema=schema)
            writer.write_table(table)
            pending.clear()
            rows = 0

        try:
            for batch in _batches(data, self.batch_size):
                with self.track_time(unit="batch"):
                    for doc, ids in zip(batch, tokenizer.encode([doc.text for doc in batch])):
                        windows, mask = pack(ids, self.window, self.stride, tokenizer.pad_id)
                        doc.metadata["token_count"] = len(ids)
                        self.stat_update("tokens", value=len(ids))
                        self.stat_update("windows", value=len(windows))
                        self.stat_update("padding", value=int(mask.size - mask.sum()))
                        pending.append((windows, mask, [str(doc.id)] * len(windows), list(range(len(windows)))))
                        rows += len(windows)
                    if rows >= self.rows_per_group:
                        flush()
                yield from batch
            flush()
        finally:
            if writer is not None:
                writer.close()
                handle.close()


def _batches(data: Iterable[Document], size: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for doc in data:
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


__all__ = ["CorpusFileReader", "LoaderReader", "RankReader", "KeywordFilterStep", "ExactSignatures", "Shingles",
           "DropDuplicates", "TokenizePack", "CorpusInputError", "token_hashes", "document_text", "SUFFIXES"]
