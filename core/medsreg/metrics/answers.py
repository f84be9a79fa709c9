"""Answer-matching metrics, medsreg's rules: multiple-choice letters, MMedBench letter sets, and substring accuracies.

Each function scores one instance (``output``, ``reference``) and returns True / False; the
metric is the mean x100 (``accuracy``). These are the corrected rules (``--compat fixed``, the
default); ``official.py`` holds the official scripts' own. docs/metrics.md lists each difference:

* MCQA: the whole set of answer letters (A-E) is compared, and the first word for yes/no/maybe
  items; the scripts compare first characters and accept only a-d (and y/n).
* MMedBench: the letters of "OPTION X IS CORRECT" when the output has that sentence (MMedLM's
  format), else the letters the output starts with ("A,C", as the ``mcqa`` prompt asks).
* Diagnosis / treatment / extraction / verification: an empty reference never matches (the
  scripts count it as a match).
* Verification, NLI, outcome: the label is matched as a word ("no" is not in "nothing"); NLI
  anywhere in the output, but naming one label only.
* Extraction: "None", "N/A", "null" ... answer each other; an empty output answers nothing.
"""

from __future__ import annotations

import re

from medsreg.metrics.official import PANDAS_NA

MCQA_PREFIX = "the right answer is"
_LETTERS = re.compile(r"^\(?([a-e])\)?(?=$|[\s.,:;)\]]|\s*(?:,|and|&|/)\s*\(?[a-e]\b)")
_MORE_LETTERS = re.compile(r"^\s*(?:,|and|&|/)\s*\(?([a-e])\)?(?=$|[\s.,:;)\]])")
_FIRST_WORD = re.compile(r"[^\W_]+")
_OPTION_SENTENCE = re.compile(r"option\s+([a-e](?:\s*,\s*[a-e])*)\s+is\s+correct", re.IGNORECASE)

DIAGNOSIS_PREFIX = "The diagnosis result is"
TREATMENT_PREFIX = "The treatment planning is:"
OUTCOME_WORDS = ("true", "false")
NLI_LABELS = ("entailment", "contradiction", "neutral")


def _after_prefix(text: str) -> str:
    return text.lower().replace(MCQA_PREFIX, "").strip()


def answer_letters(text: str) -> frozenset[str]:
    """The answer letters a text starts with ("C", "(b)", "A, C", "A and E."), after "the right answer is"."""
    rest = _after_prefix(text)
    first = _LETTERS.match(rest)
    if first is None:
        return frozenset()
    letters = {first.group(1)}
    rest = rest[first.end():]
    while (more := _MORE_LETTERS.match(rest)) is not None:
        letters.add(more.group(1))
        rest = rest[more.end():]
    return frozenset(letters)


def mcqa_correct(output: str, reference: str) -> bool:
    expected = answer_letters(reference)
    if expected:
        return answer_letters(output) == expected
    # yes / no / maybe items (PubMedQA): the first word
    want, got = _FIRST_WORD.search(_after_prefix(reference)), _FIRST_WORD.search(_after_prefix(output))
    return want is not None and got is not None and want.group(0) == got.group(0)


def option_letters(text: str) -> frozenset[str] | None:
    """The letters of MMedLM's answer sentence "OPTION A, C IS CORRECT" (its last one), or None."""
    found = _OPTION_SENTENCE.findall(text)
    if not found:
        return None
    return frozenset(letter.strip().lower() for letter in found[-1].split(","))


def mmedbench_letters(text: str) -> frozenset[str]:
    """The answer of an MMedBench output or reference: MMedLM's sentence if there is one, else the leading letters."""
    sentence = option_letters(text)
    return sentence if sentence is not None else answer_letters(text.replace("###Answer:", ""))


def mmedbench_correct(output: str, reference: str) -> bool:
    """MMedBench accuracy: the exact set of answer letters, in whichever of the two formats the task asks for."""
    expected = mmedbench_letters(reference)
    return bool(expected) and mmedbench_letters(output) == expected


def _without(reference: str, prefix: str) -> str:
    return reference.replace(".", "").replace(prefix, "").strip().lower()


def diagnosis_correct(output: str, reference: str) -> bool:
    expected = _without(reference, DIAGNOSIS_PREFIX)
    return bool(expected) and expected in output.lower()


def treatment_correct(output: str, reference: str) -> bool:
    expected = _without(reference, TREATMENT_PREFIX)
    return bool(expected) and expected in output.lower()


def _extraction_text(text: str) -> str:
    return text.strip().lower().replace('"', "").replace("'", "").replace("\n", "")


NO_VALUE = frozenset(word.lower() for word in PANDAS_NA if word)
"""Answers meaning "not stated": pandas reads them all as NaN, which is how the official script equates them."""


def extraction_correct(output: str, reference: str) -> bool:
    """Information extraction: the cleaned reference is a substring of the cleaned output; "None", "N/A", "null" ...
    answer each other, an empty output nothing."""
    expected, given = _extraction_text(reference), _extraction_text(output)
    if expected in NO_VALUE:
        return given in NO_VALUE or expected in given.split()
    return bool(expected) and expected in given


def _has_word(text: str, word: str) -> bool:
    return re.search(rf"(?<![^\W_]){re.escape(word)}(?![^\W_])", text) is not None


def outcome_correct(output: str, reference: str) -> bool:
    """Clinical outcome: the output says the reference word (true / false) and not the other one."""
    expected, text = reference.strip().strip(".").lower(), output.lower()
    if expected not in OUTCOME_WORDS:
        return False
    other = OUTCOME_WORDS[1 - OUTCOME_WORDS.index(expected)]
    return _has_word(text, expected) and not _has_word(text, other)


def verification_correct(output: str, reference: str) -> bool:
    """Fact verification: the reference label, as a word, in the output's first non-empty line."""
    expected = reference.replace(".", "").strip().lower()
    first_line = output.strip().split("\n", 1)[0].lower()
    return bool(expected) and _has_word(first_line, expected)


def nli_correct(output: str, reference: str) -> bool:
    """NLI (MedNLI discriminative): the output names the reference label, as a word, and no other label."""
    expected, text = reference.strip().strip(".").lower(), output.lower()
    if not _has_word(text, expected):
        return False
    return not any(_has_word(text, label) for label in NLI_LABELS if label != expected)
