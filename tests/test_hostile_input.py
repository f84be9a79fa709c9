"""Hostile input found by testing (issue 13): each case is a located sentence with exit 1, in bounded time, with
advice that is right: never an internal error, a hang, or a fix that does not apply."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
import time

import pytest
from conftest import REPO, make_plugin, task_document, write_json
from medsreg.cli import cli
from medsreg.errors import MedsregError
from medsreg.validate.problems import Options
from medsreg.validate.runner import validate_paths


def problems(tmp_path, document=None, text: str | bytes | None = None):
    """The non-note problems of validating a plugin holding one task file (``document``, or ``text`` as written)."""
    folder = make_plugin(tmp_path, "demo", {"t": document if document is not None else task_document()})
    path = folder / "medsreg_demo" / "tasks" / "t.json"
    if text is not None:
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    report = validate_paths([folder], Options())
    return {(p.check, p.path): p for p in report.problems if p.severity != "note"}, report, path


def with_block(**block) -> dict:
    document = task_document()
    document["medsreg"].update(block)
    return document


# --------------------------------------------------------------------------- size caps before expensive calls


def test_a_megabytes_long_language_is_refused_at_once_and_quoted_short(tmp_path):
    found, _, _ = problems(tmp_path, task_document(Input_language=["x" * 6_670_000]))  # > 10 minutes in langcodes
    message = found["languages", "$.Input_language[0]"].message
    assert "(6,670,000 characters) is not a language medsreg knows" in message and len(message) < 300


@pytest.mark.parametrize("function, argument", [
    ("language_code", "ab " * 300_000), ("license_problem", "MIT AND " * 100_000),
    ("did_you_mean", "Diagnosis" * 100_000),
])
def test_vocabulary_lookups_cap_the_length_before_any_library_call(function, argument):
    from medsreg import vocabulary

    started = time.perf_counter()
    result = getattr(vocabulary, function)(argument, *([vocabulary.CATEGORIES] if function == "did_you_mean" else []))
    assert time.perf_counter() - started < 0.5
    assert result in (None, "") or "characters long" in result


def test_a_long_plugin_name_is_refused_before_anything_is_written(runner, tmp_path):
    result = runner.invoke(cli, ["new", "a" * 300, "-o", str(tmp_path / "out")])
    assert result.exit_code == 1 and isinstance(result.exception, (SystemExit, type(None)))
    assert "is not a plugin name: it is longer than 64 characters" in result.output and "(300 characters)" in result.output
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- licences


@pytest.mark.parametrize("licence, expected", [
    ("MIT OR", "it is not a complete expression"),  # license-expression raised AttributeError here
    ("()", "it is not a complete expression"),  # ... and IndexError here
    ("mit", "write it as 'MIT', the SPDX spelling"),
    ("CC-BY-40", "Did you mean 'CC-BY-4.0'?"),
])
def test_a_broken_licence_is_a_located_sentence(tmp_path, licence, expected):
    found, _, _ = problems(tmp_path, with_block(license=licence))
    assert expected in found["license", "$.medsreg.license"].message


@pytest.mark.parametrize("licence", ["", "  "])
def test_an_empty_licence_is_empty_not_to_be_written_as_none(tmp_path, licence):
    message = problems(tmp_path, with_block(license=licence))[0]["license", "$.medsreg.license"].message
    assert message.startswith("the licence is empty; set 'medsreg.license'") and "None" not in message


# --------------------------------------------------------------------------- did you mean


def test_only_close_matches_are_suggested():
    from medsreg.vocabulary import CATEGORIES, did_you_mean

    assert did_you_mean("Drug Interaction Classification", CATEGORIES) == ""
    assert did_you_mean("Diagnosys", CATEGORIES) == " Did you mean 'Diagnosis'?"
    assert did_you_mean("Dialog", CATEGORIES) == " Did you mean 'Dialogue'?"
    assert did_you_mean("text clasification", CATEGORIES) == " Did you mean 'Text Classification'?"


def test_an_unknown_category_far_from_every_category_gets_no_suggestion(tmp_path):
    found, _, _ = problems(tmp_path, task_document(Categories=["Drug Interaction Classification"]))
    message = found["categories", "$.Categories[0]"].message
    assert "Did you mean" not in message and "Adding a category" in message


# --------------------------------------------------------------------------- repeated keys


def test_a_repeated_key_in_a_task_file_names_the_key_and_its_line(tmp_path):
    text = json.dumps(task_document(), indent=1).replace('"license": "CC-BY-4.0"', '"license": "CC-BY-4.0",\n  "license": "MIT"')
    line = next(number for number, row in enumerate(text.splitlines(), 1) if '"license": "MIT"' in row)
    found, report, path = problems(tmp_path, text=text)
    assert report.tasks == 0
    assert found["json", ""].message.startswith(f"repeats the key 'license' in one object (line {line}); JSON readers keep")
    assert found["json", ""].file == str(path)


@pytest.mark.parametrize("name, text, expected", [
    ("s.json", '{"seed": 1,\n "seed": 2}', r"s\.json: repeats the key 'seed' in one object \(line 2\)"),
    ("s.yaml", "seed: 1\nshots: 2\nseed: 3\n", r"s\.yaml: line 3: the key 'seed' appears twice in one mapping"),
    ("bomb.yaml", "a: &a [1, 1]\nb: &b [*a, *a]\nexclude: [*b, *b]\n", r"bomb\.yaml: line 2: aliases \(\*name\) are not read"),
    ("nan.json", '{"temperature": NaN}', r"nan\.json: is not valid JSON: NaN is no JSON value"),
])
def test_a_mixture_spec_refuses_repeated_keys_yaml_aliases_and_json_constants(tmp_path, name, text, expected):
    from medsreg.build.spec import load_spec

    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(MedsregError, match=expected):
        load_spec(tmp_path / name)


# --------------------------------------------------------------------------- rules that were not enforced


@pytest.mark.parametrize("document, check_path, expected", [
    (with_block(synthetic="yes"), ("schema", "$.medsreg.synthetic"), "expected true or false, got a string"),
    (with_block(legacy_id="12"), ("schema", "$.medsreg.legacy_id"), "expected an integer, got a string"),
    (task_document(URL=["javascript:alert(1)"]), ("schema", "$.URL[0]"), "'javascript:alert(1)' is not a web address"),
    (task_document(URL="ftp://example.org/data"), ("schema", "$.URL"), "is not a web address"),
    (task_document(URL=[]), ("schema", "$.URL"), "is empty; give the source's http:// or https:// address"),
    (task_document(Domains=[]), ("schema", "$.Domains"), "is empty; name the fields of medicine"),
    (task_document(Domains=[" "]), ("schema", "$.Domains"), "is empty"),
])
def test_rules_of_contributing_are_errors_in_a_medsreg_task_file(tmp_path, document, check_path, expected):
    found, _, _ = problems(tmp_path, document)
    assert expected in found[check_path].message and found[check_path].severity == "error"


@pytest.mark.parametrize("identifier", ["", "   "])
def test_a_blank_instance_id_is_an_error(tmp_path, identifier):
    document = task_document()
    document["Instances"][3]["id"] = identifier
    found, _, _ = problems(tmp_path, document)
    assert found["schema", "$.Instances[3].id"].message.startswith("is blank; give every instance a unique id")


def test_a_misspelt_instance_key_is_not_dropped_silently(tmp_path):
    document = task_document(Split_Type="Train")
    document["Instances"][4]["spilt"] = "test"  # 'split' misspelt: the instance would be trained on
    found, _, _ = problems(tmp_path, document)
    problem = found["schema", "$.Instances[4]"]
    assert problem.severity == "warning" and "instances hold keys medsreg does not read ('spilt')" in problem.message


def test_a_raw_meds_ins_file_gets_notes_for_what_it_cannot_fix(tmp_path):
    """A user's copy of a released file is read as is: its URL and Domains are reported as notes, not errors."""
    document = task_document(URL="N/A", Domains="", medsreg=None)
    document["Instances"][0]["id"] = ""
    path = write_json(tmp_path / "task7_raw.json", document)
    report = validate_paths([path], Options())
    schema = {p.path: p.severity for p in report.problems if p.check == "schema"}
    assert schema == {"$.URL": "note", "$.Domains": "note"}
    assert any("1 of 12 instances have a blank 'id'" in p.message for p in report.problems)


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize("encoding, expected", [
    ("utf-16", "is UTF-16 (it starts with a UTF-16 byte-order mark"),
    ("utf-16-le", "it looks like UTF-16 without a byte-order mark: convert it with iconv -f UTF-16LE -t UTF-8"),
    ("cp1252", ("it looks like Windows-1252 (what Excel and Notepad save on Western-language Windows): convert it "
                "with iconv -f WINDOWS-1252 -t UTF-8")),
])
def test_a_task_file_not_in_utf8_says_its_encoding_and_the_exact_conversion(tmp_path, encoding, expected):
    text = json.dumps(task_document(Domains=["Médecine"]), ensure_ascii=False)
    found, _, path = problems(tmp_path, text=text.encode(encoding))
    message = found["readable", ""].message
    assert expected in message and "latin1" not in message
    assert f"{path} > {path}.utf8 && mv {path}.utf8 {path}" in message


