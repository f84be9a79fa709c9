"""ROUGE-L exactly as the ``rouge`` package (pypi ``rouge`` 1.0.1) computes it, with a fast LCS.

The MedS-Bench scripts call ``Rouge().get_scores(hypothesis, reference)[0]["rouge-l"]["f"]`` (on
the raw texts, or on space-joined jieba / janome tokens). That is the summary-level ROUGE-L with the package's own rules, kept here
because the published numbers depend on them:

* both texts are cut into "sentences" at every "." and each piece's whitespace collapsed
  (a piece of spaces only survives as the empty word "");
* word counts are counts of *distinct* words;
* per reference sentence, the union (a set of words) of its LCS with each hypothesis sentence
  is added to a running union; the score counts the words each sentence newly adds;
* F = 2PR / (P + R + 1e-8).

The package builds its LCS table as a Python dict cell by cell, then reconstructs the LCS
recursively (so a long text raises RecursionError). Here each table row is one bit vector
(``_lcs_words``) and the LCS is reconstructed with the package's exact tie-breaking,
iteratively; a reference's sentences are split once per process (``_reference``).
``tests/test_metrics.py`` checks equality with the package on random texts.
"""

from __future__ import annotations

import functools


def _sentences(text: str) -> list[str]:
    return [" ".join(piece.split()) for piece in text.split(".") if len(piece) > 0]


def _positions(words: list[str]) -> dict[str, int]:
    """Bit masks of each word's positions in ``words`` (bit j: word j), for the bit-parallel LCS."""
    masks: dict[str, int] = {}
    for position, word in enumerate(words):
        masks[word] = masks.get(word, 0) | (1 << position)
    return masks


def _lcs_words(reference: list[str], hypothesis: list[str], positions: dict[str, int]) -> set[str]:
    """The words of the LCS of the two word lists that ``rouge.rouge_score._recon_lcs`` reconstructs.

    The table is computed one reference word at a time as a bit vector over the hypothesis
    (Hyyro's bit-parallel LCS: row i holds a 0 bit where table[i][j + 1] exceeds table[i][j], so
    table[i][j] = j - popcount(row_i & (2**j - 1))); the walk back then reads the few cells it
    needs with the package's tie-breaking: diagonal on a match, else up when strictly greater,
    else left.
    """
    m = len(hypothesis)
    if not reference or m == 0:
        return set()
    full = (1 << m) - 1
    rows = [full]
    row = full
    for word in reference:
        matches = row & positions.get(word, 0)
        row = ((row + matches) | (row - matches)) & full
        rows.append(row)
    words: set[str] = set()
    i, j = len(reference), m
    while i > 0 and j > 0:
        if reference[i - 1] == hypothesis[j - 1]:
            words.add(reference[i - 1])
            i, j = i - 1, j - 1
            continue
        below = (1 << (j - 1)) - 1
        up = j - (rows[i - 1] & (below | (1 << (j - 1)))).bit_count()
        left = j - 1 - (rows[i] & below).bit_count()
        if up > left:
            i -= 1
        else:
            j -= 1
    return words


@functools.lru_cache(maxsize=1 << 14)
def _reference(text: str) -> tuple[tuple[list[str], ...], int]:
    """A reference's sentences as word lists and its number of distinct words: every model's outputs share them."""
    sentences = tuple(sentence.split(" ") for sentence in _sentences(text))
    return sentences, len({word for words in sentences for word in words})


def rouge_l(hypothesis: str, reference: str) -> dict[str, float]:
    """{"f", "p", "r"} of the ``rouge`` package's ROUGE-L; ValueError for an empty text, as the package."""
    hypothesis_sentences, (reference_sentences, reference_words) = _sentences(hypothesis), _reference(reference)
    if not hypothesis_sentences or not reference_sentences:
        raise ValueError("Collections must contain at least 1 sentence.")
    hypothesis_words = len({word for sentence in hypothesis_sentences for word in sentence.split(" ")})
    candidates = [sentence.split(" ") for sentence in hypothesis_sentences]
    vocabularies = [set(words) for words in candidates]
    positions: list[dict[str, int] | None] = [None] * len(candidates)  # made when an LCS is needed
    union: set[str] = set()
    overlap = 0
    for words in reference_sentences:
        before = len(union)
        for index, candidate in enumerate(candidates):
            if union.issuperset(vocabularies[index].intersection(words)):
                continue  # the LCS's words are shared words: none it could add is new
            if words == candidate:
                union |= vocabularies[index]
                continue
            if positions[index] is None:
                positions[index] = _positions(candidate)
            union |= _lcs_words(words, candidate, positions[index])  # type: ignore[arg-type]
        overlap += len(union) - before
    recall, precision = overlap / reference_words, overlap / hypothesis_words
    return {"f": 2.0 * ((precision * recall) / (precision + recall + 1e-8)), "p": precision, "r": recall}
