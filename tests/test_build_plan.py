"""The build plan: spec files, selection (with did-you-mean), the mixing math, draws, decontamination."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest
from medsreg.build.plan import (
    BUCKET_ROWS,
    bucket_count,
    bucket_order,
    draws,
    make_plan,
    overlapping,
    row_buckets,
    select_tasks,
    training_instances,
)
from medsreg.build.spec import default_spec, load_spec
from medsreg.catalog import Catalog, LoadedTask
from medsreg.errors import MedsregError
from medsreg.models import MixtureSpec, Task
from medsreg.overlap import OverlapIndex
from medsreg.plugins import PluginInfo


def make_task(name: str, rows: int, *, split: str = "train", categories=("Text Classification",), inputs=None) -> Task:
    inputs = inputs or [f"{name} question number {i} about a patient" for i in range(rows)]
    return Task(name=name, split=split, categories=list(categories), definition=["Answer the question."],
                instances=[{"id": f"{name}#{i}", "input": text, "output": [f"answer {i}"]} for i, text in enumerate(inputs)])


def catalog_of(*tasks: Task) -> Catalog:
    plugins = sorted({task.plugin for task in tasks})
    return Catalog(plugins=[PluginInfo(name=name, module=f"medsreg_{name}") for name in plugins],
                   tasks=[LoadedTask(task, f"test:{task.name}") for task in tasks])


def plan_for(spec: MixtureSpec, *tasks: Task):
    selected = select_tasks(spec, catalog_of(*tasks))
    kept = {choice.item.task.name: len(training_instances(choice.item.task)) for choice in selected}
    return make_plan(spec, selected, kept)


def taken(plan) -> dict[str, int]:
    return {row.task.name: row.taken for row in plan.rows}


# --------------------------------------------------------------------------- the math


def test_default_takes_every_training_row_once_and_leaves_test_tasks_out():
    plan = plan_for(default_spec(), make_task("p/a", 7), make_task("p/b", 30), make_task("p/test", 9, split="test"))
    assert taken(plan) == {"p/a": 7, "p/b": 30}
    assert all(row.factor == 1.0 for row in plan.rows)


def test_cap_limits_the_size_counted_for_the_rate():
    tasks = make_task("p/big", 100), make_task("p/small", 5)
    assert taken(plan_for(MixtureSpec(cap=10), *tasks)) == {"p/big": 10, "p/small": 5}
    assert taken(plan_for(MixtureSpec(cap=10, total=30), *tasks)) == {"p/big": 20, "p/small": 10}
    # an entry's cap overrides the mixture's
    spec = MixtureSpec(cap=10, total=30, include=[{"task": "p/big", "cap": 25}, {"task": "p/small"}])
    assert taken(plan_for(spec, *tasks)) == {"p/big": 25, "p/small": 5}


def test_temperature_flattens_the_mixture():
    tasks = make_task("p/big", 100), make_task("p/small", 25)
    # rates 100**0.5 = 10 and 25**0.5 = 5; without a total they are rescaled to the 125 rows
    assert taken(plan_for(MixtureSpec(temperature=2), *tasks)) == {"p/big": 83, "p/small": 42}
    assert taken(plan_for(MixtureSpec(temperature=2, total=9), *tasks)) == {"p/big": 6, "p/small": 3}
    plan = plan_for(MixtureSpec(temperature=2), *tasks)
    assert [round(row.factor, 2) for row in plan.rows] == [0.83, 1.68]  # the small task is oversampled


def test_n_and_fraction_fix_counts_and_weights_share_the_rest_of_the_total():
    tasks = make_task("p/a", 40), make_task("p/b", 11), make_task("p/c", 40), make_task("p/d", 20)
    spec = MixtureSpec(total=30, include=[
        {"task": "p/a", "n": 7}, {"task": "p/b", "fraction": 0.5},
        {"task": "p/c", "weight": 1}, {"task": "p/d", "weight": 2},
    ])
    counts = taken(plan_for(spec, *tasks))
    assert counts["p/a"] == 7 and counts["p/b"] == 6  # round half up: 5.5 -> 6
    # the other 17 rows: equal rates (1 * 40 and 2 * 20), 8.5 each; the half row goes to the earlier task
    assert (counts["p/c"], counts["p/d"]) == (9, 8) and sum(counts.values()) == 30


def test_weights_scale_the_rates():
    tasks = make_task("p/a", 50), make_task("p/b", 50)
    spec = MixtureSpec(total=90, include=[{"task": "p/a", "weight": 2}, {"task": "p/b", "weight": 1}])
    assert taken(plan_for(spec, *tasks)) == {"p/a": 60, "p/b": 30}
    without_total = MixtureSpec(include=[{"task": "p/a", "weight": 0.5}, {"task": "p/b", "weight": 0}])
    assert taken(plan_for(without_total, *tasks)) == {"p/a": 25, "p/b": 0}


def test_total_is_met_exactly_by_largest_remainder():
    generator = random.Random(7)
    for _ in range(200):
        tasks = [make_task(f"p/t{i}", generator.randint(1, 60)) for i in range(generator.randint(1, 6))]
        total = generator.randint(1, 500)
        spec = MixtureSpec(total=total, temperature=generator.choice([1, 1.5, 3]), cap=generator.choice([None, 10, 40]),
                           include=[{"task": t.name, "weight": generator.choice([0.5, 1, 2.5])} for t in tasks])
        assert sum(taken(plan_for(spec, *tasks)).values()) == total
    # equal rates: the remainder goes to the earlier tasks, whatever the floating-point noise
    assert taken(plan_for(MixtureSpec(total=10), *(make_task(f"p/{c}", 9) for c in "abc"))) == {"p/a": 4, "p/b": 3, "p/c": 3}


@pytest.mark.parametrize("spec, sentence", [
    (MixtureSpec(include=[{"task": "p/a", "weight": 0}, {"task": "p/b", "weight": 0}]), "sum to zero"),
    (MixtureSpec(total=5, include=[{"task": "p/a", "n": 4}, {"task": "p/b", "n": 3}]), "smaller than the rows"),
    (MixtureSpec(total=10, include=[{"task": "p/a", "n": 4}, {"task": "p/b", "n": 3}]), "no entry has a 'weight'"),
    (MixtureSpec(include=[{"task": "p/a", "n": 0}, {"task": "p/b", "fraction": 0}]), "empty mixture"),
    (MixtureSpec(include=[{"plugin": "p"}], exclude=["p/a", "p/b"]), "selects no available training task"),
])
def test_impossible_mixtures_are_one_sentence(spec, sentence):
    with pytest.raises(MedsregError, match=sentence) as error:
        plan_for(spec, make_task("p/a", 10), make_task("p/b", 10))
    assert "\n" not in str(error.value)


# --------------------------------------------------------------------------- selection


def test_entries_by_task_id_category_plugin_with_the_most_specific_winning():
    tasks = (make_task("p/a", 10, categories=("Named Entity Recognition",)), make_task("p/b", 10),
             make_task("q/c", 10, categories=("Named Entity Recognition",)))
    tasks[2].legacy_id = 125
    spec = MixtureSpec(include=[{"task": "125", "n": 3}, {"category": "NER", "weight": 1}, {"plugin": "p", "fraction": 0.5}])
    plan = plan_for(spec, *tasks)
    assert taken(plan) == {"p/a": 10, "p/b": 5, "q/c": 3}  # the task entry wins over the later category entry
    assert [row.unit for row in plan.rows] == ["weight 1", "fraction 0.5", "n 3"]


@pytest.mark.parametrize("spec, sentence", [
    (MixtureSpec(include=[{"task": "p/alhpa"}]), "include[0].task: no task named 'p/alhpa'. Did you mean 'p/alpha'?"),
    (MixtureSpec(include=[{"category": "Named Entity Recognitio"}]), "Did you mean 'Named Entity Recognition'?"),
    (MixtureSpec(include=[{"plugin": "pp"}]), "no installed plugin named 'pp'. Did you mean 'p'?"),
    (MixtureSpec(exclude=["p/alpah"]), "exclude[0]: no task named 'p/alpah'. Did you mean 'p/alpha'?"),
    (MixtureSpec(include=[{"task": "p/exam"}]), "not a training task"),
])
def test_unknown_names_in_a_spec_are_located_with_did_you_mean(spec, sentence):
    catalog = catalog_of(make_task("p/alpha", 5), make_task("p/exam", 5, split="test"))
    with pytest.raises(MedsregError) as error:
        select_tasks(spec, catalog, "mix.yaml")
    assert str(error.value).startswith("mix.yaml: ") and sentence in str(error.value)


def test_train_test_tasks_contribute_only_their_training_side():
    task = make_task("p/both", 6, split="train/test")
    for index, instance in enumerate(task.instances):
        instance["split"] = "test" if index < 2 else "train"
    assert [i["id"] for i in training_instances(task)] == ["p/both#2", "p/both#3", "p/both#4", "p/both#5"]
    assert taken(plan_for(default_spec(), task)) == {"p/both": 4}


# --------------------------------------------------------------------------- which instances


def test_oversampling_repeats_every_instance_before_any_twice_more():
    positions, repeats = draws(0, "p/a", kept=4, taken=10)
    counts = Counter(positions.tolist())
    assert sorted(counts.values()) == [2, 2, 3, 3] and set(counts) == {0, 1, 2, 3}
    pairs = list(zip(positions.tolist(), repeats.tolist()))
    assert len(set(pairs)) == 10  # each (instance, repeat) once: repeats render differently
    under, _ = draws(0, "p/a", kept=100, taken=10)
    assert len(set(under.tolist())) == 10
    assert draws(1, "p/a", kept=100, taken=10)[0].tolist() != under.tolist()


def test_buckets_are_seeded_by_task_and_spread_rows_uniformly():
    assert bucket_count(0) == 1 and bucket_count(BUCKET_ROWS) == 1 and bucket_count(BUCKET_ROWS + 1) == 2
    buckets = row_buckets(0, "p/a", 40_000, 4)
    assert buckets.min() == 0 and buckets.max() == 3
    assert all(abs(count - 10_000) < 500 for count in Counter(buckets.tolist()).values())
    assert (row_buckets(0, "p/a", 40_000, 4) == buckets).all()
    assert (row_buckets(1, "p/a", 40_000, 4) != buckets).any() and (row_buckets(0, "p/b", 40_000, 4) != buckets).any()
    order = bucket_order(0, 2, 50)
    assert sorted(order.tolist()) == list(range(50)) and order.tolist() != list(range(50))
    assert bucket_order(0, 2, 50).tolist() == order.tolist() and bucket_order(0, 3, 50).tolist() != order.tolist()


# --------------------------------------------------------------------------- decontamination


def test_decontamination_removes_planted_overlaps_only():
    test_inputs = [
        ("A 54-year-old woman with a history of hypertension presents with sudden severe headache and neck stiffness "
         "after lifting a heavy box at work this morning."),
        "Which enzyme is inhibited by allopurinol in the treatment of gout?",  # 11 tokens: an equal copy leaks
    ]
    clean = [f"Unrelated training question {i} about pharmacology of beta blockers" for i in range(6)]
    planted = [
        # 15 of the first test input's 27 tokens, inside other text: over half of it
        ("Consider this: with a history of hypertension presents with sudden severe headache and neck stiffness after "
         "lifting, then answer."),
        "WHICH enzyme is inhibited by Allopurinol in the treatment of GOUT ?",  # equal once normalized (case, punctuation)
    ]
    index = OverlapIndex(test_inputs)
    assert overlapping(index, clean[:3] + planted[:1]) == [3]
    assert overlapping(index, planted[1:] + clean[3:]) == [0]
    assert overlapping(index, clean) == []


def test_decontaminated_counts_enter_the_plan():
    task = make_task("p/a", 10)
    selected = select_tasks(default_spec(), catalog_of(task))
    plan = make_plan(default_spec(), selected, {"p/a": 7}, {"p/a": [0, 1, 2]})
    row = plan.rows[0]
    assert (row.available, row.decontaminated, row.taken, row.factor) == (10, 3, 7, 1.0)
    assert "decontaminated" in plan.table() and "p/a" in plan.table()


# --------------------------------------------------------------------------- spec files


def test_spec_files_in_json_and_yaml_read_the_same(tmp_path):
    document = {"include": [{"category": "Named Entity Recognition", "weight": 2}, {"task": "125", "n": 10}],
                "cap": 1000, "temperature": 2, "total": 50, "seed": 3}
    (tmp_path / "mix.json").write_text(json.dumps(document), encoding="utf-8")
    pytest.importorskip("yaml")
    (tmp_path / "mix.yaml").write_text(
        "include:\n  - category: Named Entity Recognition\n    weight: 2\n  - task: '125'\n    n: 10\n"
        "cap: 1000\ntemperature: 2\ntotal: 50\nseed: 3\n", encoding="utf-8")
    assert load_spec(tmp_path / "mix.json") == load_spec(tmp_path / "mix.yaml") == MixtureSpec.model_validate(document)


@pytest.mark.parametrize("name, text, sentence", [
    ("cap.json", '{"cap": 0}', "cap.json: $.cap: input should be greater than or equal to 1 (got 0)"),
    ("entry.json", '{"include": [{"task": "a", "n": 1, "weight": 2}]}', "$.include[0]: give at most one of"),
    ("key.json", '{"include": [{"task": "a", "weigth": 2}]}', "$.include[0].weigth: is not a key of an include entry. Did you mean 'weight'?"),
    ("top.json", '{"totl": 3}', "$.totl: is not a key of a mixture spec"),
    ("syntax.json", '{"cap": 3,\n}', "syntax.json: is not valid JSON: expecting property name enclosed in double quotes at line 2 column 1"),
    ("syntax.yaml", "include:\n  - task: [a\n", "syntax.yaml: line 3"),
    ("list.json", "[1, 2]", "must be a mapping"),
    ("spec.txt", "{}", "a .json, .yaml or .yml file"),
])
def test_bad_spec_files_are_located_sentences(tmp_path, name, text, sentence):
    if name.endswith(".yaml"):
        pytest.importorskip("yaml")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MedsregError) as error:
        load_spec(path)
    assert sentence in str(error.value) and "\n" not in str(error.value)
    assert str(path) in str(error.value)


def test_a_missing_spec_file_says_so(tmp_path):
    with pytest.raises(MedsregError, match="does not exist"):
        load_spec(tmp_path / "absent.yaml")
