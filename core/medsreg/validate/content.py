"""Checks of a task's content: metadata text, instances, split marks, counts, label balance, examples."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

from medsreg.build.plan import SPLIT_RULES, contradicts_split
from medsreg.catalog import LoadedTask
from medsreg.validate.problems import Options, Problem, Severity, check, task_problem
from medsreg.vocabulary import CLASSIFICATION_CATEGORIES


@check("metadata", scope="task")
def check_metadata(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """Definition (unless a source provides it), Source, Contributors and Categories are present and not blank."""
    task = item.task
    fields = [("Source", task.source), ("Contributors", task.contributors), ("Categories", task.categories)]
    if task.instructions_from is None and task.instances_from is None:
        fields.insert(0, ("Definition", task.definition))
    if task.instructions_from is not None and task.legacy_id is None:
        yield task_problem("metadata", "error", item, "$.medsreg.instructions_from",
                           "instructions are looked up by legacy id ('task<N>' in the file); set 'medsreg.legacy_id'")
    for key, values in fields:
        if not any(value.strip() for value in values):
            yield task_problem("metadata", "error", item, f"$.{key}", f"{key} is empty; fill it in (see CONTRIBUTING.md, 'Task file')")


@check("nonempty", scope="task")
def check_nonempty(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """Every instance has a non-blank input and at least one non-blank output."""
    for index, instance in enumerate(item.task.instances or ()):
        if not instance["input"].strip():
            yield task_problem("nonempty", "error", item, f"$.Instances[{index}].input", "is empty; give the instance an input or remove it")
        outputs = instance["output"]
        if not outputs or not all(text.strip() for text in outputs):
            yield task_problem("nonempty", "error", item, f"$.Instances[{index}].output", "is empty; every instance needs a reference output")


@check("duplicates", scope="task")
def check_duplicates(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """Instance ids are unique; no input appears twice (identical copies are errors, differing outputs get a merge hint)."""
    instances = item.task.instances or ()
    first_id: dict[str, int] = {}
    first_input: dict[str, int] = {}
    for index, instance in enumerate(instances):
        identifier = instance["id"]
        seen = first_id.setdefault(identifier, index)
        if seen != index:
            yield task_problem("duplicates", "error", item, f"$.Instances[{index}].id",
                     f"id {identifier!r} is already used by Instances[{seen}]; ids must be unique within a task")
        text = instance["input"]
        seen = first_input.setdefault(text, index)
        if seen != index:
            if instances[seen]["output"] == instance["output"]:
                yield task_problem("duplicates", "error", item, f"$.Instances[{index}]",
                         f"repeats Instances[{seen}] exactly (same input and output); remove one of them")
            else:
                merged = list(dict.fromkeys(instances[seen]["output"] + instance["output"]))
                yield task_problem("duplicates", "warning", item, f"$.Instances[{index}]",
                         f"has the same input as Instances[{seen}] with other outputs; merge them into one instance "
                         f"with \"output\": {merged!r}")


SPLIT_PROBLEMS_PER_TASK = 10
"""Instances reported one by one per task: a file that lacks every mark gets one summary line for the rest."""


@check("split-marks", scope="task")
def check_split_marks(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """Instance 'split' marks agree with the Split Type: no test in a Train task, no train in a Test one, all in Train/Test."""
    task = item.task
    instances = task.instances or ()
    if task.split is None:
        marked = sum("split" in instance for instance in instances)
        if marked:
            yield task_problem("split-marks", "warning", item, "$",
                               f"{marked} instances have a \"split\" but the task has no 'Split Type', so no build "
                               "reads the marks; set 'Split Type' to \"Train/Test\", or remove the marks")
        return
    rule, fix = SPLIT_RULES[task.split]
    found = [index for index, instance in enumerate(instances) if contradicts_split(task, instance)]
    for index in found[:SPLIT_PROBLEMS_PER_TASK]:
        yield _instance_problem("split-marks", "error", item, index,
                                f"instance {index} (id {instances[index]['id']!r}) of {task.name} breaks its Split Type "
                                f"({rule}); {fix}")
    if len(found) > SPLIT_PROBLEMS_PER_TASK:
        yield _instance_problem("split-marks", "error", item, None,
                                f"... and {len(found) - SPLIT_PROBLEMS_PER_TASK:,} more instances of {task.name} "
                                f"({len(found):,} in all, from Instances[{found[0]}]) break its Split Type ({rule}); {fix}")


def _instance_problem(check_id: str, severity: Severity, item: LoadedTask, index: int | None, message: str) -> Problem:
    """A problem at instance ``index`` (None: the instances as a whole), located in the user's data file and record
    when the instances were read from a configured source: the task file does not hold them then."""
    if item.data_path is not None:
        return Problem(check_id, severity, item.data_path, "" if index is None else f"record {index}", message)
    return task_problem(check_id, severity, item, "$.Instances" if index is None else f"$.Instances[{index}]", message)


@check("instance-count", scope="task")
def check_instance_count(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """A task has instances (inline or from a source), at least --min-instances and at most --max-instances."""
    task = item.task
    if task.instances is None:
        if task.instances_from is None and task.loader is None:
            yield task_problem("instance-count", "error", item, "$.Instances",
                     "the task has no instances; add 'Instances', or 'medsreg.instances_from' for data kept outside the repository")
        return
    count = len(task.instances)
    if count == 0:
        yield task_problem("instance-count", "error", item, "$.Instances", "is an empty list; a task needs instances")
    elif count > options.max_instances:
        yield task_problem("instance-count", "error", item, "$.Instances",
                 f"holds {count:,} instances, over the limit of {options.max_instances:,}; split the task or raise --max-instances")
    elif count < options.min_instances:
        yield task_problem("instance-count", "warning", item, "$.Instances",
                 f"holds {count} instances, fewer than {options.min_instances}: too few for 3-shot prompts and stable scores")


@check("label-balance", scope="task")
def check_label_balance(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """Classification tasks do not collapse onto one label (normalized label entropy >= --min-label-entropy)."""
    task = item.task
    instances = task.instances or ()
    if not instances or not CLASSIFICATION_CATEGORIES.intersection(task.categories):
        return
    labels = Counter(" | ".join(instance["output"]).strip().lower() for instance in instances)
    # many distinct outputs means free text, not labels: balance does not apply
    if len(labels) > max(20, len(instances) // 10):
        return
    if len(labels) == 1:
        (label,) = labels
        yield task_problem("label-balance", "warning", item, "$.Instances",
                 f"every instance has the same output {label!r}; a classifier learns nothing from one label")
        return
    total = len(instances)
    entropy = -sum(n / total * math.log(n / total) for n in labels.values()) / math.log(len(labels))
    if entropy < options.min_label_entropy:
        top, top_count = labels.most_common(1)[0]
        yield task_problem("label-balance", "warning", item, "$.Instances",
                 f"labels are unbalanced (normalized entropy {entropy:.2f} < {options.min_label_entropy}); "
                 f"{top!r} makes {top_count / total:.0%} of {total} instances. Add instances of the rarer labels or downsample")


@check("examples", scope="task")
def check_examples(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """Positive and negative examples have an input, an output and an explanation."""
    for key, examples in (("Positive Examples", item.task.positive_examples), ("Negative Examples", item.task.negative_examples)):
        for index, example in enumerate(examples):
            path = f"$['{key}'][{index}]"
            output = [example.output] if isinstance(example.output, str) else example.output
            if not example.input.strip():
                yield task_problem("examples", "error", item, f"{path}.input", "is empty; an example needs an input")
            if not output or not all(text.strip() for text in output):
                yield task_problem("examples", "error", item, f"{path}.output", "is empty; an example needs an output")
            if not example.explanation.strip():
                yield task_problem("examples", "warning", item, f"{path}.explanation", "is empty; say why this output is right (or wrong)")
