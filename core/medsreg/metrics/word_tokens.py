"""nltk's word tokenizer (``NLTKWordTokenizer.tokenize``), the same tokens with a fraction of the regex calls.

The tokenizer applies about thirty regular-expression substitutions to every sentence, in order;
on ordinary prose most of them cannot match (no quote, no dash, no "gonna"), yet each call costs
a few microseconds. Here each substitution runs only when the text holds what its pattern cannot
match without: a character of its class or a substring (``NEEDS``, keyed by nltk's own pattern
text); the contractions ("cannot", "gonna", "'tis" ...) only when the lower-cased text holds one
of their words. Skipping a substitution that cannot match changes nothing, so the tokens are
nltk's: ``tests/test_word_tokens.py`` compares them with nltk's own tokenizer on random text
full of the characters involved, ``tests/test_metrics.py`` on every fixture text. ``\\s+`` -> " "
(the costliest call) only matters to the patterns after it, which look for spaces: when none of
them runs it is skipped, since the final ``split()`` splits at every character ``\\s`` matches.

The patterns, their order and their engine stay nltk's: they are read from the tokenizer
instance, so a newer nltk's patterns are used as it ships them; a pattern missing from
``NEEDS`` simply always runs. nltk >= 3.10 wraps each pattern in ``redos.TimedPattern``, which
arms a timeout on every call (about half the tokenizer's time): the same pattern is compiled by
the same ``regex`` engine without it (these are nltk's fixed, linear patterns, not a caller's).
``import nltk`` imports its whole package, scipy included where installed (seconds), for these
thirty patterns: they are kept as data in medsreg's cache, under the hash of the nltk files that
define them, and read from there while that nltk is installed (``_load_spec``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

NEEDS: dict[str, str | tuple[str, ...]] = {
    # STARTING_QUOTES
    "([«“‘„]|[`]+)": "«“‘„`",
    r"^\"": '"',
    r"(``)": "`",
    r"([ \(\[{<])(\"|\'{2})": "\"'",
    r"(?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w)": "'",
    # PUNCTUATION
    r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*+)\s*$": ".",
    r'([^\.])(\.)([\]\)}>"\'' "»”’ " r"]*)\s*$": ".",
    r"([:,])([^\d])": ":,",
    r"([:,])$": ":,",
    r"\.{2,}": ("..",),
    r"[;@#$%&]": ";@#$%&",
    r"[\u2012-\u2015]": "\u2012\u2013\u2014\u2015",
    r'([^\.])(\.)([\]\)}>"\']*)\s*$': ".",
    r"[?!]": "?!",
    r"([^'])' ": "'",
    r"[*]": "*",
    # PARENS_BRACKETS, DOUBLE_DASHES
    r"[\]\[\(\)\{\}\<\>]": "][(){}<>",
    r"--": ("--",),
    # ENDING_QUOTES (``\s+`` always runs)
    "([»”’])": "»”’",
    r"''": "'",
    r'"': '"',
    r"([^' ])('[sS]|'[mM]|'[dD]|') ": "'",
    r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ": "'",
}
"""Per nltk pattern, what a text must hold for the pattern to match: one of the characters of a string, or one of the
substrings of a tuple. A pattern not listed always runs."""

INSERTED = {'"': "`'", "'": "`"}
"""Characters nltk's substitutions put in, per character that must be there first (``"`` -> ````` and ``''``; ``''``
-> `````). Everything else they insert is a space; nothing they remove matters (it only makes a check conservative)."""

SQUEEZE = r"\s+"
"""nltk's ``\\s+`` -> " ", among its ending substitutions."""

SUBSTRINGS = ("..", "--")
CASE_FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")
"""The characters ``re`` matches to an ASCII letter under IGNORECASE (İ ı -> i, ſ -> s, Kelvin K -> k): a text with
one of them takes the contractions' own patterns."""
RELEVANT = (frozenset("".join(need for need in NEEDS.values() if isinstance(need, str))) | frozenset(SUBSTRINGS)
            | CASE_FOLDS_TO_ASCII)


def _possible(text: str) -> frozenset[str]:
    """What of ``RELEVANT`` the text holds, or may come to hold as the substitutions run."""
    found = RELEVANT.intersection(text).union(part for part in SUBSTRINGS if part in text)
    for present, inserted in INSERTED.items():
        if present in found:
            found |= set(inserted)
    return frozenset(found)


def _can_match(pattern: Any, possible: frozenset[str]) -> bool:
    needed = NEEDS.get(pattern.pattern)
    return needed is None or not possible.isdisjoint(needed if isinstance(needed, tuple) else set(needed))


Spec = list[list[Any]]
"""A list of nltk patterns as data: ``[pattern text, flags, "re" | "regex", substitution (not for contractions)]``."""


def _as_data(items: list[Any]) -> Spec:
    """nltk's (pattern, substitution) pairs or patterns, as data; a ``redos.TimedPattern`` as the ``regex`` pattern it
    wraps, without its timeout."""
    spec = []
    for item in items:
        pattern, rest = (item[0], [item[1]]) if isinstance(item, tuple) else (item, [])
        engine = "re" if isinstance(pattern, re.Pattern) else "regex"  # TimedPattern compiles with ``regex``
        spec.append([pattern.pattern, int(pattern.flags), engine, *rest])
    return spec


def _nltk_spec() -> dict[str, Spec]:
    from nltk.tokenize import NLTKWordTokenizer

    words = NLTKWordTokenizer()
    return {"before": _as_data([*words.STARTING_QUOTES, *words.PUNCTUATION, words.PARENS_BRACKETS,
                                words.DOUBLE_DASHES]),
            "ending": _as_data(list(words.ENDING_QUOTES)),
            "contractions": _as_data([*words.CONTRACTIONS2, *words.CONTRACTIONS3])}


def _spec_file() -> Path | None:
    """Where the patterns of the installed nltk are kept, named by the hash of the files that define them; None
    without nltk."""
    from medsreg.sources import package_cache_file

    return package_cache_file("nltk", ("tokenize/destructive.py", "redos.py"), "word-tokenizer")


def _load_spec() -> dict[str, Spec]:
    """nltk's word-tokenizer patterns. ``import nltk`` runs its whole package (with scipy, when installed: seconds);
    the patterns are kept in the cache, keyed by the hash of the nltk files that define them, and read from there
    next time without importing nltk. A cache that cannot be read or written is only slower."""
    import json

    from medsreg.files import write_text_atomically

    path = _spec_file()
    if path is not None:
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
            if _valid(spec):
                return spec
        except (OSError, ValueError):
            pass
    spec = _nltk_spec()
    if path is not None:
        try:
            write_text_atomically(path, json.dumps(spec, ensure_ascii=False))
        except OSError:
            pass
    return spec


def _valid(spec: Any) -> bool:
    def entry(item: Any, size: int) -> bool:
        return (isinstance(item, list) and len(item) == size and isinstance(item[0], str) and isinstance(item[1], int)
                and item[2] in ("re", "regex") and all(isinstance(part, str) for part in item[3:]))

    return (isinstance(spec, dict) and set(spec) == {"before", "ending", "contractions"}
            and all(isinstance(spec[key], list) and all(entry(item, 4 if key != "contractions" else 3)
                                                        for item in spec[key]) for key in spec))


def _compiled(spec: Spec) -> list[Any]:
    import regex

    engines = {"re": re.compile, "regex": regex.compile}
    return [(engines[engine](pattern, flags), *rest) if rest else engines[engine](pattern, flags)
            for pattern, flags, engine, *rest in spec]


def _contraction_words(patterns: list[Any]) -> tuple[str, ...] | None:
    """The lower-case text each contraction pattern needs ("cannot", "'tis" ...), whatever whitespace is around it
    (squeezing whitespace cannot make one appear), or None where a pattern is not a plain ``(?i)`` word pair as
    nltk 3.9 / 3.10 writes them."""
    words = []
    for pattern in patterns:
        if not isinstance(pattern, re.Pattern) or not pattern.pattern.startswith("(?i)"):
            return None
        word = pattern.pattern[4:]
        for syntax in (r"\b", "(?#X)", r"(?=\s)", "(", ")"):
            word = word.replace(syntax, "")
        if not all(character.isascii() and (character.isalpha() or character in "' ") for character in word):
            return None
        words.append(word.lower().strip())
    return tuple(words)


def _holds_any(text: str, parts: tuple[str, ...]) -> bool:
    """Whether ``text`` holds one of ``parts``; without those characters, ``lower()`` keeps every position, so a
    contraction pattern can match only where its word is in the lower-cased text."""
    return any(part in text for part in parts)


def word_tokenizer() -> Callable[[str], list[str]]:
    """``NLTKWordTokenizer().tokenize`` (``convert_parentheses=False``), skipping substitutions that cannot match.
    ImportError without nltk."""
    spec = _load_spec()
    before, ending, contractions = (_compiled(spec[key]) for key in ("before", "ending", "contractions"))
    needed = _contraction_words(contractions)
    Steps = list[tuple[Any, str]]
    plans: dict[frozenset[str], tuple[Steps, Steps, Steps]] = {}

    def plan(possible: frozenset[str]) -> tuple[Steps, Steps, Steps]:
        steps = [step for step in ending if _can_match(step[0], possible)]
        squeeze = [steps.pop()] if steps and steps[-1][0].pattern == SQUEEZE else []  # run before contractions only
        return [step for step in before if _can_match(step[0], possible)], steps, squeeze

    def tokenize(text: str) -> list[str]:
        possible = _possible(text)
        steps = plans.get(possible)
        if steps is None:
            steps = plans[possible] = plan(possible)
        for pattern, substitution in steps[0]:
            text = pattern.sub(substitution, text)
        text = " " + text + " "
        for pattern, substitution in steps[1]:
            text = pattern.sub(substitution, text)
        if needed is None or not possible.isdisjoint(CASE_FOLDS_TO_ASCII) or _holds_any(text.lower(), needed):
            for pattern, substitution in steps[2]:
                text = pattern.sub(substitution, text)
            for pattern in contractions:
                text = pattern.sub(r" \1 \2 ", text)
        return text.split()

    return tokenize
