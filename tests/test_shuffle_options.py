"""``medsreg eval --shuffle-options N``: the options of MCQA items in N cyclic orders (``evaluate.permute``), and
``robustness.option_robustness`` over such a run's predictions."""

from __future__ import annotations

import json

from test_eval_openai import evaluate, plugins, server  # noqa: F401 - fixtures
from test_eval_rows import MCQA_ROWS, NER_ROWS, TRICKY, predictions_of

from medsreg.evaluate.permute import parse_options, permute_row, permute_rows, remap_reference, rotate
from medsreg.evaluate.predictions import config_sha256
from medsreg.metrics.answers import answer_letters
from medsreg.robustness import option_robustness

QUESTION = "Which drug causes dry cough?\nA. metformin\nB. lisinopril\nC. aspirin\nD. heparin\nE. insulin\nAnswer briefly."
TEXTS = ["metformin", "lisinopril", "aspirin", "heparin", "insulin"]


def mcqa_row(user: str, references: list[str], system: str = "Answer the multiple-choice question.") -> dict:
    return {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "prompt": system + "\n" + user, "references": references, "metrics": ["mcqa_accuracy"], "suite": "s",
            "category": "MCQA", "group": None, "average": True, "task": "t/mcqa", "legacy_id": None, "instance_id": "i1"}


def options_of(text: str) -> dict[str, str]:
    return {line[0]: line[3:] for line in text.splitlines() if len(line) > 3 and line[1:3] == ". "}


def test_a_five_option_item_is_rotated_by_each_k_and_its_letter_follows_its_text():
    block = parse_options(QUESTION)
    assert block is not None and block.texts == tuple(TEXTS) and block.render() == QUESTION
    row = mcqa_row(QUESTION, ["B. lisinopril", "B"])
    for k in range(5):
        permuted = permute_row(row, k)
        user = permuted["messages"][1]["content"]
        assert user == rotate(block, k) and permuted["prompt"] == row["messages"][0]["content"] + "\n" + user
        options = options_of(user)
        assert sorted(options.values()) == sorted(TEXTS) and list(options) == list("ABCDE")  # each text once
        for index, text in enumerate(TEXTS):  # the text at position i moves to (i + k) mod 5
            assert options["ABCDE"[(index + k) % 5]] == text
        letter = "ABCDE"[(1 + k) % 5]
        assert permuted["references"] == [f"{letter}. lisinopril", letter] and options[letter] == "lisinopril"
        assert permuted["permutation"] == k
        assert user.startswith("Which drug causes dry cough?\n") and user.endswith("\nAnswer briefly.")  # rest unchanged
    assert permute_row(row, 0)["prompt"] == row["prompt"] and permute_row(row, 0)["references"] == row["references"]
    assert [options_of(rotate(block, 1))[letter] for letter in "AB"] == ["insulin", "metformin"]  # E's text at A


def test_a_multi_answer_item_remaps_every_letter():
    row = mcqa_row(QUESTION, ["A, C", "the right answer is B and E.", "(d)"])
    permuted = permute_row(row, 2)
    assert permuted["references"] == ["C, E", "the right answer is D and B.", "(a)"]
    assert [answer_letters(reference) for reference in permuted["references"]] == \
        [frozenset("ce"), frozenset("bd"), frozenset("a")]
    options = options_of(permuted["messages"][1]["content"])
    assert {options["C"], options["E"]} == {"metformin", "aspirin"}
    assert remap_reference("E", 5, 1) == "A" and remap_reference("F", 5, 1) is None


def test_items_that_cannot_be_rotated_are_evaluated_once_and_counted():
    yes_no = mcqa_row("Does aspirin thin the blood? Answer yes, no or maybe.", ["yes"])
    repeated = mcqa_row("Pick one\nA. same\nB. same", ["A"])
    out_of_range = mcqa_row("Pick one\nA. x\nB. y", ["D"])
    not_in_order = mcqa_row("Pick one\nB. x\nA. y", ["A"])
    assert all(permute_row(row, 1) is None for row in (yes_no, repeated, out_of_range, not_in_order))
    other = {**mcqa_row("Name the drug.", ["aspirin"]), "metrics": ["entity_f1"], "task": "t/ner"}
    permuted = permute_rows([mcqa_row(QUESTION, ["B"]), yes_no, other], 3)
    assert [(row["task"], row["permutation"]) for row in permuted.rows] == \
        [("t/mcqa", 0), ("t/mcqa", 1), ("t/mcqa", 2), ("t/mcqa", 0), ("t/ner", 0)]
    assert permuted.once == {"t/mcqa": 1} and permuted.rotated == {"t/mcqa": 1}
    assert "1 of 2 rows of t/mcqa" in permuted.notes(3)[0]


