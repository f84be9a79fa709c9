"""The mmedbench plugin: its catalog, its task names, and the instances its readers make of MMedBench files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from medsreg import read_tasks
from medsreg.catalog import load_installed, resolve_instances
from medsreg.errors import MedsregError
from medsreg.plugins import ALLOW_ENV, get_plugin_manager
from medsreg.validate.problems import Options
from medsreg.validate.runner import validate, validate_paths
from medsreg_mmedbench import cards, prompts
from medsreg_mmedbench.kinds import (
    KINDS,
    LANGUAGE_NAMES,
    parse_task_slug,
    reader_for,
    source_path,
)

PLUGIN = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
CODES = ["en", "zh", "ja", "fr", "ru", "es"]
CHECKED_PER_LANGUAGE = {"en": 1, "zh": 2, "ja": 2, "fr": 2, "ru": 1, "es": 2}
"""Fixture test records with human_checked and human_check_passed both true."""


def read(slug: str) -> list[dict]:
    _, code, split = parse_task_slug(slug)
    return list(reader_for(slug)(FIXTURES / source_path(code, split)))


def fixture_lines(code: str, split: str) -> list[dict]:
    path = FIXTURES / source_path(code, split)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def no_source(monkeypatch, tmp_path):
    """No mmedbench source anywhere: not in the environment, not in a config file."""
    monkeypatch.delenv("MEDSREG_SOURCE_MMEDBENCH", raising=False)
    monkeypatch.setenv("MEDSREG_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def only_this_plugin(monkeypatch):
    monkeypatch.setenv(ALLOW_ENV, "mmedbench")
    return get_plugin_manager([PLUGIN])


# --------------------------------------------------------------------------- catalog


def test_catalog_json_is_what_cards_py_generates():
    expected = cards.render(cards.catalog_document())
    assert cards.CATALOG.read_text(encoding="utf-8") == expected, (
        "plugins/mmedbench/medsreg_mmedbench/catalog.json is stale; regenerate it with "
        "`PYTHONPATH=plugins/mmedbench .venv/bin/python -m medsreg_mmedbench.cards`"
    )


def test_write_catalog_replaces_the_file_whole(tmp_path):
    target = tmp_path / "catalog.json"
    target.write_text("old", encoding="utf-8")
    cards.write_catalog(target)
    assert json.loads(target.read_text(encoding="utf-8")) == cards.catalog_document()
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.json"]  # no temporary file left behind


def test_the_catalog_holds_every_kind_language_and_split_once():
    tasks = read_tasks(cards.CATALOG, "mmedbench")
    names = [task.name for task in tasks]
    assert len(names) == len(set(names)) == 54
    for kind in KINDS.values():
        for code in CODES:
            for split in ("train", "test"):
                assert (f"mmedbench/{kind.slug}_{code}_{split}" in names) == (split in kind.splits)
    for task in tasks:
        kind, code, split = parse_task_slug(task.name)
        assert task.split == split
        assert task.input_languages == task.output_languages == [code]
        assert task.instruction_languages == ["en"]
        assert task.license == "CC-BY-NC-4.0" and task.access == "public"
        assert task.instances_from.key == "mmedbench"
        assert task.instances_from.path == f"{split.capitalize()}/{LANGUAGE_NAMES[code]}.jsonl"
        assert "huggingface.co/datasets/Henrychur/MMedBench" in task.instances_from.how_to_obtain
        assert task.definition == [kind.definition(LANGUAGE_NAMES[code])]
        assert task.description and "{" not in task.description


def test_no_task_claims_a_medsins_id():
    # MedS-Bench's files of these questions (51-61, 129) are other tasks: see kinds.py
    assert [task.name for task in read_tasks(cards.CATALOG, "mmedbench") if task.legacy_id is not None] == []


def test_the_plugin_folder_validates_statically_with_only_notes(no_source):
    report = validate_paths([PLUGIN], Options())
    assert report.tasks == 54
    assert [str(p) for p in report.problems if p.severity != "note"] == []


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("code", CODES)
def test_task_names_round_trip(kind, code):
    for split in KINDS[kind].splits:
        assert parse_task_slug(f"mmedbench/{kind}_{code}_{split}") == (KINDS[kind], code, split)


@pytest.mark.parametrize("slug", ["mcqa_de_test", "rationale_checked_en_train", "mcqa_en", "quiz_en_test", "mcqa_en_dev"])
def test_names_outside_the_scheme_are_refused_with_the_scheme(slug):
    with pytest.raises(MedsregError, match=r"names are <kind>_<language>_<split>"):
        parse_task_slug(slug)


# --------------------------------------------------------------------------- instances


def test_mcqa_input_is_question_then_options_and_output_the_letters():
    instances = read("mcqa_en_test")
    raw = fixture_lines("en", "test")
    assert instances[0] == {
        "id": "en-1",
        "input": raw[0]["question"] + "\nA. Left anterior descending artery B. Left circumflex artery "
        "C. Right coronary artery D. Left main coronary artery",
        "output": ["C"],
    }
    assert instances[1]["input"].endswith("E. Staphylococcus aureus")
    assert [i["output"] for i in instances] == [["C"], ["E"], ["A,C"], ["B"]]


def test_multi_answers_written_as_lists_become_comma_joined_letters():
    assert [i["output"] for i in read("mcqa_zh_train")] == [["A"], ["B,D"], ["D"]]
    assert [i["output"] for i in read("mcqa_fr_test")] == [["B"], ["A,C,E"], ["A,D"]]


def test_mcqa_rationale_output_is_rationale_then_answer_sentence():
    instances = read("mcqa_rationale_ja_test")
    raw = fixture_lines("ja", "test")
    assert instances[1]["output"] == [f"###Rationale: {raw[1]['rationale']}\n###Answer: OPTION A,C IS CORRECT."]
    assert instances[1]["input"] == read("mcqa_ja_test")[1]["input"]


@pytest.mark.parametrize("code", CODES)
def test_rationale_checked_keeps_only_human_checked_and_passed_test_records(code):
    instances = read(f"rationale_checked_{code}_test")
    raw = fixture_lines(code, "test")
    wanted = [n for n, r in enumerate(raw, start=1) if r["human_checked"] and r["human_check_passed"]]
    assert len(instances) == len(wanted) == CHECKED_PER_LANGUAGE[code]
    assert [i["id"] for i in instances] == [f"{code}-{n}" for n in wanted]
    assert [i["output"] for i in instances] == [[raw[n - 1]["rationale"]] for n in wanted]


def test_rationale_checked_skips_an_empty_checked_rationale(tmp_path):
    record = {"question": "Q?", "options": {"A": "x", "B": "y"}, "answer_idx": "A", "rationale": " ",
              "human_checked": True, "human_check_passed": True}
    path = tmp_path / "English.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps({**record, "rationale": "Because x."}) + "\n", encoding="utf-8")
    assert [i["id"] for i in reader_for("rationale_checked_en_test")(path)] == ["en-2"]


def test_mmedlm_texts_are_exactly_those_of_mmedlm_fine_tuning():
    (first, *_) = read("mmedlm_rationale_en_train")
    raw = fixture_lines("en", "train")[0]
    assert first["input"] == (
        f"###Question: {raw['question']} Which of the following is the best treatment for this patient? "
        "###Options: A. Levothyroxine B. Methimazole C. Radioactive iodine D. Propylthiouracil "
    )
    assert first["output"] == [f"###Rationale: {raw['rationale']}\n###Answer: OPTION A IS CORRECT."]
    assert read("mmedlm_direct_en_train")[1] == {
        "id": "en-2",
        "input": read("mmedlm_rationale_en_train")[1]["input"],
        "output": ["###Answer: OPTION A,D IS CORRECT."],
    }
    assert prompts.mmedlm_rationale_definition("Chinese") == (
        "You're a Chinese doctor, kindly address the medical queries according to the patient's account in Chinese. "
        "Let\u2019s solve this step-by-step. You should first give the reason in Chinese for your choice. Then you "
        "should give the right answer index of the question."
    )
    assert prompts.mmedlm_direct_definition("Russian") == (
        "You're a Russian doctor, kindly address the medical queries according to the patient's account. "
        "Answer with the best option directly."
    )


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "rationale_checked"])
@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("split", ["train", "test"])
def test_every_record_becomes_one_instance_with_a_line_id(kind, code, split):
    instances = read(f"{kind}_{code}_{split}")
    raw = fixture_lines(code, split)
    assert len(instances) == len(raw)
    assert [i["id"] for i in instances] == [f"{code}-{n}" for n in range(1, len(raw) + 1)]
    for instance, record in zip(instances, raw):
        assert record["question"] in instance["input"]
        assert all(text in instance["input"] for text in record["options"].values())
        assert len(instance["output"]) == 1 and instance["output"][0].strip()


def test_a_malformed_source_line_reaches_the_user_located(tmp_path):
    path = tmp_path / "Spanish.jsonl"
    path.write_text('{"question": "¿?", "options": {"A": "x"}, "answer_idx": "B", "rationale": ""}\n', encoding="utf-8")
    with pytest.raises(MedsregError, match=r"Spanish\.jsonl:1: field 'answer_idx' names option 'B'"):
        list(reader_for("mcqa_es_test")(path))


# --------------------------------------------------------------------------- installed plugin


def test_registered_tasks_carry_readers_and_resolve_from_the_configured_folder(monkeypatch, only_this_plugin):
    monkeypatch.setenv("MEDSREG_SOURCE_MMEDBENCH", str(FIXTURES))
    catalog = load_installed(only_this_plugin)
    assert len(catalog.tasks) == 54
    assert all(item.task.reader is not None for item in catalog.tasks)
    resolve_instances(catalog)
    assert [p for p in catalog.findings.problems if p.severity == "error"] == []
    counts = {item.task.name: len(item.task.instances) for item in catalog.tasks}
    assert counts["mmedbench/mcqa_en_test"] == 4
    assert counts["mmedbench/mmedlm_direct_ja_train"] == 2
    assert {code: counts[f"mmedbench/rationale_checked_{code}_test"] for code in CODES} == CHECKED_PER_LANGUAGE
    assert sum(counts[f"mmedbench/mcqa_{code}_test"] for code in CODES) == 20
    assert sum(counts[f"mmedbench/mcqa_{code}_train"] for code in CODES) == 14


def test_without_a_source_every_task_is_not_available_and_says_how_to_get_it(no_source, only_this_plugin):
    report = validate([], Options(), only_this_plugin)
    assert report.tasks == 54
    assert [str(p) for p in report.problems if p.severity == "error"] == []
    unavailable = [p.message for p in report.problems if "not available" in p.message]
    assert len(unavailable) == 54
    assert all("MEDSREG_SOURCE_MMEDBENCH" in m and "Henrychur/MMedBench" in m for m in unavailable)
    assert any("'Test/Japanese.jsonl'" in m for m in unavailable)


# --------------------------------------------------------------------------- scoring what the prompt asks for


def _answer_as_asked(kind: str, letters: list[str], language: str) -> str:
    """A model's reply that obeys the task's instruction (its Definition says which format)."""
    definition = KINDS[kind].definition(language)
    if "for example: A,C" in definition:  # mcqa: the letters only
        return ",".join(letters)
    if "Answer with the best option directly" in definition:  # MMedLM direct
        return f"###Answer: OPTION {','.join(letters)} IS CORRECT."
    assert "###Answer: OPTION X IS CORRECT." in definition or "right answer index" in definition, definition
    return f"###Rationale: because of the findings.\n###Answer: OPTION {','.join(letters)} IS CORRECT."


@pytest.mark.parametrize("kind", ["mcqa", "mcqa_rationale", "mmedlm_rationale", "mmedlm_direct"])
def test_an_answer_in_the_format_the_prompt_asks_for_scores_100(kind):
    from medsreg.metrics.builtin import builtin_metrics
    from medsreg.models import MetricContext

    metric = {m.name: m for m in builtin_metrics()}["mmedbench_accuracy"]
    for code in CODES:
        language = LANGUAGE_NAMES[code]
        instances = read(f"{kind}_{code}_test")
        records = fixture_lines(code, "test")
        assert instances and len(instances) == len(records)
        answers = [record["answer_idx"] for record in records]
        letters = [sorted(a if isinstance(a, list) else a.split(",")) for a in answers]
        outputs = [_answer_as_asked(kind, item, language) for item in letters]
        references = [instance["output"] for instance in instances]
        context = MetricContext(languages=[code] * len(outputs))
        assert metric.compute(outputs, references, context)["mmedbench_accuracy"] == 100.0, (kind, code, outputs[:2])
        wrong = [_answer_as_asked(kind, ["E" if item != ["E"] else "A"], language) for item in letters]
        assert metric.compute(wrong, references, context)["mmedbench_accuracy"] == 0.0
