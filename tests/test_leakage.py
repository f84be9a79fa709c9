"""Validate's leakage check and build's decontamination on the data that broke the old rule.

MMedLM's prompt template, repeated question stems and an option pool make thousands of test and train
questions share a 13-gram (template plus first option) without one question being copied; trivial inputs
("1.", "Methods.") repeat across NER corpora. Only copied questions may be reported, each located at the
user's data file and record on both sides, with its evidence.
"""

from __future__ import annotations

import random

import pytest
from conftest import make_plugin, task_document
from medsreg.build.plan import overlapping
from medsreg.catalog import LoadedTask
from medsreg.models import Task
from medsreg.overlap import NGRAM, OverlapIndex, tokens
from medsreg.validate.collection import REPORTED_PER_PAIR, check_leakage
from medsreg.validate.problems import Options
from medsreg.validate.runner import validate_paths

TREATMENT = "Which of the following is the best treatment for this patient?"
STEMS = [TREATMENT, "Which of the following is the most likely diagnosis?",
         "Which of the following is the most appropriate next step in management?",
         "Which of the following is the most likely cause of this patient's condition?",
         "Which of the following is the mechanism of action of the most appropriate drug?",
         "Which of the following laboratory findings is most likely?"]
DRUGS = ("amoxicillin azithromycin ceftriaxone doxycycline vancomycin metronidazole ciprofloxacin clindamycin heparin "
         "warfarin apixaban aspirin clopidogrel atorvastatin lisinopril amlodipine metoprolol furosemide "
         "spironolactone omeprazole ondansetron morphine prednisone dexamethasone insulin metformin levothyroxine "
         "methotrexate infliximab rituximab").split()
ROUTES = ["oral", "intravenous", "intramuscular", "topical", "inhaled", "low-dose", "high-dose", "long-acting", ""]
OPTIONS = [f"{route} {drug}".strip() for route in ROUTES for drug in DRUGS] + [
    "Reassurance", "Observation", "Surgical resection", "Cognitive behavioral therapy", "Physical therapy"]
FINDINGS = ("fever cough dyspnea chest pain abdominal pain headache fatigue weight loss jaundice rash hematuria "
            "palpitations syncope diarrhea vomiting back pain joint swelling confusion").split()
PLACES = ["emergency department", "physician", "clinic", "hospital"]


def mmedlm_input(question: str, options: list[str]) -> str:
    """MMedLM's input, as plugins/mmedbench/medsreg_mmedbench/prompts.py writes it (each option ends in a space)."""
    listed = "".join(f"{letter}. {text} " for letter, text in zip("ABCDE", options))
    return f"###Question: {question} {TREATMENT} ###Options: {listed}"


def vignette(rng: random.Random) -> str:
    """A USMLE-style case: fixed phrasing around random findings and numbers, as MedQA's are written."""
    return (f"A {rng.randint(18, 90)}-year-old {rng.choice(['man', 'woman'])} comes to the {rng.choice(PLACES)} because "
            f"of {rng.choice(FINDINGS)} and {rng.choice(FINDINGS)} for {rng.randint(2, 30)} days. He has a history of "
            f"{rng.choice(FINDINGS)} treated with {rng.choice(DRUGS)}. His temperature is {rng.randint(36, 40)}.{rng.randint(0, 9)}°C, "
            f"pulse is {rng.randint(50, 140)}/min, and blood pressure is {rng.randint(90, 180)}/{rng.randint(50, 110)} mm Hg. "
            f"Examination shows {rng.choice(FINDINGS)} and {rng.choice(FINDINGS)}.")


def mcqa(rng: random.Random) -> tuple[str, list[str]]:
    return f"{vignette(rng)} {rng.choice(STEMS)}", rng.sample(OPTIONS, 5)


def document(name: str, split: str, inputs: list[str]) -> dict:
    return task_document(Categories=["Question Answering"], Split_Type=split,
                         medsreg={"name": name, "version": "1.0", "license": "CC-BY-4.0", "access": "public", "synthetic": True},
                         Instances=[{"id": f"{name}-{i}", "input": text, "output": ["A"]} for i, text in enumerate(inputs)])


def leaks(folder) -> list:
    return [p for p in validate_paths([folder], Options(select=frozenset({"leakage"}))).problems if p.check == "leakage"]


def grams(text: str) -> set[tuple[str, ...]]:
    words = tokens(text)
    return {tuple(words[at : at + NGRAM]) for at in range(len(words) - NGRAM + 1)}


def test_the_template_is_the_real_mmedlm_one():
    prompts = pytest.importorskip("medsreg_mmedbench.prompts")
    from medsreg.formats.mmedbench import MMedBenchRecord

    record = MMedBenchRecord(language="English", code="en", line=1, question="Q?", options={"A": "x", "B": "y"},
                             answer=("A",), rationale="", human_checked=False, human_check_passed=False)
    assert prompts.mmedlm_input(record) == mmedlm_input("Q?", ["x", "y"])


