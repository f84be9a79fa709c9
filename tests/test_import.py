"""`medsreg import`: MedS-Ins task JSON and the Excel template become plugin folders that validate.

Workbooks are built here with openpyxl (no binary fixtures); the real template is read from
../shared/reference when present. Every bad input must exit 1 with a located sentence and leave
no plugin folder behind.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from medsreg.cli import cli

openpyxl = pytest.importorskip("openpyxl")

FIXTURES = Path(__file__).parent / "fixtures" / "import"
RELEASED = FIXTURES / "task16_healthfact_classification.json"
REAL_TEMPLATE = Path(__file__).resolve().parents[2] / "shared/reference/meds-ins/Task_Contributor.xlsx"

CARD = {
    "Contributors": "Ada Lovelace, Grace Hopper",
    "URL": "https://example.org/leaflets",
    "Source": "Synthetic drug leaflets",
    "Text Domains": "Medicine; Pharmacology",
    "Categories": "Question Answering (MCQA)",
    "Input_language": "english",
    "Output_language": "English",
    "Instruction_language": "English",
    "Definition": "Answer the question about the medicine in one sentence.",
    "Split Type": "Train",
}
CARD_ROWS = {"Contributors": 3, "URL": 4, "Source": 6, "Text Domains": 7, "Categories": 8, "Input_language": 10,
             "Output_language": 11, "Instruction_language": 12, "Definition": 14, "Split Type": 15}
"""Where the real template puts each Task Card field (column A label, column B value)."""
INSTANCES = [(f"How often is medicine number {i} taken by adults?", f"Medicine {i} is taken {i % 3 + 1} times a day.")
             for i in range(12)]


# --------------------------------------------------------------------------- helpers


def build_template(path: Path, card: dict[str, str | None] = CARD, instances=INSTANCES, *,
                   card_sheet: str = "Basic Information", instances_sheet: str | None = "Instances",
                   header=("Input", "Output")) -> Path:
    """A workbook laid out like Task_Contributor.xlsx (title merged over A1:B2, labels in A, values in B)."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = card_sheet
    sheet["A1"] = "Task Card"
    sheet.merge_cells("A1:B2")
    for label, value in card.items():
        row = CARD_ROWS[label]
        sheet.cell(row=row, column=1, value=label)
        sheet.cell(row=row, column=2, value=value)
    if instances_sheet is not None:
        rows = workbook.create_sheet(instances_sheet)
        rows.append(list(header))
        for item in instances:
            rows.append(list(item))
    workbook.save(path)
    return path


def with_cached_value(path: Path, member: str, cell: str, cached: str) -> None:
    """Give an openpyxl-written formula cell the value Excel would have saved with it (openpyxl saves none)."""
    with zipfile.ZipFile(path) as archive:
        parts = {info.filename: archive.read(info) for info in archive.infolist()}
    xml = parts[member].decode()
    xml, count = re.subn(rf'<c r="{cell}"( [^>]*)?><f>(.*?)</f>(?:<v\s*/>|<v></v>)',  # <v></v> where lxml is installed
                         rf'<c r="{cell}" t="str"><f>\2</f><v>{cached}</v>', xml)
    assert count == 1, f"no formula cell {cell} in {member}"
    parts[member] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


def run_import(runner, source: Path, output: Path, *args: str):
    return runner.invoke(cli, ["import", str(source), "--output", str(output), *args])


def task_file_of(plugin_dir: Path) -> Path:
    (path,) = plugin_dir.glob("medsreg_*/tasks/*.json")
    return path


def read_task(plugin_dir: Path) -> dict:
    return json.loads(task_file_of(plugin_dir).read_text(encoding="utf-8"))


def set_license(plugin_dir: Path, licence: str = "CC-BY-4.0") -> None:
    path = task_file_of(plugin_dir)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["medsreg"]["license"] = licence
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")


def lines(result, prefix: str) -> list[str]:
    return [line.removeprefix(prefix) for line in result.output.splitlines() if line.startswith(prefix)]


def assert_validates_once_licensed(runner, plugin_dir: Path) -> None:
    before = runner.invoke(cli, ["validate", str(plugin_dir)])
    assert before.exit_code == 1 and "$.medsreg.license" in before.output, before.output
    set_license(plugin_dir)
    after = runner.invoke(cli, ["validate", str(plugin_dir)])
    assert after.exit_code == 0, after.output


