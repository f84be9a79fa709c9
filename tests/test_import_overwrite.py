"""``medsreg import --overwrite`` replaces only a plugin folder an earlier import made and nothing has been added to.

A folder of the same name that is anything else (a project with its ``.git`` and a thesis, a plugin
made by ``medsreg new``, a file) is refused with one sentence naming it, exit 1, and is left exactly
as it was; so is an imported plugin to which files were added. A replacement that fails half-way
keeps the old folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import task_document, write_json
from medsreg.cli import cli
from medsreg.importer import IMPORT_MARKER


@pytest.fixture
def source(tmp_path) -> Path:
    return write_json(tmp_path / "contribution" / "symptoms.json", task_document())


def run_import(runner, source: Path, output: Path, *args: str):
    return runner.invoke(cli, ["import", str(source), "--output", str(output), "--name", "claims", *args])


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder`` with its bytes (None for a folder)."""
    return {path.relative_to(folder).as_posix(): None if path.is_dir() else path.read_bytes()
            for path in sorted(folder.rglob("*"))}


def the_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit))
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    return errors[0]


def task_file(plugin: Path) -> Path:
    return plugin / "medsreg_claims" / "tasks" / "symptoms.json"


@pytest.mark.parametrize("case", ["a project with its .git and a thesis", "a plugin made by medsreg new", "a file"])
def test_overwrite_leaves_a_folder_that_import_did_not_make(runner, source, tmp_path, case):
    output = tmp_path / "plugins"
    target = output / "claims"
    if case == "a file":
        output.mkdir()
        target.write_text("not a folder\n", encoding="utf-8")
        expected = "exists and is not a folder, so --overwrite does not replace it"
    elif case == "a plugin made by medsreg new":
        assert runner.invoke(cli, ["new", "claims", "--output", str(output)]).exit_code == 0
        expected = f"was not made by 'medsreg import' (it has no readable {IMPORT_MARKER})"
    else:
        (target / ".git" / "objects").mkdir(parents=True)
        (target / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
        (target / "thesis.tex").write_text("\\chapter{Four years of work}\n", encoding="utf-8")
        # even a pyproject.toml that looks like a plugin's does not make the folder one import made
        (target / "pyproject.toml").write_text('[project.entry-points.medsreg]\nclaims = "medsreg_claims"\n',
                                               encoding="utf-8")
        expected = f"was not made by 'medsreg import' (it has no readable {IMPORT_MARKER})"
    before = snapshot(output)

    message = the_error(run_import(runner, source, output, "--overwrite"))

    assert message.startswith(f"error: {target} ") and expected in message
    assert "--name" in message and "delete it yourself" in message
    assert snapshot(output) == before  # nothing deleted, nothing written beside it


def test_overwrite_replaces_a_folder_a_previous_import_made(runner, source, tmp_path):
    output = tmp_path / "plugins"
    assert run_import(runner, source, output).exit_code == 0
    plugin = output / "claims"
    marker = json.loads((plugin / IMPORT_MARKER).read_text(encoding="utf-8"))
    assert "medsreg_claims/tasks/symptoms.json" in marker["files"] and marker["source"] == "symptoms.json"
    # the contributor edited the task file, ran the plugin's tests and installed it: still replaceable
    task_file(plugin).write_text(task_file(plugin).read_text(encoding="utf-8").replace("CC-BY-4.0", "MIT"),
                                 encoding="utf-8")
    (plugin / "tests" / "__pycache__").mkdir()
    (plugin / "tests" / "__pycache__" / "test_claims.cpython-311.pyc").write_bytes(b"\0")
    (plugin / "medsreg_claims.egg-info").mkdir()
    (plugin / "medsreg_claims.egg-info" / "PKG-INFO").write_text("Name: medsreg-claims\n", encoding="utf-8")
    write_json(source, task_document(Definition=["Say which organ system the complaint concerns."]))

    result = run_import(runner, source, output, "--overwrite")

    assert result.exit_code == 0, result.output
    document = json.loads(task_file(plugin).read_text(encoding="utf-8"))
    assert document["Definition"] == ["Say which organ system the complaint concerns."]
    assert document["medsreg"]["license"] == "CC-BY-4.0"
    assert not (plugin / "medsreg_claims.egg-info").exists()
    assert sorted(p.name for p in output.iterdir()) == ["claims"]  # no staging folder left beside it
    # and the new folder can be replaced in turn
    assert run_import(runner, source, output, "--overwrite").exit_code == 0


def test_overwrite_leaves_an_imported_plugin_that_files_were_added_to(runner, source, tmp_path):
    output = tmp_path / "plugins"
    assert run_import(runner, source, output).exit_code == 0
    plugin = output / "claims"
    (plugin / ".git").mkdir()
    (plugin / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (plugin / "medsreg_claims" / "convert.py").write_text("def read(path):\n    return []\n", encoding="utf-8")
    before = snapshot(output)

    message = the_error(run_import(runner, source, output, "--overwrite"))

    assert f"{plugin} holds files 'medsreg import' did not write (.git/HEAD, medsreg_claims/convert.py)" in message
    assert "move them out of it" in message
    assert snapshot(output) == before


def test_a_replacement_that_fails_keeps_the_old_folder(runner, source, tmp_path, monkeypatch):
    import medsreg.scaffold

    output = tmp_path / "plugins"
    assert run_import(runner, source, output).exit_code == 0
    before = snapshot(output)

    def disk_full(tasks: Path, document: dict) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(medsreg.scaffold, "replace_example_tasks", disk_full)
    message = the_error(run_import(runner, source, output, "--overwrite"))

    assert "No space left on device" in message
    assert snapshot(output) == before
