"""Controlled vocabularies: task categories, languages (ISO 639) and licences (SPDX).

The category list is the MedS-Ins one, verbatim. It grows only by a pull request that
edits ``CATEGORIES`` here (see CONTRIBUTING.md, "Adding a category"): validate rejects
any other value, so no category appears silently.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

CATEGORIES: tuple[str, ...] = (
    "Diagnosis",
    "Treatment Planning",
    "Clinical Outcome Prediction",
    "Information Extraction",
    "Text Summarization",
    "Named Entity Recognition",
    "Text Classification",
    "Text Retrieval",
    "Question Answering",
    "Explanation",
    "Rationale",
    "Fact Verification",
    "Natural Language Inference",
    "Intent Identification",
    "Translation",
    "Dialogue",
    "Sentence Composition Analysis",
    "Word Relation Classification",
    "Wrong Candidate Generation",
)

CATEGORY_ALIASES: dict[str, str] = {
    # spellings found in MedS-Ins task files and in SEEDS.md for the same category
    "question answering (mcqa)": "Question Answering",
    "multiple choice question answering": "Question Answering",
    "mcqa": "Question Answering",
    "natural language inference / textual entailment": "Natural Language Inference",
    "textual entailment": "Natural Language Inference",
    "nli": "Natural Language Inference",
    "ner": "Named Entity Recognition",
    "summarization": "Text Summarization",
}

CLASSIFICATION_CATEGORIES = frozenset(
    {
        "Text Classification",
        "Fact Verification",
        "Natural Language Inference",
        "Intent Identification",
        "Word Relation Classification",
        "Clinical Outcome Prediction",
        "Diagnosis",
        "Treatment Planning",
    }
)
"""Categories whose outputs are labels from a small set, so label balance is meaningful."""


SUGGESTED_CHARS = 100
"""Longer words get no "did you mean": nothing registered is that long, and edit distance is quadratic."""


def did_you_mean(word: str, choices: list[str] | tuple[str, ...], n: int = 1) -> str:
    """' Did you mean 'x'?' or '' (a suffix for error sentences).

    Only close matches are suggested: at most one edit (insertion, deletion, substitution, swap of neighbours) per
    four characters of the longer string, case ignored; 'Diagnosys' gets 'Diagnosis', 'Drug Interaction
    Classification' nothing (sharing 'Classification' with a category does not make it a misspelling of one).
    """
    if not isinstance(word, str) or len(word) > SUGGESTED_CHARS:
        return ""
    lowered = word.lower()
    scored = []
    for position, choice in enumerate(choices):
        limit = max(1, max(len(word), len(choice)) // 4)
        if abs(len(choice) - len(word)) <= limit:
            distance = edit_distance(lowered, choice.lower(), limit)
            if distance <= limit:
                scored.append((distance, position, choice))
    if not scored:
        return ""
    close = [choice for _, _, choice in sorted(scored)[:n]]
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def edit_distance(a: str, b: str, limit: int) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) from ``a`` to ``b``; ``limit + 1`` once it exceeds ``limit``."""
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


def canonical_category(value: str) -> tuple[str | None, bool]:
    """(canonical category or None, whether the spelling differed)."""
    if value in CATEGORIES:
        return value, False
    key = value.strip().lower()
    for category in CATEGORIES:
        if category.lower() == key:
            return category, True
    alias = CATEGORY_ALIASES.get(key)
    return alias, alias is not None


LANGUAGE_CHARS = 64
"""Longer values are no language (the longest English name of one is about 40 characters); langcodes is never asked:
its name search is quadratic in the length (100,000 characters take seconds)."""


def language_code(value: str) -> str | None:
    """The ISO 639 code for a language name ("English") or tag ("en", "zh-Hans"); None if unknown.

    langcodes matches names in English and in the language itself ("Español").
    """
    text = value.strip()
    if not text or len(text) > LANGUAGE_CHARS:
        return None
    return _language_code(text)


@lru_cache(maxsize=4096)
def _language_code(text: str) -> str | None:
    known = _known_languages()
    if text in known:
        return known[text]
    code = _ask_langcodes(text)
    if len(known) < _KNOWN_LANGUAGES:
        known[text] = code
        _keep_known_languages(known)
    return code


