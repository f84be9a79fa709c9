"""Named mixtures: registered like suites (hook, [tool.medsreg] mixtures, registry.json, list --mixtures) and built by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REGISTER_SUITES, make_plugin, task_document, write_json
from medsreg.cli import cli

REGISTER_MIXTURES = REGISTER_SUITES.replace("register_suites", "register_mixtures").replace("suite.json", "mixture.json")


def _task(name: str, split: str, count: int) -> dict:
    return task_document(
        Categories=["Diagnosis"], Definition=["Give the diagnosis."], Split_Type=split,
        medsreg={"name": name, "version": "1.0", "license": "CC-BY-4.0", "access": "public", "synthetic": True},
        Instances=[{"id": f"{name}-{i}", "input": f"{name} vignette {i}: fever for {i} days and a cough since {i % 7} days",
                    "output": [f"diagnosis {i}"]} for i in range(count)],
    )


@pytest.fixture
def mixed(tmp_path, isolated_plugins, no_sources) -> Path:
    """Plugin 'mix' with three training tasks and a mixture 'mix/pair' of two of them (one sized by n)."""
    root = tmp_path / "plugins"
    plugin = make_plugin(root, "mix", {"a": _task("a", "Train", 12), "b": _task("b", "Train", 9), "c": _task("c", "Train", 5)},
                         init_py=REGISTER_MIXTURES)
    write_json(plugin / "medsreg_mix" / "mixture.json", {
        "name": "mix/pair", "description": "Tasks a and b.", "include": [{"task": "mix/a"}, {"task": "mix/b", "n": 4}]})
    pyproject = plugin / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8") + 'mixtures = ["medsreg_mix/mixture.json"]\n', encoding="utf-8")
    return root


def test_list_mixtures_names_each_with_its_tasks(runner, mixed):
    result = runner.invoke(cli, ["list", "--mixtures", "--json", "--plugins-dir", str(mixed)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(row["name"], row["tasks"], row["available"]) for row in rows] == [("mix/pair", 2, 2)]


def test_build_mixture_builds_the_registered_spec(runner, mixed, tmp_path):
    result = runner.invoke(cli, ["build", "--plugins-dir", str(mixed), "--mixture", "pair", "--dry-run"])
    assert result.exit_code == 0, result.output
    table = {line.split()[0]: line.split()[1:4] for line in result.output.splitlines() if line.startswith("mix/")}
    assert table == {"mix/a": ["12", "0", "12"], "mix/b": ["9", "0", "4"]}  # c is not in it; b is sized by n
    wrong = runner.invoke(cli, ["build", "--plugins-dir", str(mixed), "--mixture", "pairs", "--dry-run"])
    assert wrong.exit_code == 1 and "Did you mean 'pair'?" in wrong.output and "Traceback" not in wrong.output
    both = runner.invoke(cli, ["build", "--plugins-dir", str(mixed), "--mixture", "pair", "--spec", "x.json"])
    assert both.exit_code == 2 and "not both" in both.output


def test_validate_locates_a_mixture_naming_an_unknown_task(runner, mixed):
    write_json(mixed / "mix" / "medsreg_mix" / "mixture.json", {"name": "mix/pair", "include": [{"task": "mix/d"}]})
    result = runner.invoke(cli, ["validate", str(mixed / "mix")])
    assert result.exit_code == 1
    assert "mixture.json" in result.output and "include[0].task" in result.output and "mix/d" in result.output
    write_json(mixed / "mix" / "medsreg_mix" / "mixture.json", {"name": "other/pair"})
    result = runner.invoke(cli, ["validate", str(mixed / "mix")])
    assert result.exit_code == 1 and "must be 'mix/<mixture>'" in result.output


def test_the_in_tree_mixtures_are_in_the_registry():
    registry = json.loads((Path(__file__).parent.parent / "registry.json").read_text(encoding="utf-8"))
    mixtures = {mixture["name"]: mixture for plugin in registry["plugins"] for mixture in plugin["mixtures"]}
    assert set(mixtures) == {"meds-ins/meds-ins", "mmedbench/mmedlm"}
    assert mixtures["meds-ins/meds-ins"]["include"][0]["plugin"] == "meds-ins"
    tasks = {entry["task"] for entry in mixtures["mmedbench/mmedlm"]["include"]}
    assert len(tasks) == 12 and all("mmedlm_" in task and task.endswith("_train") for task in tasks)


# --------------------------------------------------------------------------- the default build


RELEASE = Path(__file__).resolve().parents[1] / "plugins" / "meds-ins" / "tests" / "fixtures" / "release"
MMEDBENCH = Path(__file__).resolve().parents[1] / "plugins" / "mmedbench" / "tests" / "fixtures"


def _dataset_tasks(path: Path) -> set[str]:
    from datasets import load_from_disk

    return set(load_from_disk(str(path))["train"]["task"])


def test_the_default_build_builds_each_registered_mixture_apart(runner, no_sources, bundled_plugins_only, monkeypatch,
                                                                tmp_path):
    """MedS-Ins' and MMedLM's mixtures from the plugins' real-format fixture files: each its own dataset, the same bytes
    as building it by name, no sample row or sample suite beside them, every row accounted for."""
    pytest.importorskip("datasets")
    from test_build_counts import assert_build_counts

    monkeypatch.setenv("MEDSREG_OFFLINE", "1")
    sources = ["--source", f"meds-ins={RELEASE}", "--source", f"mmedbench={MMEDBENCH}"]
    result = runner.invoke(cli, ["build", *sources, "--output", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    manifest = assert_build_counts(out)
    assert set(manifest["mixtures"]) == {"mixtures/meds-ins--meds-ins", "mixtures/mmedbench--mmedlm"}
    assert not (out / "mixture").exists()
    medsins = _dataset_tasks(out / "mixtures" / "meds-ins--meds-ins")
    mmedlm = _dataset_tasks(out / "mixtures" / "mmedbench--mmedlm")
    assert medsins == set(manifest["mixtures"]["mixtures/meds-ins--meds-ins"]["tasks"])
    assert medsins and all(name.startswith("meds-ins/") for name in medsins)
    # all 12 of MMedLM's training tasks: its shared English template is no leak of the small test sets of six languages
    assert len(mmedlm) == 12 and all(name.startswith("mmedbench/mmedlm_") for name in mmedlm)
    assert manifest["mixtures"]["mixtures/mmedbench--mmedlm"]["decontaminated"] == 0
    assert "samples/samples" not in manifest["suites"] and "mmedbench/mmedbench" in manifest["suites"]
    assert "skipped suite samples/samples" in result.stderr
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "## Composition of the mixture `meds-ins/meds-ins`" in card
    assert "## Composition of the mixture `mmedbench/mmedlm`" in card
    assert "synthetic" not in card.split("---")[1]  # the Hub tags: no sample data in this build

    # by name: the same rows, in mixture/
    named = runner.invoke(cli, ["build", *sources, "--mixture", "mmedbench/mmedlm", "--output", str(tmp_path / "named"),
                                "--quiet"])
    assert named.exit_code == 0, named.output
    alone = json.loads((tmp_path / "named" / "manifest.json").read_text(encoding="utf-8"))
    assert list(alone["mixtures"]) == ["mixture"]
    assert alone["datasets"]["mixture"]["sha256"] == manifest["datasets"]["mixtures/mmedbench--mmedlm"]["sha256"]


def test_a_registered_mixture_with_nothing_readable_is_left_out_with_a_note(runner, mixed, tmp_path):
    package = mixed / "mix" / "medsreg_mix"
    write_json(package / "other.json", {"name": "mix/empty", "include": [{"task": "mix/d"}]})
    write_json(package / "tasks" / "d.json", _task("d", "Train", 0))  # a task without an instance
    (package / "__init__.py").write_text(REGISTER_MIXTURES.replace(
        "[Path(__file__).parent / 'mixture.json']", "[Path(__file__).parent / 'mixture.json', Path(__file__).parent / 'other.json']"),
        encoding="utf-8")
    result = runner.invoke(cli, ["build", "--plugins-dir", str(mixed), "--output", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "note: skipped mixture mix/empty: none of its training tasks can be read here" in result.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert list(manifest["mixtures"]) == ["mixtures/mix--pair"]
    assert manifest["mixtures"]["mixtures/mix--pair"]["tasks"]["mix/b"]["taken"] == 4


def test_with_no_registered_mixture_the_default_spec_leaves_the_samples_out_of_real_data(
        runner, no_sources, bundled_plugins_only, monkeypatch, tmp_path):
    """Real training tasks configured (a plugin without a mixture) and the bundled samples installed: the default
    mixture takes the real tasks only."""
    pytest.importorskip("datasets")
    from importlib.metadata import entry_points

    if "samples" not in {entry.name for entry in entry_points(group="medsreg")}:
        pytest.skip("the bundled samples plugin is not installed")
    monkeypatch.setenv("MEDSREG_OFFLINE", "1")
    root = tmp_path / "plugins"
    make_plugin(root, "real", {"a": _task("a", "Train", 12)})
    result = runner.invoke(cli, ["build", "--plugins-dir", str(root), "--output", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert _dataset_tasks(tmp_path / "out" / "mixture") == {"real/a"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["mixtures"]["mixture"]["spec"]["include"] == [{"plugin": "real", "task": None, "category": None,
                                                                     "weight": None, "n": None, "fraction": None,
                                                                     "cap": None}]
