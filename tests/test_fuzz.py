"""Fuzzing of every reader of files a user or a pull request hands medsreg: task files and catalog files (through
``medsreg validate`` on a plugin folder), mixture specs, suite files, and the submission CSV and predictions JSONL
that ``medsreg score`` reads. Every input gives exit 0, or a sentence located in the file with exit 1: never an
internal error, an exit code other than 0 or 1, or a hang (each example runs under a timer).

Inputs are valid documents edited by hypothesis (values retyped, emptied, made huge, unicode, nested; keys deleted,
added or repeated in the text) and then written in some encoding, sometimes cut short. Each test is bounded by
``FUZZ`` (examples and deadline) so that the file runs in a few seconds.
"""

from __future__ import annotations

import copy
import json
import os
import signal
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import make_plugin, task_document, write_json
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from medsreg.cli import cli
from medsreg.errors import MedsregError

FUZZ = settings(max_examples=75, deadline=timedelta(seconds=5), database=None,
                # CI replays one fixed set of examples (a red CI must mean a change broke something); elsewhere every
                # run explores new ones, and bench/mutants.py runs a thousand
                derandomize=bool(os.environ.get("CI")),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HANG_SECONDS = 20
"""An example that runs longer is a hang: the timer fails it instead of letting the suite wait."""

HOSTILE = ["", " ", "\x00", "\u202e\u200b", "😀", "e\u0301", "\n::error::x%0A", "MIT OR", "()", "javascript:alert(1)",
           "Drug Interaction Classification", "task130", "130", "bench/ddx", "-1", "1e999", "yes", "NaN",
           "x" * 200_000, "ab " * 40_000, "Diagnosis", "English", "CC-BY-4.0", "train", "test", "\\ud800"]
"""Strings testers reached for: control and invisible characters, values that were tracebacks or hangs, huge ones."""

SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=24) | st.sampled_from(HOSTILE))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.text(max_size=8) | st.sampled_from(["id", "input", "output", "task", "name", "license"]), inner, max_size=3),
    max_leaves=6)


class Hang(BaseException):
    """A BaseException so that no ``except Exception`` in medsreg swallows it."""


@contextmanager
def bounded(seconds: float = HANG_SECONDS):
    def _expired(signum, frame):
        raise Hang(f"over {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _locations(document: Any, path: tuple = ()) -> list[tuple]:
    """Every path into ``document`` (dict keys and list indexes), the root included."""
    found = [path]
    if isinstance(document, dict):
        for key, value in document.items():
            found += _locations(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document[:3]):
            found += _locations(value, (*path, index))
    return found


@st.composite
def edited(draw, base: Any) -> Any:
    """``base`` with 1-3 edits: a value replaced (any JSON, a hostile string, deep nesting) or a key deleted."""
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_locations(document)))
        if not path:
            return draw(VALUES)
        *parents, last = path
        container = document
        for part in parents:
            container = container[part]
        kind = draw(st.sampled_from(["value", "value", "delete", "nest"]))
        if kind == "delete" and isinstance(container, dict):
            del container[last]
        elif kind == "nest":
            depth = draw(st.sampled_from([30, 300, 3000]))
            container[last] = json.loads("[" * depth + "1" + "]" * depth) if depth < 900 else f"<nest {depth}>"
        else:
            container[last] = draw(VALUES)
    return document


@st.composite
def file_bytes(draw, document: Any) -> bytes:
    """``document`` as a file: JSON, sometimes with a key repeated, in some encoding, sometimes cut short."""
    text = json.dumps(document, ensure_ascii=draw(st.booleans()), indent=1)
    text = text.replace('"<nest 3000>"', "[" * 3000 + "1" + "]" * 3000)
    if draw(st.booleans()) and text.startswith("{\n"):
        key = draw(st.sampled_from(list(document) or ["x"])) if isinstance(document, dict) else "x"
        text = "{\n" + json.dumps(key) + ": " + json.dumps(draw(SCALARS)) + ",\n" + text[2:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "cp1252"]))
    data = text.encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")
    if draw(st.integers(0, 9)) == 0:
        data = data[: draw(st.integers(0, len(data)))] + draw(st.binary(max_size=4))
    return data


