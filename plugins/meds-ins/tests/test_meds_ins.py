"""The MedS-Ins catalog: its 122 cards, and reading a release folder (fixtures in the released formats)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from medsreg import read_tasks
from medsreg.catalog import Catalog, LoadedTask, resolve_instances
from medsreg.formats.rewrites import read_rewrites
from medsreg.vocabulary import CATEGORIES

PLUGIN = Path(__file__).resolve().parents[1]
CATALOG = PLUGIN / "medsreg_meds_ins" / "catalog.json"
RELEASE = Path(__file__).parent / "fixtures" / "release"
REAL_REWRITES = PLUGIN.parents[2] / "shared" / "reference" / "meds-ins" / "RewriteDefinitions.json"

# SEEDS.md §1.2: the 122 released ids, and the credentialed ones (MIMIC-derived and MedNLI)
IDS = {*range(1, 4), *range(11, 30), 31, 33, *range(35, 121), *range(124, 127), *range(128, 137)}
CREDENTIALED = {76, *range(78, 97), 112, *range(116, 120), *range(41, 45)}


@pytest.fixture
def sources(monkeypatch, tmp_path):
    """No source configured, whatever the machine's environment or config file says."""
    monkeypatch.setenv("MEDSREG_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("MEDSREG_OFFLINE", "1")
    for key in ("MEDS_INS", "MEDS_INS_INSTRUCTIONS"):
        monkeypatch.delenv(f"MEDSREG_SOURCE_{key}", raising=False)
    return monkeypatch


def resolved(folder: Path | None = None) -> tuple[dict[int, LoadedTask], Catalog]:
    catalog = Catalog(tasks=[LoadedTask(task, str(CATALOG)) for task in read_tasks(CATALOG, "meds-ins")])
    resolve_instances(catalog)
    return {item.task.legacy_id: item for item in catalog.tasks}, catalog


def test_catalog_has_the_122_released_ids_with_access_tiers():
    tasks = read_tasks(CATALOG, "meds-ins")
    assert len(tasks) == 122 and {t.legacy_id for t in tasks} == IDS
    assert len({t.name for t in tasks}) == 122
    assert {t.legacy_id for t in tasks if t.access == "credentialed"} == CREDENTIALED
    assert {t.access for t in tasks if t.legacy_id not in CREDENTIALED} == {"public"}
    for task in tasks:
        assert task.split == "train" and task.description and task.license and task.source and task.url
        assert set(task.categories) <= set(CATEGORIES) and task.input_languages and task.output_languages
        # no instruction text and no instances ship in the repository
        assert task.definition == [] and task.instances is None
        assert task.instances_from.path == f"task{task.legacy_id}_*"


def test_known_ids_carry_the_seed_facts():
    tasks = {t.legacy_id: t for t in read_tasks(CATALOG, "meds-ins")}
    assert tasks[125].name == "meds-ins/bc4chem_named_enetity_recognition"  # the release's spelling is its identity
    assert tasks[125].categories == ["Named Entity Recognition"]
    assert tasks[130].categories == ["Diagnosis"] and tasks[131].categories == ["Treatment Planning"]
    assert tasks[23].input_languages == ["en"] and tasks[23].output_languages == ["es"]  # HEAD-QA en -> es
    assert tasks[58].input_languages == ["zh"]
    assert "Natural Language Inference" in tasks[41].categories


def test_unconfigured_tasks_are_not_available_and_say_how_to_get_them(sources):
    by_id, _ = resolved()
    public, credentialed = by_id[125], by_id[116]
    assert public.task.instances is None and "not available" in public.unavailable
    assert "MEDSREG_SOURCE_MEDS_INS" in public.unavailable and "Henrychur/MedS-Ins" in public.unavailable
    assert "credentialed" in credentialed.unavailable and "PhysioNet" in credentialed.unavailable


def test_release_folder_gives_instances_and_instruction_counts(sources):
    sources.setenv("MEDSREG_SOURCE_MEDS_INS", str(RELEASE))
    by_id, catalog = resolved()
    assert not [p for p in catalog.findings.problems if p.severity != "note"]
    assert len(by_id[1].task.instances) == 12 and len(by_id[125].task.instances) == 12
    assert len(by_id[3].task.instances) == 11  # a .jsonl file holding one task object
    # the task file's Definition replaces the original definition, the rewrites follow (the official loader)
    assert by_id[1].task.definition == ["Given an abstract of a randomized trial, list who took part in it.",
                                        "Extract the participants of the trial.", "Name the people enrolled in the study.",
                                        "List the study population."]
    assert len(by_id[125].task.definition) == 3
    assert by_id[3].task.definition == ["Given an abstract of a randomized trial, list the outcomes it measured."]
    # released-variant drift was normalized: output strings became lists, missing ids became positions
    assert by_id[1].task.instances[0] == {"id": "0", "input": "We randomized 10 adults with condition K to drug or placebo.",
                                          "output": ["10 adults with condition K"]}
    notes = " ".join(p.message for p in catalog.findings.problems)
    assert "have 'output' as a string" in notes and "have no 'id'" in notes
    assert by_id[57].task.instances is None and "not available" in by_id[57].unavailable


def test_instructions_folder_can_be_configured_separately(sources, tmp_path):
    release = tmp_path / "release"
    shutil.copytree(RELEASE, release)
    (release / "RewriteDefinitions.json").rename(tmp_path / "RewriteDefinitions.json")
    sources.setenv("MEDSREG_SOURCE_MEDS_INS", str(release))
    by_id, _ = resolved()
    assert len(by_id[1].task.definition) == 1  # no rewrites found: only the file's own Definition
    sources.setenv("MEDSREG_SOURCE_MEDS_INS_INSTRUCTIONS", str(tmp_path))
    by_id, _ = resolved()
    assert len(by_id[1].task.definition) == 4


def test_files_from_the_wrong_release_are_located_errors(sources, tmp_path):
    release = tmp_path / "release"
    shutil.copytree(RELEASE, release)
    # a MedS-Bench test file in the MedS-Ins folder
    (release / "task125_bc4chem_named_enetity_recognition.json").rename(release / "task125_test_bc4chem_named_enetity_recognition.json")
    # a file named as the preparation scripts name MIMIC4ED (104 there, 117 released): id 104 is BioASQ in the release
    shutil.copy(release / "task1_participant_extraction.json", release / "task104_mimic4ed_hospitalization.json")
    # two files for one id
    shutil.copy(release / "task3_outcome_extraction.jsonl", release / "task3_outcome_extraction.json")
    sources.setenv("MEDSREG_SOURCE_MEDS_INS", str(release))
    by_id, catalog = resolved()
    problems = {(p.severity, Path(p.file).name if p.file.endswith((".json", ".jsonl")) else p.file): p.message
                for p in catalog.findings.problems if p.severity != "note"}
    test_file = problems[("error", "task125_test_bc4chem_named_enetity_recognition.json")]
    assert "looks like a MedS-Bench test file" in test_file
    renamed = problems[("error", "task104_mimic4ed_hospitalization.json")]
    assert "'task104_bioasq_question_answering.json'" in renamed and "preparation scripts" in renamed
    two = next(m for (severity, _), m in problems.items() if "holds 2 files" in m)
    assert "task3_outcome_extraction.json" in two and "task3_outcome_extraction.jsonl" in two
    assert by_id[3].task.instances is None


@pytest.mark.skipif(not REAL_REWRITES.is_file(), reason="the real RewriteDefinitions.json is not beside the repository")
def test_real_rewrite_definitions_cover_the_catalog(sources):
    rewrites = read_rewrites(REAL_REWRITES)
    assert len(rewrites) == 122 and sum(len(entry.auto_rewrite_def) for entry in rewrites.values()) == 18_996
    assert {int(key.removeprefix("task")) for key in rewrites} == IDS
    sources.setenv("MEDSREG_SOURCE_MEDS_INS_INSTRUCTIONS", str(REAL_REWRITES.parent))
    by_id, _ = resolved()
    assert sum(len(item.task.definition) for item in by_id.values()) == 122 + 18_996
    assert by_id[125].task.definition[0] == rewrites["task125"].original


def test_catalog_file_is_what_the_package_ships():
    pyproject = (PLUGIN / "pyproject.toml").read_text(encoding="utf-8")
    assert '"medsreg_meds_ins/catalog.json"' in pyproject and 'medsreg_meds_ins = ["catalog.json", "mixture.json"]' in pyproject
    assert 'mixtures = ["medsreg_meds_ins/mixture.json"]' in pyproject
    json.loads(CATALOG.read_text(encoding="utf-8"))
