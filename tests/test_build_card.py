"""The dataset card (README.md) and the manifest (manifest.json) of a build: content, Hub metadata, determinism."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from medsreg.build.card import hub_licenses, render_card, size_category
from medsreg.build.manifest import (
    build_manifest,
    dump_manifest,
    manifest_hash,
    verify_manifest,
)
from medsreg.build.plan import Plan, PlanRow
from medsreg.catalog import Catalog
from medsreg.models import (
    HubSource,
    LocalSource,
    MixtureSpec,
    Suite,
    SuiteCategory,
    SuiteTask,
    Task,
    UrlSource,
)
from medsreg.plugins import PluginInfo

SHA = "a" * 64


def _task(name: str, **fields) -> Task:
    values = {
        "name": name, "categories": ["Named Entity Recognition"], "definition": ["Find the chemicals."],
        "contributors": ["Ada Lovelace"], "source": ["BC4CHEMD"], "url": ["https://example.org/bc4chemd"],
        "license": "CC-BY-4.0", "access": "public", "split": "train", "version": "1.0",
        "input_languages": ["en"], "output_languages": ["en"], "instruction_languages": ["en"],
        "instances": [{"id": f"i{k}", "input": f"text {k}", "output": [f"out {k}"]} for k in range(4)],
    }
    values.update(fields)
    return Task(**values)


def _inputs(tmp_path=None):
    ner = _task("samples/chemical_ner", legacy_id=125, source_revision="2026-11-22",
                instances_from=LocalSource(key="meds-ins", path="task125_bc4chem.json"))
    translation = _task(
        "samples/translation_zh_en", categories=["Translation"], contributors=["Zhang Wei", "Ada Lovelace"],
        source=["Medical | Parallel Corpus"], url=["https://example.org/parallel", "https://example.org/paper"],
        license="CC0-1.0", input_languages=["zh"], output_languages=["en"], synthetic=True,
        instances_from=[HubSource(repo_id="owner/meds-ins", revision="b" * 40, path="t.json"),
                        HubSource(repo_id=str(tmp_path or "/home/someone/mirror"), revision="c" * 40, path="t.json")],
    )
    mcqa = _task("bench/medqa_en", legacy_id=57, categories=["Question Answering"], split="test",
                 contributors=["Grace Hopper"], source=["MedQA"], url=["https://example.org/medqa"],
                 license="LicenseRef-MedQA", access="public",
                 instructions_from=UrlSource(url="file:///home/someone/defs.json", sha256=SHA))
    ner_test = _task("bench/bc4chem_test", legacy_id=125, split="test", contributors=["Grace Hopper"])
    spec = MixtureSpec(seed=7, cap=1000, temperature=2.0, description="A demo mixture.")
    plan = Plan(spec=spec, rows=[
        PlanRow(task=ner, available=4, decontaminated=1, taken=6, factor=2.0),
        PlanRow(task=translation, available=4, decontaminated=0, taken=2, factor=0.5),
    ], skipped=[("samples/private_notes", "source 'notes' is not configured"),
                 ("other/a", "other/a: not configured"), ("other/b", "other/b: not configured")])
    suite = Suite(name="bench/bench", description="A demo | suite.", url=["https://example.org/bench"], shots=3,
                  categories=[
                      SuiteCategory(name="Multilingual MCQA",
                                    tasks=[SuiteTask(task="bench/medqa_en", metrics=["mcqa_accuracy"], shots=0)]),
                      SuiteCategory(name="Named entity recognition",
                                    tasks=[SuiteTask(task="bench/bc4chem_test", metrics=["entity_f1"])]),
                  ])
    suites = [(suite, [(suite.categories[0].tasks[0], mcqa), (suite.categories[1].tasks[0], ner_test)])]
    stats = {"mixture": {"split": "train", "rows": 8, "sha256": "1" * 64},
             "suites/bench--bench": {"split": "test", "rows": 8, "sha256": "2" * 64}}
    catalog = Catalog(plugins=[PluginInfo(name="samples", module="medsreg_samples", version="1.0.0",
                                          origin="/home/someone/plugins/samples"),
                               PluginInfo(name="bench", module="medsreg_bench", version="2.1.0"),
                               PluginInfo(name="unused", module="medsreg_unused", version="9.9")])
    return catalog, plan, suites, spec, stats


def _front_matter(card: str) -> tuple[dict, str]:
    yaml = pytest.importorskip("yaml")
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", card, re.DOTALL)
    assert match, "the card starts with a YAML front matter block"
    return yaml.safe_load(match.group(1)), match.group(2)


# --------------------------------------------------------------------------- card


def test_card_metadata_uses_the_hub_vocabularies():
    _, plan, suites, spec, stats = _inputs()
    metadata, _ = _front_matter(render_card([plan], suites, stats, False))

    assert metadata["license"] == ["cc-by-4.0", "cc0-1.0", "other"]  # LicenseRef-MedQA has no Hub id
    assert metadata["language"] == ["en", "zh"]
    assert metadata["multilinguality"] == "multilingual"
    assert metadata["task_categories"] == ["question-answering", "text-generation", "token-classification",
                                           "translation"]
    assert metadata["size_categories"] == ["n<1K"]
    assert metadata["pretty_name"] == "medsreg build: mixture"
    assert metadata["tags"][0] == "medical"
    configs = {config["config_name"]: config for config in metadata["configs"]}
    assert configs["mixture"]["default"] is True
    assert configs["mixture"]["data_files"] == [{"split": "train", "path": "mixture/train/data-*.arrow"}]
    assert configs["suites--bench--bench"]["data_files"] == [{"split": "test", "path": "suites/bench--bench/test/data-*.arrow"}]


def test_card_points_the_hub_at_the_parquet_export_when_there_is_one():
    _, plan, suites, spec, stats = _inputs()
    metadata, _ = _front_matter(render_card([plan], suites, stats, False, export="parquet"))
    paths = [config["data_files"][0]["path"] for config in metadata["configs"]]
    assert paths == ["export/mixture.parquet", "export/suites--bench--bench.parquet"]


def test_card_body_has_composition_suites_and_credits():
    _, plan, suites, spec, stats = _inputs()
    from medsreg.build.suites import Coverage

    coverage = Coverage(checked=[("bench/medqa_en", 5), ("bench/bc4chem_test", 3)],
                        not_checked=[("other/a_test", "credentialed"), ("other/b_test", "not configured")],
                        suites={"bench/bench": {"complete": False, "tasks": 2, "of": 3, "missing": [
                            {"task": "other/a_test", "category": "NLI"}], "partial_categories": {"NLI": ["other/a_test"]}}})
    _, body = _front_matter(render_card([plan], suites, stats, False, coverage=coverage))

    assert "A demo mixture." in body
    assert "| `samples/chemical_ner` | 125 | Named Entity Recognition | BC4CHEMD | CC-BY-4.0 | 4 | 1 | 6 | 2.00 |" in body
    assert "| `samples/translation_zh_en` | — | Translation | Medical \\| Parallel Corpus | CC0-1.0 | 4 | 0 | 2 | 0.50 |" in body
    assert "| **total** |  |  |  |  | 8 | 1 | 8 |  |" in body
    assert "- `samples/private_notes`: source 'notes' is not configured" in body
    assert "- 2 tasks of `other`: not configured" in body
    assert "| Multilingual MCQA | `medqa_en` (57) | mcqa_accuracy | 0 |" in body
    assert "| Named entity recognition | `bc4chem_test` (125) | entity_f1 | 3 |" in body
    assert "### `bench/bench` 1.0 (8 rows)" in body
    assert "| `mixture/` | train | 8 | `" + "1" * 64 + "` |" in body
    for contributor in ("Ada Lovelace", "Zhang Wei", "Grace Hopper"):
        assert f"- {contributor}" in body
    for url in ("https://example.org/bc4chemd", "https://example.org/parallel", "https://example.org/paper",
                "https://example.org/medqa", "https://example.org/bench"):
        assert f"<{url}>" in body
    assert "BC4CHEMD" in body and "MedQA" in body
    assert "| seed | 7 |" in body and "| temperature | 2.0 |" in body
    assert "| decontaminated against | every test set readable here: 2 (8 test instances; see Decontamination) |" in body
    assert "| `bench/medqa_en` | 5 |" in body and "| `bench/bc4chem_test` | 3 |" in body
    assert "- credentialed: `other/a_test`" in body and "- not configured: `other/b_test`" in body
    assert "**Partial**: 2 of 3 tasks" in body and "- NLI: `other/a_test`" in body
    assert "A demo | suite." in body


def test_card_says_when_it_was_built_from_the_sample_plugins():
    _, plan, suites, spec, stats = _inputs()
    assert "built from the bundled sample plugins" in render_card([plan], suites, stats, True)
    assert "built from the bundled sample plugins" not in render_card([plan], suites, stats, False)


def test_card_is_deterministic_and_holds_no_dates_or_paths(tmp_path):
    def card() -> str:
        _, plan, suites, spec, stats = _inputs(tmp_path)
        return render_card([plan], suites, stats, False)

    first, second = card(), card()
    assert first == second
    assert str(tmp_path) not in first and "/home/someone" not in first
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", first)


def test_card_of_suites_only_and_of_credentialed_sources():
    _, _, suites, _, stats = _inputs()
    suites[0][1][0][1].access = "credentialed"
    card = render_card([], suites, {"suites/bench--bench": stats["suites/bench--bench"]}, False)
    metadata, body = _front_matter(card)
    assert metadata["pretty_name"] == "medsreg evaluation suites"
    assert "Composition of the mixture" not in body and "Evaluation suites" in body
    assert "do not publish this build" in body


def test_licence_and_size_helpers():
    assert hub_licenses(["MIT OR Apache-2.0", "GPL-3.0-only", None, "LicenseRef-PhysioNet"]) == \
        ["apache-2.0", "gpl-3.0", "mit", "other", "unknown"]
    assert [size_category(n) for n in (0, 999, 1000, 5_000_000)] == ["n<1K", "n<1K", "1K<n<10K", "1M<n<10M"]


# --------------------------------------------------------------------------- manifest


def test_manifest_records_versions_sources_spec_counts_and_hashes():
    catalog, plan, suites, spec, stats = _inputs()
    manifest = build_manifest(catalog, [plan], suites, stats)

    from medsreg import __version__
    assert manifest["medsreg_version"] == __version__
    assert manifest["plugins"] == {"bench": "2.1.0", "samples": "1.0.0"}  # only the plugins the build used
    ner = manifest["tasks"]["samples/chemical_ner"]
    assert ner["source_revision"] == "2026-11-22" and ner["version"] == "1.0" and ner["license"] == "CC-BY-4.0"
    assert ner["instances_from"] == [{"kind": "local", "key": "meds-ins", "path": "task125_bc4chem.json"}]
    assert manifest["tasks"]["samples/translation_zh_en"]["instances_from"][0]["repo_id"] == "owner/meds-ins"
    mixture = manifest["mixtures"]["mixture"]
    assert mixture["spec"] == spec.model_dump(mode="json") and mixture["seed"] == 7 and mixture["name"] == spec.name
    assert mixture["tasks"]["samples/chemical_ner"] == {"available": 4, "decontaminated": 1, "taken": 6,
                                                                    "factor": 2.0, "dropped": {}, "rows": 6}
    assert mixture["rows"] == mixture["planned"] == 8 == stats["mixture"]["rows"]
    assert mixture["dropped"] == {} and mixture["decontaminated"] == 1
    assert "blocks" not in mixture
    assert manifest["suites"]["bench/bench"]["tasks"]["bench/medqa_en"] == {"rows": 4, "metrics": ["mcqa_accuracy"],
                                                                          "shots": 0}
    assert manifest["suites"]["bench/bench"]["path"] == "suites/bench--bench"
    assert manifest["datasets"] == stats
    assert list(manifest)[-1] == "hash" and verify_manifest(manifest)


def test_manifest_hash_covers_everything_but_itself():
    catalog, plan, suites, spec, stats = _inputs()
    manifest = build_manifest(catalog, [plan], suites, stats)
    assert manifest["hash"] == manifest_hash({**manifest, "hash": "ignored"})

    changed_rows = dict(stats, mixture={**stats["mixture"], "sha256": "3" * 64})
    assert build_manifest(catalog, [plan], suites, changed_rows)["hash"] != manifest["hash"]
    reseeded = spec.model_copy(update={"seed": 8})
    assert build_manifest(catalog, [replace(plan, spec=reseeded)], suites, stats)["hash"] != manifest["hash"]
    edited = json.loads(dump_manifest(manifest))
    edited["mixtures"]["mixture"]["seed"] = 99
    assert not verify_manifest(edited)


def test_manifest_bytes_are_deterministic_and_hold_no_machine_paths(tmp_path):
    def manifest() -> str:
        catalog, plan, suites, _, stats = _inputs(tmp_path)
        return dump_manifest(build_manifest(catalog, [plan], suites, stats))

    first, second = manifest(), manifest()
    assert first == second and first.endswith("}\n")
    assert str(tmp_path) not in first and "/home/someone" not in first and "file://" not in first
    loaded = json.loads(first)
    assert verify_manifest(loaded)
    assert loaded["tasks"]["bench/medqa_en"]["instructions_from"] == [{"kind": "url", "sha256": SHA}]


# --------------------------------------------------------------------------- rows left out


def _tokenized_inputs(pack: bool = False):
    """The inputs above as a --tokenizer build that dropped rows: every row of translation_zh_en too long, one
    chemical_ner row with an empty answer; the writer's count is what is left (or, packed, a number of blocks)."""
    catalog, plan, suites, spec, stats = _inputs()
    dropped = {"samples/chemical_ner": {"empty_answer": 1}, "samples/translation_zh_en": {"too_long": 2}}
    written = plan.total - sum(sum(reasons.values()) for reasons in dropped.values())
    blocks = 2 if pack else 0
    stats["mixture"] = {**stats["mixture"], "rows": blocks or written, "tokenization": {
        "max_length": 64, "pack": pack, "rows": plan.total, "truncated": 0, "dropped": plan.total - written,
        "dropped_by_reason": {"too_long": 2, "empty_answer": 1}, "blocks": blocks, "summary": "tokenized"}}
    return catalog, plan, suites, spec, stats, dropped, written


