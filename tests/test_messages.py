"""Messages that misled a tester (issue 14): each says where the problem is and how to fix it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REGISTER_SUITES, REPO, make_plugin, task_document, write_json
from medsreg.cli import cli

BENCH_TASK = "meds-bench/frenchmedmcqa_question_answering"


def suite_plugin(root: Path, *tasks: str) -> Path:
    """Plugin 'mysuite' whose suite lists ``tasks``, beside nothing else in ``root``."""
    folder = make_plugin(root, "mysuite", {"symptoms": task_document(Split_Type="Test")}, init_py=REGISTER_SUITES)
    with (folder / "pyproject.toml").open("a", encoding="utf-8") as pyproject:
        pyproject.write('suites = ["medsreg_mysuite/suite.json"]\n')
    write_json(folder / "medsreg_mysuite" / "suite.json", {
        "name": "mysuite/suite", "description": "A suite of another plugin's task.",
        "categories": [{"name": "QA", "tasks": [{"task": task, "metrics": ["accuracy"]} for task in tasks]}],
    })
    return folder


def suite_messages(runner, *paths: Path) -> tuple[int, list[str]]:
    result = runner.invoke(cli, ["validate", "--format", "json", *map(str, paths)])
    problems = json.loads(result.stdout)["problems"]
    return result.exit_code, [p["message"] for p in problems if p["check"] == "suite-tasks"]


# --------------------------------------------------------------------------- 1: static validate of a suite folder


def test_a_suite_task_of_the_installed_plugin_says_static_validation_does_not_load_it(runner, tmp_path, no_sources):
    code, messages = suite_messages(runner, suite_plugin(tmp_path, BENCH_TASK))
    assert code == 1
    assert messages == [(
        f"{BENCH_TASK!r} belongs to the installed plugin meds-bench, which static validation of the folders given does "
        "not load; check it with 'medsreg validate --installed', or validate the folders together: "
        f"'medsreg validate {tmp_path / 'mysuite'} <folder of plugin meds-bench>'")]


def test_a_suite_task_of_a_plugin_beside_it_names_that_folder_or_a_did_you_mean(runner, tmp_path, no_sources):
    shutil.copytree(REPO / "plugins/meds-bench", tmp_path / "meds-bench",
                    ignore=shutil.ignore_patterns("*.egg-info", "tests"))
    folder = suite_plugin(tmp_path, BENCH_TASK, BENCH_TASK[:-1], "nope/x")
    code, messages = suite_messages(runner, folder)
    assert code == 1
    assert messages[0] == (f"{BENCH_TASK!r} belongs to plugin meds-bench ({tmp_path / 'meds-bench'}), which static "
                           "validation of the folders given does not load; validate them together: "
                           f"'medsreg validate {folder} {tmp_path / 'meds-bench'}'")
    assert messages[1] == (f"no task named {BENCH_TASK[:-1]!r} in plugin meds-bench ({tmp_path / 'meds-bench'}). "
                           f"Did you mean {BENCH_TASK!r}? Fix the name in the suite")
    assert messages[2].startswith("no task named 'nope/x': no plugin 'nope' is validated here, beside these folders, "
                                  "or installed.")
    code, messages = suite_messages(runner, folder, tmp_path / "meds-bench")  # both together: only the real typos
    assert code == 1 and len(messages) == 2
    assert messages[0] == (f"no task named {BENCH_TASK[:-1]!r} in plugin meds-bench, which is validated here. "
                           f"Did you mean {BENCH_TASK!r}? Fix the name in the suite")


# --------------------------------------------------------------------------- 2: a --source key nothing reads


TYPO = "--source", "meds-bnch=/nowhere"
WARNING = ("warning: configuration: source 'meds-bnch' (--source meds-bnch=) is configured but no installed task or "
           "corpus reads it. Did you mean 'meds-bench'? Fix the key, or install the plugin that reads it")


@pytest.mark.parametrize("command", [["plugins"], ["list"], ["corpus", "list"], ["validate", "--installed"]])
def test_every_command_warns_about_a_source_key_nothing_reads(runner, no_sources, command):
    result = runner.invoke(cli, [*command, *TYPO])
    assert WARNING in result.stderr
    assert result.stderr.count("meds-bnch") == 2  # once, not again by the command's own configuration check


def test_a_source_key_nothing_reads_is_an_error_with_strict(runner, no_sources):
    result = runner.invoke(cli, ["plugins", "--strict", *TYPO])
    assert result.exit_code == 1
    assert "error: source 'meds-bnch' (--source meds-bnch=) is configured but no installed task or corpus reads it. " \
           "Did you mean 'meds-bench'?" in result.stderr and "(--strict makes this an error)" in result.stderr


def test_a_corpus_source_key_is_not_reported_as_unread(runner, no_sources, tmp_path):
    result = runner.invoke(cli, ["list", "--source", f"mmedc-en-web={tmp_path}"])
    assert result.exit_code == 0 and "mmedc-en-web" not in result.stderr


@pytest.mark.parametrize("command", [["validate", str(REPO / "plugins/samples")], ["registry", "--check", "--root", str(REPO)]])
def test_commands_that_read_no_source_without_installed_say_so(runner, no_sources, command):
    result = runner.invoke(cli, [*command, *TYPO])
    assert result.exit_code == 0, result.output
    assert (f"warning: --source meds-bnch is not read: without --installed, 'medsreg {command[0]}' checks only the "
            "files it is given; add --installed to read configured sources, or drop --source") in result.stderr


# --------------------------------------------------------------------------- 3 and 4: a configured path that is wrong


MEDNLI_TASK = "mednli/mednli_textual_entailment_classification"


def test_list_says_a_configured_source_folder_does_not_exist(runner, no_sources, tmp_path):
    absent = tmp_path / "absent"
    result = runner.invoke(cli, ["list", "--json", "--source", f"mednli={absent}"])
    assert result.exit_code == 0
    row = next(row for row in json.loads(result.stdout) if row["name"] == MEDNLI_TASK)
    assert row["note"] == f"source 'mednli' (--source mednli=) is {absent}, which does not exist"
    text = runner.invoke(cli, ["list", "--source", f"mednli={absent}"])
    line = next(line for line in text.stdout.splitlines() if line.startswith(MEDNLI_TASK))
    assert line.endswith(f"(source 'mednli' (--source mednli=) is {absent}, which does not exist)")


@pytest.mark.parametrize("origin", ["--source", "env", "config"])
def test_info_names_where_the_wrong_source_was_set_and_what_to_change(runner, no_sources, tmp_path, monkeypatch, origin):
    absent = tmp_path / "absent"
    args = ["info", MEDNLI_TASK, "--json"]
    if origin == "--source":
        args += ["--source", f"mednli={absent}"]
        named, change = "--source mednli=", "give --source mednli= the folder holding 'mli_train_v1.jsonl'"
    elif origin == "env":
        monkeypatch.setenv("MEDSREG_SOURCE_MEDNLI", str(absent))
        named = "MEDSREG_SOURCE_MEDNLI"
        change = "set MEDSREG_SOURCE_MEDNLI in your environment to the folder holding 'mli_train_v1.jsonl'"
    else:
        config = tmp_path / "config.toml"
        config.write_text(f'[sources]\nmednli = "{absent}"\n', encoding="utf-8")
        monkeypatch.setenv("MEDSREG_CONFIG", str(config))
        named = f"[sources] in {config}"
        change = f"change the line 'mednli = ...' under [sources] in {config} to the folder holding 'mli_train_v1.jsonl'"
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["how_to_obtain"] == (f"{MEDNLI_TASK}: not available: source 'mednli' ({named}) is {absent}, which does "
                                      f"not exist; {change}")
    if origin != "--source":
        assert "--source" not in shown["how_to_obtain"]


# --------------------------------------------------------------------------- 5: import names the task with --task


def test_import_names_the_task_with_task_and_refuses_a_bad_name(runner, tmp_path):
    from test_import import build_template, read_task

    workbook = build_template(tmp_path / "Task_Contributor.xlsx")
    result = runner.invoke(cli, ["import", str(workbook), "--output", str(tmp_path / "plugins"), "--task", "leaflet_qa"])
    assert result.exit_code == 0, result.output
    assert "note: task name 'leaflet_qa' given with --task" in result.stdout
    assert read_task(tmp_path / "plugins" / "leaflet-qa")["medsreg"]["name"] == "leaflet_qa"

    bad = runner.invoke(cli, ["import", str(workbook), "--output", str(tmp_path / "other"), "--task", "Leaflet QA"])
    assert bad.exit_code == 1 and not (tmp_path / "other").exists()
    assert ("error: --task 'Leaflet QA' is not a task name: use lower-case letters, digits, '_', '.' and '-', starting "
            "with a letter or digit. Did you mean 'leaflet_qa'?") in bad.stderr
    both = runner.invoke(cli, ["import", str(workbook), "--output", str(tmp_path / "other"), "--task", "mine/leaflet_qa"])
    assert both.exit_code == 1
    assert ("error: --task 'mine/leaflet_qa' names a plugin too; give the task's name only ('leaflet_qa'), and the "
            "plugin's with --name 'mine'") in both.stderr
    help_text = runner.invoke(cli, ["import", "--help"]).stdout
    assert "--task NAME" in help_text and "unless --task names it" in help_text
