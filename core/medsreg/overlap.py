"""Text overlap between two sets of texts: which test text leaks into which training text, with its evidence.

The one implementation behind ``validate``'s leakage check and ``build``'s decontamination. The
(smaller) reference side, the test texts, is indexed once: their n-token windows, sorted with the
reference token each starts at, and the hashes of their whole normalized texts; the other side is
streamed in chunks and each chunk's windows are looked up at once.

What counts as a leak (the constants below say why):

* Boilerplate is learned per group (a task), on both sides: a window held by many distinct texts
  of one group (:func:`boilerplate_holders`) is how that task is written (a prompt template, a
  question stem, a template followed by a popular first option), never evidence. On the reference
  side a window held by many texts of several groups (:func:`boilerplate_holders` of all the
  references) is boilerplate too: one template shared by a family of small tasks (MMedLM's prompt
  over six languages' test sets of a few questions each), which no single task holds often enough. A reference's
  tokens under its group's boilerplate windows are not *informative*; a text's tokens under its
  group's boilerplate windows cover nothing (a window that is template but for its last token is
  no evidence either way).
* A (text, reference) pair leaks when the reference's informative tokens covered by the windows it
  shares with that one text (boilerplate of neither group) number at least :data:`MIN_TOKENS` and
  are at least :data:`MIN_SHARE` of its informative tokens (Llama 2's token coverage rather than
  GPT-3's single colliding 13-gram, which calls a shared template plus one option a leak).
* A reference equal to the text once normalized leaks when it has :data:`MIN_TOKENS` informative
  tokens ("1." never does); a reference shorter than the window leaks when its whole token run is
  contained in the text and it has :data:`MIN_TOKENS` tokens.

Each :class:`Match` carries its evidence: the covered share and the longest run of shared
reference tokens (:attr:`Match.span`).

Nothing runs per token in Python: a chunk's lower-cased texts are encoded into one UTF-8 buffer and
split into ``\\w+`` tokens there with numpy (byte classes, and for non-ASCII text a code point table
taken from Python's own ``re``, so the tokens are exactly those of :func:`tokens`; text of few tokens
per byte, such as Chinese, is split by ``re`` itself), each token is hashed from its bytes, and a
window's hash is a polynomial of its tokens' hashes read off one prefix sum. Boilerplate on the
streamed side and coverage are computed on the windows found in the index only. The hashes are a
fixed function of the text (never Python's per-process ``hash()``), so every process, a build's
workers included, finds the same matches.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice

import numpy as np

_IDEOGRAPHS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0002fa1f"
"""Kana and CJK ideographs. Chinese and Japanese are written without spaces, so each of these characters is a token
(as sacrebleu's zh tokenizer splits them): as a run of word characters, a whole Chinese clause would be one token,
and a copied Chinese question could never reach :data:`MIN_TOKENS`. Hangul is written with spaces: it stays in words."""
_WORD = re.compile(f"[{_IDEOGRAPHS}]|[^\\W{_IDEOGRAPHS}]+")
NGRAM = 13
"""Super-NaturalInstructions' and GPT-3's contamination window."""
MIN_TOKENS = 8
"""Informative reference tokens a text must cover before anything counts, an equal text included. Under 8
words, shared text is a common phrase, a heading or a list number ("1.", "Methods.", "Case report.") as often
as a copied instance; 8 is also where a whole short question ("which enzyme is inhibited by aspirin in
platelets") starts to name one fact (PaLM's contamination n-gram is 8 tokens)."""
MIN_SHARE = 0.5
"""Share of a reference's informative tokens the shared windows must cover: most of the test instance is in
the training text (open-instruct's and cosmopedia's match ratio; Llama 2 calls over 80% dirty and under 20%
clean). A test question's template, stem and first option shared with another question's stay far under."""
BOILERPLATE_FLOOR = 5
"""A window held by this many distinct texts of a small group can be boilerplate; four questions sharing one
passage (reading comprehension) are still content."""
SPAN_TOKENS = 20
"""Tokens of evidence a match shows before "...": enough to recognize the text in a message."""
CHUNK = 20_000


def boilerplate_holders(instances: int) -> int:
    """Distinct texts of one group (task) of ``instances`` texts that make a window that group's boilerplate.

    ceil(sqrt(instances)), at least :data:`BOILERPLATE_FLOOR`: a share that shrinks as the task grows. In a
    40-instance task 7 holders (a template is held by all 40); in a 13K-instance task 115, where a fixed
    share (the old 1% of all test texts: 130 and more) misses a template followed by a frequent first option,
    while a passage or case copied into a few questions stays content. The windows that stay under it are
    never long enough alone to reach :data:`MIN_SHARE` of a question.
    """
    return int(_limits(np.array([instances]))[0])


def _limits(sizes: np.ndarray) -> np.ndarray:
    """:func:`boilerplate_holders` of each group size."""
    return np.maximum(BOILERPLATE_FLOOR, np.ceil(np.sqrt(sizes.astype(np.float64)))).astype(np.int64)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, each kana or CJK ideograph alone: the normalization both sides share."""
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


_OTHER, _IN_WORD, _ALONE = 0, 1, 2


@lru_cache(maxsize=1)
def _word_code_points() -> np.ndarray:
    """Code point -> its kind in :data:`_WORD`: no word character, in a run of them, or a token alone (a kana or an
    ideograph), as Python's ``re`` matches them (built once per process, on the first non-ASCII text)."""
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    table = np.zeros(0x110000, dtype=np.uint8)
    for match in _WORD.finditer(every):
        table[match.start() : match.end()] = _IN_WORD if match.end() - match.start() > 1 or \
            not re.fullmatch(f"[{_IDEOGRAPHS}]", match.group()) else _ALONE
    return table


def _word_bytes(data: np.ndarray, ascii_only: bool) -> np.ndarray:
    """For each byte of lower-cased UTF-8 ``data``: 0 outside tokens; inside one, a value its bytes share and its
    neighbours' do not (1 in a run of ``\\w`` characters; 2 or 3, alternating, for a kana or ideograph, a token alone)."""
    word = data - np.uint8(97) < 26  # ASCII \w is [0-9A-Za-z_], and A-Z are lower-cased already
    word |= data - np.uint8(48) < 10
    word |= data == 95
    word = word.view(np.uint8)
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
    alone = np.flatnonzero(flags == _ALONE)
    if alone.size:  # neighbouring ideographs differ in value, so that each is a token
        flags[alone] += (np.arange(alone.size) & 1).astype(np.uint8)
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
    kind = _word_bytes(np.frombuffer(blob, dtype=np.uint8), ascii_only)
    changes = np.zeros(kind.size, dtype=bool)
    np.not_equal(kind[1:], kind[:-1], out=changes[1:])
    edges = np.flatnonzero(changes)  # the buffer starts and ends with NUL: as many token starts as ends
    if ascii_only:  # a byte is in a token or not (no ideograph): the edges alternate, a start then an end
        starts, ends = edges[0::2], edges[1::2]
    else:
        starts, ends = edges[kind[edges] != _OTHER], edges[kind[edges - 1] != _OTHER]
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

EQUAL = "has the same normalized input as"
CONTAINED = "is contained in"


@dataclass(frozen=True)
class Match:
    """A text that leaks a reference: positions on both sides, how, and the evidence."""

    text: int
    """Position of the streamed text (a training input)."""
    reference: int
    """Position of the reference text (a test input)."""
    how: str
    """:data:`EQUAL`, :data:`CONTAINED`, or "shares a 13-gram with" (coverage by shared windows)."""
    share: float
    """Share of the reference's informative tokens covered by what the two texts share (1.0: all)."""
    covered: int
    """Informative reference tokens covered."""
    informative: int
    """Informative tokens of the reference (those under its task's boilerplate are not)."""
    source: str = field(repr=False, compare=False)
    run: tuple[int, int] = field(repr=False, compare=False)
    """The longest run of shared reference tokens, as token positions in ``source``."""

    @property
    def span(self) -> str:
        """The longest run of shared reference tokens, normalized, cut after :data:`SPAN_TOKENS` with "..."."""
        words = tokens(self.source)[self.run[0] : self.run[1]]
        return " ".join(words[:SPAN_TOKENS]) + (" ..." if len(words) > SPAN_TOKENS else "")


class _Windows:
    """Reference-side hashes (windows, or whole texts), sorted, each with the token it starts at and its text.

    With ``limits``, the windows held by at least ``limits[group]`` distinct texts (by whole-text hash) of one
    group are that group's boilerplate, and those held by ``shared_limit`` distinct texts of two groups or more
    are everyone's: left out, their start tokens kept in ``boilerplate``.
    """

    def __init__(self, hashes: np.ndarray, starts: np.ndarray, owners: np.ndarray, *, texts: np.ndarray | None = None,
                 groups: np.ndarray | None = None, limits: np.ndarray | None = None, shared_limit: int = 0):
        order = np.argsort(hashes)
        hashes, starts, owners = hashes[order], starts[order], owners[order]
        self.boilerplate = np.empty(0, np.int64)
        repeated = np.flatnonzero(hashes[1:] == hashes[:-1])
        if repeated.size:  # the holders of one window in a fixed order (argsort is not stable, lexsort is slow)
            runs = np.unique(np.concatenate([repeated, repeated + 1]))
            run_hashes, run_owners, run_starts = hashes[runs], owners[runs], starts[runs]
            if limits is None:
                inner = np.lexsort((run_starts, run_hashes))
            else:  # by group, then by text: one pass counts each group's distinct holders
                inner = np.lexsort((run_starts, texts[run_owners], groups[run_owners], run_hashes))
            run_owners, run_starts = run_owners[inner], run_starts[inner]
            owners[runs], starts[runs] = run_owners, run_starts
            if limits is not None:
                boilerplate = _many(run_hashes, groups[run_owners], texts[run_owners], limits)
                if shared_limit:
                    boilerplate |= _shared(run_hashes, groups[run_owners], texts[run_owners], shared_limit)
                if boilerplate.any():
                    self.boilerplate = run_starts[boilerplate]
                    keep = np.ones(hashes.size, dtype=bool)
                    keep[runs[boilerplate]] = False
                    hashes, starts, owners = hashes[keep], starts[keep], owners[keep]
        self.keys, self.starts, self.owners = hashes, starts, owners
        # a first filter: a bit per value of a hash's top bits, 64 to 128 of them per key (at most 64 MiB); a
        # byte per value while that fits in the CPU's cache (one step where a bit takes five)
        bits = min(max(int(self.keys.size).bit_length() + 6, 10), 29)
        self.shift = np.uint64(64 - bits)
        self.packed = bits > 20
        top = self.keys >> self.shift
        if not self.packed:
            self.filter = np.zeros(1 << bits, dtype=bool)
            self.filter[top] = True
        else:  # the keys are sorted, so are their bytes of the filter: OR each byte's bits together
            self.filter = np.zeros(1 << (bits - 3), dtype=np.uint8)
            byte = (top >> np.uint64(3)).astype(np.int64)
            first = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
            self.filter[byte[first]] = np.bitwise_or.reduceat(np.left_shift(np.uint8(1), (top & np.uint64(7)).astype(np.uint8)), first)

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

    def holders(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index into ``values``, entry) for each holder of each of ``values``, which are keys."""
        left = np.searchsorted(self.keys, values)
        counts = np.searchsorted(self.keys, values, "right") - left
        which = np.repeat(np.arange(values.size), counts)
        entries = np.arange(int(counts.sum())) + np.repeat(left - (np.cumsum(counts) - counts), counts)
        return which, entries


def _many(hashes: np.ndarray, groups: np.ndarray, texts: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """For rows sorted by (hash, group, text): whether their (hash, group) holds ``limits[group]`` distinct texts."""
    new = np.ones(hashes.size, dtype=bool)
    new[1:] = (hashes[1:] != hashes[:-1]) | (groups[1:] != groups[:-1])
    distinct = new.copy()
    distinct[1:] |= texts[1:] != texts[:-1]
    firsts = np.flatnonzero(new)
    counts = np.add.reduceat(distinct.astype(np.int64), firsts)
    return np.repeat(counts >= limits[groups[firsts]], np.diff(np.r_[firsts, hashes.size]))


def _shared(hashes: np.ndarray, groups: np.ndarray, texts: np.ndarray, limit: int) -> np.ndarray:
    """For rows sorted by (hash, group, text): whether their hash is held by ``limit`` distinct (group, text) pairs of
    two groups or more."""
    new = np.ones(hashes.size, dtype=bool)
    new[1:] = hashes[1:] != hashes[:-1]
    distinct = new.copy()
    distinct[1:] |= (groups[1:] != groups[:-1]) | (texts[1:] != texts[:-1])
    another = np.zeros(hashes.size, dtype=bool)
    another[1:] = ~new[1:] & (groups[1:] != groups[:-1])
    firsts = np.flatnonzero(new)
    counts = np.add.reduceat(distinct.astype(np.int64), firsts)
    spread = np.add.reduceat(another.astype(np.int64), firsts) > 0
    return np.repeat((counts >= limit) & spread, np.diff(np.r_[firsts, hashes.size]))


def _group_ids(groups: Sequence[Hashable] | None, count: int) -> np.ndarray:
    """Each text's group as a small integer (all 0 without groups)."""
    if groups is None:
        return np.zeros(count, np.int64)
    if len(groups) != count:
        raise ValueError(f"{len(groups)} groups for {count} texts; give one group per text")
    table: dict[Hashable, int] = {}
    return np.fromiter((table.setdefault(group, len(table)) for group in groups), dtype=np.int64, count=count)


class OverlapIndex:
    """An index of reference texts (test instances) to find the other texts (training inputs) that leak them.

    ``groups``: each reference's group (its task; any hashable, None: one group), whose boilerplate is learned
    from its own texts.
    """

    def __init__(self, references: Sequence[str], *, size: int = NGRAM, groups: Sequence[Hashable] | None = None):
        self.size = size
        self._references = list(references)
        count = len(self._references)
        group_ids = _group_ids(groups, count)
        whole: list[np.ndarray] = [np.empty(0, np.uint64)]
        lengths: list[np.ndarray] = [np.empty(0, np.int64)]
        window_hashes, window_starts, window_owners = [np.empty(0, np.uint64)], [np.empty(0, np.int64)], [np.empty(0, np.int64)]
        base = 0
        for start in range(0, count, CHUNK):
            tokenized = _Tokenized(self._references[start : start + CHUNK])
            whole.append(tokenized.texts())
            lengths.append(tokenized.lengths())
            hashes = tokenized.windows(size)
            owners = np.repeat(np.arange(start, start + tokenized.offsets.size - 1), tokenized.lengths())[: hashes.size]
            at = np.arange(hashes.size)
            inside = at + size <= tokenized.offsets[owners - start + 1]
            window_hashes.append(hashes[inside])
            window_starts.append(at[inside] + base)
            window_owners.append(owners[inside])
            base += tokenized.size
        whole_hashes = np.concatenate(whole)
        token_counts = np.concatenate(lengths)
        self._offsets = np.zeros(count + 1, np.int64)  # reference i's tokens: offsets[i] to offsets[i + 1]
        np.cumsum(token_counts, out=self._offsets[1:])
        self.windows = _Windows(np.concatenate(window_hashes), np.concatenate(window_starts), np.concatenate(window_owners),
                                texts=whole_hashes, groups=group_ids, limits=_limits(np.bincount(group_ids)),
                                shared_limit=boilerplate_holders(count))
        # informative tokens: those under none of their group's boilerplate windows (counted before each token)
        self._informative_before = _uncovered(self.windows.boilerplate, base, size)
        self._informative = np.diff(self._informative_before[self._offsets])
        # whole texts: equal ones with enough informative tokens, and short ones that may be contained in a text
        enough = np.flatnonzero(self._informative >= MIN_TOKENS)
        self.exact = _Windows(whole_hashes[enough], self._offsets[enough], enough)
        short = np.flatnonzero((token_counts >= MIN_TOKENS) & (token_counts < size))
        self.short = {length: _Windows(whole_hashes[these], self._offsets[these], these)
                      for length in dict.fromkeys(token_counts[short].tolist())  # in the order of their first reference
                      for these in [short[token_counts[short] == length]]}

    @property
    def shares(self) -> str:
        """How a match by shared windows is named."""
        return f"shares a {self.size}-gram with"

    def informative(self, position: int) -> int:
        """Informative tokens of reference ``position``: those under none of its group's boilerplate windows."""
        return int(self._informative[position])

    def matches(self, texts: Iterable[str], groups: Iterable[Hashable] | None = None) -> Iterator[Match]:
        """Each (text, reference) pair that leaks, in chunks of :data:`CHUNK` texts, by text then reference.

        ``groups``: each text's group (its task; None: one group), whose boilerplate is learned within each chunk.
        Texts are read a chunk at a time, never all at once.
        """
        texts = iter(texts)
        group_of = iter(groups) if groups is not None else None
        start = 0
        while chunk := list(islice(texts, CHUNK)):
            chunk_groups = None if group_of is None else list(islice(group_of, len(chunk)))
            yield from self._chunk(chunk, start, _group_ids(chunk_groups, len(chunk)))
            start += len(chunk)

    def _chunk(self, chunk: list[str], start: int, groups: np.ndarray) -> Iterator[Match]:
        tokenized = _Tokenized(chunk)
        whole = tokenized.texts()
        limits = _limits(np.bincount(groups))
        found: dict[tuple[int, int], Match] = {}
        references = self._references

        hit = self.exact.find(whole)
        if hit.size:
            which, entries = self.exact.holders(whole[hit])
            normalized: dict[int, str] = {}
            for offset, position in zip(hit[which].tolist(), self.exact.owners[entries].tolist()):
                # an equal hash is all but surely an equal text: make sure
                text = normalized.get(offset)
                if text is None:
                    text = normalized[offset] = " ".join(tokens(chunk[offset]))
                if text == " ".join(tokens(references[position])):
                    informative = int(self._informative[position])
                    length = int(self._offsets[position + 1] - self._offsets[position])
                    found[offset, position] = Match(start + offset, position, EQUAL, 1.0, informative, informative,
                                                    references[position], (0, length))

        hashes = tokenized.windows(self.size)
        hit = self.windows.find(hashes)
        hit, template = self._evidence(tokenized, hit[tokenized.inside(hit, self.size)], hashes, whole, groups, limits)
        # the texts' tokens under their group's boilerplate windows cover nothing, as the references' do not count
        plain = _uncovered(template, tokenized.size, self.size) if template.size else None
        if hit.size:
            for offset, position, covered, run in self._covered(tokenized, hit, hashes, plain):
                if (offset, position) not in found:
                    informative = int(self._informative[position])
                    found[offset, position] = Match(start + offset, position, self.shares, covered / informative,
                                                    covered, informative, references[position], run)

        for length, windows in self.short.items():
            values = tokenized.windows(length)
            hit = windows.find(values)
            hit, _ = self._evidence(tokenized, hit[tokenized.inside(hit, length)], values, whole, groups, limits)
            if not hit.size:
                continue
            which, entries = windows.holders(values[hit])
            at = hit[which]
            covered = np.full(at.size, length) if plain is None else plain[at + length] - plain[at]
            for offset, position, count in zip(tokenized.owners(at).tolist(), windows.owners[entries].tolist(),
                                               covered.tolist()):
                best = found.get((offset, position))
                if (count >= MIN_TOKENS and count >= MIN_SHARE * length
                        and (best is None or best.how == CONTAINED and best.covered < count)):
                    found[offset, position] = Match(start + offset, position, CONTAINED, count / length, count, length,
                                                    references[position], (0, length))
        for key in sorted(found):
            yield found[key]

    def _evidence(self, tokenized: _Tokenized, hit: np.ndarray, values: np.ndarray, whole: np.ndarray,
                  groups: np.ndarray, limits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(evidence, boilerplate): the found windows ``hit`` split by whether they are boilerplate of their text's group.

        Every text of the chunk holding a window that is a key was found: counting the found ones counts them all.
        """
        if hit.size < BOILERPLATE_FLOOR:  # too few to be anyone's boilerplate (the common case)
            return hit, hit[:0]
        owners = tokenized.owners(hit)
        texts, these_groups = whole[owners], groups[owners]
        order = np.lexsort((texts, these_groups, values[hit]))
        boilerplate = np.empty(hit.size, dtype=bool)
        boilerplate[order] = _many(values[hit][order], these_groups[order], texts[order], limits)
        return hit[~boilerplate], hit[boilerplate]

    def _covered(self, tokenized: _Tokenized, hit: np.ndarray, hashes: np.ndarray,
                 plain: np.ndarray | None) -> Iterator[tuple[int, int, int, tuple[int, int]]]:
        """(text offset, reference, informative tokens covered, longest run) for each pair that leaks.

        ``plain``: the texts' tokens outside their boilerplate windows, counted before each token (None: all are).
        """
        size = self.size
        which, entries = self.windows.holders(hashes[hit])
        at = hit[which]
        texts = tokenized.owners(at)
        references = self.windows.owners[entries]
        starts = self.windows.starts[entries]
        order = np.lexsort((starts, references, texts))
        texts, references, starts, at = texts[order], references[order], starts[order], at[order]
        new_pair = np.ones(texts.size, dtype=bool)
        new_pair[1:] = (texts[1:] != texts[:-1]) | (references[1:] != references[:-1])
        # windows all have ``size`` tokens: sorted by start, each adds what lies past the end of the one before
        reach = np.empty_like(starts)
        reach[0] = starts[0]
        reach[1:] = starts[:-1] + size
        lower = np.minimum(np.where(new_pair, starts, np.maximum(starts, reach)), starts + size)
        before = self._informative_before
        firsts = np.flatnonzero(new_pair)
        covered = np.add.reduceat(before[starts + size] - before[lower], firsts)
        pair_references = references[firsts]
        informative = self._informative[pair_references]
        leaks = (covered >= MIN_TOKENS) & (covered >= MIN_SHARE * informative)
        if plain is not None and leaks.any():
            # a window touching the text's boilerplate covers only the reference tokens facing the rest: counted
            # token by token, for the pairs that may leak (what the windows cover above is then an upper bound)
            touching = np.add.reduceat((plain[at + size] - plain[at] < size).astype(np.int64), firsts) > 0
            ends = np.r_[firsts[1:], texts.size]
            steps = np.arange(size)
            free = np.diff(plain) > 0
            for pair in np.flatnonzero(leaks & touching).tolist():
                these = slice(firsts[pair], ends[pair])
                text_tokens = at[these, None] + steps
                reference_tokens = starts[these, None] + steps
                kept = free[text_tokens] & (before[reference_tokens + 1] > before[reference_tokens])
                covered[pair] = np.unique(reference_tokens[kept]).size
            leaks &= (covered >= MIN_TOKENS) & (covered >= MIN_SHARE * informative)
        if not leaks.any():
            return
        # the longest run of shared reference tokens of each pair that leaks: windows that touch or overlap
        new_run = new_pair | (starts > reach)
        run_firsts = np.flatnonzero(new_run)
        run_pair = np.cumsum(new_pair)[run_firsts] - 1
        run_start = starts[run_firsts]
        run_end = np.maximum.reduceat(starts + size, run_firsts)
        longest = np.lexsort((run_start - run_end, run_pair))  # per pair, the longest run first
        first_of_pair = longest[np.r_[True, run_pair[longest][1:] != run_pair[longest][:-1]]]
        offsets = self._offsets
        for pair in np.flatnonzero(leaks).tolist():
            run = first_of_pair[pair]
            reference = int(pair_references[pair])
            base = int(offsets[reference])
            yield (int(texts[firsts[pair]]), reference, int(covered[pair]),
                   (int(run_start[run]) - base, int(run_end[run]) - base))


def _uncovered(windows: np.ndarray, tokens: int, size: int) -> np.ndarray:
    """For ``tokens`` tokens and windows of ``size`` starting at ``windows``: how many tokens before each (of
    ``tokens + 1`` positions) lie under none of them."""
    edges = np.bincount(windows, minlength=tokens + size + 1)
    edges[size:] -= edges[: edges.size - size].copy()
    counts = np.zeros(tokens + 1, np.int64)
    np.cumsum(np.cumsum(edges[:tokens]) == 0, out=counts[1:])
    return counts