def assert_nothing_written(output: Path) -> None:
    assert not output.exists() or list(output.iterdir()) == [], list(output.iterdir())


# --------------------------------------------------------------------------- task JSON


def test_released_variant_json_imports_and_validates_once_the_licence_is_filled(runner, tmp_path):
    result = run_import(runner, RELEASED, tmp_path / "plugins")
    assert result.exit_code == 0, result.output
    plugin_dir = tmp_path / "plugins" / "healthfact-classification"
    assert f"wrote plugin {plugin_dir}" in result.output

    notes = lines(result, "note: ")
    assert "Contributors, Source, URL given as a string, read as a one-item list" in notes
    assert "legacy id 16 taken from the file name" in notes
    assert any("11 of 12 instances have 'output' as a string" in note for note in notes)
    assert any("12 of 12 instances have no 'id'" in note for note in notes)
    assert any("'English' -> 'en'" in note for note in notes)
    assert any(note.startswith("medsreg.access guessed as 'public'") for note in notes)
    assert any(note.startswith("Split Type is not given") for note in notes)
    (todo,) = lines(result, "todo: ")
    assert "'medsreg.license'" in todo and str(task_file_of(plugin_dir)) in todo and '"CC-BY-4.0"' in todo

    document = read_task(plugin_dir)
    assert document["Contributors"] == ["medsreg test suite"]
    assert document["URL"] == ["https://example.org/synthetic-health-claims"]
    assert document["Input_language"] == ["en"]
    assert "Split Type" not in document
    assert document["medsreg"] == {"name": "healthfact_classification", "legacy_id": 16, "license": None,
                                   "access": "public"}
    assert [item["id"] for item in document["Instances"]] == [str(i) for i in range(12)]
    assert document["Instances"][0]["output"] == ["false"]
    assert_validates_once_licensed(runner, plugin_dir)


def test_name_overrides_the_plugin_name_and_must_be_a_slug(runner, tmp_path):
    output = tmp_path / "plugins"
    bad = run_import(runner, RELEASED, output, "--name", "Health_Claims")
    assert bad.exit_code == 1 and "'Health_Claims' is not a plugin name" in bad.output and "'health-claims'" in bad.output
    assert_nothing_written(output)
    good = run_import(runner, RELEASED, output, "--name", "claims")
    assert good.exit_code == 0, good.output
    assert [path.name for path in output.iterdir()] == ["claims"]
    assert read_task(output / "claims")["medsreg"]["name"] == "healthfact_classification"


def test_an_existing_plugin_folder_is_refused_unless_overwrite(runner, tmp_path):
    output = tmp_path / "plugins"
    assert run_import(runner, RELEASED, output).exit_code == 0
    plugin_dir = output / "healthfact-classification"
    set_license(plugin_dir, "MIT")
    again = run_import(runner, RELEASED, output)
    assert again.exit_code == 1
    assert f"{plugin_dir} already exists" in again.output and "--overwrite" in again.output
    assert read_task(plugin_dir)["medsreg"]["license"] == "MIT"  # untouched
    replaced = run_import(runner, RELEASED, output, "--overwrite")
    assert replaced.exit_code == 0, replaced.output
    assert read_task(plugin_dir)["medsreg"]["license"] is None
    assert sorted(path.name for path in output.iterdir()) == ["healthfact-classification"]


def test_credentialed_sources_are_not_copied_and_unknown_vocabulary_becomes_todo(runner, tmp_path):
    document = json.loads(RELEASED.read_text(encoding="utf-8"))
    document.update(Source="MIMIC-IV discharge notes", Input_language=["Martian"], Categories=["Claim Checking"])
    source = tmp_path / "discharge_claims.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    result = run_import(runner, source, tmp_path / "plugins")
    assert result.exit_code == 0, result.output
    written = read_task(tmp_path / "plugins" / "discharge-claims")
    assert written["medsreg"]["access"] == "credentialed" and "Instances" not in written
    assert any("'credentialed' because the task mentions 'mimic-iv'" in note for note in lines(result, "note: "))
    todo = "\n".join(lines(result, "todo: "))
    assert "the 12 instances were NOT copied" in todo
    # the plugin reads them from the contribution itself, kept outside the repository
    assert written["medsreg"]["instances_from"] == {"kind": "local", "key": "discharge-claims", "path": "discharge_claims.json",
                                                    "how_to_obtain": written["medsreg"]["instances_from"]["how_to_obtain"]}
    assert f"MEDSREG_SOURCE_DISCHARGE_CLAIMS={tmp_path}" in todo
    assert "Input_language: 'Martian' is not a language medsreg knows" in todo
    assert "Categories: 'Claim Checking' is not one of the 19 MedS-Ins categories" in todo


