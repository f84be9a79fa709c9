"""Text overlap between two sets of texts: equal after normalization, a shared n-gram, or containment.

The one implementation behind ``validate``'s leakage check and ``build``'s decontamination. The
(smaller) reference side is indexed once: the hashes of its normalized texts, and the hashes of its
n-token windows sorted with the texts that hold them; the other side is streamed in chunks and each
chunk's windows are looked up at once. Windows held by many reference texts are prompt templates,
not leaks, and are ignored.

Nothing runs per token in Python: a chunk's lower-cased texts are encoded into one UTF-8 buffer and
split into ``\\w+`` tokens there with numpy (byte classes, and for non-ASCII text a code point table
taken from Python's own ``re``, so the tokens are exactly those of :func:`tokens`; text of few tokens
per byte, such as Chinese, is split by ``re`` itself), each token is hashed from its bytes, and a
window's hash is a polynomial of its tokens' hashes read off one prefix sum. The hashes are a fixed
function of the text (never Python's per-process ``hash()``), so every process, a build's workers
included, finds the same matches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import islice

import numpy as np

_WORD = re.compile(r"\w+")
NGRAM = 13
"""Super-NaturalInstructions' and GPT-3's contamination window."""
SHORT_CONTAINMENT = 8
"""Reference texts of this many tokens or more (but under the n-gram size) also match when contained in a text."""
CHUNK = 20_000


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens: the normalization both sides share."""
    return _WORD.findall(text.lower())


# --------------------------------------------------------------------------- hashing

_U64 = np.uint64
_BASE = 0x9E3779B97F4A7C15
"""The windows' polynomial base: odd, so invertible modulo 2**64 (a window's hash is read off a prefix sum)."""
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)
_MIX = (_U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53))
_PAD = 16
"""NUL bytes (no word character) after the last text: 16 bytes can be read from any token's start."""
_LONG_TOKEN = 256
"""Tokens longer than this (in UTF-8 bytes) are hashed one at a time with blake2b, the others 8 bytes a step."""
_FIRST = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
"""Token length -> the mask of its first 8 bytes (np.take's mode='clip' does the lengths over 8)."""
_MASKS = np.stack([np.r_[_FIRST, np.full(8, _FIRST[-1])], np.r_[np.zeros(8, np.uint64), _FIRST]], axis=1)
"""Token length -> the masks of its bytes 0 to 7 and 8 to 15 (np.take's mode='clip' does the lengths over 16)."""
_POWERS: list[np.ndarray] = [np.ones(1, np.uint64), np.ones(1, np.uint64)]  # _BASE**i, _BASE_INVERSE**i


def _mix(x: np.ndarray) -> np.ndarray:
    """A bijection of 64-bit values that spreads every bit over the others (in place)."""
    x *= _MIX[0]
    x ^= x >> _U64(32)
    return x


def _powers(count: int) -> tuple[np.ndarray, np.ndarray]:
    """(_BASE**i, _BASE_INVERSE**i) for i < count, modulo 2**64 (kept, grown by doubling: they depend on nothing)."""
    global _POWERS
    powers = _POWERS
    if powers[0].size < count:
        size = max(count, 2 * powers[0].size, 1024)
        powers = []
        for base in (_BASE, _BASE_INVERSE):
            column = np.full(size, base, dtype=np.uint64)
            column[0] = 1
            powers.append(np.cumprod(column, dtype=np.uint64))  # wraps modulo 2**64, on purpose
        _POWERS = powers
    return powers[0][:count], powers[1][:count]


@lru_cache(maxsize=1)
def _word_code_points() -> np.ndarray:
    """Code point -> whether Python's ``re`` counts it as ``\\w`` (built once per process, on the first non-ASCII text)."""
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    table = np.zeros(0x110000, dtype=bool)
    for match in _WORD.finditer(every):
        table[match.start() : match.end()] = True
    return table