def exit_0_or_located(result, where: str) -> None:
    """``result`` of the CLI is success, or exit 1 with every line that failed it located in ``where``: its errors,
    or under --strict its warnings when there is no error."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    event(f"exit {result.exit_code}")
    if result.exit_code == 1:
        lines = result.output.splitlines()
        errors = [line for line in lines if ": error: " in line or line.startswith("error: ")]
        if not errors and "--strict: warnings fail" in result.output:
            errors = [line for line in lines if ": warning: " in line]
        assert errors and all(where in line for line in errors), result.output


def raises_only_located_sentences(read, where: str) -> Any:
    """``read()``'s value, or None when it raised a ``MedsregError`` that names ``where``."""
    try:
        with bounded():
            return read()
    except MedsregError as error:
        assert where in str(error) and "\n" not in str(error), str(error)
        event("a located sentence")
        return None


# --------------------------------------------------------------------------- task files and catalogs


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    return make_plugin(tmp_path_factory.mktemp("fuzz"), "demo", {"t": task_document()})


@FUZZ
@given(data=st.data())
def test_validate_of_a_fuzzed_task_file(runner, plugin, data):
    path = plugin / "medsreg_demo" / "tasks" / "t.json"
    path.write_bytes(data.draw(file_bytes(data.draw(edited(task_document())))))
    with bounded():
        result = runner.invoke(cli, ["validate", "--strict", str(plugin)])
    exit_0_or_located(result, str(path))


CATALOG = {
    "defaults": {key: value for key, value in task_document().items() if key not in ("Instances", "Categories", "Definition")},
    "tasks": [{"Categories": ["Diagnosis"], "Definition": ["Name the diagnosis."],
               "medsreg": {"name": "card", "legacy_id": 41, "instances_from": {"kind": "local", "key": "demo", "path": "x.json"}}}],
}


@FUZZ
@given(data=st.data())
def test_validate_and_read_tasks_of_a_fuzzed_catalog(runner, tmp_path_factory, data):
    from medsreg.catalog import read_tasks

    folder = make_plugin(tmp_path_factory.mktemp("catalog"), "demo", {})
    path = folder / "medsreg_demo" / "tasks" / "catalog.json"
    path.write_bytes(data.draw(file_bytes(data.draw(edited(CATALOG)))))
    with bounded():
        result = runner.invoke(cli, ["validate", str(folder)])
    exit_0_or_located(result, str(path))
    tasks = raises_only_located_sentences(lambda: read_tasks(path, "demo"), str(path))
    assert tasks is None or all(task.name.startswith("demo/") for task in tasks)


# --------------------------------------------------------------------------- mixture specs and suites


SPEC = {"name": "demo/mix", "description": "d", "include": [{"task": "demo/t", "weight": 2.0}, {"category": "Diagnosis", "n": 5}],
        "exclude": ["demo/u"], "cap": 100, "temperature": 1.5, "total": 50, "seed": 3, "p_original": 0.5, "shots": 3,
        "suites": ["bench/bench"], "decontaminate": True}


@FUZZ
@given(data=st.data())
def test_load_spec_of_a_fuzzed_mixture_spec(tmp_path_factory, data):
    from medsreg.build.spec import load_spec
    from medsreg.models import MixtureSpec

    document = data.draw(edited(SPEC))
    folder = tmp_path_factory.mktemp("spec")
    if data.draw(st.booleans()):
        path = folder / "spec.json"
        path.write_bytes(data.draw(file_bytes(document)))
    else:
        yaml = pytest.importorskip("yaml")
        path = folder / "spec.yaml"
        text = yaml.safe_dump(document, allow_unicode=True) if "<nest" not in json.dumps(document) else "a: [[[[1"
        if data.draw(st.booleans()):  # anchors and aliases, or a key twice
            text = data.draw(st.sampled_from(["x: &a [1, 2]\nexclude: [*a, *a]\n", "seed: 1\n"])) + text
        path.write_text(text, encoding="utf-8")
    spec = raises_only_located_sentences(lambda: load_spec(path), str(path))
    assert spec is None or isinstance(spec, MixtureSpec)


SUITE = {"name": "bench/bench", "description": "One diagnosis task.", "shots": 3, "instruction": "original",
         "categories": [{"name": "Diagnosis", "tasks": [{"task": "bench/ddx", "metrics": ["diagnosis_accuracy"],
                                                         "shots": 0, "group": "G", "average": True}]}]}