def test_3000_mmedlm_questions_report_exactly_the_10_copied(tmp_path):
    rng = random.Random(12)
    questions = [mcqa(rng) for _ in range(3000)]
    test = [mmedlm_input(*question) for question in questions[:1500]]
    train = [mmedlm_input(*question) for question in questions[1500:]]
    copied = rng.sample(range(1500), 10)
    for slot, at in zip(rng.sample(range(1500), 10), copied[:5]):  # copied as they are
        train[slot] = test[at]
    for slot, at in zip(rng.sample(range(1500), 10), copied[5:]):  # the question again, its options reordered
        question, options = questions[at]
        train[slot] = mmedlm_input(question, rng.sample(options, 5))
    # the old rule's trouble: template + first option make most test questions share a 13-gram with train
    trained = set().union(*map(grams, train))
    assert sum(bool(grams(text) & trained) for text in test) > 300
    folder = make_plugin(tmp_path, "mmed", {"train": document("mcqa_train", "Train", train),
                                           "test": document("mcqa_test", "Test", test)})
    problems = leaks(folder)
    assert sorted(p.path for p in problems) == sorted(f"$.Instances[{at}]" for at in copied)
    assert all("test.json" in p.file and p.message.endswith("remove it from one side") for p in problems)
    assert all("informative tokens are shared" in p.message and "train at " in p.message for p in problems)


def test_template_stem_and_first_options_are_no_leak(tmp_path):
    rng = random.Random(3)
    test, train = [], []
    for _ in range(40):  # each train question shares its stem, the template and its first two options with a test one
        options = rng.sample(OPTIONS, 5)
        stem = rng.choice(STEMS)
        test.append(mmedlm_input(f"{vignette(rng)} {stem}", options))
        train.append(mmedlm_input(f"{vignette(rng)} {stem}", options[:2] + rng.sample(OPTIONS, 3)))
    assert all(grams(a) & grams(b) for a, b in zip(test, train))  # what the old rule called 40 leaks
    folder = make_plugin(tmp_path, "mmed", {"train": document("mcqa_train", "Train", train),
                                           "test": document("mcqa_test", "Test", test)})
    assert leaks(folder) == []


def test_trivial_duplicates_are_no_leak_and_a_copied_sentence_is(tmp_path):
    trivial = ["1.", "2.", "Methods.", "RESULTS:", "Case report.", "(ABSTRACT TRUNCATED AT 250 WORDS)"]
    copied = ("Naloxone reverses the antihypertensive effect of clonidine in patients with essential hypertension "
              "treated for twelve weeks.")
    rng = random.Random(8)
    test = trivial + [f"Sentence {i} reports {rng.choice(DRUGS)} induced {rng.choice(FINDINGS)} in {i} patients." for i in range(30)]
    train = trivial * 3 + [f"The {rng.choice(FINDINGS)} gene {i} mutation causes disease in family {i}." for i in range(30)]
    test[20] = copied
    train[25] = f"Background: {copied.upper()}"
    folder = make_plugin(tmp_path, "ner", {"train": document("ncbi_disease", "Train", train),
                                          "test": document("bc5cdr_test", "Test", test)})
    (problem,) = leaks(folder)
    assert problem.path == "$.Instances[20]"
    assert "ner/bc5cdr_test#bc5cdr_test-20 shares a 13-gram with train instance ner/ncbi_disease#ncbi_disease-25" in problem.message
    assert f"100% of its {len(tokens(copied))} informative tokens are shared" in problem.message
    assert '"naloxone reverses the antihypertensive effect of clonidine in patients with essential hypertension treated ' \
           'for twelve weeks"' in problem.message


# --------------------------------------------------------------------------- where a leak is reported


def loaded(name: str, split: str, inputs: list[str], *, data_path: str | None, origin: str, prefix: str = "$") -> LoadedTask:
    task = Task(name=name, split=split, categories=["Named Entity Recognition"], definition=["Tag the chemicals."],
                instances=[{"id": f"{name.split('/')[1]}-{i}", "input": text, "output": ["x"]} for i, text in enumerate(inputs)])
    return LoadedTask(task, origin, prefix=prefix, data_path=data_path)


SENTENCES = [f"Patient {i} developed acute renal failure after receiving {drug} for {days} days in the ward and "
             "recovered after a week of dialysis."
             for i, (drug, days) in enumerate(zip(DRUGS, range(3, 40)))]