def test_the_access_and_licence_a_file_already_gives_are_kept(runner, tmp_path):
    document = json.loads(RELEASED.read_text(encoding="utf-8"))
    document["medsreg"] = {"license": "CC0-1.0", "access": "public", "version": "1.0"}
    source = tmp_path / "claims.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    result = run_import(runner, source, tmp_path / "plugins")
    assert result.exit_code == 0, result.output
    assert lines(result, "todo: ") == [] and not any("access" in note for note in lines(result, "note: "))
    assert read_task(tmp_path / "plugins" / "claims")["medsreg"] == {
        "name": "claims", "license": "CC0-1.0", "access": "public", "version": "1.0"}
    assert runner.invoke(cli, ["validate", str(tmp_path / "plugins" / "claims")]).exit_code == 0


def test_instances_validate_would_reject_become_todo_lines(runner, tmp_path):
    document = json.loads(RELEASED.read_text(encoding="utf-8"))
    document["medsreg"] = {"license": "CC0-1.0"}
    document["Instances"] = [{"id": "a", "input": "Claim one.", "output": "true"},
                             {"id": "a", "input": "Claim two.", "output": "false"},
                             {"id": "b", "input": "Claim one.", "output": "true"},
                             {"id": "c", "input": "Claim three.", "output": " "}]
    source = tmp_path / "claims.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    result = run_import(runner, source, tmp_path / "plugins")
    assert result.exit_code == 0, result.output
    todo = lines(result, "todo: ")
    assert len(todo) == 3, todo
    assert todo[0].startswith("1 instance has an empty input or output (ids c)")
    assert todo[1].startswith("instance ids 'a' are used more than once")
    assert todo[2].startswith("1 instance repeats another one exactly ('b' repeats 'a')")
    assert runner.invoke(cli, ["validate", str(tmp_path / "plugins" / "claims")]).exit_code == 1


# --------------------------------------------------------------------------- the Excel template


@pytest.mark.skipif(not REAL_TEMPLATE.is_file(), reason="the MedS-Ins reference template is not in ../shared")
def test_the_real_template_filled_in_imports_and_validates(runner, tmp_path):
    workbook_path = tmp_path / "task200_leaflet_questions.xlsx"
    shutil.copyfile(REAL_TEMPLATE, workbook_path)
    workbook = openpyxl.load_workbook(workbook_path)
    card = workbook["Basic Information"]
    rows = {str(cell.value).strip(): cell.row for cell in card["A"] if cell.value is not None}
    for label, value in CARD.items():
        card.cell(row=rows[label], column=2, value=value)
    instances = workbook["Instances"]
    assert [cell.value for cell in instances[1]][:2] == ["Input", "Output"]
    for row, (source, output) in enumerate(INSTANCES, start=2):
        instances.cell(row=row, column=1, value=source)
        instances.cell(row=row, column=2, value=output)
    workbook.save(workbook_path)

    result = run_import(runner, workbook_path, tmp_path / "plugins")
    assert result.exit_code == 0, result.output
    plugin_dir = tmp_path / "plugins" / "leaflet-questions"
    document = read_task(plugin_dir)
    assert document["Contributors"] == ["Ada Lovelace", "Grace Hopper"]
    assert document["Domains"] == ["Medicine", "Pharmacology"]
    assert document["Categories"] == ["Question Answering"]
    assert document["Input_language"] == ["en"] and document["Split Type"] == "Train"
    assert document["Definition"] == [CARD["Definition"]]
    assert document["medsreg"] == {"name": "leaflet_questions", "legacy_id": 200, "license": None, "access": "public"}
    assert document["Instances"][0] == {"id": "0", "input": INSTANCES[0][0], "output": [INSTANCES[0][1]]}
    assert len(document["Instances"]) == len(INSTANCES)
    notes = lines(result, "note: ")
    assert any("Contributors in 'Basic Information'!B3 split at commas, semicolons and line breaks" in n for n in notes)
    assert not any("merged" in note for note in notes), "the template's own title merge is not worth a note"
    assert_validates_once_licensed(runner, plugin_dir)


