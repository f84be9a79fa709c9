"""ROUGE-L exactly as the ``rouge`` package (pypi ``rouge`` 1.0.1) computes it, with a fast LCS.

The MedS-Bench scripts call ``Rouge().get_scores(hypothesis, reference)[0]["rouge-l"]["f"]`` on
space-joined tokens. That is the summary-level ROUGE-L with the package's own rules, kept here
because the published numbers depend on them:

* both texts are cut into "sentences" at every "." and each piece's whitespace collapsed
  (a piece of spaces only survives as the empty word "");
* word counts are counts of *distinct* words;
* per reference sentence, the union (a set of words) of its LCS with each hypothesis sentence
  is added to a running union; the score counts the words each sentence newly adds;
* F = 2PR / (P + R + 1e-8).

The package builds its LCS table as a Python dict cell by cell, then reconstructs the LCS
recursively (so a long text raises RecursionError). Here each table row is computed with
numpy (``row = maximum.accumulate(max(up, diagonal + match))``) and the LCS is reconstructed
with the package's exact tie-breaking (diagonal on a match, else up when strictly greater,
else left), iteratively. ``tests/test_metrics.py`` checks equality with the package.
"""

from __future__ import annotations

import numpy as np


def _sentences(text: str) -> list[str]:
    return [" ".join(piece.split()) for piece in text.split(".") if len(piece) > 0]


_NUMPY_CELLS = 2_500
"""Above this many table cells the rows are computed with numpy; below, plain lists are faster (no call overhead)."""


def _lcs_words(reference: list[str], hypothesis: list[str]) -> set[str]:
    """The words of the LCS of the two word lists that ``rouge.rouge_score._recon_lcs`` reconstructs."""
    n, m = len(reference), len(hypothesis)
    if n == 0 or m == 0:
        return set()
    if n * m <= _NUMPY_CELLS:
        return _lcs_words_small(reference, hypothesis)
    vocabulary: dict[str, int] = {}
    x = np.array([vocabulary.setdefault(word, len(vocabulary)) for word in reference], dtype=np.int64)
    y = np.array([vocabulary.setdefault(word, len(vocabulary)) for word in hypothesis], dtype=np.int64)
    table = np.zeros((n + 1, m + 1), dtype=np.int32)
    for i in range(1, n + 1):
        match = (y == x[i - 1]).astype(np.int32)
        candidates = np.maximum(table[i - 1, 1:], table[i - 1, :-1] + match)
        table[i, 1:] = np.maximum.accumulate(candidates)
    words: set[str] = set()
    i, j = n, m
    while i > 0 and j > 0:
        if x[i - 1] == y[j - 1]:
            words.add(reference[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1, j] > table[i, j - 1]:
            i -= 1
        else:
            j -= 1
    return words


def _lcs_words_small(reference: list[str], hypothesis: list[str]) -> set[str]:
    """``_lcs_words`` with the table in Python lists (short sentences, the common case)."""
    table = [[0] * (len(hypothesis) + 1)]
    for word in reference:
        above, row = table[-1], [0]
        for j, other in enumerate(hypothesis):
            row.append(above[j] + 1 if word == other else max(above[j + 1], row[j]))
        table.append(row)
    words: set[str] = set()
    i, j = len(reference), len(hypothesis)
    while i > 0 and j > 0:
        if reference[i - 1] == hypothesis[j - 1]:
            words.add(reference[i - 1])
            i, j = i - 1, j - 1
        elif table[i - 1][j] > table[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return words


def rouge_l(hypothesis: str, reference: str) -> dict[str, float]:
    """{"f", "p", "r"} of the ``rouge`` package's ROUGE-L; ValueError for an empty text, as the package."""
    hypothesis_sentences, reference_sentences = _sentences(hypothesis), _sentences(reference)
    if not hypothesis_sentences or not reference_sentences:
        raise ValueError("Collections must contain at least 1 sentence.")
    reference_words = len({word for sentence in reference_sentences for word in sentence.split(" ")})
    hypothesis_words = len({word for sentence in hypothesis_sentences for word in sentence.split(" ")})
    hypothesis_split = [sentence.split(" ") for sentence in hypothesis_sentences]
    union: set[str] = set()
    overlap = 0
    for sentence in reference_sentences:
        before = len(union)
        words = sentence.split(" ")
        for candidate in hypothesis_split:
            union |= _lcs_words(words, candidate)
        overlap += len(union) - before
    recall, precision = overlap / reference_words, overlap / hypothesis_words
    return {"f": 2.0 * ((precision * recall) / (precision + recall + 1e-8)), "p": precision, "r": recall}
