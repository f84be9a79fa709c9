"""medsreg's own metrics, registered through ``register_metrics`` like any plugin's (the built-in plugin "medsreg").

Every MedS-Bench and MMedBench metric name a bundled suite uses is defined here; a plugin can
add more under new names. Importing this module imports no scoring library: each ``compute``
imports what it needs when first called.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from medsreg import hookimpl
from medsreg.models import Metric, MetricContext

Judge = Callable[[str, str, bool], bool]


def _accuracy(name: str, judge_name: str) -> Callable[[list[str], list[list[str]], MetricContext], dict[str, float]]:
    """A mean of per-instance judgements x100; with several references, any one may match (official: the first)."""

    def compute(outputs: list[str], references: list[list[str]], context: MetricContext) -> dict[str, float]:
        from medsreg.metrics import answers

        judge: Judge = getattr(answers, judge_name)
        correct = 0
        for output, expected in zip(outputs, references):
            candidates = expected[:1] if context.official else expected
            correct += any(judge(output, reference, context.official) for reference in candidates)
        return {name: 100 * correct / len(outputs) if outputs else 0.0}

    return compute


def _entity_f1(outputs: list[str], references: list[list[str]], context: MetricContext) -> dict[str, float]:
    from medsreg.metrics.entities import entity_counts, micro_f1

    first = [expected[0] if expected else "" for expected in references]
    return {"entity_f1": 100 * micro_f1(*entity_counts(outputs, first, context.official))}


def _hallmarks(name: str, position: int) -> Callable[[list[str], list[list[str]], MetricContext], dict[str, float]]:
    def compute(outputs: list[str], references: list[list[str]], context: MetricContext) -> dict[str, float]:
        from medsreg.metrics.entities import hallmark_macro

        first = [expected[0] if expected else "" for expected in references]
        return {name: 100 * hallmark_macro(outputs, first)[position]}

    return compute


@functools.lru_cache(maxsize=2)
def _generation_scores(outputs: tuple[str, ...], references: tuple[tuple[str, ...], ...], languages: tuple[str, ...],
                       official: bool) -> dict[str, float]:
    """bleu1 and rougeL share their tokenization: a task scored with both tokenizes once."""
    from medsreg.metrics.generation import generation_scores

    return generation_scores(list(outputs), [list(r) for r in references], list(languages), official)


def _generation(name: str) -> Callable[[list[str], list[list[str]], MetricContext], dict[str, float]]:
    def compute(outputs: list[str], references: list[list[str]], context: MetricContext) -> dict[str, float]:
        key = (tuple(outputs), tuple(tuple(r) for r in references), tuple(context.languages), context.official)
        return {name: _generation_scores(*key)[name]}

    return compute


def builtin_metrics() -> list[Metric]:
    accuracies = [
        ("mcqa_accuracy", "mcqa_correct", "Multiple-choice accuracy: the answer letters (A-E, several allowed) after "
         "'the right answer is', or the first word of a yes/no/maybe answer."),
        ("mmedbench_accuracy", "mmedbench_correct", "MMedBench accuracy: the exact set of letters of 'OPTION X IS CORRECT'."),
        ("diagnosis_accuracy", "diagnosis_correct", "The reference diagnosis (without 'The diagnosis result is' and '.') "
         "appears in the lower-cased output."),
        ("treatment_accuracy", "treatment_correct", "The reference plan (without 'The treatment planning is:' and '.') "
         "appears in the lower-cased output."),
        ("extraction_accuracy", "extraction_correct", "The reference, lower-cased without quotes and newlines, appears "
         "in the output cleaned the same way."),
        ("outcome_accuracy", "outcome_correct", "The output says the reference word (true / false) and not the other."),
        ("verification_accuracy", "verification_correct", "The reference label appears in the output's first line."),
        ("nli_accuracy", "nli_correct", "The output's first line names the reference label (entailment, contradiction, "
         "neutral) and no other label."),
    ]
    metrics = [Metric(name=name, description=text, compute=_accuracy(name, judge)) for name, judge, text in accuracies]
    metrics.append(Metric(name="entity_f1", description="Entity-set micro F1 over the task's instances.",
                          compute=_entity_f1))
    for position, part in enumerate(("precision", "recall", "f1")):
        metrics.append(Metric(name=f"hallmark_macro_{part}", description=f"HoC: macro-averaged {part} of the ten "
                              "hallmark phrases found in the output.", compute=_hallmarks(f"hallmark_macro_{part}", position)))
    metrics.append(Metric(name="bleu1", description="BLEU-1 (nltk, smoothing method1) on the language's official tokens.",
                          compute=_generation("bleu1")))
    metrics.append(Metric(name="rougeL", description="ROUGE-L F as the rouge package computes it, on the official tokens.",
                          compute=_generation("rougeL")))
    return metrics


@hookimpl
def register_metrics() -> list[Metric]:
    return builtin_metrics()
