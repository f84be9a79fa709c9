"""``medsreg export lm-eval``: the bundled samples suite as lm-evaluation-harness tasks.

Without lm-eval: the YAMLs parse and say what the module promises (names, greedy generation, stop strings, the prompt
path), the data files hold ``suite_rows_from_catalog``'s rows byte for byte, bad input is one sentence and exit 1, an
output folder is never half-written, the plan of pooled groups and non-averaged tasks, the YAML scalars, and the
runtime's scoring against ``medsreg score``.

With lm-eval installed (the key test): lm-eval's own CLI runs the export offline on a tiny Llama, with the samples
suite and a second doc set whose references are, for some rows, the outputs ``medsreg eval`` gave for the same prompts
(so that every metric is nonzero and not 100); lm-eval's prompts and outputs equal medsreg eval's, and every task,
category and pooled-group figure lm-eval reports equals ``medsreg score`` on lm-eval's logged outputs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from medsreg.cli import cli
from medsreg.evaluate.backends import END_OF_TURN_TOKENS
from medsreg.evaluate.rows import SuiteRows, suite_rows_from_catalog
from medsreg.export import lmeval
from medsreg.export.lmeval import (
    EXTRA_COLUMNS,
    MANIFEST,
    Settings,
    plan_export,
    write_export,
)
from medsreg.export.lmeval_runtime import Scoring
from test_eval_rows import one_error

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "plugins" / "samples"
NAMES = {"suite": "medsreg_samples", "mcqa": "medsreg_samples_multilingual_mcqa",
         "ner": "medsreg_samples_named_entity_recognition", "mcqa_task": "medsreg_samples__mcqa_drug_choice_test",
         "ner_task": "medsreg_samples__chemical_ner_test"}


@pytest.fixture
def samples(bundled_plugins_only, no_sources) -> tuple[Path, ...]:
    """The bundled plugins only, the samples plugin loaded from plugins/samples (as --plugins-dir)."""
    return (SAMPLES,)


def export(runner, output: Path, *args: str):
    return runner.invoke(cli, ["export", "lm-eval", "--suite", "samples", "--output", str(output), "--plugins-dir",
                               str(SAMPLES), *args])


def load_yaml(path: Path) -> dict:
    """A YAML as lm-eval reads it, its ``!function`` references kept as text."""
    yaml = pytest.importorskip("yaml")

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)


def data_rows(folder: Path, task: str) -> list[dict]:
    return [json.loads(line) for line in (folder / "data" / f"{task}.jsonl").read_text(encoding="utf-8").splitlines()]


# --------------------------------------------------------------------------- the files


def test_the_export_writes_yamls_that_parse_and_the_rows_byte_for_byte(runner, samples, tmp_path):
    output = tmp_path / "lm-eval"
    result = export(runner, output)
    assert result.exit_code == 0, result.output
    assert f"group {NAMES['suite']}" in result.stdout and "--include_path" in result.stdout

    manifest = json.loads((output / MANIFEST).read_text(encoding="utf-8"))
    written = sorted(str(path.relative_to(output)) for path in output.rglob("*") if path.is_file())
    assert written == manifest["files"]
    assert sorted(path.stem for path in output.glob("*.yaml")) == sorted(NAMES.values())
    documents = {path.stem: load_yaml(path) for path in output.glob("*.yaml")}

    suite = documents[NAMES["suite"]]
    assert suite["group"] == NAMES["suite"] and suite["group_alias"] == "samples/samples"
    assert suite["task"] == [NAMES["mcqa"], NAMES["ner"]] and "aggregate_metric_list" not in suite
    for category, task, metric in ((NAMES["mcqa"], NAMES["mcqa_task"], "mcqa_accuracy"),
                                   (NAMES["ner"], NAMES["ner_task"], "entity_f1")):
        assert documents[category]["task"] == [task]
        assert documents[category]["aggregate_metric_list"] == [{"metric": metric, "aggregation": "mean",
                                                                 "weight_by_size": False, "filter_list": ["strip"]}]
        document = documents[task]
        assert document["task"] == task and document["output_type"] == "generate_until"
        assert document["dataset_path"] == "json" and document["test_split"] == "test"
        data = Path(document["dataset_kwargs"]["data_files"]["test"])
        assert data.is_absolute() and data == output / "data" / f"{task}.jsonl" and data.is_file()
        assert document["description"] == "{{system_message}}" and document["doc_to_text"] == "user_message"
        assert document["generation_kwargs"] == {"until": list(END_OF_TURN_TOKENS), "do_sample": False, "temperature": 0.0,
                                                 "max_gen_toks": 200}  # the suite's max_new_tokens
        assert document["filter_list"] == [{"name": "strip", "filter": [{"function": "remove_whitespace"},
                                                                        {"function": "take_first"}]}]
        assert document["process_results"] == "!function utils.process_results"
        assert document["metric_list"] == [{"metric": metric, "aggregation": f"!function utils.agg_{metric}",
                                            "higher_is_better": True}]
        assert document["num_fewshot"] == 0
    compile((output / "utils.py").read_text(encoding="utf-8"), "utils.py", "exec")

    rendered = suite_rows_from_catalog("samples", samples, lambda line: None)
    exported = data_rows(output, NAMES["mcqa_task"]) + data_rows(output, NAMES["ner_task"])
    assert len(exported) == len(rendered.rows) == 24
    by_key = {(row["task"], row["instance_id"]): row for row in exported}
    for row in rendered.rows:  # in suite order, nothing lost or changed
        found = by_key[(row["task"], row["instance_id"])]
        assert found["prompt"].encode("utf-8") == row["prompt"].encode("utf-8")
        assert found["messages"] == row["messages"]
        assert {key: value for key, value in found.items() if key not in EXTRA_COLUMNS} == row
        assert (found["system_message"], found["user_message"]) == (row["messages"][0]["content"],
                                                                    row["messages"][1]["content"])
        assert found["target"] == row["references"][0] and found["language"] == "en"
    assert [row["instance_id"] for row in exported] == [row["instance_id"] for row in rendered.rows]


def test_the_export_needs_neither_lm_eval_nor_torch_transformers_datasets_or_yaml(samples, tmp_path):
    script = ("import sys\n"
              "for name in ('lm_eval', 'torch', 'transformers', 'datasets', 'yaml'):\n"
              "    sys.modules[name] = None  # importing it fails\n"
              "from medsreg.cli import main\n"
              f"sys.argv = ['medsreg', 'export', 'lm-eval', '--suite', 'samples', '--output', {str(tmp_path / 'x')!r},"
              f" '--plugins-dir', {str(SAMPLES)!r}]\n"
              "main()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x" / MANIFEST).is_file()


def test_prompt_plain_and_max_new_tokens(runner, samples, tmp_path):
    output = tmp_path / "plain"
    result = export(runner, output, "--prompt", "plain", "--max-new-tokens", "7")
    assert result.exit_code == 0, result.output
    document = load_yaml(output / f"{NAMES['ner_task']}.yaml")
    assert document["doc_to_text"] == "prompt" and "description" not in document
    assert document["generation_kwargs"]["max_gen_toks"] == 7
    assert "--apply_chat_template" not in result.stdout and "max_length=2055" in result.stdout


def test_bad_input_is_one_sentence(runner, samples, tmp_path):
    error = one_error(runner.invoke(cli, ["export", "lm-eval", "--suite", "no-such-suite", "--output", str(tmp_path / "x"),
                                          "--plugins-dir", str(SAMPLES)]))
    assert "no suite named 'no-such-suite'" in error and "samples/samples" in error
    assert not (tmp_path / "x").exists()

    a_file = tmp_path / "a-file"
    a_file.write_text("keep me", encoding="utf-8")
    error = one_error(export(runner, a_file))
    assert f"--output {a_file} is a file" in error and a_file.read_text(encoding="utf-8") == "keep me"

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    error = one_error(export(runner, foreign))
    assert "is not empty and holds no earlier lm-eval export" in error
    assert sorted(path.name for path in foreign.iterdir()) == ["notes.txt"]


def test_an_earlier_export_is_replaced_and_anything_else_refused(runner, samples, tmp_path):
    output = tmp_path / "out"
    output.mkdir()  # an empty folder is fine
    assert export(runner, output).exit_code == 0
    (output / "__pycache__").mkdir()  # what lm-eval's import of utils.py leaves
    (output / "__pycache__" / "utils.cpython-311.pyc").write_bytes(b"")
    again = export(runner, output, "--max-new-tokens", "5")
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(f"replaced the export in {output}")
    assert load_yaml(output / f"{NAMES['mcqa_task']}.yaml")["generation_kwargs"]["max_gen_toks"] == 5
    assert not (output / "__pycache__").exists()

    (output / "results").mkdir()
    (output / "results" / "run.json").write_text("{}", encoding="utf-8")
    error = one_error(export(runner, output))
    assert "holds results" in error and "move it away" in error
    assert (output / "results" / "run.json").is_file() and (output / MANIFEST).is_file()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]  # no temporary folder left beside it


def test_a_failed_write_leaves_no_half_written_folder(runner, samples, tmp_path, monkeypatch):
    output = tmp_path / "out"
    assert export(runner, output, "--max-new-tokens", "9").exit_code == 0
    before = {path: path.read_bytes() for path in output.rglob("*") if path.is_file()}
    real_rename = os.rename

    def failing(source, target):  # the last step, the finished folder renamed into place, fails
        if Path(source).name.endswith(".tmp"):
            raise OSError(28, "No space left on device")
        return real_rename(source, target)

    monkeypatch.setattr(lmeval.os, "rename", failing)
    error = one_error(export(runner, output))
    assert "cannot be written" in error and "No space left on device" in error
    assert {path: path.read_bytes() for path in output.rglob("*") if path.is_file()} == before  # the earlier export
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
    one_error(export(runner, tmp_path / "new"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


# --------------------------------------------------------------------------- the plan


def synthetic_rows(task: str, category: str, count: int, *, metrics=("mcqa_accuracy",), group=None, average=True):
    return [{"messages": [{"role": "system", "content": f"Answer {task}."}, {"role": "user", "content": f"Q{i}?"}],
             "prompt": f"Answer {task}.\nQ{i}?", "references": [f"A. {i}"], "metrics": list(metrics), "suite": "x/y",
             "category": category, "group": group, "average": average, "task": task, "legacy_id": None,
             "instance_id": f"i{i}"} for i in range(count)]


def test_the_plan_places_pooled_groups_and_says_what_lm_eval_cannot_compute():
    rows = (synthetic_rows("x/sum-a", "Summarization", 2, metrics=("bleu1", "rougeL"))
            + synthetic_rows("x/ct.chest", "Summarization", 3, metrics=("bleu1", "rougeL"), group="CT", average=False)
            + synthetic_rows("x/ct_head", "Summarization", 1, metrics=("bleu1", "rougeL"), group="CT", average=False)
            + synthetic_rows("y/sum-a", "Summarization", 1, metrics=("bleu1",))  # same short name as x/sum-a
            + synthetic_rows("x/extra", "Summarization", 1, metrics=("bleu1",), average=False)
            + synthetic_rows("x/ner-a", "NER", 2, metrics=("entity_f1",), group="E", average=False)
            + synthetic_rows("x/ner-b", "NER", 2, metrics=("entity_f1",), group="E", average=False)
            + synthetic_rows("x/mixed-a", "QA", 1, group="M") + synthetic_rows("x/mixed-b", "QA", 1, group="M", average=False))
    plan = plan_export(SuiteRows("x/y", rows, availability={"missing": [{"task": "x/gone", "category": "QA"}]}), {})
    assert plan.group == "medsreg_x_y"
    assert [task.name for task in plan.tasks] == [
        "medsreg_x_y__x_sum_a", "medsreg_x_y__ct_chest", "medsreg_x_y__ct_head", "medsreg_x_y__y_sum_a",
        "medsreg_x_y__extra", "medsreg_x_y__ner_a", "medsreg_x_y__ner_b", "medsreg_x_y__mixed_a", "medsreg_x_y__mixed_b"]
    groups = {group.name: group for group in plan.groups}
    summary = groups["medsreg_x_y_summarization"]
    assert summary.children == ["medsreg_x_y__x_sum_a", "medsreg_x_y__y_sum_a"] and not summary.weight_by_size
    assert summary.aggregate == ["bleu1", "rougeL"]
    ct = groups["medsreg_x_y__ct_pooled"]
    assert ct.kind == "pooled" and ct.weight_by_size and ct.aggregate == ["bleu1", "rougeL"]
    assert ct.children == ["medsreg_x_y__ct_chest", "medsreg_x_y__ct_head"]
    ner = groups["medsreg_x_y_ner"]  # no averaged task: no figure, its pooled group inside it
    assert ner.children == ["medsreg_x_y__e_pooled"] and ner.aggregate == []
    assert groups["medsreg_x_y__e_pooled"].aggregate == []  # micro F1 is no mean of the tasks' scores
    assert "medsreg_x_y__m_pooled" not in groups
    assert groups["medsreg_x_y_qa"].children == ["medsreg_x_y__mixed_a"]
    assert groups["medsreg_x_y_qa"].alias == "QA (partial: 2 of 3 tasks)"
    assert groups["medsreg_x_y"].children == ["medsreg_x_y_summarization", "medsreg_x_y__ct_pooled", "medsreg_x_y__extra",
                                              "medsreg_x_y_ner", "medsreg_x_y_qa", "medsreg_x_y__mixed_b"]
    notes = "\n".join(plan.notes)
    for expected in ("pooled group M", "pooled group E", "entity_f1", "category NER has no task that counts",
                     "category QA is partial"):
        assert expected in notes
    tasks = {task.name for task in plan.tasks}
    leaves = [child for group in plan.groups for child in group.children if child in tasks]
    assert sorted(leaves) == sorted(tasks)  # every task in one group, once: lm-eval counts a task in one group only


def test_names_and_yaml_scalars():
    assert lmeval.suite_group_name("samples/samples") == "medsreg_samples"
    assert lmeval.suite_group_name("meds-bench/meds-bench") == "medsreg_meds_bench"
    assert lmeval.suite_group_name("demo/bench") == "medsreg_demo_bench"
    assert lmeval.slug("Named entity recognition") == "named_entity_recognition"
    assert lmeval.slug("Résumé -- Ärzte") == "resume_arzte" and lmeval.slug("诊断").startswith("x")
    yaml = pytest.importorskip("yaml")
    tricky = 'quote " back \\ tab \t line\nNEL \x85 LS \u2028 BOM \ufeff DEL \x7f 中文 ' + "\U0001f600 {{x}} #: -"
    assert yaml.safe_load(f"key: {lmeval.yaml_scalar(tricky)}\n") == {"key": tricky}
    assert yaml.safe_load(lmeval.yaml_text({"a": [], "b": {}, "c": [{"d": None, "e": [1.5, True]}]})) == \
        {"a": [], "b": {}, "c": [{"d": None, "e": [1.5, True]}]}


# --------------------------------------------------------------------------- the runtime


def test_the_runtime_scores_as_medsreg_score_does(runner, samples, tmp_path):
    """Corpus-level figures from the items (entity micro F1, corpus BLEU-1 / ROUGE-L), nonzero, equal to 'medsreg score'
    on the same outputs."""
    from medsreg.evaluate.predictions import prediction

    output = tmp_path / "lm-eval"
    assert export(runner, output).exit_code == 0
    scoring = Scoring(output)
    rows = data_rows(output, NAMES["ner_task"])
    outputs = [row["references"][0] if i % 3 else "aspirin, lithium." for i, row in enumerate(rows)]
    items = [scoring.process_results(row, [text])["entity_f1"] for row, text in zip(rows, outputs)]
    assert items[1] == {"task": "samples/chemical_ner_test", "instance_id": rows[1]["instance_id"], "output": outputs[1],
                        "references": rows[1]["references"], "language": "en", "legacy_id": None}
    metrics = ["entity_f1", "bleu1", "rougeL"]
    figures = {metric: scoring.aggregate(metric, items) for metric in metrics}
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text("".join(json.dumps(prediction({**row, "metrics": metrics}, text, "m", "c")) + "\n"
                                   for row, text in zip(rows, outputs)), encoding="utf-8")
    scored = runner.invoke(cli, ["score", str(predictions), "--format", "json", "--plugins-dir", str(SAMPLES)])
    assert scored.exit_code == 0, scored.output
    task = next(row for row in json.loads(scored.stdout)["rows"] if row["kind"] == "task")
    for metric in metrics:
        assert 0 < figures[metric] < 100 and figures[metric] == pytest.approx(task["scores"][metric], abs=1e-4)


def test_a_partial_suite_is_exported_with_its_partial_categories_said(runner, no_sources, monkeypatch, tmp_path):
    """MedS-Bench from the bundled fixture (4 of its 53 tasks): the readable tasks, the categories marked partial;
    --require complete refuses it and writes nothing."""
    monkeypatch.setenv("MEDSREG_OFFLINE", "1")
    fixture = REPO / "plugins" / "meds-bench" / "tests" / "fixtures" / "MedS-Bench"
    arguments = ["export", "lm-eval", "--suite", "meds-bench", "--source", f"meds-bench={fixture}"]
    result = runner.invoke(cli, [*arguments, "--output", str(tmp_path / "partial")])
    assert result.exit_code == 0, result.output
    assert "group medsreg_meds_bench, 4 categories, 4 tasks, 40 rows" in result.stdout
    assert "is partial: 4 of 53 tasks" in result.stderr
    assert "note: category Multilingual MCQA is partial: it lacks meds-bench/medqa_question_answering_zh" in result.stderr
    documents = {path.stem: load_yaml(path) for path in (tmp_path / "partial").glob("*.yaml")}
    assert documents["medsreg_meds_bench_multilingual_mcqa"]["group_alias"] == "Multilingual MCQA (partial: 1 of 8 tasks)"
    assert documents["medsreg_meds_bench_diagnosis"]["group_alias"] == "Diagnosis"
    assert documents["medsreg_meds_bench_rationale"]["task"] == ["medsreg_meds_bench__mmedbench_explanation_english"]
    assert [entry["metric"] for entry in documents["medsreg_meds_bench_rationale"]["aggregate_metric_list"]] == \
        ["bleu1", "rougeL"]
    manifest = json.loads((tmp_path / "partial" / MANIFEST).read_text(encoding="utf-8"))
    assert len(manifest["availability"]["missing"]) == 49
    error = one_error(runner.invoke(cli, [*arguments, "--output", str(tmp_path / "complete"), "--require", "complete"]))
    assert "needs test sets that are not available here" in error and not (tmp_path / "complete").exists()


def test_the_runtime_warns_about_a_chat_export_run_without_the_chat_template(capsys):
    check = Scoring._check_command_line
    chat, plain = {"prompt": "chat", "suite": "s/s"}, {"prompt": "plain", "suite": "s/s"}
    assert check(chat, ["/venv/bin/lm_eval", "--tasks", "medsreg_s"])
    assert "--apply_chat_template" in capsys.readouterr().err
    assert check(chat, ["/venv/lib/python3.11/site-packages/lm_eval/__main__.py", "run", "--tasks", "t"])
    assert not check(chat, ["/venv/bin/lm_eval", "--tasks", "t", "--apply_chat_template"])
    assert not check(chat, ["lm_eval", "--apply_chat_template=chatml"])
    assert not check(plain, ["lm_eval", "--tasks", "t"])
    assert not check(chat, ["python", "my_script.py"])  # lm-eval's Python API: its arguments are not in argv


# --------------------------------------------------------------------------- lm-eval itself

TOKENS = 12
LIMIT = 8


def planted_suite(rendered: SuiteRows, outputs: dict[tuple[str, str], str]) -> SuiteRows:
    """A second doc set of the same prompts: some references are medsreg eval's outputs (so that they are right), a
    pooled group of two non-averaged MCQA tasks of different sizes (so that size weighting shows)."""
    mcqa = [row for row in rendered.rows if row["task"] == "samples/mcqa_drug_choice_test"][:LIMIT]
    ner = [row for row in rendered.rows if row["task"] == "samples/chemical_ner_test"][:LIMIT]

    def copy(rows, task, planted, **changes):
        made = []
        for position, row in enumerate(rows):
            new = {**row, "task": task, "suite": "planted/planted", **changes}
            if position in planted:
                new["references"] = [outputs[(row["task"], row["instance_id"])]]
            made.append(new)
        return made

    rows = (copy(mcqa, "planted/mcqa", {0, 2, 4, 6}) + copy(ner, "planted/ner", {0, 1, 2})
            + copy(mcqa[:4], "planted/mcqa_pool_a", {0}, group="P", average=False)
            + copy(mcqa, "planted/mcqa_pool_b", {1, 2, 3, 5, 6, 7}, group="P", average=False))
    return SuiteRows("planted/planted", rows, rendered.max_input_tokens, TOKENS)


def lm_eval_samples(folder: Path) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for path in folder.rglob("samples_*.jsonl"):
        task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        found[task] = sorted((json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()),
                             key=lambda sample: sample["doc_id"])
    return found


def medsreg_scores(runner, samples_by_task: dict[str, list[dict]], manifest: dict, folder: Path) -> dict:
    """``medsreg score`` (--format json) of lm-eval's logged outputs of one export, written as a predictions file."""
    from medsreg.evaluate.predictions import prediction

    lines = []
    for task in manifest["tasks"]:
        for sample in samples_by_task[task["name"]]:
            row = {key: value for key, value in sample["doc"].items() if key not in EXTRA_COLUMNS}
            lines.append(json.dumps(prediction(row, sample["filtered_resps"][0], "tiny", "lm-eval"), ensure_ascii=False))
    path = folder / "predictions.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    scored = runner.invoke(cli, ["score", str(path), "--format", "json", "--allow-empty", "--plugins-dir", str(SAMPLES)])
    assert scored.exit_code == 0, scored.output
    return {(row["kind"], row["name"]): row["scores"] for row in json.loads(scored.stdout)["rows"]}


