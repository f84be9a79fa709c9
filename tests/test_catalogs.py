"""Catalog files (defaults + task cards), instructions from RewriteDefinitions.json, release checks,
plugin readers of native formats, and evaluation suites.

Plugins are built in tmp_path and loaded with --plugins-dir; every installed plugin is blocked and no
source is configured unless a test configures it. The released-format fixtures live in
tests/fixtures/released/.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, make_plugin, task_document, write_json
from medsreg import sources
from medsreg.catalog import load_installed, load_static, read_tasks, resolve_instances
from medsreg.cli import cli
from medsreg.errors import MedsregError
from medsreg.formats.rewrites import instructions, read_rewrites
from medsreg.plugins import get_plugin_manager
from medsreg.registry import build_registry

RELEASED = FIXTURES / "released"
TASK125 = RELEASED / "task125_bc4chem_named_enetity_recognition.json"
TASK126 = RELEASED / "task126_bc5chem_named_enetity_recognition.jsonl"
REWRITES = RELEASED / "RewriteDefinitions.json"
REAL_REWRITES = Path(__file__).resolve().parents[2] / "shared/reference/meds-ins/RewriteDefinitions.json"

RETURN_CATALOG = (
    "from pathlib import Path\n\nfrom medsreg import hookimpl\n\n\n@hookimpl\ndef register_tasks():\n"
    "    return [Path(__file__).parent / 'catalog.json']\n"
)

DEFAULTS = {
    "Contributors": ["medsreg tests"],
    "Source": ["BC4CHEMD"],
    "URL": ["https://example.org/bc4chemd"],
    "Input_language": ["English"],
    "Output_language": ["English"],
    "Instruction_language": ["English"],
    "Domains": ["Medicine"],
    "Split Type": "Train",
    "medsreg": {
        "license": "CC-BY-4.0",
        "access": "public",
        "instances_from": {"kind": "local", "key": "meds-ins", "path": "task{legacy_id}_*",
                           "how_to_obtain": "Download the MedS-Ins release."},
        "instructions_from": {"kind": "local", "key": "meds-ins", "path": "RewriteDefinitions.json"},
    },
}
CARDS = [
    {"Categories": ["Named Entity Recognition"],
     "medsreg": {"released_name": TASK125.name, "description": "List the chemicals a sentence names."}},
    {"Categories": ["Named Entity Recognition"],
     "medsreg": {"name": "bc5cdr_chemicals", "legacy_id": 126, "description": "Name the chemicals in a sentence."}},
    {"Categories": ["Text Classification"], "Definition": ["Label the health claim as true, false, mixture or unproven."],
     "medsreg": {"name": "pubhealth_claims", "legacy_id": 16, "access": "credentialed"}},
]


def catalog(*cards: dict, defaults: dict | None = None) -> dict:
    """A catalog document: DEFAULTS (or ``defaults``) and deep copies of ``cards`` (CARDS when none given)."""
    return {"defaults": copy.deepcopy(DEFAULTS if defaults is None else defaults),
            "tasks": copy.deepcopy(list(cards) if cards else CARDS)}


def catalog_plugin(root: Path, slug: str, document: dict, *, init_py: str = RETURN_CATALOG,
                   suites: dict[str, dict] | None = None) -> Path:
    """A plugin folder whose [tool.medsreg] names medsreg_<slug>/catalog.json (and the given suite files)."""
    module = "medsreg_" + slug.replace("-", "_")
    folder = make_plugin(root, slug, {}, init_py=init_py)
    write_json(folder / module / "catalog.json", document)
    pyproject = folder / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8").replace(f'tasks = ["{module}/tasks"]', f'tasks = ["{module}/catalog.json"]')
    if suites:
        for name, suite in suites.items():
            write_json(folder / module / f"{name}.json", suite)
        text += "suites = [" + ", ".join(f'"{module}/{name}.json"' for name in suites) + "]\n"
    pyproject.write_text(text, encoding="utf-8")
    return folder


def meds_ins_folder(root: Path, *files: Path) -> Path:
    """A folder laid out like the MedS-Ins release holding copies of ``files``."""
    root.mkdir(parents=True, exist_ok=True)
    for file in files:
        shutil.copy(file, root / file.name)
    return root


def problems(result) -> list[dict]:
    """The problems of a 'validate --format json' run."""
    return json.loads(result.stdout)["problems"]


def serious(result) -> list[dict]:
    return [p for p in problems(result) if p["severity"] != "note"]


@pytest.fixture(autouse=True)
def unconfigured(isolated_plugins, no_sources, monkeypatch, tmp_path):
    """Only --plugins-dir plugins load (isolated_plugins); no source configured, no config file, a private cache, offline."""
    yield


# --------------------------------------------------------------------------- catalog files, statically


def test_catalog_with_defaults_and_three_cards_validates_clean(tmp_path, runner):
    folder = catalog_plugin(tmp_path, "cards", catalog())
    result = runner.invoke(cli, ["validate", "--strict", "--format", "json", str(folder)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tasks"] == 3 and report["counts"]["error"] == report["counts"]["warning"] == 0
    # the card problems (here only normalization notes) are located at the card
    catalog_file = str(folder / "medsreg_cards" / "catalog.json")
    assert {p["path"] for p in report["problems"] if p["check"] == "normalized"} == {"$.tasks[0]", "$.tasks[1]", "$.tasks[2]"}
    assert all(p["file"] == catalog_file for p in report["problems"] if p["check"] == "normalized")


def test_cards_inherit_defaults_and_derive_names_ids_and_paths(tmp_path):
    folder = catalog_plugin(tmp_path, "cards", catalog())
    loaded = load_static([folder])
    assert not loaded.findings.has_errors
    tasks = {item.task.name: item for item in loaded.tasks}
    assert list(tasks) == ["cards/bc4chem_named_enetity_recognition", "cards/bc5cdr_chemicals", "cards/pubhealth_claims"]
    assert [item.prefix for item in tasks.values()] == ["$.tasks[0]", "$.tasks[1]", "$.tasks[2]"]

    derived = tasks["cards/bc4chem_named_enetity_recognition"].task
    assert derived.legacy_id == 125 and derived.released_name == TASK125.name
    assert derived.instances_from.path == "task125_*"  # {legacy_id} filled in
    assert derived.instructions_from.path == "RewriteDefinitions.json"
    assert tasks["cards/bc5cdr_chemicals"].task.instances_from.path == "task126_*"

    # the medsreg block merges key by key: a card's access wins, the default licence and sources stay
    claims = tasks["cards/pubhealth_claims"].task
    assert (claims.access, claims.license, claims.split) == ("credentialed", "CC-BY-4.0", "train")
    assert claims.instances_from.path == "task16_*" and claims.input_languages == ["en"]
    assert derived.access == "public" and derived.definition == [] and claims.definition == CARDS[2]["Definition"]


def test_name_placeholder_is_filled(tmp_path):
    card = {"Categories": ["Diagnosis"], "medsreg": {"name": "ddx", "legacy_id": 130,
                                                    "instances_from": {"kind": "local", "key": "ddx", "path": "{name}/task{legacy_id}.json"}}}
    folder = catalog_plugin(tmp_path, "cards", catalog(card))
    (item,) = load_static([folder]).tasks
    assert item.task.instances_from.path == "ddx/task130.json"


def test_registry_rows_of_cards(tmp_path):
    folder = catalog_plugin(tmp_path, "cards", catalog())
    registry = build_registry(load_static([folder])).model_dump(mode="json")
    (plugin,) = registry["plugins"]
    rows = {row["name"]: row for row in plugin["tasks"]}
    ner = rows["cards/bc4chem_named_enetity_recognition"]
    assert ner["description"] == "List the chemicals a sentence names."
    assert ner["released_name"] == TASK125.name and ner["legacy_id"] == 125
    assert ner["instructions"] is None and ner["instances"] is None and ner["sha256"] is None
    assert rows["cards/bc5cdr_chemicals"]["released_name"] is None and rows["cards/bc5cdr_chemicals"]["instructions"] is None
    # a card that owns its Definition counts it, though its rewrites only come with the source
    assert rows["cards/pubhealth_claims"]["instructions"] == 1 and rows["cards/pubhealth_claims"]["description"] == ""


def test_card_errors_are_located_at_the_card(tmp_path, runner):
    document = catalog()
    document["tasks"][1]["Categories"] = ["Named Entity Recogniton"]
    document["tasks"][2]["medsreg"]["access"] = "open"
    folder = catalog_plugin(tmp_path, "cards", document)
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    catalog_file = str(folder / "medsreg_cards" / "catalog.json")
    found = {(p["check"], p["path"]): p for p in serious(result)}
    assert set(found) == {("categories", "$.tasks[1].Categories[0]"), ("schema", "$.tasks[2].medsreg.access")}
    assert all(p["file"] == catalog_file for p in found.values())
    assert "Did you mean 'Named Entity Recognition'?" in found["categories", "$.tasks[1].Categories[0]"]["message"]
    assert "'public', 'credentialed' or 'private'" in found["schema", "$.tasks[2].medsreg.access"]["message"]
    # the broken card is dropped, the two others are still read and checked
    assert json.loads(result.stdout)["tasks"] == 2


def test_card_with_neither_name_nor_released_name_is_an_error(tmp_path, runner):
    nameless = {"Categories": ["Diagnosis"], "medsreg": {"legacy_id": 130, "description": "No name."}}
    folder = catalog_plugin(tmp_path, "cards", catalog(CARDS[0], nameless))
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    (problem,) = serious(result)
    assert (problem["check"], problem["path"]) == ("schema", "$.tasks[1].medsreg.name")
    assert "'medsreg.released_name'" in problem["message"]


@pytest.mark.parametrize(
    ("card_medsreg", "path", "words"),
    [
        ({"name": "Bad Name"}, "$.tasks[0].medsreg.name", "should match pattern"),
        ({"released_name": "bc4chem.json"}, "$.tasks[0].medsreg.released_name", "should match pattern"),
        ({"name": "x", "instances_from": {"kind": "ftp", "path": "x"}}, "$.tasks[0].medsreg.instances_from", ""),
    ],
)
def test_card_schema_errors_are_located(tmp_path, runner, card_medsreg, path, words):
    folder = catalog_plugin(tmp_path, "cards", catalog({"Categories": ["Diagnosis"], "medsreg": card_medsreg}))
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    located = [p for p in serious(result) if p["path"].startswith(path)]
    assert located and words in located[0]["message"], serious(result)


@pytest.mark.parametrize(
    ("document", "path", "words"),
    [
        ({"defaults": DEFAULTS, "tasks": []}, "$.tasks", "at least 1 item"),
        ({"defaults": DEFAULTS, "tasks": ["not a card"]}, "$.tasks[0]", "expected an object, got a string"),
        ({"defaults": DEFAULTS, "tasks": CARDS, "default": {}}, "$.default", "unknown field"),
    ],
)
def test_catalog_level_schema_errors_are_located(tmp_path, runner, document, path, words):
    folder = catalog_plugin(tmp_path, "cards", document)
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    assert [(p["path"], words in p["message"]) for p in serious(result)] == [(path, True)]


def test_legacy_id_placeholder_without_a_legacy_id_is_an_error(tmp_path, runner):
    folder = catalog_plugin(tmp_path, "cards", catalog({"Categories": ["Diagnosis"], "medsreg": {"name": "no_id"}}))
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    assert any(p["path"].startswith("$.tasks[0].medsreg") and "legacy_id" in p["message"] for p in serious(result))


# --------------------------------------------------------------------------- instructions (RewriteDefinitions.json)


def test_rewrites_follow_the_task_files_own_definition(tmp_path, runner):
    folder = catalog_plugin(tmp_path, "cards", catalog())
    data = meds_ins_folder(tmp_path / "MedS-Ins", TASK125, TASK126, REWRITES)
    source = ["--plugins-dir", str(folder), "--source", f"meds-ins={data}"]
    file_definition = json.loads(TASK125.read_text(encoding="utf-8"))["Definition"][0]
    rewrites = json.loads(REWRITES.read_text(encoding="utf-8"))["task125"]["auto_rewrite_def"]

    loaded = load_installed(get_plugin_manager([folder]))
    sources.set_overrides({"meds-ins": str(data)})
    resolve_instances(loaded)
    tasks = {item.task.name: item.task for item in loaded.tasks}
    # the official loader: the task file's Definition replaces original_def, the rewrites follow
    assert tasks["cards/bc4chem_named_enetity_recognition"].definition == [file_definition, *rewrites]
    # task126 has no entry in the file: it keeps its own Definition only
    assert tasks["cards/bc5cdr_chemicals"].definition == ["Name the chemicals mentioned in the sentence."]

    output = tmp_path / "installed.json"
    result = runner.invoke(cli, ["registry", "--installed", str(output), *source])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(output.read_text())["plugins"][0]["tasks"]}
    assert rows["cards/bc4chem_named_enetity_recognition"]["instructions"] == 3
    assert rows["cards/bc4chem_named_enetity_recognition"]["instances"] == 12
    assert rows["cards/bc5cdr_chemicals"]["instructions"] == 1 and rows["cards/bc5cdr_chemicals"]["instances"] == 12

    result = runner.invoke(cli, ["info", "125", "--json", *source])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert (info["instructions"], info["instruction"], info["instances"], info["status"]) == (3, file_definition, 12, "available")


def test_instructions_function_overrides_only_the_original():
    original = "Given a sentence, recognize the names of the chemicals in it."
    rewrites = ["Find every chemical compound mentioned in the sentence.", "List the chemical names that appear in the text below."]
    assert instructions(REWRITES, 125, []) == [original, *rewrites]
    assert instructions(REWRITES, 125, ["Mine.", "ignored second"]) == ["Mine.", *rewrites]
    assert instructions(REWRITES, 999, ["Mine."]) is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"task125": {"original_def": "d", "auto_rewrite_def": "not a list"}}', "::$['task125']['auto_rewrite_def']: "),
        ('{"task125": {"auto_rewrite_def": []}}', "::$['task125']['original_def']: "),
        ("{oops", "is not valid JSON (key must be a string at line 1 column 2)"),
    ],
)
def test_malformed_rewrite_definitions_is_a_located_sentence(tmp_path, runner, content, words):
    data = meds_ins_folder(tmp_path / "MedS-Ins", TASK125)
    (data / "RewriteDefinitions.json").write_text(content, encoding="utf-8")
    with pytest.raises(MedsregError) as raised:
        read_rewrites(data / "RewriteDefinitions.json")
    assert str(data / "RewriteDefinitions.json") in str(raised.value) and words in str(raised.value)

    folder = catalog_plugin(tmp_path, "cards", catalog(CARDS[0]))
    result = runner.invoke(cli, ["validate", "--installed", "--format", "json", "--plugins-dir", str(folder),
                                 "--source", f"meds-ins={data}"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (problem,) = serious(result)
    assert (problem["check"], problem["file"], problem["path"]) == ("source", str(folder / "medsreg_cards" / "catalog.json"), "$.tasks[0]")
    assert words in problem["message"]


def test_a_changed_rewrite_file_is_read_again(tmp_path):
    path = write_json(tmp_path / "RewriteDefinitions.json", {"task1": {"original_def": "first", "auto_rewrite_def": []}})
    assert read_rewrites(path)["task1"].original == "first"
    write_json(path, {"task1": {"original_def": "second version", "auto_rewrite_def": ["r"]}})
    assert read_rewrites(path)["task1"].original == "second version"


def test_instructions_from_without_a_legacy_id_is_reported(tmp_path, runner):
    document = task_document(Definition=None)
    document["medsreg"]["instructions_from"] = {"kind": "local", "key": "meds-ins", "path": "RewriteDefinitions.json"}
    folder = make_plugin(tmp_path, "noid", {"t": document})
    data = meds_ins_folder(tmp_path / "MedS-Ins", REWRITES)
    result = runner.invoke(cli, ["validate", "--installed", "--format", "json", "--plugins-dir", str(folder),
                                 "--source", f"meds-ins={data}"])
    # the task ends with no instruction at all: that must not pass
    assert result.exit_code == 1, result.output


def test_real_rewrite_definitions_counts():
    if not REAL_REWRITES.is_file():
        pytest.skip(f"{REAL_REWRITES} is not present")
    entries = read_rewrites(REAL_REWRITES)
    assert len(entries) == 122
    assert sum(len(entry.auto_rewrite_def) for entry in entries.values()) == 18_996
    assert all(entry.original.strip() for entry in entries.values())
    assert len(instructions(REAL_REWRITES, 130, ["own definition"])) == 1 + 89  # SEEDS.md §1.3: 89 rewrites for task130


# --------------------------------------------------------------------------- release checks


def _resolve_with(tmp_path, document: dict, files: dict[str, Path]) -> list:
    folder = catalog_plugin(tmp_path, "cards", document)
    data = tmp_path / "MedS-Ins"
    data.mkdir()
    for name, file in files.items():
        shutil.copy(file, data / name)
    loaded = load_installed(get_plugin_manager([folder]))
    sources.set_overrides({"meds-ins": str(data)})
    resolve_instances(loaded)
    return [p for p in loaded.findings.problems if p.check == "release"]


def test_a_test_file_read_for_a_train_task_is_an_error(tmp_path):
    found = _resolve_with(tmp_path, catalog(CARDS[0]), {"task125_test_bc4chem.json": TASK125})
    (problem,) = [p for p in found if p.severity == "error"]
    assert problem.file.endswith("task125_test_bc4chem.json")
    assert "looks like a MedS-Bench test file" in problem.message and "training task" in problem.message


def test_released_name_differing_from_the_found_file_is_an_error(tmp_path):
    (problem,) = _resolve_with(tmp_path, catalog(CARDS[0]), {"task125_bc4chem_ner.json": TASK125})
    assert problem.severity == "error" and problem.file.endswith("task125_bc4chem_ner.json")
    assert repr(TASK125.name) in problem.message and "the id matches but the name does not" in problem.message


def test_file_of_another_id_is_an_error(tmp_path):
    card = copy.deepcopy(CARDS[1])
    card["medsreg"]["instances_from"] = {"kind": "local", "key": "meds-ins", "path": "task7_bc5.json"}
    (problem,) = _resolve_with(tmp_path, catalog(card), {"task7_bc5.json": TASK126})
    assert problem.severity == "error" and "has id 7 in its name but was read for task126" in problem.message


def test_released_file_with_the_expected_name_has_no_release_problem(tmp_path):
    assert _resolve_with(tmp_path, catalog(CARDS[0]), {TASK125.name: TASK125}) == []


# --------------------------------------------------------------------------- readers of native formats

NATIVE_PLUGIN = '''
import json
from pathlib import Path

from medsreg import MedsregError, hookimpl, read_tasks

CATALOG = Path(__file__).parent / "catalog.json"


def read_pairs(path):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
        except ValueError:
            raise MedsregError(f"{path}, line {number}: not a JSON object; re-download the file") from None
        yield {"id": row["pairID"], "input": row["sentence1"] + "\\n" + row["sentence2"], "output": [row["gold_label"]]}


def crash(path):
    raise KeyError("gold_label")


@hookimpl
def register_tasks():
    tasks = read_tasks(CATALOG, "native")
    for task in tasks:
        task.reader = crash if task.name.endswith("crash") else read_pairs
    return tasks
'''

NATIVE_CARD = {
    "Categories": ["Natural Language Inference / Textual Entailment"],
    "medsreg": {"name": "pairs", "access": "credentialed",
                "license": "LicenseRef-PhysioNet-Credentialed-Health-Data-1.5.0",
                "instances_from": {"kind": "local", "key": "native-nli", "path": "pairs_train.jsonl",
                                   "how_to_obtain": "Download it from PhysioNet."}},
    "Definition": ["Say whether the hypothesis follows from the premise."],
}


def native_plugin(tmp_path, *cards: dict) -> Path:
    document = catalog(*(cards or (NATIVE_CARD,)))
    document["defaults"]["medsreg"] = {"license": "CC-BY-4.0", "access": "public"}
    return catalog_plugin(tmp_path, "native", document, init_py=NATIVE_PLUGIN)


def native_data(folder: Path, lines: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    labels = ["entailment", "neutral", "contradiction"]
    rows = lines if lines is not None else [
        json.dumps({"pairID": f"p{i}", "sentence1": f"The patient {i} has a fever of {38 + i % 3} degrees.",
                    "sentence2": f"Patient {i} statement number {i}.", "gold_label": labels[i % 3]})
        for i in range(12)
    ]
    (folder / "pairs_train.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def test_reader_converts_the_native_file(tmp_path, runner):
    folder = native_plugin(tmp_path)
    data = native_data(tmp_path / "nli")
    loaded = load_installed(get_plugin_manager([folder]))
    sources.set_overrides({"native-nli": str(data)})
    resolve_instances(loaded)
    (item,) = loaded.tasks
    assert [i["id"] for i in item.task.instances] == [f"p{i}" for i in range(12)]
    assert item.task.instances[1] == {"id": "p1", "input": "The patient 1 has a fever of 39 degrees.\nPatient 1 statement number 1.",
                                      "output": ["neutral"]}
    result = runner.invoke(cli, ["validate", "--installed", "--strict", "--plugins-dir", str(folder), "--source", f"native-nli={data}"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["info", "pairs", "--json", "--plugins-dir", str(folder), "--source", f"native-nli={data}"])
    assert json.loads(result.stdout)["instances"] == 12


def test_reader_is_not_called_when_the_source_is_not_configured(tmp_path, runner):
    crash_card = copy.deepcopy(NATIVE_CARD)
    crash_card["medsreg"]["name"] = "crash"
    folder = native_plugin(tmp_path, crash_card)
    result = runner.invoke(cli, ["validate", "--installed", "--format", "json", "--plugins-dir", str(folder)])
    assert result.exit_code == 0, result.output
    (note,) = [p for p in problems(result) if "not available" in p["message"]]
    assert "native/crash: not available" in note["message"] and "Download it from PhysioNet." in note["message"]


def test_reader_raising_medsreg_error_is_a_located_error(tmp_path, runner):
    folder = native_plugin(tmp_path)
    data = native_data(tmp_path / "nli", ['{"pairID": "p0", "sentence1": "a", "sentence2": "b", "gold_label": "neutral"}', "{broken"])
    result = runner.invoke(cli, ["validate", "--installed", "--format", "json", "--plugins-dir", str(folder),
                                 "--source", f"native-nli={data}"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    (problem,) = [p for p in serious(result) if p["check"] == "source"]
    assert problem["message"].startswith("native/pairs: ")
    assert f"{data / 'pairs_train.jsonl'}, line 2: not a JSON object; re-download the file" in problem["message"]


def test_reader_raising_another_exception_names_the_plugin(tmp_path, runner):
    crash_card = copy.deepcopy(NATIVE_CARD)
    crash_card["medsreg"]["name"] = "crash"
    folder = native_plugin(tmp_path, crash_card)
    data = native_data(tmp_path / "nli")
    result = runner.invoke(cli, ["validate", "--installed", "--plugins-dir", str(folder), "--source", f"native-nli={data}"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "plugin native" in result.output and "reader of native/crash" in result.output
    assert "raised KeyError" in result.output and "[plugin-load]" in result.output


def test_read_tasks_of_a_broken_catalog_raises_a_located_sentence(tmp_path, runner):
    document = catalog(CARDS[0], {"Categories": ["Diagnosis"], "medsreg": {"legacy_id": 3}},
                       {"Categories": ["Diagnosis"], "medsreg": {"name": "x", "access": "open"}})
    path = write_json(tmp_path / "catalog.json", document)
    with pytest.raises(MedsregError) as raised:
        read_tasks(path, "native")
    message = str(raised.value)
    assert message.startswith(f"{path}::$.tasks[1].medsreg.name: ") and "(and 1 more; run 'medsreg validate" in message
    # through a plugin: its register_tasks is reported by name and skipped
    folder = native_plugin(tmp_path / "p")
    write_json(folder / "medsreg_native" / "catalog.json", document)
    result = runner.invoke(cli, ["list", "--plugins-dir", str(folder)])
    assert "plugin native" in result.stderr and "its register_tasks() raised MedsregError" in result.stderr


def test_static_validation_does_not_read_native_sources_as_task_files(tmp_path, runner, monkeypatch):
    folder = native_plugin(tmp_path)
    monkeypatch.setenv("MEDSREG_SOURCE_NATIVE_NLI", str(native_data(tmp_path / "nli")))
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 0, serious(result)


# --------------------------------------------------------------------------- suites

SUITE_PLUGIN = '''
from pathlib import Path

from medsreg import Suite, SuiteCategory, SuiteTask, hookimpl

HERE = Path(__file__).parent


@hookimpl
def register_tasks():
    return [HERE / "catalog.json"]


@hookimpl
def register_suites():
    return [
        HERE / "bench.json",
        Suite(name="bench/mini", description="One NER task.",
              categories=[SuiteCategory(name="NER", tasks=[SuiteTask(task="bench/chem_test", metrics=["f1"])])]),
    ]
'''


def suite(name: str, *tasks: str, description: str = "A tiny suite.") -> dict:
    return {"name": name, "description": description,
            "categories": [{"name": "NER", "tasks": [{"task": task, "metrics": ["f1"]} for task in tasks]}]}


def bench_catalog() -> dict:
    test_card = {"Categories": ["Named Entity Recognition"], "Split Type": "Test",
                 "medsreg": {"name": "chem_test", "legacy_id": 126}}
    gated = {"Categories": ["Named Entity Recognition"], "Split Type": "Test",
             "medsreg": {"name": "gated_test", "legacy_id": 127, "access": "credentialed"}}
    train = {"Categories": ["Named Entity Recognition"], "medsreg": {"name": "chem_train", "legacy_id": 125}}
    return catalog(test_card, gated, train)


def bench_plugin(tmp_path, *suite_tasks: str) -> Path:
    tasks = suite_tasks or ("bench/chem_test", "bench/gated_test")
    return catalog_plugin(tmp_path, "bench", bench_catalog(), init_py=SUITE_PLUGIN,
                          suites={"bench": suite("bench/bench", *tasks)})


def test_list_suites_shows_file_and_object_suites_with_task_status(tmp_path, runner):
    folder = bench_plugin(tmp_path)
    result = runner.invoke(cli, ["list", "--suites", "--json", "--plugins-dir", str(folder)])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {"bench/bench", "bench/mini"}
    counts = {name: (row["tasks"], row["available"], row["not configured"], row["credentialed"], row["missing"])
              for name, row in rows.items()}
    assert counts == {"bench/bench": (2, 0, 1, 1, 0), "bench/mini": (1, 0, 1, 0, 0)}
    assert rows["bench/bench"]["categories"] == ["NER"] and rows["bench/mini"]["description"] == "One NER task."

    data = meds_ins_folder(tmp_path / "bench-data", TASK126)
    result = runner.invoke(cli, ["list", "--suites", "--plugins-dir", str(folder), "--source", f"meds-ins={data}"])
    assert result.exit_code == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith("bench/bench"))
    assert "2 tasks (1 available, 1 credentialed)" in line and "A tiny suite." in line
    assert "2 suites" in result.stderr


def test_suite_files_of_the_manifest_are_read_statically(tmp_path, runner):
    folder = bench_plugin(tmp_path)
    result = runner.invoke(cli, ["validate", "--strict", str(folder)])
    assert result.exit_code == 0, result.output
    (plugin,) = build_registry(load_static([folder])).plugins
    assert [s.name for s in plugin.suites] == ["bench/bench"]
    assert plugin.suites[0].task_names() == ["bench/chem_test", "bench/gated_test"]


def test_suite_naming_a_missing_task_suggests_the_near_one(tmp_path, runner):
    folder = bench_plugin(tmp_path, "bench/chem_tset")
    for args in (["validate", "--format", "json", str(folder)],
                 ["validate", "--installed", "--format", "json", "--plugins-dir", str(folder)]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 1
        (problem,) = [p for p in serious(result) if p["check"] == "suite-tasks"]
        assert problem["file"] == str(folder / "medsreg_bench" / "bench.json")
        assert problem["path"] == "$.categories[0].tasks[0].task"
        assert ("no task named 'bench/chem_tset' in plugin bench, which is validated here. Did you mean 'bench/chem_test'?"
                in problem["message"])
    result = runner.invoke(cli, ["list", "--suites", "--json", "--plugins-dir", str(folder)])
    assert {row["name"]: row["missing"] for row in json.loads(result.stdout)}["bench/bench"] == 1


def test_suite_naming_a_train_task_or_a_task_twice_is_an_error(tmp_path, runner):
    folder = bench_plugin(tmp_path, "bench/chem_train", "bench/chem_test", "bench/chem_test")
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    found = {p["path"]: p["message"] for p in serious(result) if p["check"] == "suite-tasks"}
    assert "'bench/chem_train' is a training task" in found["$.categories[0].tasks[0].task"]
    assert "'bench/chem_test' is listed twice" in found["$.categories[0].tasks[2].task"]
    assert len(found) == 2


def test_two_suites_with_one_name_is_an_error(tmp_path, runner):
    folder = catalog_plugin(tmp_path, "bench", bench_catalog(), init_py=SUITE_PLUGIN,
                            suites={"bench": suite("bench/bench", "bench/chem_test"), "again": suite("bench/bench", "bench/chem_test")})
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    (problem,) = [p for p in serious(result) if p["check"] == "suite-tasks"]
    assert problem["path"] == "$.name" and "already defined in" in problem["message"]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"name": "bench/x", "description": "d", "categories": []}, {("$.categories", "at least 1 item")}),
        ({"name": "Bench", "description": "d", "categories": [{"name": "c", "tasks": [{"task": "bench/chem_test"}]}]},
         {("$.name", "should match pattern"), ("$.categories[0].tasks[0].metrics", "Field required")}),
        ({"name": "other/x", "description": "d", "categories": [{"name": "c", "tasks": [{"task": "bench/chem_test", "metrics": ["f1"]}]}]},
         {("$.name", "must start with 'bench/'")}),
        ("{not json", {("", "is not valid JSON")}),
    ],
)
def test_suite_file_schema_errors_are_located(tmp_path, runner, document, expected):
    folder = bench_plugin(tmp_path)
    target = folder / "medsreg_bench" / "bench.json"
    if isinstance(document, str):
        target.write_text(document, encoding="utf-8")
    else:
        write_json(target, document)
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    found = [p for p in serious(result) if p["check"] == "suite-file"]
    assert all(p["file"] == str(target) for p in found)
    assert {(p["path"], next(words for path, words in expected if path == p["path"])) for p in found} == expected
    assert all(any(words in p["message"] for p in found if p["path"] == path) for path, words in expected)


def test_a_key_repeated_in_a_suite_file_is_an_error_not_a_kept_last_value(tmp_path, runner):
    folder = bench_plugin(tmp_path)
    target = folder / "medsreg_bench" / "bench.json"
    document = json.loads(target.read_text(encoding="utf-8"))
    text = json.dumps(document)
    target.write_text(text.replace('"name": ', '"name": "bench/other", "name": ', 1), encoding="utf-8")
    result = runner.invoke(cli, ["validate", "--format", "json", str(folder)])
    assert result.exit_code == 1
    found = [p for p in serious(result) if p["check"] == "suite-file"]
    assert len(found) == 1 and "repeats the key 'name'" in found[0]["message"] and found[0]["file"] == str(target)