@FUZZ
@given(data=st.data())
def test_read_suite_file_of_a_fuzzed_suite(tmp_path_factory, data):
    from medsreg.catalog import read_suite_file
    from medsreg.validate.problems import Findings

    path = tmp_path_factory.mktemp("suite") / "suite.json"
    path.write_bytes(data.draw(file_bytes(data.draw(edited(SUITE)))))
    findings = Findings()
    with bounded():
        suite = read_suite_file(path, "bench", findings)
    assert all(problem.file == str(path) and problem.message for problem in findings.problems)
    assert suite is not None or findings.has_errors


# --------------------------------------------------------------------------- what 'medsreg score' reads


@pytest.fixture(scope="module")
def scoring(tmp_path_factory):
    """A catalog with task bench/ddx (MedS-Ins id 130) in suite bench/bench, and the built-in metrics."""
    from medsreg.catalog import Catalog, LoadedSuite, LoadedTask, read_tasks
    from medsreg.metrics.builtin import builtin_metrics
    from medsreg.models import Suite

    document = task_document(Split_Type="Test", Categories=["Diagnosis"])
    document["medsreg"].update(name="ddx", legacy_id=130)
    path = write_json(tmp_path_factory.mktemp("bench") / "ddx.json", document)
    catalog = Catalog(tasks=[LoadedTask(task, str(path)) for task in read_tasks(path, "bench")],
                      suites=[LoadedSuite(Suite.model_validate(SUITE), "suite.json")])
    return catalog, {metric.name: metric for metric in builtin_metrics()}


def _read_and_score(path: Path, scoring, official: bool) -> None:
    from medsreg.predictions import read_predictions
    from medsreg.score import RENDERERS, score

    catalog, metrics = scoring
    predictions = raises_only_located_sentences(lambda: read_predictions(path, catalog, official=official), path.name)
    if predictions is not None:
        results = raises_only_located_sentences(lambda: score(predictions, metrics, official=official, workers=1), path.name)
        for render in RENDERERS.values() if results is not None else ():
            render(results).encode("utf-8")


CELLS = st.sampled_from(["130", "task130", "bench/ddx", "task130_ddx.json", "131", "99999999999999999999"]) | SCALARS.map(str)


@FUZZ
@given(data=st.data())
def test_score_of_a_fuzzed_submission_csv(tmp_path_factory, scoring, data):
    import csv
    import io

    header = data.draw(st.sampled_from([["task_id", "input", "GT", "output"], ["task_id", "input", "output"],
                                        ["output", "GT", "input", "task_id", "extra"], []]))
    rows = data.draw(st.lists(st.lists(CELLS, min_size=0, max_size=5), min_size=0, max_size=6))
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=data.draw(st.sampled_from([",", ",", ";", "\t"]))).writerows([header, *rows])
    encoding = data.draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    raw = buffer.getvalue().encode(encoding, "surrogatepass" if encoding.startswith("utf") else "replace")
    if data.draw(st.integers(0, 5)) == 0:
        raw = raw[: data.draw(st.integers(0, len(raw)))] + data.draw(st.binary(max_size=4))
    path = tmp_path_factory.mktemp("csv") / "submission.csv"
    path.write_bytes(raw)
    _read_and_score(path, scoring, official=data.draw(st.booleans()))


PREDICTION = {"suite": "bench/bench", "task": "bench/ddx", "legacy_id": 130, "category": "Diagnosis", "group": None,
              "average": True, "metrics": ["diagnosis_accuracy"], "instance_id": "ddx-0", "references": ["gout"],
              "output": "gout", "model": "tiny"}


@FUZZ
@given(data=st.data())
def test_score_of_fuzzed_predictions_jsonl(tmp_path_factory, scoring, data):
    lines = []
    for index in range(data.draw(st.integers(1, 4))):
        record = data.draw(edited({**PREDICTION, "instance_id": f"ddx-{index}"})) if data.draw(st.booleans()) else \
            {**PREDICTION, "instance_id": f"ddx-{index}"}
        lines.append(json.dumps(record, ensure_ascii=data.draw(st.booleans())).replace('"<nest 3000>"', "[" * 3000 + "]" * 3000))
    text = "\n".join(lines) + data.draw(st.sampled_from(["\n", "", "\n{\"task\": "]))
    path = tmp_path_factory.mktemp("jsonl") / "predictions.jsonl"
    path.write_bytes(text.encode(data.draw(st.sampled_from(["utf-8", "utf-16"])), "surrogatepass"))
    _read_and_score(path, scoring, official=data.draw(st.booleans()))