def _ask_langcodes(text: str) -> str | None:
    import langcodes

    # tags first: langcodes.find("en") would match the language *named* "En" (enc)
    if langcodes.tag_is_valid(text):
        return langcodes.Language.get(text).language
    try:
        return langcodes.find(text).language
    except LookupError:
        return None


_KNOWN_LANGUAGES = 1000
"""Values whose code the cache keeps (task cards name a handful of languages; this bounds a hostile card's share)."""


@lru_cache(maxsize=1)
def _known_languages() -> dict[str, str | None]:
    """The codes langcodes gave before, kept in the cache: ``import langcodes`` compiles its name patterns (a tenth of
    a second, before every build's first task card), and its answer for a value changes only with its version."""
    import json

    path = _languages_file()
    if path is not None:
        try:
            known = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(known, dict) and all(isinstance(key, str) and (value is None or isinstance(value, str))
                                               for key, value in known.items()):
                return known
        except (OSError, ValueError):
            pass
    return {}


def _keep_known_languages(known: dict[str, str | None]) -> None:
    import json

    from medsreg.files import write_text_atomically

    path = _languages_file()
    if path is None:
        return
    try:
        write_text_atomically(path, json.dumps(known, ensure_ascii=False, sort_keys=True))
    except OSError:
        pass  # a cache that cannot be written is only slower


def _languages_file() -> Path | None:
    """Where the codes are kept, named by the versions of langcodes and of its data; None without them."""
    import importlib.metadata

    from medsreg.sources import package_cache_file

    try:
        data = importlib.metadata.version("language_data")
    except importlib.metadata.PackageNotFoundError:
        return None
    return package_cache_file("langcodes", (), "codes", data.encode())


_LICENSE_REF = re.compile(r"^LicenseRef-[A-Za-z0-9.-]+$")


@lru_cache(maxsize=1)
def _spdx():
    from license_expression import get_spdx_licensing

    return get_spdx_licensing()


LICENSE_CHARS = 200
"""Longer values are no licence expression a task needs; license-expression is not asked."""
LICENSE_FORM = "licence ids joined by AND, OR or WITH, e.g. \"CC-BY-4.0\" or \"MIT OR Apache-2.0\""


def license_problem(expression: str) -> str | None:
    """None when ``expression`` is a valid SPDX licence expression, else why not (with a suggestion)."""
    if not expression.strip():
        return f"it is empty; write the SPDX expression of the instances' licence: {LICENSE_FORM}"
    if len(expression) > LICENSE_CHARS:
        return f"it is {len(expression):,} characters long; an SPDX expression is {LICENSE_FORM}"
    if not expression.isprintable():
        # license-expression itself crashes on control characters (its error path reads a missing attribute)
        return "it contains control or invisible characters; retype it, e.g. \"CC-BY-4.0\""
    return _license_problem(expression)


@lru_cache(maxsize=1024)
def _license_problem(expression: str) -> str | None:
    try:
        info = _spdx().validate(expression)
    except Exception:  # noqa: BLE001 - license-expression's own error paths fail on some malformed input ("MIT OR", "()")
        return f"it is not a complete expression; write {LICENSE_FORM}"
    # SPDX lets anyone define "LicenseRef-<id>" (e.g. the PhysioNet credentialed licence, which has no SPDX id)
    if info.errors and info.invalid_symbols and all(_LICENSE_REF.match(str(s)) for s in info.invalid_symbols):
        return None
    if not info.errors:
        normalized = info.normalized_expression
        if normalized and normalized != "None" and normalized != expression:
            return f"write it as {normalized!r}, the SPDX spelling"
        return None
    keys = [key for key in _spdx().known_symbols if not key.startswith("LicenseRef-")]
    unknown = info.invalid_symbols[0] if info.invalid_symbols else expression
    return f"{'; '.join(info.errors)}.{did_you_mean(str(unknown), keys)} See https://spdx.org/licenses/ for the identifiers"
