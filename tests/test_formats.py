"""Reading MedS-Ins task files: released variants normalize with a report; bad files get located sentences."""

from __future__ import annotations

import copy
import json
import os

import pytest
from conftest import FIXTURES, task_document, write_json
from hypothesis import example, given, settings
from hypothesis import strategies as st
from medsreg.formats.medsins import plain_instances, read_task_file
from medsreg.models import RawInstance
from pydantic import TypeAdapter, ValidationError


def messages(result, severity=None):
    return [str(p) for p in result.findings.problems if severity is None or p.severity == severity]


def test_released_variant_normalizes_and_reports_every_conversion():
    result = read_task_file(FIXTURES / "task110_rct_text_summarization.json", "meds-ins")
    task = result.task
    assert task is not None and not result.native
    assert task.name == "meds-ins/rct_text_summarization" and task.legacy_id == 110
    assert task.contributors == ["MedS-Ins team"] and task.source == ["RCT-Text"] and task.url == ["https://example.org/rct-text"]
    assert task.input_languages == ["en"] and task.split is None
    assert all(isinstance(i["output"], list) and len(i["output"]) == 1 for i in task.instances)
    assert [i["id"] for i in task.instances] == [str(n) for n in range(10)]
    notes = " | ".join(messages(result, "note"))
    assert "Contributors, Source, URL given as a string" in notes
    assert "9 of 10 instances have 'output' as a string" in notes
    assert "10 of 10 instances have no 'id'" in notes
    assert "legacy id 110 taken from the file name" in notes
    assert "'English' -> 'en'" in notes
    assert not messages(result, "error")


def test_template_variant_with_lists_needs_no_conversion(tmp_path):
    path = write_json(tmp_path / "ok.json", task_document(Input_language=["en"], Output_language=["en"], Instruction_language=["en"]))
    result = read_task_file(path, "p")
    assert result.task is not None and result.native
    assert messages(result) == []


def test_schema_errors_are_located_by_json_path(tmp_path):
    document = task_document()
    document["Instances"][7]["output"] = 42
    del document["Instances"][3]["input"]
    document["Categories"] = 5
    result = read_task_file(write_json(tmp_path / "bad.json", document), "p")
    assert result.task is None
    errors = messages(result, "error")
    assert any("::$.Instances[7].output: error: expected a string or a list of strings, got a number [schema]" in e for e in errors)
    assert any("::$.Instances[3].input: error: required field is missing [schema]" in e for e in errors)
    assert any("::$.Categories: error: expected a string or a list of strings" in e for e in errors)
    assert len(errors) == 3  # union alternatives folded, not one error per alternative


def test_inner_list_errors_point_at_the_element(tmp_path):
    document = task_document(Domains=["Medicine", 7])
    result = read_task_file(write_json(tmp_path / "bad.json", document), "p")
    assert [p.path for p in result.findings.problems if p.severity == "error"] == ["$.Domains[1]"]


def test_keys_with_spaces_are_quoted_in_paths(tmp_path):
    document = task_document(Positive_Examples=[{"input": "x", "output": "y", "explanation": "z", "extra": 1}])
    result = read_task_file(write_json(tmp_path / "bad.json", document), "p")
    assert any(p.path.startswith("$['Positive Examples'][0]") for p in result.findings.problems)


def test_unknown_top_level_key_warns_with_suggestion(tmp_path):
    document = task_document()
    document["Catgories"] = ["Diagnosis"]
    result = read_task_file(write_json(tmp_path / "typo.json", document), "p")
    warning = [p for p in result.findings.problems if p.severity == "warning"]
    assert warning and warning[0].path == "$.Catgories" and "Did you mean 'Categories'?" in warning[0].message


def test_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "Contributors": ["a"],\n  "Source": ["b"\n}', encoding="utf-8")
    result = read_task_file(path, "p")
    assert result.task is None
    (problem,) = result.findings.problems
    assert problem.check == "json" and "line 4" in problem.message


def test_non_utf8_bytes_are_located(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(json.dumps(task_document()).encode("utf-8").replace(b"Test Author", b"T\xe9st Author"))
    (problem,) = read_task_file(path, "p").findings.problems
    assert problem.check == "readable" and "byte 0xe9 at line 1" in problem.message and "UTF-8" in problem.message


def test_oversized_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:  # sparse: 300 MB on paper, nothing on disk
        handle.truncate(300 * 1024 * 1024)
    (problem,) = read_task_file(path, "p").findings.problems
    assert problem.check == "readable" and "315 MB, over the 100 MB limit" in problem.message


@pytest.mark.parametrize("root", ["[]", "3", '"a string"'])
def test_non_object_root_is_explained(tmp_path, root):
    path = tmp_path / "root.json"
    path.write_text(root, encoding="utf-8")
    (problem,) = read_task_file(path, "p").findings.problems
    assert problem.path == "$" and "JSON object" in problem.message


def test_stem_without_task_prefix_gives_the_name(tmp_path):
    document = task_document(medsreg=None)
    result = read_task_file(write_json(tmp_path / "My Task-File.json", document), "p")
    assert result.task.name == "p/my_task-file" and result.task.legacy_id is None


def test_a_utf8_byte_order_mark_is_ignored_with_a_note(tmp_path):
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(task_document()).encode("utf-8"))
    result = read_task_file(path, "p")
    assert result.task is not None
    assert any(p.check == "readable" and p.severity == "note" and "byte-order mark" in p.message for p in result.findings.problems)


