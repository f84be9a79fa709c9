"""Answer-matching metrics (SEEDS.md §3): multiple-choice letters, MMedBench letter sets, and substring accuracies.

Each function scores one instance (``output``, ``reference``) and returns True / False; the
metric is the mean x100 (``accuracy``). ``official=True`` reproduces the MedS-Bench scripts,
bugs included; the default corrects them (docs/metrics.md lists each difference):

* MCQA: the scripts compare the first character after "the right answer is" and accept only
  a-d (and y/n): an "E" answer never scores and a multi-answer item cannot score. medsreg
  compares the whole set of answer letters (A-E), and the first word for yes/no/maybe items.
* Diagnosis / treatment: the reference, without its "." and its prefix, must be a substring of
  the lower-cased output; an empty reference never matches (the scripts count it as a match).
"""

from __future__ import annotations

import re

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


def mcqa_correct(output: str, reference: str, official: bool = False) -> bool:
    if official:
        expected, given = _after_prefix(reference)[:1], _after_prefix(output)[:1]
        multi = len(answer_letters(reference)) > 1
        return bool(expected) and expected == given and expected in "abcdyn" and not multi
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


def mmedbench_correct(output: str, reference: str, official: bool = False) -> bool:
    """MMedBench accuracy: the exact set of answer letters; a reference without the sentence is read as bare letters."""
    expected = option_letters(reference)
    if expected is None:
        expected = frozenset(part.strip().lower() for part in re.split(r"[,\s]+", reference.strip()) if part.strip())
    given = option_letters(output)
    return given is not None and given == expected


def _without(reference: str, prefix: str) -> str:
    return reference.replace(".", "").replace(prefix, "").strip().lower()


def diagnosis_correct(output: str, reference: str, official: bool = False) -> bool:
    expected = _without(reference, DIAGNOSIS_PREFIX)
    return (official or bool(expected)) and expected in output.lower()


def treatment_correct(output: str, reference: str, official: bool = False) -> bool:
    expected = _without(reference, TREATMENT_PREFIX)
    return (official or bool(expected)) and expected in output.lower()


def _extraction_text(text: str) -> str:
    return text.lower().replace('"', "").replace("'", "").replace("\n", "").strip()


def extraction_correct(output: str, reference: str, official: bool = False) -> bool:
    """Information extraction: the cleaned reference is a substring of the cleaned output."""
    expected = _extraction_text(reference)
    return (official or bool(expected)) and expected in _extraction_text(output)


def outcome_correct(output: str, reference: str, official: bool = False) -> bool:
    """Clinical outcome: the output says the reference word (true / false) and not the other one."""
    expected, text = reference.strip().strip(".").lower(), output.lower()
    if expected not in OUTCOME_WORDS:
        return False
    other = OUTCOME_WORDS[1 - OUTCOME_WORDS.index(expected)]
    return expected in text and other not in text


def verification_correct(output: str, reference: str, official: bool = False) -> bool:
    """Fact verification: the reference is a substring of the output's first line."""
    expected = reference.strip().strip(".").lower()
    first_line = output.strip().split("\n", 1)[0].lower()
    return (official or bool(expected)) and expected in first_line


def nli_correct(output: str, reference: str, official: bool = False) -> bool:
    """NLI (MedNLI discriminative): the first line names the reference label and no other label."""
    expected = reference.strip().strip(".").lower()
    first_line = output.strip().split("\n", 1)[0].lower()
    if expected not in first_line:
        return False
    return official or not any(label in first_line for label in NLI_LABELS if label != expected)
