"""Benchmark of ``medsreg score`` against the official scripts' way: a per-row pandas loop.

Run from the repository root::

    .venv/bin/python bench/score.py                 # 30,000 predictions
    .venv/bin/python bench/score.py --rows 3000     # quick

Predictions are synthetic, in MedS-Bench's mix of task kinds (by its test sizes, SEEDS.md §2):
multiple choice, NER, diagnosis / treatment / outcome / extraction / verification accuracies,
and generation (summaries, explanations, rationales: 30-120 words of several sentences) scored
with BLEU-1 and ROUGE-L. The baseline re-implements the official scripts as they are written:
``for _, row in frame.iterrows()`` per category, nltk's ``sentence_bleu`` and the ``rouge``
package's ``Rouge().get_scores`` per row (tokens from the same official tokenizer, since nltk's
own would download Punkt). Both sides get the same rows; the run asserts the scores are equal
(medsreg with ``--compat official``, the scripts' behaviour) and prints the speed-up (goal >= 20x).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 20.0
WORDS = ("patient fever cough chest pain history acute chronic lesion mass normal abnormal liver kidney heart lung "
         "dose daily therapy surgery biopsy scan contrast enhancement nodule effusion fracture stable improved").split()
# (kind, metric names, share of the rows): MedS-Bench's test sizes, rounded
KINDS = [("mcqa", ["mcqa_accuracy"], 0.34), ("ner", ["entity_f1"], 0.15), ("diagnosis", ["diagnosis_accuracy"], 0.04),
         ("treatment", ["treatment_accuracy"], 0.04), ("outcome", ["outcome_accuracy"], 0.11),
         ("extraction", ["extraction_accuracy"], 0.04), ("verification", ["verification_accuracy"], 0.05),
         ("generation", ["bleu1", "rougeL"], 0.23)]


def _text(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    for position in range(rng.randint(4, 12), len(words), rng.randint(6, 14)):
        words[position] += "."
    return " ".join(words) + "."


def _pair(kind: str, rng: random.Random) -> tuple[str, str]:
    """(output, reference) of one synthetic prediction of ``kind``."""
    if kind == "mcqa":
        answer = rng.choice("ABCDE")
        given = answer if rng.random() < 0.6 else rng.choice("ABCDE")
        return f"The right answer is {given}. {_text(rng, 3, 8)}", f"The right answer is {answer}."
    if kind == "ner":
        entities = rng.sample(WORDS, rng.randint(0, 4))
        found = [w for w in entities if rng.random() < 0.7] + rng.sample(WORDS, rng.randint(0, 2))
        as_text = lambda items: ", ".join(items) + "." if items else "There is no related enetity."  # noqa: E731
        return as_text(found), as_text(entities)
    if kind in ("diagnosis", "treatment"):
        prefix = "The diagnosis result is" if kind == "diagnosis" else "The treatment planning is:"
        answer = " ".join(rng.sample(WORDS, 2))
        return (f"I would say {answer if rng.random() < 0.5 else rng.choice(WORDS)}.", f"{prefix} {answer}.")
    if kind == "outcome":
        answer = rng.choice(["true", "false"])
        return rng.choice(["true", "false", "true or false"]), answer
    if kind == "extraction":
        answer = " ".join(rng.sample(WORDS, 2))
        return (f'"{answer}" {_text(rng, 2, 6)}' if rng.random() < 0.5 else _text(rng, 2, 6)), answer
    if kind == "verification":
        answer = rng.choice(["supported", "refuted"])
        return f"{rng.choice(['supported', 'refuted'])}\n{_text(rng, 3, 10)}", answer
    return _text(rng, 30, 120), _text(rng, 30, 120)


def generate(rows: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    predictions = []
    for kind, metrics, share in KINDS:
        for index in range(round(rows * share)):
            output, reference = _pair(kind, rng)
            predictions.append({"suite": "bench/bench", "task": f"bench/{kind}", "legacy_id": None, "category": kind,
                                "group": None, "average": True, "metrics": metrics, "instance_id": f"{kind}-{index}",
                                "prompt_sha256": "0" * 64, "references": [reference], "output": output,
                                "model": "synthetic", "config_sha256": "0" * 64})
    return predictions


# --------------------------------------------------------------------------- the official scripts' way


def official_loop(predictions: list[dict]) -> dict[str, dict[str, float]]:
    """Per category, a pandas ``iterrows`` loop scoring one row at a time, as the MedS-Bench scripts do."""
    import pandas as pd
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    from rouge import Rouge

    from medsreg.metrics.entities import NO_ENTITY
    from medsreg.metrics.generation import tokenize

    frame = pd.DataFrame(predictions)
    frame["GT"] = frame["references"].str[0]
    results: dict[str, dict[str, float]] = {}
    for kind, _, _ in KINDS:
        part = frame[frame["category"] == kind]
        hits = count = 0
        tp = fp = fn = 0
        bleu = rouge = 0.0
        for _, row in part.iterrows():
            output, gt = str(row["output"]), str(row["GT"])
            count += 1
            if kind == "mcqa":
                pred = output.lower().replace("the right answer is", "").strip()
                ref = gt.lower().replace("the right answer is", "").strip()
                hits += pred[:1] == ref[:1] and ref[:1] in "abcdyn"
            elif kind == "ner":
                def entities(text):
                    text = text.replace(".", "").lower()
                    return set() if text == NO_ENTITY[0] else set(text[:-1].split(", "))
                pred, ref = entities(output), entities(gt)
                tp, fp, fn = tp + len(pred & ref), fp + len(pred - ref), fn + len(ref - pred)
            elif kind in ("diagnosis", "treatment"):
                prefix = "The diagnosis result is" if kind == "diagnosis" else "The treatment planning is:"
                hits += gt.replace(".", "").replace(prefix, "").strip().lower() in output.lower()
            elif kind == "outcome":
                other = "false" if gt == "true" else "true"
                hits += gt in output.lower() and other not in output.lower()
            elif kind == "extraction":
                clean = lambda t: t.lower().replace('"', "").replace("'", "").replace("\n", "").strip()  # noqa: E731
                hits += clean(gt) in clean(output)
            elif kind == "verification":
                hits += gt.lower() in output.strip().split("\n")[0].lower()
            else:
                hypothesis, reference = tokenize(output, "en"), tokenize(gt, "en")
                bleu += sentence_bleu([reference], hypothesis, weights=(1, 0, 0, 0),
                                      smoothing_function=SmoothingFunction().method1)
                rouge += Rouge().get_scores(" ".join(hypothesis), " ".join(reference))[0]["rouge-l"]["f"]
        if kind == "ner":
            results[kind] = {"entity_f1": 100 * 2 * tp / (2 * tp + fp + fn) if tp else 0.0}
        elif kind == "generation":
            results[kind] = {"bleu1": 100 * bleu / count, "rougeL": 100 * rouge / count}
        else:
            results[kind] = {KINDS[[k for k, _, _ in KINDS].index(kind)][1][0]: 100 * hits / count}
    return results


def medsreg_score(path: Path) -> dict[str, dict[str, float]]:
    """What ``medsreg score PATH --compat official`` computes, through the library."""
    from medsreg.metrics.builtin import builtin_metrics
    from medsreg.predictions import read_predictions
    from medsreg.score import score

    found = read_predictions(path, None)
    results = score(found, {metric.name: metric for metric in builtin_metrics()}, official=True)
    return {row.category: row.scores for row in results.rows if row.kind == "category"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=30_000, help="Predictions (default 30,000).")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "core"))
    predictions = generate(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "predictions.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in predictions), encoding="utf-8")
        from medsreg.metrics.generation import tokenize

        tokenize("warm up the tokenizer.", "en")  # imports and model loading are not what is compared
        start = time.perf_counter()
        ours = medsreg_score(path)
        ours_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = official_loop(predictions)
    theirs_s = time.perf_counter() - start
    for kind in theirs:
        for metric, value in theirs[kind].items():
            assert abs(ours[kind][metric] - value) < 1e-6, (kind, metric, ours[kind][metric], value)
    generation = sum(row["category"] == "generation" for row in predictions)
    print(f"medsreg score benchmark: {len(predictions):,} predictions ({generation:,} generation rows scored with "
          "BLEU-1 and ROUGE-L); the same numbers on both sides (checked)")
    print(f"  official per-row pandas loop   {theirs_s:8.2f} s")
    print(f"  medsreg score --compat official {ours_s:7.2f} s")
    print(f"  speed-up                       {theirs_s / ours_s:8.1f}x   (goal >= {GOAL:.0f}x: "
          f"{'ok' if theirs_s / ours_s >= GOAL else 'MISSED'})")


if __name__ == "__main__":
    main()