# ------------------------------------------------------------------ instances checked without pydantic

_JSON_SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
                 | st.text(max_size=6) | st.sampled_from(["train", "test", "Train", "", "1"]))
_JSON = st.recursive(_JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=4), inner, max_size=2), max_leaves=5)


@st.composite
def _instance(draw):
    """A valid instance (optional keys or not), then maybe one value made any JSON, one key dropped, or one odd item
    put in its output list."""
    instance = {"input": draw(st.text(max_size=4)),
                "output": draw(st.text(max_size=4) | st.lists(st.text(max_size=4), max_size=3))}
    for key, values in (("id", st.text(max_size=4) | st.integers(-2**70, 2**70)), ("split", st.sampled_from(["train", "test"])),
                        ("explanation", _JSON)):
        if draw(st.booleans()):
            instance[key] = draw(values)
    change = draw(st.sampled_from(["none", "value", "drop", "output item"]))
    if change == "value":
        instance[draw(st.sampled_from(["id", "input", "output", "split"]))] = draw(_JSON)
    elif change == "drop":
        instance.pop(draw(st.sampled_from(sorted(instance))))
    elif change == "output item":
        instance["output"] = [*draw(st.lists(st.text(max_size=4), max_size=2)), draw(_JSON)]
    return instance


@settings(max_examples=400, deadline=None, database=None, derandomize=bool(os.environ.get("CI")))
@example([])
@example([{'input': 'a', 'output': 'b'}])
@example([{'input': 'a', 'output': ['b', 'c'], 'id': 3, 'split': 'test', 'x': {}}])
@example([{'input': 'a', 'output': 'b', 'id': True}])
@example([{'input': 'a', 'output': 'b', 'id': 1.0}])
@example([{'input': 'a', 'output': 'b', 'id': None}])
@example([{'input': 'a', 'output': ['b', 1]}])
@example([{'input': 'a', 'output': ['b', None]}])
@example([{'input': 'a', 'output': [['b']]}])
@example([{'input': 'a', 'output': {'b': 'c'}}])
@example([{'input': 'a', 'output': 'b', 'split': None}])
@example([{'input': 'a', 'output': 'b', 'split': 'Train'}])
@example([{'input': 'a', 'output': 'b', 'split': ['train']}])
@example([{'input': 1, 'output': 'b'}])
@example([{'output': 'b'}])
@example([{'input': 'a'}])
@example([{'input': 'a', 'output': 'b'}, ['a']])
@example(['a'])
@example([None])
@given(st.lists(_instance(), min_size=1, max_size=2) | st.lists(_instance() | _JSON, max_size=3))
def test_instances_checked_without_pydantic_are_exactly_those_pydantic_accepts(instances):
    """``plain_instances`` stands in for pydantic's ``RawInstance`` validation of a parsed file's instances: it must say
    yes exactly where pydantic accepts them, and then pydantic's instances must equal the file's."""
    adapter = TypeAdapter(list[RawInstance])
    try:
        validated = adapter.validate_python(copy.deepcopy(instances))
    except ValidationError:
        validated = None
    assert plain_instances(instances) == (validated is not None)
    if validated is not None:
        assert validated == instances


def test_a_task_file_whose_instances_skip_pydantic_reads_as_one_that_does_not(tmp_path):
    """The same file read with its instances checked by ``plain_instances`` and by pydantic gives the same task; an
    instance pydantic refuses is still located."""
    document = task_document(Instances=[{"id": "a", "input": "x y", "output": ["z"]}, {"id": 7, "input": "q", "output": "r"}])
    fast = read_task_file(write_json(tmp_path / "task1_fast.json", document), "demo")
    with_extra = dict(document, Instances=[{**instance, "note": [1]} for instance in document["Instances"]])
    slow = read_task_file(write_json(tmp_path / "task1_fast.json", with_extra), "demo")
    assert fast.task.instances == slow.task.instances == [{"id": "a", "input": "x y", "output": ["z"]},
                                                            {"id": "7", "input": "q", "output": ["r"]}]
    broken = dict(document, Instances=[{"id": True, "input": "x", "output": ["y"]}])
    errors = read_task_file(write_json(tmp_path / "task1_fast.json", broken), "demo").findings.problems
    assert [(problem.path, problem.severity) for problem in errors] == [("$.Instances[0].id", "error")]
