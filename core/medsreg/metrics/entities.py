"""Entity-set micro F1 for named entity recognition (SEEDS.md §3), and the HoC hallmark macro P/R/F1.

NER: an answer is a list of entities "a, b, c." or the sentence saying there is none; true
positives, false positives and false negatives are summed over a task's instances, then F1.
medsreg strips the final punctuation and splits on ",", ignoring empty items; the official
script's parse (which cuts the last entity's last letter) is ``official.py``'s.

HoC: which of the ten hallmark phrases appear in a text (substring); precision, recall and F1
per hallmark over the instances, then their mean (macro). A hallmark never predicted has
precision 0, never present recall 0 (scikit-learn's ``zero_division=0``).
"""

from __future__ import annotations

import numpy as np

NO_ENTITY = ("there is no related enetity", "there is no related entity")
"""The official sentence for an empty answer (with its misspelling), and its spelling corrected."""

HALLMARKS = (
    "sustaining proliferative signaling",
    "evading growth suppressors",
    "resisting cell death",
    "enabling replicative immortality",
    "inducing angiogenesis",
    "activating invasion and metastasis",
    "genomic instability and mutation",
    "tumor promoting inflammation",
    "cellular energetics",
    "avoiding immune destruction",
)


def entity_set(text: str) -> set[str]:
    cleaned = text.replace(".", "").lower().strip().rstrip(";,:!").strip()
    if not cleaned or any(cleaned.startswith(sentence) for sentence in NO_ENTITY):
        return set()
    return {item.strip() for item in cleaned.split(",") if item.strip()}


def entity_counts(outputs: list[str], references: list[str]) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) summed over the instances."""
    tp = fp = fn = 0
    for output, reference in zip(outputs, references):
        predicted, expected = entity_set(output), entity_set(reference)
        hits = len(predicted & expected)
        tp, fp, fn = tp + hits, fp + len(predicted) - hits, fn + len(expected) - hits
    return tp, fp, fn


def micro_f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def hallmark_matrix(texts: list[str]) -> np.ndarray:
    """Instances x hallmarks, True where the hallmark's phrase appears in the text."""
    lowered = [text.lower() for text in texts]
    return np.array([[phrase in text for phrase in HALLMARKS] for text in lowered], dtype=bool).reshape(len(texts),
                                                                                                          len(HALLMARKS))


def hallmark_macro(outputs: list[str], references: list[str]) -> tuple[float, float, float]:
    """(precision, recall, F1), each the mean over the ten hallmarks, as fractions."""
    predicted, expected = hallmark_matrix(outputs), hallmark_matrix(references)
    tp = (predicted & expected).sum(axis=0)
    predicted_count, expected_count = predicted.sum(axis=0), expected.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted_count > 0, tp / np.maximum(predicted_count, 1), 0.0)
        recall = np.where(expected_count > 0, tp / np.maximum(expected_count, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0.0)
    return float(precision.mean()), float(recall.mean()), float(f1.mean())