def _word_bytes(data: np.ndarray, ascii_only: bool) -> np.ndarray:
    """For each byte of lower-cased UTF-8 ``data``: whether it belongs to a ``\\w`` character."""
    word = data - np.uint8(97) < 26  # ASCII \w is [0-9A-Za-z_], and A-Z are lower-cased already
    word |= data - np.uint8(48) < 10
    word |= data == 95
    if ascii_only:
        return word
    # the code point of each character of 2 to 4 bytes, from its first byte on
    at = np.flatnonzero(data >= 0xC0)
    first, second, third = data[at], data[at + 1], data[at + 2]  # in bounds: the buffer ends in _PAD NULs
    code_point = ((first & 0x1F).astype(np.uint32) << 6) | (second & 0x3F)  # 110xxxxx 10xxxxxx
    code_point = np.where(first >= 0xE0, (code_point << 6) | (third & 0x3F), code_point)  # 1110xxxx: bit 4 is 0
    four = np.flatnonzero(first >= 0xF0)
    if four.size:  # 11110xxx 10xxxxxx 10xxxxxx 10xxxxxx
        code_point[four] = (((first[four] & 0x07).astype(np.uint32) << 18) | ((second[four] & 0x3F).astype(np.uint32) << 12)
                            | ((third[four] & 0x3F).astype(np.uint32) << 6) | (data[at[four] + 3] & 0x3F))
    flags = _word_code_points()[code_point.astype(np.int64)]
    word[at] = flags
    word[at + 1] = flags
    longer = first >= 0xE0
    word[at[longer] + 2] = flags[longer]
    word[at[four] + 3] = flags[four]
    return word


