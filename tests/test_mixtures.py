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
