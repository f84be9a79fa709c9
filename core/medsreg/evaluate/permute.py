"""``medsreg eval --shuffle-options N``: the options of a multiple-choice item in N cyclic orders (pure functions).

An item's options are its last block of consecutive lines "A. text", "B. text", ... (letters in order from A, at
least two, "A)" also accepted, each option's text distinct). Permutation ``k`` moves the text of the option at
position ``i`` to position ``(i + k) mod n``: with options A..E, permutation 1 puts the text of A at B, B at C, ...
and E at A; permutation 0 is the original order, the very same prompt. The letters, their punctuation and every
other character of the prompt stay where they were; only the option texts move. The references' answer letters
(the leading ones, as ``medsreg.metrics.answers.answer_letters`` reads them: "D. ramipril", "A, C", "(b)", "the
right answer is E") are remapped the same way, every letter of a multi-answer reference; the rest of a reference is
kept ("D. ramipril" -> "A. ramipril": the text moved with its letter).

An item that cannot be rotated (no option block, repeated option texts, a reference letter outside its options,
no reference with a letter: yes/no/maybe items) is evaluated once, as permutation 0, and ``permute_rows`` counts it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PERMUTED_METRIC = "mcqa_accuracy"
"""The rows of tasks scored with this metric are the ones permuted."""
_OPTION = re.compile(r"^(?P<marker>\(?(?P<letter>[A-Z])[.)][ \t]+)(?P<text>\S.*)$")
_PREFIX = re.compile(r"\s*(?:the right answer is\s*)?", re.IGNORECASE)
_FIRST = re.compile(r"\(?([A-Za-z])\)?(?=$|[\s.,:;)\]]|\s*(?:,|and|&|/)\s*\(?[A-Za-z]\b)")
_MORE = re.compile(r"\s*(?:,|and|&|/)\s*\(?([A-Za-z])\)?(?=$|[\s.,:;)\]])", re.IGNORECASE)


@dataclass(frozen=True)
class OptionBlock:
    """The options of a text: ``before`` + the option lines + ``after`` is the text again, byte for byte."""

    before: str
    markers: tuple[str, ...]
    """Each option line's "A. " (letter, punctuation and spaces), in order."""
    texts: tuple[str, ...]
    after: str

    @property
    def count(self) -> int:
        return len(self.texts)

    def render(self, texts: Iterable[str] | None = None) -> str:
        lines = [marker + text for marker, text in zip(self.markers, self.texts if texts is None else texts)]
        return self.before + "\n".join(lines) + self.after


def parse_options(text: str) -> OptionBlock | None:
    """The last block of consecutive option lines (A, B, C, ... in order, at least two, distinct texts) of ``text``."""
    lines = text.split("\n")
    best: tuple[int, int] | None = None
    start = None
    for index, line in enumerate(lines + [""]):
        match = _OPTION.match(line)
        letter = match.group("letter") if match else None
        if start is not None and letter == chr(ord("A") + index - start):
            continue
        if start is not None and index - start >= 2:
            best = (start, index)
        start = index if letter == "A" else None
    if best is None:
        return None
    first, end = best
    matches = [_OPTION.match(line) for line in lines[first:end]]
    texts = tuple(match.group("text") for match in matches)
    if len(set(texts)) != len(texts):  # a rotation could give the same prompt again
        return None
    before = "\n".join(lines[:first]) + ("\n" if first else "")
    after = ("\n" if end < len(lines) else "") + "\n".join(lines[end:])
    return OptionBlock(before, tuple(match.group("marker") for match in matches), texts, after)


def rotate(block: OptionBlock, k: int) -> str:
    """The text with the options of ``block`` in permutation ``k``: the text at position i moves to (i + k) mod n."""
    n = block.count
    texts = [""] * n
    for index, text in enumerate(block.texts):
        texts[(index + k) % n] = text
    return block.render(texts)