def test_a_synthetic_template_imports_and_validates(runner, tmp_path):
    result = run_import(runner, build_template(tmp_path / "Task_Contributor.xlsx"), tmp_path / "plugins")
    assert result.exit_code == 0, result.output
    plugin_dir = tmp_path / "plugins" / "synthetic-drug-leaflets-question-answering-mcqa"
    assert any("made from the Source and the first category" in note for note in lines(result, "note: "))
    document = read_task(plugin_dir)
    assert document["medsreg"]["name"] == "synthetic_drug_leaflets_question_answering_mcqa"
    assert "legacy_id" not in document["medsreg"]
    assert [item["input"] for item in document["Instances"]] == [source for source, _ in INSTANCES]
    assert_validates_once_licensed(runner, plugin_dir)


def test_workbook_quirks_are_read_and_reported(runner, tmp_path):
    """Renamed sheets, merged cells, empty rows, a formula with its saved value, numbers, multi-line values."""
    card = dict(CARD, Categories="Question Answering\nExplanation", Definition="=CONCAT(\"Answer \",\"briefly.\")",
                **{"Split Type": "train / test"})
    rows = [*INSTANCES[:10], (None, None), (None, None), ("Give the dose of medicine 11 in mg.", 250),
            ("Which route is used for medicine 12?", "Oral."), (None, "By mouth.")]
    path = build_template(tmp_path / "leaflets.xlsx", card, rows, card_sheet="Card", instances_sheet="Data",
                          header=("input", "OUTPUT", "Comment"))
    workbook = openpyxl.load_workbook(path)
    workbook["Card"]["A16"] = "Comment"  # an unknown label after the card: ignored, with a note
    workbook["Card"]["B16"] = "internal remark"
    workbook["Data"].merge_cells("A15:A16")  # one input, two reference outputs
    workbook["Card"].merge_cells("B6:D6")  # a value spread over several columns
    workbook["Card"]["B5"] = "https://example.org/mirror"  # the blank row under URL used for a second address
    workbook.save(path)
    with_cached_value(path, "xl/worksheets/sheet1.xml", "B14", "Answer briefly.")

    result = run_import(runner, path, tmp_path / "plugins")
    assert result.exit_code == 0, result.output
    notes = "\n".join(lines(result, "note: "))
    assert "sheet 'Card' read as the 'Basic Information' sheet" in notes
    assert "sheet 'Data' read as the 'Instances' sheet" in notes
    assert "2 empty rows between the instances in sheet 'Data' were skipped" in notes
    assert "merged cells Data!A15:A16" in notes and "became further outputs of that instance" in notes
    assert "merged cells Card!B6:D6 ('Synthetic drug leaflets') were read as their top-left value" in notes
    assert "1 cell held formulas; the values Excel last computed were read" in notes
    assert "1 cell held numbers" in notes
    assert "Split Type 'train / test' read as 'Train/Test'" in notes
    assert "Card!A16 'Comment' is not a Task Card field" in notes
    assert "Card!B5 (URL): no field name in column A, so read as more values of the field above" in notes
    assert "column Data!C1 'Comment' was ignored" in notes
    document = read_task(tmp_path / "plugins" / "leaflets")
    assert document["Categories"] == ["Question Answering", "Explanation"]
    assert document["URL"] == ["https://example.org/leaflets", "https://example.org/mirror"]
    assert document["Definition"] == ["Answer briefly."]
    assert document["Split Type"] == "Train/Test"
    assert document["Instances"][10]["output"] == ["250"]
    assert document["Instances"][11] == {"id": "11", "input": "Which route is used for medicine 12?",
                                         "output": ["Oral.", "By mouth."]}
    assert len(document["Instances"]) == 12


# --------------------------------------------------------------------------- bad input


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """220 MB of zeros packed into about 200 KB, dressed as a workbook."""
    path = tmp_path_factory.mktemp("bomb") / "contribution.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"\0" * (1 << 20)
            for _ in range(210):
                member.write(chunk)
    return path


def _workbook(tmp_path: Path, **changes) -> Path:
    return build_template(tmp_path / "contribution.xlsx", **changes)


