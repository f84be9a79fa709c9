"""nltk's word tokenizer (``NLTKWordTokenizer.tokenize``), the same tokens with a fraction of the regex calls.

The tokenizer applies about thirty regular-expression substitutions to every sentence, in order;
on ordinary prose most of them cannot match (no quote, no dash, no "gonna"), yet each call costs
a few microseconds. Here each substitution runs only when the text holds what its pattern cannot
match without: a character of its class or a substring (``NEEDS``, keyed by nltk's own pattern
text); the contractions ("cannot", "gonna", " 'tis" ...) only when the lower-cased text holds one
of their words. Skipping a substitution that cannot match changes nothing, so the tokens are
nltk's: ``tests/test_word_tokens.py`` compares them with nltk's own tokenizer on random text
full of the characters involved, ``tests/test_metrics.py`` on every fixture text.

The patterns, their order and their engine stay nltk's: they are read from the tokenizer
instance, so a newer nltk's patterns are used as it ships them; a pattern missing from
``NEEDS`` simply always runs. nltk >= 3.10 wraps each pattern in ``redos.TimedPattern``, which
arms a timeout on every call (about half the tokenizer's time): the same pattern is compiled by
the same ``regex`` engine without it (these are nltk's fixed, linear patterns, not a caller's).
"""

from __future__ import annotations

import re
from collections.abc import Callable
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


def _without_timeouts(pattern: Any) -> Any:
    try:
        import regex
        from nltk.redos import TimedPattern
    except ImportError:  # an nltk before redos: plain ``re`` patterns
        return pattern
    return regex.compile(pattern.pattern, pattern.flags) if isinstance(pattern, TimedPattern) else pattern


def _contraction_words(patterns: list[Any]) -> tuple[str, ...] | None:
    """The lower-case text each contraction pattern needs ("cannot", " 'tis" ...), or None where a pattern is not a
    plain ``(?i)`` word pair as nltk 3.9 / 3.10 writes them."""
    words = []
    for pattern in patterns:
        if not isinstance(pattern, re.Pattern) or not pattern.pattern.startswith("(?i)"):
            return None
        word = pattern.pattern[4:]
        for syntax in (r"\b", "(?#X)", r"(?=\s)", "(", ")"):
            word = word.replace(syntax, "")
        if not all(character.isascii() and (character.isalpha() or character in "' ") for character in word):
            return None
        words.append(word.lower())
    return tuple(words)


def _holds_any(text: str, parts: tuple[str, ...]) -> bool:
    """Whether ``text`` holds one of ``parts``; without those characters, ``lower()`` keeps every position, so a
    contraction pattern can match only where its word is in the lower-cased text."""
    return any(part in text for part in parts)


def word_tokenizer() -> Callable[[str], list[str]]:
    """``NLTKWordTokenizer().tokenize`` (``convert_parentheses=False``), skipping substitutions that cannot match."""
    from nltk.tokenize import NLTKWordTokenizer

    words = NLTKWordTokenizer()
    before = [(_without_timeouts(p), s) for p, s in
              [*words.STARTING_QUOTES, *words.PUNCTUATION, words.PARENS_BRACKETS, words.DOUBLE_DASHES]]
    ending = [(_without_timeouts(p), s) for p, s in words.ENDING_QUOTES]
    contractions = [_without_timeouts(p) for p in [*words.CONTRACTIONS2, *words.CONTRACTIONS3]]
    needed = _contraction_words(contractions)
    plans: dict[frozenset[str], tuple[list[tuple[Any, str]], list[tuple[Any, str]]]] = {}

    def plan(possible: frozenset[str]) -> tuple[list[tuple[Any, str]], list[tuple[Any, str]]]:
        return ([step for step in before if _can_match(step[0], possible)],
                [step for step in ending if _can_match(step[0], possible)])

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
            for pattern in contractions:
                text = pattern.sub(r" \1 \2 ", text)
        return text.split()

    return tokenize