def test_shuffle_options_runs_each_mcqa_row_in_n_orders_and_permutation_0_is_the_plain_prompt(
        runner, plugins, server, tmp_path, monkeypatch):  # noqa: F811 - fixtures
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    plain = evaluate(runner, plugins, server, tmp_path / "plain")
    assert plain.exit_code == 0, plain.output
    plain_requests = [request["messages"] for request in server.requests]
    server.requests.clear()
    shuffled = evaluate(runner, plugins, server, tmp_path / "shuffled", "--shuffle-options", "4")
    assert shuffled.exit_code == 0, shuffled.output
    before, records = predictions_of(tmp_path / "plain"), predictions_of(tmp_path / "shuffled")
    assert all("permutation" not in record for record in before)  # a plain run's lines are as they were
    assert len(records) == 4 * MCQA_ROWS + NER_ROWS
    per_instance: dict[tuple[str, str], list[int]] = {}
    for record in records:
        per_instance.setdefault((record["task"], record["instance_id"]), []).append(record["permutation"])
    assert {key: sorted(value) for key, value in per_instance.items() if key[0] == "demo/mcqa_test"} == \
        {("demo/mcqa_test", f"q{i}"): [0, 1, 2, 3] for i in range(MCQA_ROWS)}
    assert all(value == [0] for key, value in per_instance.items() if key[0] == "demo/ner_test")
    # permutation 0: byte-identical prompts (hashes and the requests' messages) and the same references
    plain_by_key = {(r["task"], r["instance_id"]): r for r in before}
    for record in records:
        if record["permutation"] == 0:
            same = plain_by_key[(record["task"], record["instance_id"])]
            assert (record["prompt_sha256"], record["references"]) == (same["prompt_sha256"], same["references"])
    shuffled_requests = [request["messages"] for request in server.requests]
    assert all(messages in shuffled_requests for messages in plain_requests)
    # two options: permutation 1 (and 3) swap them, their letters remapped
    q0 = {record["permutation"]: record for record in records if record["instance_id"] == "q0"}
    assert q0[1]["references"] == ["B. aspirin", "B"] and q0[2]["references"] == ["A. aspirin", "A"]
    assert q0[1]["prompt_sha256"] != q0[0]["prompt_sha256"] == q0[2]["prompt_sha256"]
    assert any(messages[-1]["content"] == TRICKY.replace("A. aspirin\nB. heparin", "A. heparin\nB. aspirin")
               for messages in shuffled_requests)
    # the hash holds N only when N > 1; the submission holds the suite's own prompts only
    settings = {"backend": "openai", "decoding": "greedy", "max_new_tokens": 12}
    assert before[0]["config_sha256"] == config_sha256(settings)
    assert records[0]["config_sha256"] == config_sha256({**settings, "shuffle_options": 4})
    assert json.loads((tmp_path / "shuffled" / "config.json").read_text())["config"]["shuffle_options"] == 4
    for name in ("Multilingual_MCQA.csv", "Named_entity_recognition.csv"):
        assert (tmp_path / "shuffled" / "submission" / name).read_text() == (tmp_path / "plain" / "submission" / name).read_text()
    # a rerun resumes: nothing left to generate
    server.requests.clear()
    again = evaluate(runner, plugins, server, tmp_path / "shuffled", "--shuffle-options", "4")
    assert again.exit_code == 0, again.output
    assert server.requests == [] and len(predictions_of(tmp_path / "shuffled")) == len(records)


def line(instance: str, permutation: int, output: str, reference: str, task: str = "t/mcqa") -> dict:
    return {"task": task, "instance_id": instance, "permutation": permutation, "output": output,
            "references": [reference], "metrics": ["mcqa_accuracy"]}


def test_option_robustness_gives_accuracy_per_permutation_and_consistency():
    predictions = [
        line("i1", 0, "B", "B. x"), line("i1", 1, "C", "C. x"), line("i1", 2, "the right answer is D", "D. x"),  # all right
        line("i2", 0, "A", "A. y"), line("i2", 1, "A", "B. y"), line("i2", 2, "C", "C. y"),  # wrong under 1
        line("i3", 0, "E", "A. z"), line("i3", 1, "B", "B. z"), line("i3", 2, "A", "C. z"),  # right under 1 only
        line("i4", 0, "A, C", "A, C"), line("i4", 1, "B,D", "B, D"), line("i4", 2, "C and E", "C, E"),  # multi: all right
        line("i5", 0, "yes", "yes"),  # evaluated once (no options): in accuracy 0, not in consistency
        {**line("n1", 0, "aspirin", "aspirin", task="t/ner"), "metrics": ["entity_f1"]},  # not MCQA
    ]
    result = option_robustness(predictions)
    assert set(result) == {"t/mcqa"}
    scores = result["t/mcqa"]
    assert scores["accuracy_per_permutation"] == [80.0, 75.0, 75.0]
    assert scores["consistency"] == 50.0 and scores["items"] == 4
    assert option_robustness([]) == {}
