"""The build writer: streamed Arrow in the save_to_disk layout, byte-identical rebuilds, atomic replacement.

The SIGKILL and two-process tests run a small script (``WRITER_SCRIPT``) in subprocesses, so
interpreter state (hash seeds, caches) cannot make two builds agree by accident.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

datasets = pytest.importorskip("datasets")

from medsreg.build.writer import (
    BATCH_ROWS,
    OutputDataset,
    canonical_lines,
    export_name,
    write_build,
)
from medsreg.errors import MedsregError

REPO = Path(__file__).resolve().parents[1]

WRITER_SCRIPT = '''
import json, sys, time
from pathlib import Path
import datasets
from medsreg.build.writer import OutputDataset, write_build

output, count, delay, export = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
text = datasets.Value("string")
features = datasets.Features({
    "messages": datasets.List({"role": text, "content": text}),
    "task": text, "legacy_id": datasets.Value("int64"), "shot_ids": datasets.List(text),
})

def rows():
    for i in range(count):
        if delay and i % 1000 == 0:
            time.sleep(delay)
        yield {"messages": [{"role": "system", "content": f"Instruction {i % 7}: answer briefly."},
                            {"role": "user", "content": f"Input:\\npatient {i} reports symptom {i * 31 % 97}\\nOutput:\\n"},
                            {"role": "assistant", "content": f"label {i % 3} \\u00e9\\u4e2d"}],
               "task": f"demo/task{i % 5}", "legacy_id": i % 5 + 1 if i % 4 else None,
               "shot_ids": [f"id{(i + k) % count}" for k in range(i % 4)]}

def suite_rows():
    for i in range(25):
        yield {"messages": [{"role": "system", "content": "Pick one."}, {"role": "user", "content": f"Q{i}"}],
               "task": "demo/test", "legacy_id": 57, "shot_ids": []}

def finalize(stats):
    return {"README.md": "# demo\\n", "manifest.json": json.dumps({"medsreg_version": "test", "datasets": stats},
                                                                  sort_keys=True) + "\\n"}

stats = write_build(output, [OutputDataset("mixture", "train", features, rows),
                             OutputDataset("suites/demo--suite", "test", features, suite_rows)],
                    finalize, overwrite=True, export=None if export == "none" else export, quiet=True)
print(json.dumps(stats, sort_keys=True))
'''


# --------------------------------------------------------------------------- helpers


def _features():
    text = datasets.Value("string")
    return datasets.Features({
        "messages": datasets.List({"role": text, "content": text}),
        "task": text,
        "legacy_id": datasets.Value("int64"),
        "shot_ids": datasets.List(text),
    })


def _rows(count: int, *, changed: int | None = None) -> list[dict]:
    rows = []
    for i in range(count):
        answer = f"label {i % 3}" + ("!" if i == changed else "")
        rows.append({
            "messages": [{"role": "system", "content": f"Instruction {i % 7}."},
                         {"role": "user", "content": f"Input:\npatient {i}\nOutput:\n"},
                         {"role": "assistant", "content": answer}],
            "task": f"demo/task{i % 5}",
            "legacy_id": i % 5 + 1 if i % 4 else None,
            "shot_ids": [f"id{i + k}" for k in range(i % 4)],
        })
    return rows


def _finalize(stats: dict[str, dict]) -> dict[str, str]:
    return {"README.md": "# demo\n", "manifest.json": json.dumps({"datasets": stats}, sort_keys=True) + "\n"}


def _write(output: Path, rows: list[dict], **options) -> dict[str, dict]:
    options = {"overwrite": False, "export": None, "quiet": True, **options}
    dataset = OutputDataset("mixture", "train", _features(), lambda: iter(rows))
    return write_build(output, [dataset], _finalize, **options)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _leftovers(parent: Path) -> list[str]:
    return sorted(path.name for path in parent.iterdir() if ".partial-" in path.name or ".old-" in path.name)


def _run_script(tmp_path: Path, output: Path, count: int, *, delay: float = 0.0, export: str = "none",
                hash_seed: str = "0", wait: bool = True):
    script = tmp_path / "write_demo.py"
    script.write_text(WRITER_SCRIPT, encoding="utf-8")
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "PYTHONPATH": str(REPO / "core") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, str(script), str(output), str(count), str(delay), export]
    if not wait:
        return subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done = subprocess.run(command, env=env, cwd=output.parent, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --------------------------------------------------------------------------- the output is a DatasetDict


def test_output_loads_with_load_from_disk_and_keeps_the_features(tmp_path):
    rows = _rows(2500)
    output = tmp_path / "new" / "folders" / "out"  # missing parents are created
    stats = _write(output, rows)

    loaded = datasets.load_from_disk(str(output / "mixture"))
    assert isinstance(loaded, datasets.DatasetDict)
    assert list(loaded) == ["train"]
    assert loaded["train"].features == _features()
    assert loaded["train"].num_rows == 2500 == stats["mixture"]["rows"]
    assert loaded["train"][1234] == rows[1234]
    assert loaded["train"][0]["legacy_id"] is None  # nulls survive
    assert loaded["train"].info.splits["train"].num_examples == 2500
    assert (output / "README.md").read_text() == "# demo\n"
    assert json.loads((output / "manifest.json").read_text())["datasets"] == stats
    assert _leftovers(output.parent) == []


def test_messages_column_is_accepted_by_a_chat_template(tmp_path):
    """The TRL conversational check: a tokenizer's chat template renders the stored ``messages`` as they are."""
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    rows = _rows(12)
    _write(tmp_path / "out", rows)
    loaded = datasets.load_from_disk(str(tmp_path / "out" / "mixture"))["train"]

    words = sorted({word for row in rows for message in row["messages"] for word in message["content"].split()})
    vocabulary = {"[UNK]": 0, "<s>": 1, "</s>": 2, "<|system|>": 3, "<|user|>": 4, "<|assistant|>": 5}
    vocabulary.update({word: index for index, word in enumerate(words, start=len(vocabulary))})
    backend = Tokenizer(models.WordLevel(vocab=vocabulary, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", bos_token="<s>", eos_token="</s>")
    tokenizer.chat_template = (
        "{{ bos_token }}{% for message in messages %}<|{{ message['role'] }}|> {{ message['content'] }} "
        "{% if message['role'] == 'assistant' %}{{ eos_token }} {% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|> {% endif %}"
    )

    for index in (0, 7):
        messages = loaded[index]["messages"]
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        assert text == ("<s><|system|> " + rows[index]["messages"][0]["content"] + " <|user|> "
                        + rows[index]["messages"][1]["content"] + " <|assistant|> "
                        + rows[index]["messages"][2]["content"] + " </s> ")
        prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        assert text.startswith(prompt)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert vocabulary["[UNK]"] not in ids


def test_state_and_info_files_have_the_layout_datasets_writes(tmp_path):
    rows = _rows(30)
    _write(tmp_path / "ours", rows)
    reference = datasets.Dataset.from_list(rows, features=_features(), split="train")
    datasets.DatasetDict({"train": reference}).save_to_disk(str(tmp_path / "theirs"))

    ours, theirs = tmp_path / "ours" / "mixture", tmp_path / "theirs"
    assert (ours / "dataset_dict.json").read_bytes() == (theirs / "dataset_dict.json").read_bytes()
    our_state = json.loads((ours / "train" / "state.json").read_text())
    their_state = json.loads((theirs / "train" / "state.json").read_text())
    assert our_state.keys() == their_state.keys()
    assert {k: v for k, v in our_state.items() if k != "_fingerprint"} == \
        {k: v for k, v in their_state.items() if k != "_fingerprint"}
    our_info = json.loads((ours / "train" / "dataset_info.json").read_text())
    their_info = json.loads((theirs / "train" / "dataset_info.json").read_text())
    assert our_info["features"] == their_info["features"]
    # the Arrow tables hold the same values with the same schema
    our_table = datasets.load_from_disk(str(ours))["train"].data.table
    their_table = datasets.load_from_disk(str(theirs))["train"].data.table
    assert our_table.equals(their_table)


def test_large_datasets_are_sharded_like_save_to_disk(tmp_path):
    rows = _rows(5000)
    stats = _write(tmp_path / "out", rows, max_shard_bytes=150_000)

    split_dir = tmp_path / "out" / "mixture" / "train"
    shards = sorted(path.name for path in split_dir.glob("*.arrow"))
    assert len(shards) > 2
    assert shards == [f"data-{i:05d}-of-{len(shards):05d}.arrow" for i in range(len(shards))]
    assert not list(split_dir.glob("*.pending"))
    state = json.loads((split_dir / "state.json").read_text())
    assert [entry["filename"] for entry in state["_data_files"]] == shards
    loaded = datasets.load_from_disk(str(tmp_path / "out" / "mixture"))["train"]
    assert loaded.num_rows == 5000 == stats["mixture"]["rows"]
    assert loaded[4999] == rows[4999] and loaded[2500] == rows[2500]
    assert sum(loaded.info.splits["train"].shard_lengths) == 5000


def test_an_empty_dataset_is_written_with_its_schema(tmp_path):
    stats = _write(tmp_path / "out", [])
    loaded = datasets.load_from_disk(str(tmp_path / "out" / "mixture"))["train"]
    assert loaded.num_rows == 0 and loaded.features == _features()
    arrow = (tmp_path / "out" / "mixture" / "train" / "data-00000-of-00001.arrow").read_bytes()
    assert stats["mixture"] == {"split": "train", "rows": 0, "sha256": hashlib.sha256(arrow).hexdigest()}


def test_rows_are_streamed_in_batches(tmp_path):
    """Rows reach the Arrow file while later ones are still being produced: no dataset is held whole."""
    observed = []
    split_dir = tmp_path / f".out.partial-{os.getpid()}" / "mixture" / "train"

    def rows():
        for i, row in enumerate(_rows(4 * BATCH_ROWS)):
            if i % BATCH_ROWS == 0:
                observed.append(sum(path.stat().st_size for path in split_dir.glob("*.pending")))
            yield row

    write_build(tmp_path / "out", [OutputDataset("mixture", "train", _features(), rows)], _finalize,
                overwrite=False, export=None, quiet=True)
    assert observed[0] == 0
    assert observed[1] < observed[2] < observed[3]  # each earlier batch is on disk before the next is produced


# --------------------------------------------------------------------------- reproducible bytes and hashes


def test_two_builds_in_two_processes_give_identical_bytes(tmp_path):
    first, second = tmp_path / "a" / "build", tmp_path / "elsewhere" / "deeper" / "out"
    first.parent.mkdir()
    second.parent.mkdir(parents=True)
    stats_first = _run_script(tmp_path, first, 3000, export="parquet", hash_seed="1")
    stats_second = _run_script(tmp_path, second, 3000, export="parquet", hash_seed="2")

    assert stats_first == stats_second
    tree_first, tree_second = _tree(first), _tree(second)
    assert tree_first.keys() == tree_second.keys()
    assert {"mixture/train/data-00000-of-00001.arrow", "mixture/train/state.json", "mixture/train/dataset_info.json",
            "suites/demo--suite/test/state.json", "export/mixture.parquet", "README.md", "manifest.json"} <= tree_first.keys()
    for name in tree_first:
        assert tree_first[name] == tree_second[name], f"{name} differs between the two builds"
    for content in tree_first.values():
        assert str(tmp_path).encode() not in content  # no machine paths


def test_a_different_row_changes_the_hash_and_the_bytes(tmp_path):
    rows, changed = _rows(2000), _rows(2000, changed=1500)
    same = _write(tmp_path / "a", rows)
    again = _write(tmp_path / "b", _rows(2000))
    other = _write(tmp_path / "c", changed)

    assert same == again
    assert other["mixture"]["sha256"] != same["mixture"]["sha256"]
    assert other["mixture"]["rows"] == same["mixture"]["rows"]
    arrow = "mixture/train/data-00000-of-00001.arrow"
    assert _tree(tmp_path / "a")[arrow] == _tree(tmp_path / "b")[arrow] != _tree(tmp_path / "c")[arrow]
    state = "mixture/train/state.json"
    assert _tree(tmp_path / "a")[state] != _tree(tmp_path / "c")[state]  # the fingerprint follows the content


def test_the_hash_is_the_sha256_of_the_arrow_files_in_order(tmp_path):
    rows = _rows(5000)
    stats = _write(tmp_path / "out", rows, max_shard_bytes=200_000)
    files = sorted((tmp_path / "out" / "mixture" / "train").glob("data-*.arrow"))
    assert len(files) > 1
    assert stats["mixture"]["sha256"] == hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()


def test_the_jsonl_export_is_the_canonical_json_lines_of_the_rows(tmp_path):
    rows = _rows(1500)
    _write(tmp_path / "out", rows, export="jsonl")

    exported = (tmp_path / "out" / "export" / export_name("mixture", "jsonl")).read_bytes()
    assert exported == canonical_lines(rows)
    lines = exported.decode("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert lines[0].startswith('{"legacy_id":null,"messages":[{"content":')  # sorted keys, no spaces
    # key order in a row does not matter; values do
    assert canonical_lines([dict(reversed(list(rows[0].items())))]) == canonical_lines(rows[:1])


def test_parquet_export_holds_the_same_rows(tmp_path):
    rows = _rows(1200)
    _write(tmp_path / "out", rows, export="parquet")
    exported = datasets.Dataset.from_parquet(str(tmp_path / "out" / "export" / "mixture.parquet"))
    assert exported.num_rows == 1200
    assert exported[0] == rows[0] and exported[1199] == rows[1199]


# --------------------------------------------------------------------------- atomic replacement


def test_existing_output_is_refused_without_overwrite(tmp_path):
    output = tmp_path / "out"
    output.mkdir()
    (output / "keep.txt").write_text("mine")
    with pytest.raises(MedsregError, match="already exists; pass --overwrite"):
        _write(output, _rows(10))
    assert _tree(output) == {"keep.txt": b"mine"}
    assert _leftovers(tmp_path) == []


def test_overwrite_replaces_a_previous_build_and_leaves_nothing_aside(tmp_path):
    output = tmp_path / "out"
    first = _write(output, _rows(100))
    second = _write(output, _rows(300), overwrite=True)
    assert first["mixture"]["rows"] == 100 and second["mixture"]["rows"] == 300
    assert datasets.load_from_disk(str(output / "mixture"))["train"].num_rows == 300
    assert _leftovers(tmp_path) == []


def test_overwrite_never_replaces_a_folder_that_is_not_a_build(tmp_path):
    output = tmp_path / "documents"
    output.mkdir()
    (output / "thesis.tex").write_text("years of work")
    with pytest.raises(MedsregError, match="is not a medsreg build"):
        _write(output, _rows(10), overwrite=True)
    assert _tree(output) == {"thesis.tex": b"years of work"}


def test_a_full_disk_is_a_sentence_and_the_previous_output_stays(tmp_path):
    output = tmp_path / "out"
    _write(output, _rows(100))
    before = _tree(output)

    def rows():
        yield from _rows(2500)
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(MedsregError) as caught:
        write_build(output, [OutputDataset("mixture", "train", _features(), rows)], _finalize,
                    overwrite=True, export="jsonl", quiet=True)
    message = str(caught.value)
    assert str(output) in message and "disk is full" in message and "\n" not in message
    assert _tree(output) == before
    assert _leftovers(tmp_path) == []


def test_an_error_in_finalize_leaves_no_output(tmp_path):
    def broken(stats):
        raise MedsregError("the card could not be rendered")

    with pytest.raises(MedsregError, match="card could not"):
        write_build(tmp_path / "out", [OutputDataset("mixture", "train", _features(), lambda: iter(_rows(5)))],
                    broken, overwrite=False, export=None, quiet=True)
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []


def test_rows_that_do_not_match_the_features_are_refused(tmp_path):
    rows = _rows(5)
    rows[3]["surprise"] = "x"
    with pytest.raises(ValueError, match=r"row 3 of 'mixture'.*unexpected \['surprise'\]"):
        _write(tmp_path / "out", rows)
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []


def test_dataset_paths_must_be_distinct_relative_folders(tmp_path):
    make = lambda path: OutputDataset(path, "train", _features(), lambda: iter([]))
    for bad in (["../escape"], ["/abs"], ["export"], ["suites", "suites/x"], ["a", "a"]):
        with pytest.raises(ValueError):
            write_build(tmp_path / "out", [make(path) for path in bad], _finalize, overwrite=False, export=None,
                        quiet=True)
    with pytest.raises(MedsregError, match="--export 'csv'"):
        _write(tmp_path / "out", [], export="csv")
    assert not (tmp_path / "out").exists()


def test_leftovers_of_dead_builds_are_removed_and_live_ones_kept(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    (tmp_path / f".out.partial-{dead}" / "mixture").mkdir(parents=True)
    (tmp_path / f".out.partial-{alive}").mkdir()
    (tmp_path / f".other.partial-{dead}").mkdir()  # another output's: not ours to judge

    _write(tmp_path / "out", _rows(10))
    assert not (tmp_path / f".out.partial-{dead}").exists()
    assert (tmp_path / f".out.partial-{alive}").is_dir()
    assert (tmp_path / f".other.partial-{dead}").is_dir()


def test_an_interrupted_swap_puts_the_previous_output_back(tmp_path):
    """Killed between moving the old build aside and moving the new one in: the next run restores the old one."""
    _write(tmp_path / "previous", _rows(20))
    aside = tmp_path / f".out.old-{_dead_pid()}"
    (tmp_path / "previous").rename(aside)

    with pytest.raises(MedsregError, match="already exists"):
        _write(tmp_path / "out", _rows(10))
    assert datasets.load_from_disk(str(tmp_path / "out" / "mixture"))["train"].num_rows == 20
    assert _leftovers(tmp_path) == []


def test_a_killed_build_leaves_no_output_and_a_rerun_completes_identically(tmp_path):
    output = tmp_path / "out"
    process = _run_script(tmp_path, output, 40_000, delay=0.05, wait=False)
    partial = tmp_path / f".out.partial-{process.pid}"
    deadline = time.monotonic() + 120
    # kill once real data is on disk: the mixture's first shard has grown past a few batches
    while time.monotonic() < deadline:
        written = sum(path.stat().st_size for path in partial.rglob("*.pending")) if partial.exists() else 0
        if written > 200_000 or process.poll() is not None:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the build finished before it could be killed; make it slower"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert partial.is_dir()  # what a kill leaves behind ...
    assert not output.exists()  # ... never under the output's name

    rerun = _run_script(tmp_path, output, 40_000)
    assert not partial.exists()  # the rerun cleaned the dead build's leftovers
    uninterrupted = _run_script(tmp_path, tmp_path / "reference", 40_000)
    assert rerun == uninterrupted
    assert _tree(output) == _tree(tmp_path / "reference")
    assert _leftovers(tmp_path) == []


def _later_value(job: int):
    from medsreg.build.workers import SHARED

    return job, SHARED["later"].get()


def test_a_value_made_after_the_fork_reaches_every_worker_that_asks(tmp_path):
    """workers.Later: the build makes the decontamination index while its forked workers read the first tasks; each
    worker that asks waits until it is set and gets all of it, and the file it came through has no name."""
    import numpy as np
    from medsreg.build.workers import Later, can_fork, in_workers

    if not can_fork():
        pytest.skip("no fork on this platform: the index is made before the (in-process) reading")
    value = {"keys": np.arange(1_000_000, dtype=np.uint64), "texts": ["ünï", "code"] * 1000}
    later = Later(tmp_path)
    try:
        with in_workers(2, {"later": later}) as map_:
            results = map_(_later_value, range(6))
            time.sleep(0.2)  # the workers are waiting
            later.set(value)
            got = list(results)
    finally:
        later.close()
    assert [job for job, _ in got] == list(range(6))
    for _, each in got:
        assert np.array_equal(each["keys"], value["keys"]) and each["texts"] == value["texts"]
    assert list(tmp_path.iterdir()) == []  # the file has no name: nothing is left behind, nothing can open it


def _step_job(state: dict, job: int) -> tuple[str, int, int]:
    import os

    time.sleep(0.01)
    return state["name"], job * state["factor"], os.getpid()


@pytest.mark.parametrize("workers", [1, 2])
def test_the_jobs_of_several_steps_are_made_in_order_by_one_set_of_workers(workers):
    """workers.in_steps: a mixture's buckets and then a suite's pieces, queued in one pool: each step's results in the
    order of its jobs, from the processes that made the step before (with one worker, this process, as it reads)."""
    import os

    from medsreg.build.workers import Step, can_fork, in_steps

    steps = [Step({"name": "buckets", "factor": 10}, _step_job, range(5)),
             Step({"name": "suite", "factor": 3}, _step_job, range(7))]
    with in_steps(workers, steps) as (buckets, suite):
        made = list(buckets), list(suite)
    assert [(name, number) for name, number, _ in made[0]] == [("buckets", 10 * job) for job in range(5)]
    assert [(name, number) for name, number, _ in made[1]] == [("suite", 3 * job) for job in range(7)]
    processes = [{pid for *_, pid in results} for results in made]
    if workers == 1 or not can_fork():
        assert processes == [{os.getpid()}, {os.getpid()}]
    else:
        # two processes in all (two pools would make up to four), neither of them this one
        assert os.getpid() not in processes[0] | processes[1] and len(processes[0] | processes[1]) <= 2


def test_few_collections_nests_and_only_the_outermost_use_thaws():
    """workers.few_collections: a build runs inside one and its steps inside others; an inner one ending must leave
    the build's objects frozen and the threshold raised, and the outermost one ending puts both back."""
    import gc

    from medsreg.build.workers import JOB_COLLECTION_THRESHOLD, few_collections

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with few_collections():
        held = [[] for _ in range(10)]  # made between the two uses: frozen by the inner one
        with few_collections():
            assert gc.get_freeze_count() > frozen + len(held)
        assert gc.get_threshold()[0] == JOB_COLLECTION_THRESHOLD and gc.get_freeze_count() > frozen + len(held)
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen
