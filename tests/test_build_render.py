"""Rendering: instruction choice, k-shot context without the example itself, the official framing byte for byte,
suite rows as the official evaluation renders them, determinism per (seed, task, instance, repeat)."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from medsreg.build.render import (
    choose_instruction,
    row_rng,
    shot_positions,
    suite_row,
    training_row,
)
from medsreg.models import Suite, Task

LEARN = "Please learn from the few-shot cases to see what content you have to output."


def make_task(name: str, rows: int, *, definition=None, split: str = "train", inputs=None) -> Task:
    inputs = inputs or [f"case {i:04d}: the patient reports symptom {i}" for i in range(rows)]
    return Task(name=name, split=split, legacy_id=125, categories=["Named Entity Recognition", "Text Classification"],
                source=["BC4CHEMD", "PubMed"], license="CC-BY-4.0",
                definition=definition or ["Extract the chemicals."],
                instances=[{"id": f"i{i}", "input": text, "output": [f"out {i}", "alt"]} for i, text in enumerate(inputs)])


def render_all(task: Task, *, seed=0, p_original=0.5, p_zero_shot=0.0, shots=3, repeats=1):
    pool = task.instances
    return [training_row(task, pool, position, repeat, seed=seed, p_original=p_original, p_zero_shot=p_zero_shot,
                         shots=shots)
            for repeat in range(repeats) for position in range(len(pool))]


# --------------------------------------------------------------------------- instructions


def test_instruction_is_the_original_with_p_original_else_a_uniform_rewrite():
    definition = ["original", "rewrite 1", "rewrite 2", "rewrite 3"]
    always = {choose_instruction(row_rng(0, "t", str(i)), definition, 1.0) for i in range(200)}
    assert always == {(0, "original")}
    never = Counter(choose_instruction(row_rng(0, "t", str(i)), definition, 0.0)[0] for i in range(3000))
    assert set(never) == {1, 2, 3} and min(never.values()) > 850  # uniform among the rewrites
    half = Counter(choose_instruction(row_rng(0, "t", str(i)), definition, 0.5)[0] == 0 for i in range(4000))
    assert 1800 < half[True] < 2200
    assert {choose_instruction(row_rng(0, "t", str(i)), ["only"], 0.0) for i in range(50)} == {(0, "only")}


# --------------------------------------------------------------------------- k-shot context


@pytest.mark.parametrize("size", [12, 300])  # both the small-pool and the rejection-sampling path
def test_no_few_shot_context_contains_its_own_example(size):
    inputs = [f"case {i:04d}: the patient reports symptom {i}" for i in range(size)]
    inputs[1] = inputs[0]  # a duplicate input: it would hand the model the answer, so it is never a shot either
    task = make_task("p/ner", size, inputs=inputs)
    rows = render_all(task, p_zero_shot=0.0, shots=3, repeats=4)
    by_id = {instance["id"]: instance for instance in task.instances}
    for row in rows:
        own = by_id[row["instance_id"]]
        assert row["instance_id"] not in row["shot_ids"]
        assert len(row["shot_ids"]) == 3 == len(set(row["shot_ids"])) and not row["zero_shot"]
        assert all(by_id[shot]["input"] != own["input"] for shot in row["shot_ids"])
        system = row["messages"][0]["content"]
        assert f"Input:\n{own['input']}\n\n" not in system
        assert all(f"Input:\n{by_id[shot]['input']}\n\nOutput:\n{by_id[shot]['output'][0]}\n" in system
                   for shot in row["shot_ids"])


def test_shots_take_what_a_small_pool_has():
    inputs = [f"text {i}" for i in range(3)]
    assert sorted(shot_positions(row_rng(0, "t", "0"), 3, 0, 5, inputs)) == [1, 2]
    assert shot_positions(row_rng(0, "t", "0"), 1, 0, 3, inputs[:1]) == []


def test_k_shot_framing_is_the_official_one_byte_for_byte():
    task = make_task("p/ner", 2, definition=["Extract the chemicals."], inputs=["A in", "B in"])
    row = training_row(task, task.instances, 0, 0, seed=0, p_original=1.0, p_zero_shot=0.0, shots=3)
    # the only other instance is the one shot; no space between the instruction and "Please"
    system = "Input:\nB in\n\nOutput:\nout 1\n\n\nExtract the chemicals.Please learn from the few-shot cases to see what content you have to output."
    assert row["messages"] == [
        {"role": "system", "content": system},
        {"role": "user", "content": "Input:\nA in\nOutput:\n"},
        {"role": "assistant", "content": "out 0"},
    ]
    assert row["prompt"] == system + "\nInput:\nA in\nOutput:\n" and row["completion"] == "out 0"
    assert row["shot_ids"] == ["i1"] and row["zero_shot"] is False and row["instruction_index"] == 0


def test_zero_shot_row_is_instruction_and_raw_input_with_provenance():
    task = make_task("p/ner", 5, definition=["Extract.", "Rewrite."])
    row = training_row(task, task.instances, 2, 0, seed=0, p_original=1.0, p_zero_shot=1.0, shots=3)
    assert row["messages"][:2] == [{"role": "system", "content": "Extract."},
                                   {"role": "user", "content": task.instances[2]["input"]}]
    assert row["prompt"] == "Extract.\n" + task.instances[2]["input"]
    assert {key: row[key] for key in ("task", "legacy_id", "category", "source", "license", "instance_id",
                                      "instruction_index", "shot_ids", "zero_shot", "repeat")} == {
        "task": "p/ner", "legacy_id": 125, "category": "Named Entity Recognition", "source": "BC4CHEMD, PubMed",
        "license": "CC-BY-4.0", "instance_id": "i2", "instruction_index": 0, "shot_ids": [], "zero_shot": True, "repeat": 0,
    }


def test_p_zero_shot_mixes_both_forms():
    rows = render_all(make_task("p/ner", 400), p_zero_shot=0.3)
    zero = sum(row["zero_shot"] for row in rows)
    assert 80 < zero < 160
    assert all(row["messages"][1]["content"].startswith("Input:\n") != row["zero_shot"] for row in rows)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_rows_other_seed_other_rows_in_any_order():
    task = make_task("p/ner", 40, definition=["orig"] + [f"rewrite {i}" for i in range(10)])
    first = render_all(task, seed=1, p_zero_shot=0.3, repeats=2)
    assert render_all(task, seed=1, p_zero_shot=0.3, repeats=2) == first
    backwards = [training_row(task, task.instances, p, r, seed=1, p_original=0.5, p_zero_shot=0.3, shots=3)
                 for r in (1, 0) for p in reversed(range(40))]
    assert sorted(backwards, key=lambda row: (row["repeat"], row["instance_id"])) == \
        sorted(first, key=lambda row: (row["repeat"], row["instance_id"]))
    other = render_all(task, seed=2, p_zero_shot=0.3, repeats=2)
    assert sum(a != b for a, b in zip(first, other)) > 30


def test_repeats_of_an_instance_render_differently():
    task = make_task("p/ner", 30, definition=["orig"] + [f"rewrite {i}" for i in range(20)])
    rows = render_all(task, p_zero_shot=0.5, repeats=3)
    by_instance: dict[str, set[str]] = {}
    for row in rows:
        by_instance.setdefault(row["instance_id"], set()).add(row["prompt"])
    assert sum(len(prompts) > 1 for prompts in by_instance.values()) >= 25


# --------------------------------------------------------------------------- suite rows


def make_suite(**changes) -> Suite:
    document = {
        "name": "p/bench", "description": "A bench.", "shots": 3, "seed": 0,
        "categories": [
            {"name": "Multilingual MCQA", "tasks": [{"task": "p/mcqa", "metrics": ["mcqa_accuracy"], "shots": 0}]},
            {"name": "NER", "tasks": [{"task": "p/ner", "metrics": ["entity_f1"], "group": "chem", "average": False}]},
        ],
    }
    document.update(changes)
    return Suite.model_validate(document)


def test_suite_rows_mcqa_zero_shot_others_three_shot_with_the_original_instruction():
    suite = make_suite()
    mcqa = make_task("p/mcqa", 6, split="test", definition=["Answer the question.", "A rewrite never used."],
                     inputs=[f"Question {i}?\nA. yes\nB. no" for i in range(6)])
    ner = make_task("p/ner", 8, split="test", definition=["Extract the chemicals.", "Never used."])
    mcqa_entry, ner_entry = suite.categories[0].tasks[0], suite.categories[1].tasks[0]

    row = suite_row(suite, "Multilingual MCQA", mcqa_entry, mcqa, mcqa.instances, 4)
    assert row["messages"] == [{"role": "system", "content": "Answer the question."},
                               {"role": "user", "content": "Question 4?\nA. yes\nB. no"}]
    assert row["prompt"] == "Answer the question.\nQuestion 4?\nA. yes\nB. no"
    assert (row["references"], row["metrics"], row["category"], row["task"], row["instance_id"], row["shot_ids"]) == \
        (["out 4", "alt"], ["mcqa_accuracy"], "Multilingual MCQA", "p/mcqa", "i4", [])

    for position in range(8):
        row = suite_row(suite, "NER", ner_entry, ner, ner.instances, position)
        shots = [ner.instances[int(shot[1:])] for shot in row["shot_ids"]]
        assert len(shots) == 3 and f"i{position}" not in row["shot_ids"]
        expected = "\n\n".join(f"Input:\n{s['input']}\n\nOutput:\n{s['output'][0]}\n" for s in shots) \
            + "\n\nExtract the chemicals." + LEARN
        assert row["messages"] == [{"role": "system", "content": expected},
                                   {"role": "user", "content": f"Input:\n{ner.instances[position]['input']}\nOutput:\n"}]
        assert (row["group"], row["average"], row["metrics"], row["suite"]) == ("chem", False, ["entity_f1"], "p/bench")


def test_suite_prompts_are_fixed_by_the_suite_seed_not_the_mixture():
    ner = make_task("p/ner", 30, split="test")
    entry = make_suite().categories[1].tasks[0]
    rows = [suite_row(make_suite(), "NER", entry, ner, ner.instances, p) for p in range(30)]
    assert rows == [suite_row(make_suite(), "NER", entry, ner, ner.instances, p) for p in range(30)]
    reseeded = [suite_row(make_suite(seed=9), "NER", entry, ner, ner.instances, p) for p in range(30)]
    assert rows != reseeded


def test_row_random_is_keyed_uniform_and_unbiased():
    from medsreg.build.render import RowRandom

    first = RowRandom("0|t|7|0")
    draws = [first.randrange(3) for _ in range(30)]  # past one digest block (8 values)
    again = RowRandom("0|t|7|0")
    assert [again.randrange(3) for _ in range(30)] == draws
    other = RowRandom("0|t|7|1")
    assert [other.randrange(3) for _ in range(30)] != draws
    rng = RowRandom("uniform")
    counts = Counter(rng.randrange(1, 4) for _ in range(30_000))
    assert set(counts) == {1, 2, 3} and all(abs(count - 10_000) < 400 for count in counts.values())
    mean = sum(rng.random() for _ in range(20_000)) / 20_000
    assert abs(mean - 0.5) < 0.01
    picked = rng.sample(list(range(10)), 4)
    assert len(set(picked)) == 4 and set(picked) <= set(range(10))
    firsts = Counter(RowRandom(str(i)).sample(["a", "b", "c"], 1)[0] for i in range(3_000))
    assert all(abs(count - 1_000) < 120 for count in firsts.values())


# --------------------------------------------------------------------------- the build's columns


def _through_ipc(batch):
    """A record batch written to an IPC stream and read back (as a build's rows were kept between its passes)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return pa.ipc.open_stream(sink.getvalue()).read_next_batch()


def _assert_same_table(made, expected, *, batch_rows: int) -> None:
    """The same schema and values, the same ``nbytes`` per column, and the same bytes serialized in batches."""
    assert made.schema.equals(expected.schema)
    assert made.to_pylist() == expected.to_pylist()
    assert {name: made.column(name).nbytes for name in made.schema.names} == \
        {name: expected.column(name).nbytes for name in made.schema.names}
    assert [batch.serialize().to_pybytes() for batch in made.combine_chunks().to_batches(max_chunksize=batch_rows)] == \
        [batch.serialize().to_pybytes() for batch in expected.combine_chunks().to_batches(max_chunksize=batch_rows)]


def test_a_bucket_is_training_rows_shuffled_with_their_bytes_and_nbytes(tmp_path):
    """bucket.py makes a mixture's bucket in Arrow from the pools and the rows' positions: it is the table the build made
    before of ``training_row``'s dicts (``from_pylist`` per task and bucket, the tasks in plan order, shuffled with
    ``bucket_order``), value for value, serialized byte for byte, with the same ``nbytes`` per column (which decides
    where save_to_disk starts a shard). The tasks: a large pool with rewrites and duplicated inputs (rejection sampling
    of shots), one whose decontamination removed instances (rows and shots drawn among the kept ones), a small pool
    (shots from the candidate list), a one-instance task without an output, legacy id, category or source."""
    import numpy as np
    import pyarrow as pa
    from medsreg.build.bucket import OpenedPools, TaskRows, bucket_table, read_pool, write_pool, write_rows
    from medsreg.errors import MedsregError
    from medsreg.build.pipeline import training_features
    from medsreg.build.plan import bucket_order
    from medsreg.build.spec import default_spec

    schema = training_features().arrow_schema
    spec = default_spec().model_copy(update={"seed": 3, "p_original": 0.5, "p_zero_shot": 0.3, "shots": 3})
    large = make_task("p/large", 200, definition=["original", "rewrite 1", "rewrite 2"],
                      inputs=[f"case {i % 150}: the patient" for i in range(200)])
    cleaned = make_task("p/cleaned", 120)
    small = make_task("p/small", 12)
    bare = Task(name="p/bare", definition=["Answer."], categories=[], source=[],
                instances=[{"id": "only", "input": "x", "output": []}])
    removed = {"p/cleaned": [0, 5, 6, 119]}
    parts, rows_by_bucket = [], {0: [], 1: []}
    for number, task in enumerate([large, cleaned, small, bare]):
        drop = set(removed.get(task.name, []))
        pool = [instance for position, instance in enumerate(task.instances) if position not in drop]
        positions = [position for repeat in range(2) for position in range(len(pool))]
        repeats = [repeat for repeat in range(2) for _ in range(len(pool))]
        half = len(positions) // 2  # the first rows in bucket 0, the rest in bucket 1
        write_pool(tmp_path / f"{number}.arrow", task.instances)
        kept = np.array([position for position in range(len(task.instances)) if position not in drop]) if drop else None
        write_rows(tmp_path / f"{number}.rows", task, spec, read_pool(tmp_path / f"{number}.arrow"), np.array(positions),
                   np.array(repeats), kept)
        parts.append(TaskRows(task=task, pool=tmp_path / f"{number}.arrow", rows=tmp_path / f"{number}.rows",
                              ends=(half, len(positions))))
        options = {"seed": spec.seed, "p_original": spec.p_original, "p_zero_shot": spec.p_zero_shot, "shots": spec.shots}
        made = [training_row(task, pool, position, repeat, **options) for position, repeat in zip(positions, repeats)]
        rows_by_bucket[0].append(made[:half])
        rows_by_bucket[1].append(made[half:])
    opened = OpenedPools()  # as a worker reads them: each pool opened once for every bucket it makes
    for bucket, per_task in rows_by_bucket.items():
        expected = pa.Table.from_batches([_through_ipc(pa.RecordBatch.from_pylist(rows, schema=schema))
                                          for rows in per_task if rows], schema=schema)
        expected = expected.take(bucket_order(spec.seed, bucket, expected.num_rows))
        _assert_same_table(bucket_table(spec, parts, schema, bucket, opened), expected, batch_rows=25)
    shots = [row["shot_ids"] for row in bucket_table(spec, parts, schema, 0).to_pylist() if row["task"] == "p/cleaned"]
    assert shots and not {"i0", "i5", "i6", "i119"} & {shot for row in shots for shot in row}
    (tmp_path / "3.arrow").unlink()
    with pytest.raises(MedsregError, match=r"scratch file .*3\.arrow has gone .*run the build again"):
        bucket_table(spec, parts, schema, 0)


@pytest.mark.parametrize("size, distinct, rewrites, shots, p_original, p_zero_shot, by_row", [
    (2000, 2000, 3, 3, 0.5, 0.3, False),  # the common case: every row read off its first eight values
    (100, 3, 2, 3, 0.5, 0.0, True),  # three distinct inputs: many shots drawn but not taken, rows past eight values
    (70, 70, 0, 6, 1.0, 0.0, True),  # six shots: rows past eight values
    (64, 64, 2, 3, 0.5, 0.2, True),  # a small pool: shots from the candidate list
    (1 << 12, 1 << 12, 2, 3, 0.0, 0.0, False),  # a power of two: randrange never skips a value
    (3, 3, 1, 3, 0.5, 0.5, True),  # fewer instances than shots
    (500, 500, 2, 0, 0.5, 0.3, False),  # no shots
])
def test_draws_of_many_rows_are_those_of_each_row(monkeypatch, size, distinct, rewrites, shots, p_original, p_zero_shot,
                                                  by_row):
    """draws.py reads many rows' choices off their digests with numpy; every row's are ``render.training_choices``'s
    (the draws the build's pinned bytes were made with), whichever path made them; ``by_row``: some rows are left to
    ``training_choices`` itself."""
    import numpy as np
    from medsreg.build import draws
    from medsreg.build.render import training_choices

    slow = []
    monkeypatch.setattr(draws, "training_choices", lambda *args: slow.append(args) or training_choices(*args))
    rng = random.Random(size)
    rows = 1500
    groups = np.array([position % distinct for position in range(size)])
    ids = [f"id-{rng.randrange(10**6)}" for _ in range(rows)]
    positions = np.array([rng.randrange(size) for _ in range(rows)])
    repeats = np.array([rng.randrange(3) for _ in range(rows)])
    definition = ["original"] + [f"rewrite {number}" for number in range(1, rewrites + 1)]
    instruction, counts, chosen = draws.training_draws(7, "p/t", definition, ids, positions, repeats, groups,
                                                       p_original=p_original, p_zero_shot=p_zero_shot, shots=shots)
    for row in range(rows):
        index, picked = training_choices(row_rng(7, "p/t", ids[row], int(repeats[row])), definition, p_original,
                                         p_zero_shot, shots, size, int(positions[row]), groups)
        assert (int(instruction[row]), chosen[row, : counts[row]].tolist()) == (index, picked), row
        assert (chosen[row, counts[row]:] == -1).all()
    assert (0 < len(slow) < rows) if by_row else not slow


@pytest.mark.parametrize("instruction", ["original", "rewrite"])
def test_a_suite_table_is_the_suite_rows_with_their_bytes_and_nbytes(instruction):
    """suitebuild.py makes a suite's table in Arrow: it is ``from_pylist`` of ``suite_row``'s dicts, value for value,
    serialized byte for byte, with the same ``nbytes`` per column (which decides where save_to_disk starts a shard).
    The rows: a table that ends inside one task and starts another, a zero-shot task with a group, a 3-shot task with
    rewrites and duplicated outputs lists, a small pool (shots from the candidate list), a task of one instance."""
    import pyarrow as pa
    from medsreg.build.pipeline import suite_features
    from medsreg.build.render import suite_row
    from medsreg.build.suitebuild import suite_table
    from medsreg.models import SuiteCategory, SuiteTask

    schema = suite_features().arrow_schema
    mcqa = make_task("p/mcqa", 90, definition=["Pick one.", "Choose an option."], split="test")
    summary = make_task("p/summary", 150, definition=["Summarize.", "Sum up.", "Write a summary."], split="test",
                        inputs=[f"case {i % 100}: the report" for i in range(150)])
    for position, instance in enumerate(summary.instances):
        instance["output"] = [f"summary {position}", "another reference"][: 1 + position % 2]
    small = make_task("p/small", 7, split="test")
    single = make_task("p/single", 1, split="test")
    entries = [SuiteTask(task="p/mcqa", metrics=["accuracy"], shots=0, group="options", average=False),
               SuiteTask(task="p/summary", metrics=["bleu1", "rougeL"]),
               SuiteTask(task="p/small", metrics=["accuracy"], shots=5),
               SuiteTask(task="p/single", metrics=["accuracy"])]
    suite = Suite(name="p/bench", description="A test suite.", seed=11, instruction=instruction,
                  categories=[SuiteCategory(name="QA", tasks=entries[:1]), SuiteCategory(name="Other", tasks=entries[1:])])
    parts = [("QA", entries[0], mcqa, mcqa.instances)] + [("Other", entry, task, task.instances)
                                                          for entry, task in zip(entries[1:], [summary, small, single])]
    # rows 60 to 90 of the first task, then the other tasks whole
    segments = [(parts[0], 60, 90)] + [(part, 0, len(part[3])) for part in parts[1:]]
    made = suite_table(suite, segments, schema)
    expected = pa.Table.from_pylist([suite_row(suite, category, entry, task, pool, position)
                                     for (category, entry, task, pool), start, end in segments
                                     for position in range(start, end)], schema=schema)
    _assert_same_table(made, expected, batch_rows=40)
    assert {len(row["shot_ids"]) for row in made.to_pylist()} == {0, 3, 5}
