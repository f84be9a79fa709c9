"""medsreg's own metrics, registered through ``register_metrics`` like any plugin's (the built-in plugin "medsreg").

Every MedS-Bench and MMedBench metric name a bundled suite uses is defined here; a plugin can
add more under new names. Importing this module imports no scoring library: each ``compute``
imports what it needs when first called.
"""

from __future__ import annotations

from collections.abc import Callable

from medsreg import hookimpl
from medsreg.models import Metric, MetricContext

Judge = Callable[[str, str], bool]
Compute = Callable[[list[str], list[list[str]], MetricContext], dict[str, float]]


def _official(name: str) -> Compute:
    """The official scripts' computation of ``name`` (``metrics/official.py``)."""

    def compute(outputs: list[str], references: list[list[str]], context: MetricContext) -> dict[str, float]:
        from medsreg.metrics import official

        rules: dict[str, Compute] = {
            "mcqa_accuracy": official.mcqa, "mmedbench_accuracy": official.mmedbench,
            "diagnosis_accuracy": official.diagnosis, "treatment_accuracy": official.treatment,
            "extraction_accuracy": official.extraction, "outcome_accuracy": official.outcome,
            "verification_accuracy": official.verification, "nli_accuracy": official.nli,
            "entity_f1": official.entity_f1, "bleu1": official.generation, "rougeL": official.generation,
            **{f"hallmark_macro_{part}": official.hallmarks(f"hallmark_macro_{part}", position)
               for position, part in enumerate(("precision", "recall", "f1"))},
        }
        return {name: rules[name](outputs, references, context)[name]}

    return compute


def _both(name: str, fixed: Compute) -> Compute:
    """``fixed`` by default, the official scripts' rule under ``--compat official``."""
    official = _official(name)
    return lambda outputs, references, context: (official if context.official else fixed)(outputs, references, context)


def _accuracy(name: str, judge_name: str) -> Compute:
    """A mean of per-instance judgements x100; with several references, any one may match."""

    def compute(outputs: list[str], references: list[list[str]], context: MetricContext) -> dict[str, float]:
        from medsreg.metrics import answers

        judge: Judge = getattr(answers, judge_name)
        correct = sum(any(judge(output, reference) for reference in expected) for output, expected in zip(outputs, references))
        return {name: 100 * correct / len(outputs) if outputs else 0.0}

    return _both(name, compute)


def _entity_f1(outputs: list[str], references: list[list[str]], context: MetricContext) -> dict[str, float]:
    from medsreg.metrics.entities import entity_counts, micro_f1

    first = [expected[0] if expected else "" for expected in references]
    return {"entity_f1": 100 * micro_f1(*entity_counts(outputs, first))}


def _hallmarks(name: str, position: int) -> Compute:
    def compute(outputs: list[str], references: list[list[str]], context: MetricContext) -> dict[str, float]:
        from medsreg.metrics.entities import hallmark_macro

        first = [expected[0] if expected else "" for expected in references]
        return {name: 100 * hallmark_macro(outputs, first)[position]}

    return _both(name, compute)


_LAST_GENERATION: dict[str, dict[str, float]] = {}
"""The last task's {"bleu1", "rougeL"}, by its arguments: the two share their tokenization, so a task scored with
both computes them once."""


def _generation(name: str) -> Compute:
    def compute(outputs: list[str], references: list[list[str]], context: MetricContext) -> dict[str, float]:
        key = repr((outputs, references, context.model_dump()))
        if key not in _LAST_GENERATION:
            if context.official:
                from medsreg.metrics.official import generation

                scores = generation(outputs, references, context)
            else:
                from medsreg.metrics.generation import generation_scores

                scores = generation_scores(outputs, references, context.languages, context.lines)
            _LAST_GENERATION.clear()
            _LAST_GENERATION[key] = scores
        return {name: _LAST_GENERATION[key][name]}

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
                          compute=_both("entity_f1", _entity_f1)))
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