def _suite_plugin(tmp_path):
    from conftest import REGISTER_SUITES

    document = task_document(Split_Type="Test", Categories=["Diagnosis"])
    document["medsreg"].update(name="ddx", legacy_id=130)
    folder = make_plugin(tmp_path / "plugins", "bench", {"ddx": document}, init_py=REGISTER_SUITES)
    write_json(folder / "medsreg_bench" / "suite.json", {
        "name": "bench/bench", "description": "One diagnosis task.",
        "categories": [{"name": "Diagnosis", "tasks": [{"task": "bench/ddx", "metrics": ["diagnosis_accuracy"]}]}]})
    return tmp_path / "plugins"


ROWS = [["task_id", "input", "GT", "output"], ["130", "Fièvre et toux", "The diagnosis result is pneumonia.", "pneumonia"],
        ["task130", "case two", "The diagnosis result is gout.", "x" * 200_000]]  # over csv's default field limit


@pytest.mark.parametrize("encoding, delimiter", [("utf-16", "\t"), ("utf-8-sig", ";"), ("utf-8", ",")])
def test_a_submission_csv_as_excel_saves_it_is_scored(runner, tmp_path, isolated_plugins, no_sources, encoding, delimiter):
    path = tmp_path / "submission.csv"
    with open(path, "w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(ROWS)
    result = runner.invoke(cli, ["score", str(path), "--plugins-dir", str(_suite_plugin(tmp_path)), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert {row["name"]: row["count"] for row in json.loads(result.stdout)["rows"]}["bench/ddx"] == 2


def test_a_windows_1252_submission_says_how_to_convert_it(runner, tmp_path, isolated_plugins, no_sources):
    path = tmp_path / "submission.csv"
    with open(path, "w", encoding="cp1252", newline="") as handle:
        csv.writer(handle).writerows(ROWS[:2])
    result = runner.invoke(cli, ["score", str(path), "--plugins-dir", str(_suite_plugin(tmp_path))])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path} is not UTF-8 (byte 0xe8 at line 2 column 7); it looks like Windows-1252" in result.stderr
    assert "iconv -f WINDOWS-1252 -t UTF-8" in result.stderr


@pytest.mark.parametrize("line, expected", [
    ('{"task": "bench/ddx", "task": "x"}', "p.jsonl:1: repeats the key 'task' in one object"),
    ('{"task": 1, "instance_id": "a", "references": ["r"], "output": "o", "metrics": ["m"], "category": "c"}',
     "p.jsonl:1: 'task' is 1, not a string"),
    ('{"task": "t", "instance_id": "a", "references": "r", "output": "o", "metrics": ["m"], "category": "c"}',
     "p.jsonl:1: 'references' is 'r', not a list of strings"),
    ('{"task": "t", "instance_id": "a", "references": ["r"], "output": "o", "metrics": 3, "category": "c", "average": "no"}',
     "p.jsonl:1: 'metrics' is 3, not a list of strings"),
])
def test_a_predictions_line_of_the_wrong_shape_is_a_sentence(tmp_path, line, expected):
    from medsreg.predictions import read_predictions

    path = tmp_path / "p.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(MedsregError) as caught:
        read_predictions(path, None)
    assert str(caught.value).startswith(expected)


# --------------------------------------------------------------------------- the mutants script


def test_the_mutants_script_finds_no_internal_error_hang_or_wrong_acceptance(monkeypatch):
    spec = importlib.util.spec_from_file_location("mutants", REPO / "bench" / "mutants.py")
    mutants = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mutants", mutants)  # its dataclasses look their module up
    spec.loader.exec_module(mutants)
    figures = mutants.tally(mutants.run(60, seed=13, timeout=10))
    assert figures["internal_errors"] == figures["hangs"] == figures["unlocated_rejections"] == []
    assert figures["wrongly_accepted"] == []
    assert figures["accepted"] + figures["rejected"] == 60 and figures["rejected"] > 30