@pytest.mark.parametrize("pack", [False, True])
def test_manifest_counts_rows_left_out_per_task_and_reason(pack):
    catalog, plan, suites, spec, stats, dropped, written = _tokenized_inputs(pack)
    mixture = build_manifest(catalog, [plan], suites, stats, {"mixture": dropped})["mixtures"]["mixture"]
    assert mixture["planned"] == plan.total and mixture["rows"] == written
    assert mixture["dropped"] == {"empty_answer": 1, "too_long": 2}
    tasks = mixture["tasks"]
    assert tasks["samples/translation_zh_en"]["dropped"] == {"too_long": 2} and tasks["samples/translation_zh_en"]["rows"] == 0
    assert tasks["samples/chemical_ner"]["dropped"] == {"empty_answer": 1} and tasks["samples/chemical_ner"]["rows"] == 5
    assert sum(task["rows"] for task in tasks.values()) == mixture["rows"]
    if pack:  # the dataset's rows are blocks: said apart from the examples inside them
        assert mixture["blocks"] == stats["mixture"]["rows"] == 2
    else:
        assert "blocks" not in mixture and mixture["rows"] == stats["mixture"]["rows"]


def test_card_shows_rows_left_out_per_task_and_reason_with_how_to_keep_them():
    _, plan, suites, spec, stats, dropped, written = _tokenized_inputs()
    _, body = _front_matter(render_card([plan], suites, stats, False, dropped={"mixture": dropped}))
    assert f"a training mixture of {written:,} chat examples from 2 tasks" in body
    # taken, then too long / empty answer, then what is left in the mixture
    assert "| `samples/chemical_ner` | 125 | Named Entity Recognition | BC4CHEMD | CC-BY-4.0 | 4 | 1 | 6 | 0 | 1 | 5 | 2.00 |" in body
    assert "| `samples/translation_zh_en` | — | Translation | Medical \\| Parallel Corpus | CC0-1.0 | 4 | 0 | 2 | 2 | 0 | 0 | 0.50 |" in body
    assert f"| **total** |  |  |  |  | 8 | 1 | 8 | 2 | 1 | {written} |  |" in body
    assert "| available | decontaminated | taken | too long | empty answer | rows | factor |" in body
    assert "- too long: 2 rows whose prompt alone fills 64 tokens" in body and "raise --max-length" in body
    assert "- empty answer: 1 row whose answer is empty" in body
    assert "- decontaminated: 1 training instance whose input overlaps" in body and "decontaminate: false" in body