def test_a_leak_is_located_at_the_data_files_and_records_of_both_sides():
    catalog = "/plugins/medsreg_bc5cdr/catalog.json"
    test = loaded("bc5cdr/cdr_test", "test", ["1."] + SENTENCES[:6], data_path="/data/bc5cdr/test.jsonl", origin=catalog,
                  prefix="$.tasks[1]")
    train = loaded("ncbi/disease_train", "train", ["1."] + SENTENCES[10:20] + [SENTENCES[3].upper()],
                   data_path="/data/ncbi/train.jsonl", origin="/plugins/medsreg_ncbi/catalog.json", prefix="$.tasks[0]")
    (problem,) = check_leakage([train, test], Options())
    assert (problem.file, problem.path) == ("/data/bc5cdr/test.jsonl", "record 4 (id cdr_test-4)")
    assert "test at /data/bc5cdr/test.jsonl: record 4 (id cdr_test-4)" in problem.message
    assert "train at /data/ncbi/train.jsonl: record 11 (id disease_train-11)" in problem.message
    assert "has the same normalized input as" in problem.message and "catalog.json" not in problem.message
    assert f'"{" ".join(tokens(SENTENCES[3])[:20])} ..."' in problem.message
    assert problem.message.endswith("remove it from one side")


def test_inline_instances_are_located_in_their_task_file():
    test = loaded("demo/cdr_test", "test", SENTENCES[:6], data_path=None, origin="/p/catalog.json", prefix="$.tasks[1]")
    train = loaded("demo/ncbi_train", "train", [f"Note: {SENTENCES[2]}"], data_path=None, origin="/p/train.json")
    (problem,) = check_leakage([train, test], Options())
    assert (problem.file, problem.path) == ("/p/catalog.json", "$.tasks[1].Instances[2]")
    assert "train at /p/train.json: $.Instances[0] (id ncbi_train-0)" in problem.message


def test_many_leaks_of_one_pair_are_summarised():
    test = loaded("demo/cdr_test", "test", SENTENCES[:14], data_path="/data/test.jsonl", origin="/p/catalog.json")
    train = loaded("demo/ncbi_train", "train", SENTENCES[:14], data_path="/data/train.jsonl", origin="/p/catalog.json")
    problems = list(check_leakage([train, test], Options()))
    assert len(problems) == REPORTED_PER_PAIR + 1
    summary = problems[-1]
    assert summary.file == "/data/test.jsonl" and summary.message.startswith("... and 4 more test instances of demo/cdr_test")
    assert "(/data/train.jsonl; 14 in all)" in summary.message and summary.message.endswith("remove them from one side")


# --------------------------------------------------------------------------- build


def test_build_decontaminates_with_groups_and_keeps_template_siblings():
    rng = random.Random(5)
    questions = [mcqa(rng) for _ in range(120)]
    references = [mmedlm_input(*question) for question in questions[:80]]
    groups = ["mmed/mcqa_test"] * 40 + ["mmed/rationale_test"] * 40
    index = OverlapIndex(references, groups=groups)
    training = [mmedlm_input(*question) for question in questions[80:]]  # same template and pool, other questions
    training[7] = references[55].lower()
    training[19] = mmedlm_input(questions[3][0], questions[3][1][::-1])
    assert sum(bool(grams(text) & set().union(*map(grams, references))) for text in training) > 2
    assert overlapping(index, training) == [7, 19]


MMEDBENCH = __import__("pathlib").Path(__file__).resolve().parents[1] / "plugins" / "mmedbench" / "tests" / "fixtures"


def _mmedlm_prompt(record: dict) -> str:
    """MMedLM's fine-tuning prompt around a question (its English template, used for every language)."""
    options = " ".join(f"{letter}. {text}" for letter, text in sorted(record["options"].items()))
    return f"###Question: {record['question']} {TREATMENT} ###Options: {options}"


def test_a_copied_chinese_question_is_found_and_its_neighbours_sharing_the_template_are_not():
    """MMedBench's Chinese test questions (the real file format): written without spaces, each ideograph is a token, so a
    copied question has enough informative tokens to count, in another wording around it too."""
    import json

    lines = (MMEDBENCH / "Test" / "Chinese.jsonl").read_text(encoding="utf-8").splitlines()
    tests = [json.loads(line) for line in lines if line.strip()]
    assert len(tests) >= 3
    index = OverlapIndex([_mmedlm_prompt(record) for record in tests], groups=["zh_test"] * len(tests))
    options = " ".join(f"{letter}. {text}" for letter, text in sorted(tests[0]["options"].items()))
    copied = f"请回答下面的问题。\n问题：{tests[0]['question']}\n选项：{options}\n答案：{tests[0]['answer_idx']}"
    sibling = _mmedlm_prompt({"question": "患者，女，35岁。反复咳嗽咳痰伴低热1月，夜间盗汗。最可能的诊断是",
                              "options": {"A": "肺结核", "B": "肺炎", "C": "支气管扩张", "D": "肺癌"}})
    matches = list(index.matches([sibling, copied]))
    assert [(match.text, match.reference) for match in matches] == [(1, 0)]
    assert "".join(tokens(tests[0]["question"]))[:12] in matches[0].span.replace(" ", "")  # the evidence: the question
    old_tokens = __import__("re").findall(r"\w+", tests[0]["question"].lower())
    assert len(old_tokens) < 8 <= len(tokens(tests[0]["question"]))  # as whole runs it could never count