def _token_hashes(blob: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each token ``blob[start:end]``: a function of its bytes alone."""
    lengths = ends - starts
    # the 16 bytes from each token's start, as two little-endian integers (unaligned reads of the buffer itself)
    sixteen = np.ndarray(shape=(len(blob) - 15,), dtype="V16", buffer=blob, strides=(1,))[starts].view("<u8")
    # a token holds no NUL byte, so its bytes, zero-filled, tell it apart from any other token
    sixteen &= _MASKS.take(lengths, axis=0, mode="clip").reshape(-1)
    hashes = sixteen[1::2] * _MIX[1]
    hashes += sixteen[0::2]
    _mix(hashes)
    longer = np.flatnonzero(lengths > 16)
    if longer.size:
        eight = np.ndarray(shape=(len(blob) - 7,), dtype="<u8", buffer=blob, strides=(1,))
        longer = longer[lengths[longer] <= _LONG_TOKEN]
        step = 16
        while longer.size:
            more = eight[starts[longer] + step]
            more &= _FIRST.take(lengths[longer] - step, mode="clip")
            more += hashes[longer] * _MIX[1]
            hashes[longer] = _mix(more)
            step += 8
            longer = longer[lengths[longer] > step]
        for at in np.flatnonzero(lengths > _LONG_TOKEN).tolist():
            digest = hashlib.blake2b(blob[starts[at] : ends[at]], digest_size=8).digest()
            hashes[at] = int.from_bytes(digest, "little")
    return hashes


_PIECE = 1 << 20
"""Characters tokenized at a time: the byte-wide passes then run in the CPU's cache."""
_WIDE = 1.7
"""Extra UTF-8 bytes per character over which ``re`` splits the texts faster (Chinese, Japanese: 2; Korean 1.4)."""


def _split(texts: list[str]) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """(buffer, token starts, token ends, tokens per text): where :func:`tokens` of each text lie in one UTF-8 buffer."""
    # a NUL before each text (NUL is no word character: no token spans two texts), _PAD of them after the last
    joined = "\0".join(["", *texts, "\0" * (_PAD - 1)])
    ascii_only = joined.isascii()  # a flag of the string: no scan
    if ascii_only:  # bytes.lower() is str.lower() on ASCII
        blob = joined.encode("ascii").lower()
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    else:
        sample = joined[:65536]
        if len(sample.encode("utf-8", "surrogatepass")) - len(sample) > _WIDE * len(sample):
            return _split_by_re(texts)
        lowered = [text if text.isascii() else text.lower() for text in texts]  # ASCII: by bytes.lower() below
        blob = "\0".join(["", *lowered, "\0" * (_PAD - 1)]).encode("utf-8", "surrogatepass").lower()
        lengths = np.fromiter((len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
                               for text in lowered), dtype=np.int64, count=len(lowered))
    text_starts = np.cumsum(lengths + 1) - lengths  # 1 for the first text: the NUL before it
    word = _word_bytes(np.frombuffer(blob, dtype=np.uint8), ascii_only)
    changes = np.zeros(word.size, dtype=bool)
    np.not_equal(word[1:], word[:-1], out=changes[1:])
    edges = np.flatnonzero(changes)  # start, end, start, end, ...: the buffer starts and ends with NUL
    starts, ends = edges[0::2], edges[1::2]
    return blob, starts, ends, np.diff(np.searchsorted(starts, np.append(text_starts, len(blob))))


def _split_by_re(texts: list[str]) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_split` by ``re``, for text of few tokens per byte: the buffer holds the tokens, one after the other."""
    words = [tokens(text) for text in texts]
    counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    blob = "\0".join(["", *("\0".join(these) for these in words if these), "\0" * (_PAD - 1)]).encode("utf-8", "surrogatepass")
    separators = np.flatnonzero(np.frombuffer(blob, dtype=np.uint8) == 0)  # a token holds no NUL
    total = int(counts.sum())
    return blob, separators[:total] + 1, separators[1 : total + 1], counts


class _Tokenized:
    """The tokens of a list of texts (normalized as :func:`tokens` does) as hashes, and their windows' hashes."""

    def __init__(self, texts: list[str]):
        characters = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)))
        cuts = [0, *np.searchsorted(characters, np.arange(_PIECE, int(characters[-1]) if texts else 0, _PIECE)).tolist(),
                len(texts)]
        hashes, counts = [np.empty(0, np.uint64)], [np.empty(0, np.int64)]
        for start, end in zip(cuts, cuts[1:]):
            if end > start:
                blob, starts, ends, per_text = _split(texts[start:end])
                hashes.append(_token_hashes(blob, starts, ends))
                counts.append(per_text)
        self.hashes = np.concatenate(hashes)
        self.offsets = np.zeros(len(texts) + 1, dtype=np.int64)  # text i's tokens: hashes[offsets[i]:offsets[i + 1]]
        np.cumsum(np.concatenate(counts), out=self.offsets[1:])
        self.size = self.hashes.size
        powers, self.inverse = _powers(self.size + 1)
        self.prefix = np.zeros(self.size + 1, dtype=np.uint64)
        np.cumsum(self.hashes * powers[: self.size], out=self.prefix[1:])

    def lengths(self) -> np.ndarray:
        """Number of tokens of each text."""
        return np.diff(self.offsets)

    def texts(self) -> np.ndarray:
        """The hash of each whole text: that of its window of all its tokens (0 for a text without tokens)."""
        starts, ends = self.offsets[:-1], self.offsets[1:]
        return (self.prefix[ends] - self.prefix[starts]) * self.inverse[starts]

    def windows(self, size: int) -> np.ndarray:
        """The hash of the window of ``size`` tokens at each token but the last size - 1: sum(hash[at + k] * _BASE**k)."""
        count = self.size - size + 1
        if count <= 0:
            return np.empty(0, np.uint64)
        hashes = self.prefix[size:] - self.prefix[:count]
        hashes *= self.inverse[:count]
        return hashes

    def owners(self, positions: np.ndarray) -> np.ndarray:
        """The text holding each token position."""
        return np.searchsorted(self.offsets, positions, "right") - 1

    def inside(self, positions: np.ndarray, size: int) -> np.ndarray:
        """Whether the window of ``size`` tokens at each position lies inside one text."""
        return positions + size <= self.offsets[self.owners(positions) + 1]


# --------------------------------------------------------------------------- the index


class _Windows:
    """Reference-side window hashes, sorted, each with every reference text holding it."""

    def __init__(self, hashes: np.ndarray, owners: np.ndarray, boilerplate: int | None):
        order = np.argsort(hashes)
        hashes, owners = hashes[order], owners[order]
        repeated = np.flatnonzero(hashes[1:] == hashes[:-1])
        if repeated.size:  # the holders of one window in their order (argsort is not stable, lexsort is slow)
            runs = np.unique(np.concatenate([repeated, repeated + 1]))
            owners[runs] = owners[runs][np.lexsort((owners[runs], hashes[runs]))]
        distinct = np.ones(hashes.size, dtype=bool)  # one (window, text) pair each
        distinct[1:] = (hashes[1:] != hashes[:-1]) | (owners[1:] != owners[:-1])
        hashes, owners = hashes[distinct], owners[distinct]
        if boilerplate is not None:
            starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]]) if hashes.size else np.empty(0, np.int64)
            holders = np.diff(np.r_[starts, hashes.size])
            # a window held by many reference texts is template text (a fixed prompt), not a leak
            keep = np.repeat(holders <= boilerplate, holders)
            hashes, owners = hashes[keep], owners[keep]
        self.keys, self.owners = hashes, owners
        # a first filter: a bit per value of a hash's top bits, 64 to 128 of them per key (at most 64 MiB); a
        # byte per value while that fits in the CPU's cache (one step where a bit takes five)
        bits = min(max(int(self.keys.size).bit_length() + 6, 10), 29)
        self.shift = _U64(64 - bits)
        self.packed = bits > 20
        top = self.keys >> self.shift
        if not self.packed:
            self.filter = np.zeros(1 << bits, dtype=bool)
            self.filter[top] = True
        else:  # the keys are sorted, so are their bytes of the filter: OR each byte's bits together
            self.filter = np.zeros(1 << (bits - 3), dtype=np.uint8)
            byte = (top >> _U64(3)).astype(np.int64)
            first = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
            self.filter[byte[first]] = np.bitwise_or.reduceat(np.left_shift(np.uint8(1), (top & _U64(7)).astype(np.uint8)), first)

    def find(self, values: np.ndarray) -> np.ndarray:
        """The indices (into ``values``, in order) of the values that are keys."""
        if not self.keys.size or not values.size:
            return np.empty(0, np.int64)
        top = (values >> self.shift).view(np.int64)  # (under 2**29) an index as it is, not converted
        if self.packed:
            bits = self.filter[top >> 3]
            bits >>= (top & 7).astype(np.uint8)
            bits &= np.uint8(1)
            maybe = np.flatnonzero(bits.view(bool))
        else:
            maybe = np.flatnonzero(self.filter[top])
        if not maybe.size:
            return maybe
        # one sorted search: neighbouring values take the same path through the keys (unsorted, the
        # search misses the cache at every step)
        candidates = np.sort(values[maybe])
        left = np.searchsorted(self.keys, candidates)
        left[left == self.keys.size] = 0
        found = candidates[self.keys[left] == candidates]
        if not found.size:  # the common case
            return np.empty(0, np.int64)
        return maybe[np.isin(values[maybe], found)]

    def holders(self, values: np.ndarray) -> Iterator[tuple[int, int]]:
        """(index into ``values``, reference owner) for each of their holders: ``values`` are keys."""
        left = np.searchsorted(self.keys, values).tolist()
        right = np.searchsorted(self.keys, values, "right").tolist()
        for index, (start, end) in enumerate(zip(left, right)):
            for owner in self.owners[start:end].tolist():
                yield index, owner


class OverlapIndex:
    """An index of reference texts (test instances) to match other texts (training inputs) against."""

    def __init__(self, references: list[str], *, size: int = NGRAM):
        self.size = size
        self._references = list(references)  # to make sure an equal hash is an equal normalized text
        boilerplate = max(5, len(self._references) // 100)
        whole: list[np.ndarray] = []
        lengths: list[np.ndarray] = []
        window_hashes: list[np.ndarray] = []
        window_owners: list[np.ndarray] = []
        for start in range(0, len(self._references), CHUNK):
            tokenized = _Tokenized(self._references[start : start + CHUNK])
            whole.append(tokenized.texts())
            lengths.append(tokenized.lengths())
            hashes = tokenized.windows(size)
            owners = np.repeat(np.arange(start, start + tokenized.offsets.size - 1), tokenized.lengths())[: hashes.size]
            inside = np.arange(hashes.size) + size <= tokenized.offsets[owners - start + 1]
            window_hashes.append(hashes[inside])
            window_owners.append(owners[inside])
        whole_hashes = np.concatenate(whole) if whole else np.empty(0, np.uint64)
        token_counts = np.concatenate(lengths) if lengths else np.empty(0, np.int64)
        first = self._first_of_each_text(whole_hashes)
        self.exact = _Windows(whole_hashes[first], first, None)
        self.windows = {size: _Windows(np.concatenate(window_hashes) if window_hashes else np.empty(0, np.uint64),
                                       np.concatenate(window_owners) if window_owners else np.empty(0, np.int64),
                                       boilerplate)}
        short = np.flatnonzero((token_counts >= SHORT_CONTAINMENT) & (token_counts < size))
        for length in dict.fromkeys(token_counts[short].tolist()):  # in the order of their first reference text
            these = short[token_counts[short] == length]
            self.windows[length] = _Windows(whole_hashes[these], these, boilerplate)

    def _first_of_each_text(self, whole: np.ndarray) -> np.ndarray:
        """The position of the first reference of each normalized text (those of an equal hash are compared)."""
        order = np.argsort(whole, kind="stable")
        ordered = whole[order]
        repeated = np.flatnonzero(ordered[1:] == ordered[:-1])
        keep = np.ones(whole.size, dtype=bool)
        seen: set[tuple[int, str]] = set()
        for position in order[np.unique(np.r_[repeated, repeated + 1])].tolist():
            text = (int(whole[position]), " ".join(tokens(self._references[position])))
            keep[position] = text not in seen
            seen.add(text)
        return np.flatnonzero(keep)

    def matches(self, texts: Iterable[str]) -> Iterator[tuple[int, int, str]]:
        """(text position, reference position, how) for every match; texts are read in chunks, never all at once."""
        texts = iter(texts)
        start = 0
        while chunk := list(islice(texts, CHUNK)):
            yield from self._chunk(chunk, start)
            start += len(chunk)

    def _chunk(self, chunk: list[str], start: int) -> Iterator[tuple[int, int, str]]:
        tokenized = _Tokenized(chunk)
        whole = tokenized.texts()
        found = self.exact.find(whole)
        for index, position in self.exact.holders(whole[found]):
            # an equal hash is all but surely an equal text: make sure (one reference per normalized text is held)
            offset = int(found[index])
            if " ".join(tokens(chunk[offset])) == " ".join(tokens(self._references[position])):
                yield start + offset, position, "has the same normalized input as"
        for length, windows in self.windows.items():
            hashes = tokenized.windows(length)
            found = windows.find(hashes)
            found = found[tokenized.inside(found, length)]
            if not found.size:
                continue
            how = f"shares a {length}-gram with" if length == self.size else "is contained in"
            owners = tokenized.owners(found).tolist()
            for index, position in windows.holders(hashes[found]):
                yield start + owners[index], position, how
