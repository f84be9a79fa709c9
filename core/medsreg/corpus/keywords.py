"""The seed's medical keyword filter (SEEDS.md §5), as MMedC filtered CulturaX.

A text is kept when it holds at least ``H`` distinct keywords of its language and
``sum(count x len(keyword)) / len(text) >= R``. Keywords are lower-cased; the text is matched
lower-cased and ``len(text)`` is the length of the original text, in characters. The keyword
lists are MMedLM's own (``keywords.py`` of https://github.com/MAGIC-AI4Med/MMedLM, CC BY-SA),
shipped by the ``medsreg-mmedc`` plugin, one keyword a line, with their attribution.

* **Long** keywords (more than 10 characters, or more than 5 with several words) match as
  substrings: ``text.count(keyword)``, occurrences that do not overlap, counted left to right.
* **Short** keywords match as whole tokens. In the space-delimited languages a token is what
  ``str.split()`` gives: a run of characters between whitespace, punctuation included, so
  ``fever,`` is not the keyword ``fever``. This is the matching MMedC's thresholds were tuned
  with (its released filter splits on whitespace), so the thresholds keep their meaning; a short
  keyword of several words matches that run of whole tokens (MMedLM's filter never finds one,
  since no whitespace token holds a space; its lists have none).
* **Chinese and Japanese** are not written with spaces, so whitespace tokens do not exist there.
  medsreg takes every Han, kana and other non-spaced character as a token of its own (as
  character-level tokenization of Chinese does): a keyword written in those characters then
  matches wherever its characters stand in a row, which is substring matching, as MMedC's filter
  meant for them. Only where a keyword starts or ends with a letter or digit of a spaced script
  (``CT``, ``HIV``) does the neighbouring character need to be no such letter or digit, so that
  ``ct`` is not found inside ``doctor``. Dictionary segmenters (jieba, MeCab) were left out: they
  run at a few MB/s, an order of magnitude under this filter, and their tokens depend on their
  dictionaries' versions.

**Against MMedLM's own filter** (``MedicalTextFilter.match_keywords`` in
``data_collection/filtering/filter.py``, commit 9722bb79b344560c5958708bbc93b8b75774315b), run on
400 texts per language built near the thresholds with MMedLM's lists: the same decision on all of
them in English, Spanish, Russian and Chinese, on 397 in French and 389 in Japanese. medsreg
differs on purpose in two places, which account for every disagreement seen:

* **A keyword counts once.** MMedLM's ``load_keywords`` removes repeats before it lower-cases, so a
  keyword its two lists spell differently is counted twice: French ``SIDA`` and ``Sida``, so the
  token ``sida`` adds two distinct hits and twice its length there. ``H`` counts distinct keywords
  (SEEDS.md §5) and the list file holds each keyword once, so medsreg counts it once (3 of the 400
  French texts, all holding ``sida``).
* **Chinese and Japanese texts are lower-cased too.** MMedLM's filter cannot be run as released
  for these languages: ``filter_file`` calls ``match_keywords`` with ``en_like=True``, whose
  whitespace tokens keep no text written without spaces, and the ``en_like=False`` branch meant
  for them iterates the (long, short) pair of lists and raises ``TypeError``; what MMedC ran is not
  published. Repaired to iterate the keywords, that branch counts ``text.count(keyword)`` as here,
  but in the text as written while its keywords are lower-cased, so the Japanese list's ``DNA``,
  ``RNA`` and ``HIV`` would only be found spelled in lower case. medsreg finds them as written
  (11 of the 400 Japanese texts); the Latin boundary above concerns only these three with
  MMedLM's lists (``mRNA`` holds no hit for ``RNA`` in either filter).

All keywords of a language are found in one pass with an Aho-Corasick automaton (pyahocorasick),
instead of one ``str.count`` per keyword: the cost does not grow with the list.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from medsreg.errors import MedsregError

THRESHOLDS: dict[str, tuple[int, float]] = {
    "en": (5, 0.04),
    "zh": (5, 0.05),
    "ja": (5, 0.05),
    "ru": (4, 0.02),
    "es": (4, 0.04),
    "fr": (4, 0.04),
}
"""The seed's (H, R) per language: distinct keyword hits, and keyword characters per text character."""

UNSPACED = frozenset({"zh", "ja"})
"""Languages written without spaces between words: every character of theirs is a token (see above)."""