def rotate_letter(letter: str, n: int, k: int) -> str:
    """Where the option of ``letter`` (A.., either case, kept) is in permutation ``k`` of ``n`` options."""
    base = ord("A") if letter.isupper() else ord("a")
    return chr(base + (ord(letter) - base + k) % n)


def reference_letters(reference: str) -> list[tuple[int, int]]:
    """The spans of the answer letters a reference starts with (after "the right answer is"), as medsreg reads them."""
    position = _PREFIX.match(reference).end()
    first = _FIRST.match(reference, position)
    if first is None:
        return []
    spans = [first.span(1)]
    position = first.end()
    while (more := _MORE.match(reference, position)) is not None:
        spans.append(more.span(1))
        position = more.end()
    return spans


def remap_reference(reference: str, n: int, k: int) -> str | None:
    """``reference`` with each of its answer letters moved as permutation ``k`` of ``n`` options moves it; the
    reference unchanged when it has no letter; None when a letter is not one of the ``n`` options."""
    spans = reference_letters(reference)
    if any(ord(reference[start].upper()) - ord("A") >= n for start, _ in spans):
        return None
    text = list(reference)
    for start, _ in spans:
        text[start] = rotate_letter(reference[start], n, k)
    return "".join(text)


def permute_row(row: dict[str, Any], k: int) -> dict[str, Any] | None:
    """Suite row ``row`` with its question's options (in its last message, the user's) in permutation ``k`` and its
    references remapped, ``permutation`` set to ``k``; None when the item cannot be rotated. Permutation 0 is the
    row itself (with ``permutation`` 0): the same prompt and references."""
    messages = row.get("messages") or []
    if not messages or messages[-1].get("role") != "user":
        return None
    user, prompt = messages[-1]["content"], row["prompt"]
    block = parse_options(user)
    if block is None or not prompt.endswith(user):
        return None
    references = [remap_reference(str(reference), block.count, k) for reference in row["references"]]
    if any(reference is None for reference in references) or \
            not any(reference_letters(str(reference)) for reference in row["references"]):
        return None
    if k == 0:
        return {**row, "permutation": 0}
    rotated = rotate(block, k)
    return {**row, "messages": [*messages[:-1], {**messages[-1], "content": rotated}],
            "prompt": prompt[:len(prompt) - len(user)] + rotated, "references": references, "permutation": k}


def is_permuted_task(row: dict[str, Any]) -> bool:
    return PERMUTED_METRIC in (row.get("metrics") or [])


@dataclass
class Permuted:
    rows: list[dict[str, Any]]
    """Each row followed by its other permutations (every row carries ``permutation``)."""
    once: dict[str, int]
    """{task: MCQA rows that could not be rotated, evaluated once}."""
    rotated: dict[str, int]
    """{task: MCQA rows evaluated in every permutation}."""

    def notes(self, permutations: int) -> list[str]:
        return [f"--shuffle-options: {count:,} of {count + self.rotated.get(task, 0):,} rows of {task} have no option "
                "lines ('A. ...', 'B. ...') whose answer letters can be remapped; they are evaluated once (permutation 0), "
                f"not {permutations} times" for task, count in self.once.items()]


def permute_rows(rows: Iterable[dict[str, Any]], permutations: int) -> Permuted:
    """Each row of an MCQA task (metric ``mcqa_accuracy``) in ``permutations`` cyclic orders (0 first), the others
    once; every row gets its ``permutation``."""
    result = Permuted([], {}, {})
    for row in rows:
        if not is_permuted_task(row):
            result.rows.append({**row, "permutation": 0})
            continue
        first = permute_row(row, 0)
        if first is None:
            result.once[row["task"]] = result.once.get(row["task"], 0) + 1
            result.rows.append({**row, "permutation": 0})
            continue
        result.rotated[row["task"]] = result.rotated.get(row["task"], 0) + 1
        result.rows.append(first)
        result.rows.extend(permute_row(row, k) for k in range(1, permutations))
    return result