def test_card_of_a_packed_build_says_examples_and_blocks():
    _, plan, suites, spec, stats, dropped, written = _tokenized_inputs(pack=True)
    _, body = _front_matter(render_card([plan], suites, stats, False, dropped={"mixture": dropped}))
    assert f"a training mixture of {written:,} chat examples packed into 2 blocks from 2 tasks" in body


def test_drop_lines_list_the_tasks_that_lost_rows_with_totals_and_hints():
    from medsreg.build.card import drop_lines

    _, plan, _, _, _, dropped, written = _tokenized_inputs()
    lines = drop_lines(plan, dropped, 64)
    assert lines[0].startswith("rows left out: 2 of 2 tasks lost some")
    header = lines[1].split()
    assert header[:2] == ["task", "available"] and header[-3:] == ["in", "the", "mixture"]
    table = {line.split()[0]: line.split()[1:] for line in lines[3:] if line.startswith(("samples/", "total"))}
    # available, decontaminated, planned, too long, empty answer, in the mixture
    assert table["samples/chemical_ner"] == ["4", "1", "6", "0", "1", "5"]
    assert table["samples/translation_zh_en"] == ["4", "0", "2", "2", "0", "0"]
    assert table["total"] == ["(2", "tasks)", "8", "1", "8", "2", "1", str(written)]
    hints = [line for line in lines if ": " in line and not line.startswith("rows left out")]
    assert [hint.split(":")[0] for hint in hints] == ["decontaminated", "too long", "empty answer"]
    assert drop_lines(plan, {}, 64)[-1].startswith("decontaminated: 1 training instance")  # decontamination alone
    plan.rows[0].decontaminated = 0
    assert drop_lines(plan, None, None) == []  # nothing left out: nothing said