def is_long(keyword: str) -> bool:
    """The seed's rule: more than 10 characters, or more than 5 with several words, match as substrings."""
    return len(keyword) > 10 or (len(keyword) > 5 and len(keyword.split()) > 1)


def _spaced_word_char(char: str) -> bool:
    """A letter or digit of a script written with spaces between words (Latin, Cyrillic, Greek ...)."""
    if not char.isalnum():
        return False
    if ord(char) < 0x2E80:
        return True
    name = unicodedata.name(char, "")
    return not name.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "HALFWIDTH KATAKANA"))


def read_keywords(path: str | Path) -> list[str]:
    """Keywords of a UTF-8 file, one a line; blank lines and lines starting with '#' are skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MedsregError(f"keyword list {path} does not exist") from None
    except UnicodeDecodeError as error:
        raise MedsregError(f"keyword list {path} is not UTF-8 (byte {error.start})") from None
    keywords = [line.strip() for line in text.splitlines()]
    keywords = [line for line in keywords if line and not line.startswith("#")]
    if not keywords:
        raise MedsregError(f"keyword list {path} holds no keyword (one a line)")
    return keywords


@dataclass(frozen=True)
class Verdict:
    """What the filter found in one text."""

    keep: bool
    distinct: int
    """Distinct keywords found."""
    ratio: float
    """sum(count x len(keyword)) / len(text)."""
    counts: dict[str, int] = field(default_factory=dict, compare=False)


class KeywordFilter:
    """The filter of one language: its keywords and thresholds. Picklable (the automaton is built on first use)."""

    def __init__(self, language: str, keywords: Iterable[str], min_hits: int | None = None, min_ratio: float | None = None):
        if (min_hits is None or min_ratio is None) and language not in THRESHOLDS:
            known = ", ".join(THRESHOLDS)
            raise MedsregError(f"the seed gives no keyword thresholds for language {language!r} (it gives {known}); "
                               "pass --min-hits and --min-ratio")
        default_hits, default_ratio = THRESHOLDS.get(language, (0, 0.0))
        self.language = language
        self.keywords = tuple(sorted({keyword.strip().lower() for keyword in keywords if keyword.strip()}))
        if not self.keywords:
            raise MedsregError(f"the keyword list of language {language!r} is empty")
        self.min_hits = default_hits if min_hits is None else min_hits
        self.min_ratio = default_ratio if min_ratio is None else min_ratio
        self.unspaced = language in UNSPACED
        self._automaton = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_automaton": None}

    def _build(self):
        import ahocorasick

        automaton = ahocorasick.Automaton()
        for index, keyword in enumerate(self.keywords):
            if self.unspaced:
                # substring, but a spaced-script letter or digit at an end needs a boundary there
                mode = (_spaced_word_char(keyword[0]), _spaced_word_char(keyword[-1]), "alnum")
            elif is_long(keyword):
                mode = (False, False, "")
            else:
                mode = (True, True, "space")
            automaton.add_word(keyword, (index, len(keyword), *mode))
        automaton.make_automaton()
        self._automaton = automaton
        return automaton

    def counts(self, text: str) -> dict[str, int]:
        """Occurrences of each keyword found in ``text`` (as the rules above count them)."""
        automaton = self._automaton or self._build()
        lowered = text.lower()
        size = len(lowered)
        found: dict[int, int] = {}
        last_end: dict[int, int] = {}
        for end, (index, length, left, right, kind) in automaton.iter(lowered):
            start = end - length + 1
            if left and start > 0:
                before = lowered[start - 1]
                if (not before.isspace()) if kind == "space" else _spaced_word_char(before):
                    continue
            if right and end + 1 < size:
                after = lowered[end + 1]
                if (not after.isspace()) if kind == "space" else _spaced_word_char(after):
                    continue
            if start < last_end.get(index, 0):
                continue  # overlaps the previous occurrence of the same keyword: str.count skips it
            last_end[index] = end + 1
            found[index] = found.get(index, 0) + 1
        return {self.keywords[index]: count for index, count in found.items()}

    def verdict(self, text: str) -> Verdict:
        counts = self.counts(text) if text else {}
        weight = sum(count * len(keyword) for keyword, count in counts.items())
        ratio = weight / len(text) if text else 0.0
        return Verdict(len(counts) >= self.min_hits and ratio >= self.min_ratio, len(counts), ratio, counts)

    def keep(self, text: str) -> bool:
        return self.verdict(text).keep