def test_lm_eval_gives_medsreg_eval_prompts_and_outputs_and_medsreg_score_figures(runner, samples, tmp_path):
    pytest.importorskip("lm_eval")
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_models import save_tiny_model
    from transformers import AutoTokenizer

    model = save_tiny_model(tmp_path / "tiny-llama")
    exports = tmp_path / "exports"
    assert export(runner, exports / "samples", "--max-new-tokens", str(TOKENS)).exit_code == 0

    # medsreg eval on the same prompts: the outputs lm-eval must reproduce, and the second doc set's references
    evaluated = runner.invoke(cli, ["eval", "--model", str(model), "--suite", "samples", "--plugins-dir", str(SAMPLES),
                                    "--output", str(tmp_path / "eval"), "--max-new-tokens", str(TOKENS), "--limit",
                                    str(LIMIT), "--batch-size", "8", "--quiet"])
    assert evaluated.exit_code == 0, evaluated.output
    outputs = {(record["task"], record["instance_id"]): record["output"] for record in
               map(json.loads, (tmp_path / "eval" / "predictions.jsonl").read_text(encoding="utf-8").splitlines())}
    assert len(outputs) == 2 * LIMIT and any(outputs.values())
    rendered = suite_rows_from_catalog("samples", samples, lambda line: None)
    settings = Settings(prompt="chat", max_new_tokens=TOKENS, max_input_tokens=2048, until=tuple(END_OF_TURN_TOKENS),
                        plugins_dirs=(str(SAMPLES),))
    write_export(plan_export(planted_suite(rendered, outputs), {}), exports / "planted", settings)

    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
                   "HF_DATASETS_CACHE": str(tmp_path / "hf" / "datasets"), "TOKENIZERS_PARALLELISM": "false"}
    command = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args",
               f"pretrained={model},add_bos_token=False,max_length={2048 + TOKENS}", "--include_path", str(exports),
               "--tasks", "medsreg_samples,medsreg_planted", "--apply_chat_template", "--batch_size", "8",
               "--limit", str(LIMIT), "--log_samples", "--output_path", str(tmp_path / "results")]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "without --apply_chat_template" not in done.stderr
    results = json.loads(next((tmp_path / "results").rglob("results_*.json")).read_text(encoding="utf-8"))["results"]
    logged = lm_eval_samples(tmp_path / "results")
    tokenizer = AutoTokenizer.from_pretrained(str(model))

    for name in ("samples", "planted"):
        manifest = json.loads((exports / name / MANIFEST).read_text(encoding="utf-8"))
        for task in manifest["tasks"]:
            samples_ = logged[task["name"]]
            assert len(samples_) == min(LIMIT, task["rows"])
            for sample in samples_:
                doc, output = sample["doc"], sample["filtered_resps"][0]
                # the prompt medsreg eval sends: the chat template over the row's messages, with the generation prompt
                context = sample["arguments"]["gen_args_0"]["arg_0"] if isinstance(sample["arguments"], dict) \
                    else sample["arguments"][0][0]
                assert context == tokenizer.apply_chat_template(doc["messages"], add_generation_prompt=True, tokenize=False)
                original = "samples/mcqa_drug_choice_test" if "mcqa" in doc["task"] else "samples/chemical_ner_test"
                assert output == outputs[(original, doc["instance_id"])]  # greedy, the same stops, stripped
                for metric in task["metrics"]:  # per sample: the item medsreg's metric gets
                    assert sample[metric]["output"] == output and sample[metric]["references"] == doc["references"]
        scores = medsreg_scores(runner, logged, manifest, tmp_path / "scored" / name)
        compared = 0
        for task in manifest["tasks"]:
            for metric in task["metrics"]:
                assert results[task["name"]][f"{metric},strip"] == pytest.approx(scores[("task", task["task"])][metric],
                                                                                  abs=0.01)
                compared += 1
        for group in manifest["groups"]:
            kind = {"category": "category", "pooled": "group"}.get(group["kind"])
            key = (kind, group["alias"].removesuffix(" (pooled)"))
            for metric in group["aggregate"]:
                assert results[group["name"]][f"{metric},strip"] == pytest.approx(scores[key][metric], abs=0.01)
                compared += 1
        if name == "planted":  # nonzero and not all right: the comparison is not 0 == 0
            assert 0 < scores[("task", "planted/mcqa")]["mcqa_accuracy"] < 100
            assert 0 < scores[("task", "planted/ner")]["entity_f1"] < 100
            assert 0 < scores[("group", "P")]["mcqa_accuracy"] < 100 and compared == 7
