"""The Arrow files of one split: written as ``datasets``' ``save_to_disk`` writes them, by this process or by the build's
worker processes, and hashed as they are written.

The bytes. A shard is an Arrow IPC stream: the schema message (the features in its metadata, as datasets'
``ArrowWriter`` puts them), record batches, the end-of-stream marker. A table is written as ``ArrowWriter.write_table``
writes it: its chunks combined, then record batches of the writer's batch size (1,000 rows); a new shard starts before a
table once the shard holds ``max_bytes`` (``table.nbytes`` summed, as save_to_disk counts). So the bytes are a function
of the sequence of tables alone, and the header, the batches and the marker can be produced apart and laid end to end.

The placement. Tables come in numbered pieces (a mixture's shuffle bucket, a few thousand suite rows). A piece is
prepared in whichever process made it, in parallel with the others (its batches cut and their serialized sizes
counted, ``pa.ipc.get_record_batch_size``); then it waits for the piece before it to be placed (a few shared counters
under a lock: the next piece, the current shard, its length and its bytes), takes its offsets and writes itself there
with ``pwrite``, through a stream writer that hands over the batches' own buffers (no serialized copy). Pieces are
placed in order and written in any order, and the file offsets never depend on which process wrote what.

The hash. The parent takes the pieces in order (``absorb``) and feeds their bytes to one sha256 as they arrive, from the
page cache, while the workers make the next pieces; a table written by the parent itself is hashed from memory. No file
is read back once the dataset is written.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medsreg.build.layout import END_OF_STREAM, Layout
from medsreg.build.workers import context

if TYPE_CHECKING:
    import pyarrow as pa


# the shared counters (a RawArray of int64)
_NEXT, _SHARD, _END, _NBYTES = range(4)


@dataclass(frozen=True)
class Placement:
    """Where one table of a piece went: its shard, its offset there, its serialized size, rows and Arrow bytes."""

    shard: int
    offset: int
    size: int
    rows: int
    nbytes: int


@dataclass(frozen=True)
class Piece:
    """A numbered run of tables placed in the shards (what a worker hands back: small, whatever the rows)."""

    index: int
    placements: tuple[Placement, ...]

    @property
    def rows(self) -> int:
        return sum(placement.rows for placement in self.placements)


@dataclass(frozen=True)
class _Prepared:
    """A table ready to be placed: its record batches as written, the serialized size of each, its rows and Arrow bytes."""

    batches: list[Any]
    sizes: list[int]
    rows: int
    nbytes: int


def shard_name(index: int, count: int) -> str:
    return f"data-{index:05d}-of-{count:05d}.arrow"


class Shards:
    """The shard files of one split being written, with the content hash of their bytes in order.

    Made in the parent before the workers fork (they inherit the lock and the counters). ``put`` serializes and places
    a piece (in any process); ``absorb`` takes placed pieces in order in the parent; ``write`` does both for a table made
    here; ``finish`` closes the last shard and names the files.
    """

    def __init__(self, folder: Path, layout: Layout, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.layout = layout
        self.header = layout.header
        """The schema message every shard starts with (the features in its metadata, as save_to_disk writes them)."""
        self.schema = layout.schema
        """Of the tables handed over and read back (the header's may carry other metadata)."""
        self.batch_rows = layout.batch_rows
        self._turn = context().Condition()
        self._state = context().RawArray("q", [0, -1, 0, 0])
        # the parent's view, from the pieces absorbed in order
        self._digest = hashlib.sha256()
        self._absorbed = 0
        self._current = -1
        self._end = 0
        self.shard_rows: list[int] = []
        self.shard_bytes: list[int] = []
        self.files: list[Path] = []

    def pending(self, shard: int) -> Path:
        """A shard's file while the dataset is written (its final name needs the shard count)."""
        return self.folder / f"data-{shard:05d}.arrow.pending"

    # ------------------------------------------------------------------ any process

    def prepare(self, table: pa.Table) -> _Prepared:
        """The table's record batches as ``ArrowWriter.write_table`` writes them, with their serialized sizes."""
        import pyarrow as pa

        nbytes = table.nbytes  # of the table as handed over, before combining: what save_to_disk adds up
        # a stream writer writes each batch as the encapsulated message ``serialize`` gives (schema metadata is in the
        # header only), in the slices ``to_batches`` makes: the same reader splits a table in both
        batches = table.combine_chunks().to_batches(max_chunksize=self.batch_rows)
        return _Prepared(batches, [pa.ipc.get_record_batch_size(batch) for batch in batches], table.num_rows, nbytes)

    def put(self, index: int, tables: Sequence[pa.Table]) -> Piece:
        """Prepare piece ``index``, wait until piece ``index - 1`` is placed, place this one and write it."""
        return self._put(index, [self.prepare(table) for table in tables])

    def _put(self, index: int, prepared: list[_Prepared], kept: list[Any] | None = None) -> Piece:
        """Place the tables (their sizes are known before any is serialized) and write them; ``kept``: a list that gets
        their messages, for a hash from memory."""
        state = self._state
        opened: list[int] = []
        closed: list[tuple[int, int]] = []
        placements = []
        with self._turn:
            while state[_NEXT] != index:
                self._turn.wait()
            for table in prepared:
                size = sum(table.sizes)
                if state[_SHARD] >= 0 and state[_NBYTES] >= self.max_bytes:  # save_to_disk's rule, checked before a table
                    closed.append((state[_SHARD], state[_END]))
                    opened.append(state[_SHARD] + 1)
                    state[_SHARD], state[_END], state[_NBYTES] = state[_SHARD] + 1, len(self.header), 0
                elif state[_SHARD] < 0:
                    opened.append(0)
                    state[_SHARD], state[_END], state[_NBYTES] = 0, len(self.header), 0
                placements.append(Placement(state[_SHARD], state[_END], size, table.rows, table.nbytes))
                state[_END] += size
                state[_NBYTES] += table.nbytes
            state[_NEXT] = index + 1
            self._turn.notify_all()
        # the offsets are taken: the writes need no lock (O_CREAT without O_TRUNC: any process may create a shard first)
        for shard, end in closed:
            self._pwrite(shard, [END_OF_STREAM], end)
        for shard in opened:
            self._pwrite(shard, [self.header], 0)
        for placement, table in zip(placements, prepared):
            self._write_batches(placement, table, kept)
        return Piece(index, tuple(placements))

    def _pwrite(self, shard: int, buffers: Sequence[Any], offset: int) -> None:
        descriptor = os.open(self.pending(shard), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            views = [memoryview(buffer) for buffer in buffers]
            while views:
                written = os.pwritev(descriptor, views[:512], offset)  # under IOV_MAX; a short write is resumed
                offset += written
                while views and written >= views[0].nbytes:
                    written -= views[0].nbytes
                    views.pop(0)
                if views and written:
                    views[0] = views[0][written:]
        finally:
            os.close(descriptor)

    def _write_batches(self, placement: Placement, table: _Prepared, kept: list[Any] | None) -> None:
        """Write a table's batches at its place, as a stream writer writes them: straight from their buffers (``serialize``
        would first copy each batch into one new buffer, a second copy of every byte of the dataset)."""
        import pyarrow as pa

        if not table.batches:
            return
        schema = table.batches[0].schema
        descriptor = os.open(self.pending(placement.shard), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            sink = _WriteAt(descriptor, placement.offset, len(schema.serialize()), kept)
            writer = pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), schema)
            for batch in table.batches:
                writer.write_batch(batch)
            sink.stop()  # the end-of-stream marker ``close`` writes is not this table's: the shard gets one when it ends
            writer.close()
        finally:
            os.close(descriptor)
        if sink.written != placement.size or sink.skip:
            raise RuntimeError(f"a table's record batches took {sink.written} bytes, not the {placement.size} placed")

    # ------------------------------------------------------------------ the parent, in order

    def write(self, table: pa.Table) -> None:
        """Write a table made in this process as the next piece (hashed from memory, not from the file)."""
        messages: list[Any] = []
        piece = self._put(self._absorbed, [self.prepare(table)], kept=messages)
        self._take(piece, messages)

    def absorb(self, piece: Piece) -> None:
        """Take the next piece a worker placed: its rows and bytes counted, its bytes hashed (from the page cache)."""
        self._take(piece, None)

    def _take(self, piece: Piece, messages: list[Any] | None) -> None:
        if piece.index != self._absorbed:
            raise RuntimeError(f"piece {piece.index} absorbed where piece {self._absorbed} was due")
        for placement in piece.placements:
            if placement.shard != self._current:
                if self._current >= 0:
                    self._digest.update(END_OF_STREAM)
                self._digest.update(self.header)
                self._current = placement.shard
                self.shard_rows.append(0)
                self.shard_bytes.append(0)
            self.shard_rows[-1] += placement.rows
            self.shard_bytes[-1] += placement.nbytes
            self._end = placement.offset + placement.size
            if messages is None:
                self._hash_file(placement)
        if messages is not None:
            for message in messages:
                self._digest.update(memoryview(message))
        self._absorbed += 1

    def _hash_file(self, placement: Placement) -> None:
        """Hash a placed table's bytes where they are, in the page cache (mapped: no copy into a buffer of this process)."""
        start = placement.offset - placement.offset % mmap.ALLOCATIONGRANULARITY
        end = placement.offset + placement.size
        with open(self.pending(placement.shard), "rb") as handle:
            if os.fstat(handle.fileno()).st_size < end:
                raise OSError(f"{self.pending(placement.shard)} ends before the piece written into it")
            with mmap.mmap(handle.fileno(), end - start, offset=start, access=mmap.ACCESS_READ) as mapped:
                view = memoryview(mapped)
                try:
                    self._digest.update(view[placement.offset - start :])
                finally:
                    view.release()

    def tables(self, piece: Piece) -> Iterator[pa.Table]:
        """The tables of a placed piece, read back from the shards (for an export written beside them)."""
        import pyarrow as pa

        for placement in piece.placements:
            with pa.memory_map(str(self.pending(placement.shard))) as source:
                body = source.read_at(placement.size, placement.offset)
                reader = pa.ipc.MessageReader.open_stream(pa.BufferReader(body))
                batches = [pa.ipc.read_record_batch(message, self.schema) for message in reader]
                yield pa.Table.from_batches(batches, schema=self.schema)

    def finish(self) -> tuple[list[int], int, str]:
        """Close the last shard and give the files their final names: (rows per shard, Arrow bytes, sha256)."""
        if self._current < 0:  # an empty dataset still gets one (empty) data file with its schema
            self._pwrite(0, [self.header, END_OF_STREAM], 0)
            self._digest.update(self.header)
            self.shard_rows, self.shard_bytes = [0], [0]
        else:
            self._pwrite(self._current, [END_OF_STREAM], self._end)
        self._digest.update(END_OF_STREAM)
        count = len(self.shard_rows)
        self.files = [self.folder / shard_name(index, count) for index in range(count)]
        for index, path in enumerate(self.files):
            os.rename(self.pending(index), path)
        return list(self.shard_rows), sum(self.shard_bytes), self._digest.hexdigest()


class _WriteAt:
    """A write-only file for pyarrow's stream writer: what it is given goes to ``offset`` of an open file (``pwrite``),
    but for the first ``skip`` bytes (the schema message the writer starts with: a shard has its header once) and what
    comes after ``stop``. ``kept``: a list that gets copies of the bytes written, for a hash from memory."""

    closed = False

    def __init__(self, descriptor: int, offset: int, skip: int, kept: list[Any] | None) -> None:
        self.descriptor = descriptor
        self.offset = offset
        self.skip = skip
        self.kept = kept
        self.written = 0
        self._stopped = False

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        size = view.nbytes
        if self.skip:
            dropped = min(self.skip, size)
            self.skip -= dropped
            view = view[dropped:]
        if self._stopped:
            return size
        while view.nbytes:  # a short write is resumed
            count = os.pwrite(self.descriptor, view, self.offset)
            if self.kept is not None:
                self.kept.append(bytes(view[:count]))
            self.offset += count
            self.written += count
            view = view[count:]
        return size

    def stop(self) -> None:
        self._stopped = True

    def flush(self) -> None:
        pass

    def tell(self) -> int:
        return self.offset
