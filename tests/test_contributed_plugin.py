"""CONTRIBUTING.md leads to a green CI: an in-tree plugin with inline data, added as it says, passes the gates of
.ci/run and leaves the core tests that depend on the installed plugins passing.

In a copy of the repository (the files .ci/run and those tests read), ``medsreg new my-data`` scaffolds the plugin,
its example task is replaced by one with inline instances (step 2), requirements-plugins.txt gets the line step 6
gives and ``medsreg registry`` regenerates registry.json (step 5). Then the gates run on the copy, the plugin is
installed (pip, into a folder of its own on PYTHONPATH: the shared virtual environment is left alone) and pytest runs,
in the copy, the plugin's own test and the core tests that read the installed plugins, none of them skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BUNDLED_PLUGINS, REPO, task_document
from medsreg.cli import cli
from medsreg.scaffold import render_task_document
from test_contributing import pip_install

COPIED = ("core", "plugins", "schemas", "tests", "pyproject.toml", "registry.json", "requirements-plugins.txt",
          "CONTRIBUTING.md", "README.md", ".ci", ".github")
"""What the gates and the core tests below read (.github: the workflow, which tests/test_workflow.py checks)."""
LEFT_OUT = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache", ".hypothesis")
CORE_TESTS = (
    "tests/test_build_cli.py::test_the_bundled_samples_give_a_real_default_build",
    "tests/test_mixtures.py::test_with_no_registered_mixture_the_default_spec_leaves_the_samples_out_of_real_data",
    "tests/test_build_counts.py::test_the_bundled_samples_build_counts_add_up[extra0]",
    "tests/test_bundled.py",
    "tests/test_registry.py",
    "tests/test_repository.py",
    "tests/test_workflow.py",
)
"""Core tests that read the installed plugins, plugins/, registry.json or requirements-plugins.txt."""
SLUG = "my-data"


def invoke(runner, *args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def contribute(runner, repository: Path) -> Path:
    """Steps 1, 2, 5 and 6 of CONTRIBUTING.md in ``repository`` (the current folder): the new plugin's folder."""
    guide = (repository / "CONTRIBUTING.md").read_text(encoding="utf-8")
    requirement = f"-e ./plugins/{SLUG}"
    assert f"medsreg new {SLUG}" in guide and f"`{requirement}`" in guide and "\nmedsreg registry\n" in guide

    invoke(runner, "new", SLUG)
    plugin = repository / "plugins" / SLUG
    tasks = plugin / "medsreg_my_data" / "tasks"
    for example in tasks.glob("*.json"):
        example.unlink()
    document = task_document(medsreg={"name": "symptom_system", "version": "1.0", "license": "CC-BY-4.0",
                                      "access": "public", "source_revision": "2025-01-15"})
    (tasks / "symptom_system.json").write_text(render_task_document(document), encoding="utf-8")
    (plugin / "README.md").write_text("# medsreg-my-data\n\nSymptom sentences sorted into organ systems, written by "
                                      "the contributor (CC-BY-4.0).\n", encoding="utf-8")
    with (repository / "requirements-plugins.txt").open("a", encoding="utf-8") as listed:
        listed.write(requirement + "\n")
    invoke(runner, "registry")
    return plugin


def clean_environment(tmp_path: Path, site: Path, repository: Path) -> dict[str, str]:
    """CI's environment for a subprocess: nothing of this test run's medsreg or pytest settings, no source configured,
    offline, and the copy's core and the installed plugin first on the path."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("MEDSREG_", "PYTEST_"))}
    return {**env, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "MEDSREG_CONFIG": str(tmp_path / "no-config.toml"),
            "MEDSREG_CACHE": str(tmp_path / "cache"), "PYTHONPATH": os.pathsep.join([str(site), str(repository / "core")])}


@pytest.mark.slow
def test_a_plugin_added_as_contributing_says_passes_the_gates_and_the_core_tests(runner, tmp_path, monkeypatch):
    repository = tmp_path / "repository"
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, repository / name, ignore=LEFT_OUT)
        else:
            shutil.copy2(source, repository / name)
    monkeypatch.chdir(repository)
    plugin = contribute(runner, repository)

    # the static gates of .ci/run
    assert "0 errors, 0 warnings" in invoke(runner, "validate", "--strict", "--quiet-notes", "plugins/")
    invoke(runner, "registry", "--check")

    # installed, as the Quickstart and CI install it: the installed gate, then the tests
    site = tmp_path / "site"
    pip_install(shutil.copytree(plugin, tmp_path / "wheel-source"), site)  # pip builds in the folder it is given
    env = clean_environment(tmp_path, site, repository)

    def medsreg(*args: str) -> str:
        result = subprocess.run([sys.executable, "-m", "medsreg", *args], cwd=repository, env=env, capture_output=True,
                                text=True, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    assert re.search(rf"^{SLUG} .* ok ", medsreg("plugins", "--strict"), re.MULTILINE)
    assert "0 errors, 0 warnings" in medsreg("validate", "--installed", "--strict", "--quiet-notes")

    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                            str(tmp_path / "pytest"), *CORE_TESTS, f"plugins/{SLUG}"],
                           cwd=repository, env=env, capture_output=True, text=True, check=False, timeout=300)
    summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else ""
    assert tests.returncode == 0, tests.stdout[-6000:] + tests.stderr[-2000:]
    assert " passed" in summary and "skipped" not in summary, tests.stdout[-3000:]


def test_the_bundled_plugin_names_are_folders_of_plugins():
    """conftest.BUNDLED_PLUGINS, which tests of the bundled plugins pin themselves to, still names what plugins/ holds:
    each a folder whose entry point has its name."""
    from medsreg.pluginfolder import read_pyproject

    assert {name: list(read_pyproject(REPO / "plugins" / name).entry_points) for name in BUNDLED_PLUGINS} == \
        {name: [name] for name in BUNDLED_PLUGINS}
