"""Option-order robustness of a ``medsreg eval --shuffle-options N`` run: how accuracy moves with the order of the options.

``option_robustness(predictions)`` takes the run's predictions (the lines of predictions.jsonl as dicts, or objects
with the same attributes) and, for every MCQA task (a line's ``metrics`` name ``mcqa_accuracy``; a line without
``metrics`` counts as MCQA), returns:

* ``accuracy_per_permutation``: for k = 0..N-1, the accuracy (x100, as ``mcqa_accuracy``) of the lines of
  permutation k, each judged against its own (remapped) references with medsreg's rule
  (``medsreg.metrics.answers.mcqa_correct``, right when any reference matches);
* ``consistency``: the share (x100) of the task's items answered right under every one of the N permutations;
  only items with a line for each permutation count (an item whose options could not be rotated has permutation 0
  only and is left out, as is an unfinished one);
* ``items``: how many items ``consistency`` counts.

N is the task's highest ``permutation`` + 1 (a line without ``permutation`` is permutation 0). Pure: no file read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from medsreg.metrics.answers import mcqa_correct

METRIC = "mcqa_accuracy"


def _field(prediction: Any, name: str, default: Any = None) -> Any:
    if isinstance(prediction, dict):
        return prediction.get(name, default)
    return getattr(prediction, name, default)


def is_correct(output: str, references: Iterable[str]) -> bool:
    """medsreg's MCQA verdict for one line: right when the output answers any of the references."""
    return any(mcqa_correct(str(output), str(reference)) for reference in references)


def option_robustness(predictions: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """{task: {"accuracy_per_permutation": [k = 0..N-1], "consistency": ..., "items": ...}} for each MCQA task."""
    verdicts: dict[str, dict[str, dict[int, bool]]] = {}  # task -> instance -> permutation -> correct
    for prediction in predictions:
        metrics = _field(prediction, "metrics")
        if metrics is not None and METRIC not in metrics:
            continue
        task, instance = str(_field(prediction, "task")), str(_field(prediction, "instance_id"))
        permutation = int(_field(prediction, "permutation", 0) or 0)
        correct = is_correct(_field(prediction, "output", ""), _field(prediction, "references", []) or [])
        verdicts.setdefault(task, {}).setdefault(instance, {})[permutation] = correct
    result = {}
    for task, items in verdicts.items():
        count = 1 + max(permutation for item in items.values() for permutation in item)
        accuracies = []
        for k in range(count):
            judged = [item[k] for item in items.values() if k in item]
            accuracies.append(100 * sum(judged) / len(judged) if judged else 0.0)
        complete = [item for item in items.values() if all(k in item for k in range(count))]
        consistent = sum(all(item.values()) for item in complete)
        result[task] = {"accuracy_per_permutation": accuracies,
                        "consistency": 100 * consistent / len(complete) if complete else 0.0,
                        "items": len(complete)}
    return result
