"""How far a score can be trusted beyond its point value: option-order robustness, instruction sensitivity, and the
split of a task's instances into those the model trained on (dirty) and the others (clean). Pure: no file read.

**Option order** (``medsreg eval --shuffle-options N``). ``option_robustness(predictions, judge)`` takes the lines of a
run under the suite's own instruction (the lines as dicts, or objects with the same attributes) and, for every MCQA
task (a line's ``metrics`` name ``mcqa_accuracy``; a line without ``metrics`` counts as MCQA), returns:

* ``accuracy_per_permutation``: for k = 0..N-1, the accuracy (x100) of the lines of permutation k, each judged
  against its own (remapped) references by ``judge`` (default: medsreg's rule,
  ``medsreg.metrics.answers.mcqa_correct``, right when any reference matches; ``medsreg score`` passes the
  ``mcqa_accuracy`` metric of its ``--compat`` mode, so that permutation 0's accuracy is the task's score);
* ``consistency``: the share (x100) of the task's items answered right under every one of the N permutations, as
  OpenCompass's CircularEval counts them; only items with a line for each permutation count (an item whose options
  could not be rotated has permutation 0 only and is left out, as is an unfinished one);
* ``items``: how many items ``consistency`` counts.

N is the task's highest ``permutation`` + 1 (a line without ``permutation`` is permutation 0).

**Instructions** (``medsreg eval --instructions K``). ``instruction_spread`` takes a task's scores under each of its
instructions (0: the suite's own, 1..K: the rewrites) and gives, per metric, the ``mean`` and the population
``std`` over the instructions evaluated (they are the whole set measured, not a sample of it), the ``min`` and
``max`` with the instruction that gave each (``worst``, ``best``: the lowest index on a tie), and the list of
``scores``. ``category_spread`` averages its tasks' statistics: its ``min`` is the category's score had every task
met its worst instruction, its ``std`` the mean of its tasks' spreads (a task's instructions differ from another's:
there is no "instruction j" across tasks to take a spread over).

**Clean vs dirty** (``medsreg eval --trained-on``): ``split_instances`` parts a task's predictions by the instance
ids that ``medsreg.contamination`` found overlapping the training data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from medsreg.metrics.answers import mcqa_correct

METRIC = "mcqa_accuracy"


def _field(prediction: Any, name: str, default: Any = None) -> Any:
    if isinstance(prediction, dict):
        return prediction.get(name, default)
    return getattr(prediction, name, default)


def is_correct(prediction: Any) -> bool:
    """medsreg's MCQA verdict for one line: right when the output answers any of the references."""
    output, references = _field(prediction, "output", ""), _field(prediction, "references", []) or []
    return any(mcqa_correct(str(output), str(reference)) for reference in references)


def option_robustness(predictions: Iterable[Any], judge: Callable[[Any], bool] = is_correct) -> dict[str, dict[str, Any]]:
    """{task: {"accuracy_per_permutation": [k = 0..N-1], "consistency": ..., "items": ...}} for each MCQA task."""
    verdicts: dict[str, dict[str, dict[int, bool]]] = {}  # task -> instance -> permutation -> correct
    for prediction in predictions:
        metrics = _field(prediction, "metrics")
        if metrics is not None and METRIC not in metrics:
            continue
        task, instance = str(_field(prediction, "task")), str(_field(prediction, "instance_id"))
        permutation = int(_field(prediction, "permutation", 0) or 0)
        verdicts.setdefault(task, {}).setdefault(instance, {})[permutation] = judge(prediction)
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


def instruction_spread(scores: dict[int, dict[str, float]], definitions: dict[int, int | None] | None = None
                       ) -> dict[str, dict[str, Any]]:
    """{metric: {"mean", "std", "min", "max", "worst", "best", "scores", "instructions"}} from {instruction index:
    {metric: score}}; ``definitions``: {instruction index: its index among the task's instructions}, recorded as
    ``instructions``."""
    indices = sorted(scores)
    metrics = list(dict.fromkeys(key for index in indices for key in scores[index]))
    spread = {}
    for metric in metrics:
        evaluated = [index for index in indices if metric in scores[index]]
        values = [scores[index][metric] for index in evaluated]
        mean = sum(values) / len(values)
        worst = min(evaluated, key=lambda index: (scores[index][metric], index))
        best = max(evaluated, key=lambda index: (scores[index][metric], -index))
        spread[metric] = {"mean": mean, "std": math.sqrt(sum((value - mean) ** 2 for value in values) / len(values)),
                          "min": scores[worst][metric], "max": scores[best][metric], "worst": worst, "best": best,
                          "scores": values, "indices": evaluated,
                          "instructions": [(definitions or {}).get(index) for index in evaluated]}
    return spread


def category_spread(tasks: list[dict[str, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """{metric: {"mean", "std", "min", "max", "tasks"}}: each statistic averaged over the tasks that have the metric."""
    metrics = list(dict.fromkeys(key for spread in tasks for key in spread))
    result = {}
    for metric in metrics:
        found = [spread[metric] for spread in tasks if metric in spread]
        result[metric] = {**{key: sum(item[key] for item in found) / len(found) for key in ("mean", "std", "min", "max")},
                          "tasks": len(found)}
    return result


def split_instances(predictions: list[Any], dirty: set[str]) -> tuple[list[Any], list[Any]]:
    """(clean, dirty): ``predictions`` parted by whether their ``instance_id`` is in ``dirty``, each in file order."""
    clean = [prediction for prediction in predictions if str(_field(prediction, "instance_id")) not in dirty]
    return clean, [prediction for prediction in predictions if str(_field(prediction, "instance_id")) in dirty]