def _edited(tmp_path: Path, edit) -> Path:
    path = build_template(tmp_path / "contribution.xlsx")
    workbook = openpyxl.load_workbook(path)
    edit(workbook)
    workbook.save(path)
    return path


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _sparse(tmp_path: Path, megabytes: int) -> Path:
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as handle:
        handle.write(b"PK\x03\x04")
        handle.truncate(megabytes * 1_000_000)  # sparse: costs no disk
    return path


def _small_bomb(tmp_path: Path) -> Path:
    path = tmp_path / "contribution.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 5_000_000)
    return path


BAD_INPUTS = {
    "not a zip": (
        lambda tmp: _write(tmp, "contribution.xlsx", "Input,Output\nq,a\n"),
        "is not an Excel .xlsx workbook (it is not a zip archive)",
    ),
    "old xls": (
        lambda tmp: _write(tmp, "contribution.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
        "old-style .xls workbook",
    ),
    "over the size limit": (lambda tmp: _sparse(tmp, 50), "huge.xlsx is 50 MB, over the 20 MB limit"),
    "compression ratio": (_small_bomb, "zip member 'xl/worksheets/sheet1.xml' unpacks"),
    "a zip but no workbook": (lambda tmp: _write_zip(tmp), "cannot be read as an Excel workbook"),
    "no card sheet": (
        lambda tmp: _edited(tmp, lambda wb: wb.remove(wb["Basic Information"])),
        "has no Task Card sheet: expected a sheet 'Basic Information' with the field names",
    ),
    "no instances sheet": (
        lambda tmp: _workbook(tmp, instances_sheet=None),
        "has no instances sheet: expected a sheet 'Instances' whose first row holds the headers 'Input' and 'Output', "
        "but the workbook has the sheet 'Basic Information'",
    ),
    "instances without headers": (
        lambda tmp: _workbook(tmp, header=("Question", "Answer")),
        "sheet 'Instances' has no header row with the columns 'Input' and 'Output'",
    ),
    "missing card row": (
        lambda tmp: _workbook(tmp, card={key: value for key, value in CARD.items() if key != "Definition"}),
        "sheet 'Basic Information' has no row named 'Definition' in column A",
    ),
    "misspelled card row": (
        lambda tmp: _edited(tmp, lambda wb: wb["Basic Information"].cell(row=8, column=1, value="Categorys")),
        "has no row named 'Categories' in column A; add it with the value in column B, as in the template. "
        "'Basic Information'!A8 reads 'Categorys'. Did you mean 'Categories'?",
    ),
    "empty required values": (
        lambda tmp: _workbook(tmp, card=dict(CARD, Definition=None, Contributors="  ")),
        "'Basic Information'!B3 (Contributors), 'Basic Information'!B14 (Definition) are empty",
    ),
    "bad split type": (
        lambda tmp: _workbook(tmp, card=dict(CARD, **{"Split Type": "Validation"})),
        "'Basic Information'!B15 (Split Type) is 'Validation'; write 'Train', 'Test' or 'Train/Test'",
    ),
    "formula without a computed value in the card": (
        lambda tmp: _workbook(tmp, card=dict(CARD, Definition='=CONCAT("Answer ", "briefly.")')),
        "'Basic Information'!B14 holds a formula (=CONCAT(\"Answer \", \"briefly.\")) without a computed value; "
        "open and save the file in Excel/LibreOffice so values are computed, or paste values",
    ),
    "a merged cell across Input and Output": (
        lambda tmp: _edited(tmp, lambda wb: wb["Instances"].merge_cells("A3:B3")),
        "Instances!A3 is merged with Instances!B3 (range A3:B3), so the row's Input and Output would be the same text",
    ),
    "formula without a computed value in an instance": (
        lambda tmp: _workbook(tmp, instances=[*INSTANCES[:2], ("A question?", "=UPPER(A2)")]),
        "Instances!B4 holds a formula (=UPPER(A2)) without a computed value",
    ),
    "an instance without output": (
        lambda tmp: _workbook(tmp, instances=[*INSTANCES[:3], ("A question?", None), ("Another?", "  ")]),
        "Instances!B5 is empty while Instances!A5 is not (and 1 more row like it)",
    ),
    "no instances": (
        lambda tmp: _workbook(tmp, instances=[]),
        "sheet 'Instances' has no instances under its header row 1",
    ),
    "invalid JSON": (
        lambda tmp: _write(tmp, "task.json", '{"Contributors": ["a"],\n "Source": }'),
        "task.json: is not valid JSON: expecting value at line 2 column 12",
    ),
    "JSON not a task object": (
        lambda tmp: _write(tmp, "task.json", "[1, 2]"),
        "task.json::$: expected a JSON object holding one task",
    ),
    "JSON missing field": (
        lambda tmp: _write(tmp, "task.json", json.dumps({k: v for k, v in json.loads(RELEASED.read_text()).items()
                                                          if k != "Categories"})),
        "task.json::$.Categories: required field is missing",
    ),
    "a catalog, not a task": (
        lambda tmp: _write(tmp, "catalog.json", json.dumps({"defaults": {}, "tasks": [{"medsreg": {"name": "a"}}]})),
        "catalog.json is a catalog of task cards, not one task",
    ),
    "missing file": (lambda tmp: tmp / "nowhere.json", "nowhere.json does not exist"),
}


def _write_zip(tmp_path: Path) -> Path:
    path = tmp_path / "contribution.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return path


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_one_located_sentence_and_writes_nothing(runner, tmp_path, case):
    make, expected = BAD_INPUTS[case]
    source = make(tmp_path)
    output = tmp_path / "plugins"
    result = run_import(runner, source, output)
    assert result.exit_code == 1, result.output
    (message,) = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert expected in message
    assert str(source) in message
    assert "Traceback" not in result.output
    assert_nothing_written(output)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(runner, tmp_path, zip_bomb):
    assert zip_bomb.stat().st_size < 1_000_000
    result = run_import(runner, zip_bomb, tmp_path / "plugins")
    assert result.exit_code == 1
    assert f"error: {zip_bomb} unpacks to 220 MB, over the 200 MB limit (a zip bomb" in result.output
    assert_nothing_written(tmp_path / "plugins")


def test_an_id_in_the_file_name_that_disagrees_with_the_catalog_is_refused(tmp_path, runner):
    # the meds-ins catalog (installed with the bundled plugins) knows task16 as PUBHEALTH claim classification
    misnamed = tmp_path / "task16_my_new_claims_task.json"
    misnamed.write_bytes(RELEASED.read_bytes())
    output = tmp_path / "plugins"
    result = runner.invoke(cli, ["import", str(misnamed), "-o", str(output)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{misnamed}: the file name gives MedS-Ins id 16, which the catalog uses for meds-ins/healthfact_classification" in result.output
    assert "drop the 'task16_' prefix" in result.output
    assert not output.exists() or not any(output.iterdir())


def test_mimic_as_an_ordinary_word_does_not_make_a_task_credentialed(runner, tmp_path):
    document = json.loads(RELEASED.read_text(encoding="utf-8"))
    document["Definition"] = ["Decide whether the claim about drugs that mimic opioids is true."]
    source = tmp_path / "mimicry_claims.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    result = run_import(runner, source, tmp_path / "plugins")
    assert result.exit_code == 0, result.output
    assert read_task(tmp_path / "plugins" / "mimicry-claims")["medsreg"]["access"] == "public"


def test_a_file_that_is_neither_json_nor_a_workbook_is_refused(runner, tmp_path):
    source = tmp_path / "data.csv"
    source.write_text("input,output\na,b\n", encoding="utf-8")
    result = run_import(runner, source, tmp_path / "plugins")
    assert result.exit_code == 1 and "is neither a MedS-Ins task file (.json) nor a contribution template (.xlsx)" in result.output
    assert not (tmp_path / "plugins").exists()


def test_a_credentialed_workbook_keeps_its_instances_in_a_task_file_beside_it(runner, tmp_path):
    workbook = _workbook(tmp_path, card=dict(CARD, Source="MIMIC-IV discharge notes"))
    result = run_import(runner, workbook, tmp_path / "plugins")
    assert result.exit_code == 0, result.output
    (plugin_dir,) = (tmp_path / "plugins").iterdir()
    written = read_task(plugin_dir)
    assert "Instances" not in written and written["medsreg"]["access"] == "credentialed"
    kept = tmp_path / "contribution.task.json"
    assert written["medsreg"]["instances_from"]["path"] == kept.name
    assert len(json.loads(kept.read_text(encoding="utf-8"))["Instances"]) == len(INSTANCES)
