"""Shared fixtures: offline environment, valid task documents to mutate, a CLI runner."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
# progress lines at the default interval: tests that count stderr lines must not see a CI job's own setting
os.environ.pop("MEDSREG_PROGRESS_INTERVAL", None)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"

_LABELS = ["respiratory", "cardiac", "gastrointestinal"]
VALID_TASK = {
    "Contributors": ["Test Author"],
    "Source": ["unit-test source"],
    "URL": ["https://example.org/source"],
    "Categories": ["Text Classification"],
    "Definition": ["Classify the symptom sentence into respiratory, cardiac or gastrointestinal."],
    "Input_language": ["English"],
    "Output_language": ["English"],
    "Instruction_language": ["English"],
    "Domains": ["Medicine"],
    "Positive Examples": [{"input": "I keep coughing at night.", "output": "respiratory", "explanation": "Cough is a respiratory symptom."}],
    "Negative Examples": [{"input": "My chest hurts when I walk.", "output": "skin", "explanation": "Not one of the labels."}],
    "Split Type": "Train",
    "medsreg": {"name": "symptoms", "version": "1.0", "license": "CC-BY-4.0", "access": "public", "synthetic": True},
    "Instances": [
        {"id": f"s{i}", "input": f"Patient number {i} describes complaint variant {i} in detail.", "output": [_LABELS[i % 3]]}
        for i in range(12)
    ],
}


REGISTER_SUITES = """from pathlib import Path

from medsreg import hookimpl


@hookimpl
def register_tasks():
    return [Path(__file__).parent / 'tasks']


@hookimpl
def register_suites():
    return [Path(__file__).parent / 'suite.json']
"""
"""The __init__.py of a test plugin with task files in tasks/ and a suite in suite.json (``make_plugin(init_py=...)``)."""


def task_document(**changes) -> dict:
    """A deep copy of a valid task document with top-level keys replaced (None removes a key)."""
    document = copy.deepcopy(VALID_TASK)
    for key, value in changes.items():
        key = key.replace("_", " ") if key in ("Split_Type", "Positive_Examples", "Negative_Examples") else key
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    return document


def write_json(path: Path, document) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def make_plugin(root: Path, slug: str, tasks: dict[str, dict], init_py: str | None = None) -> Path:
    """A plugin folder ``root/slug`` laid out as CONTRIBUTING.md says, with the given task files."""
    module = "medsreg_" + slug.replace("-", "_")
    folder = root / slug
    (folder / module / "tasks").mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(
        f"""[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "medsreg-{slug}"
version = "0.1.0"
dependencies = ["medsreg"]

[project.entry-points.medsreg]
{slug} = "{module}"

[tool.setuptools]
packages = ["{module}"]

[tool.setuptools.package-data]
{module} = ["tasks/*.json"]

[tool.medsreg]
tasks = ["{module}/tasks"]
""",
        encoding="utf-8",
    )
    (folder / "README.md").write_text(f"# medsreg-{slug}\n", encoding="utf-8")
    (folder / module / "__init__.py").write_text(
        init_py
        if init_py is not None
        else "from pathlib import Path\n\nfrom medsreg import hookimpl\n\n\n@hookimpl\ndef register_tasks():\n"
        "    return [Path(__file__).parent / 'tasks']\n",
        encoding="utf-8",
    )
    for name, document in tasks.items():
        write_json(folder / module / "tasks" / f"{name}.json", document)
    return folder


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def isolated_plugins(monkeypatch):
    """Only plugins given with --plugins-dir load (every installed plugin is blocked);
    modules imported from temporary plugin folders are forgotten afterwards."""
    import sys
    from importlib.metadata import entry_points

    monkeypatch.setenv("MEDSREG_DISABLED_PLUGINS", ",".join(sorted({e.name for e in entry_points(group="medsreg")})))
    monkeypatch.delenv("MEDSREG_PLUGINS", raising=False)
    modules, path = set(sys.modules), list(sys.path)
    yield
    for name in set(sys.modules) - modules:
        if name.startswith("medsreg_"):
            del sys.modules[name]
    sys.path[:] = path


@pytest.fixture
def no_sources(monkeypatch, tmp_path):
    """No source configured (env, config file, --source), a private download cache, offline."""
    from medsreg import sources

    monkeypatch.setenv("MEDSREG_CONFIG", str(tmp_path / "missing-config.toml"))
    monkeypatch.setenv("MEDSREG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for name in list(os.environ):
        if name.startswith("MEDSREG_SOURCE_"):
            monkeypatch.delenv(name)
    monkeypatch.setattr(sources, "_OVERRIDES", {})
    monkeypatch.setattr(sources, "_FAILED_URLS", {})


BUNDLED_PLUGINS = ("samples", "meds-ins", "meds-bench", "mmedbench", "mednli", "pubmedqa", "mmedc")
"""The plugins this repository ships (every folder of plugins/ but _template). A contributor's plugin added beside them
(CONTRIBUTING.md) is not one of them; tests/test_contributed_plugin.py checks the names against plugins/."""


@pytest.fixture
def bundled_plugins_only(monkeypatch):
    """Installed plugins other than the bundled ones are blocked (those given with --plugins-dir still load): a
    contributor's plugin with inline data, installed as CONTRIBUTING.md says, rightly changes what a default build
    takes, and a test of what the bundled plugins give must not depend on which others are installed."""
    from importlib.metadata import entry_points

    others = sorted({entry.name for entry in entry_points(group="medsreg")} - set(BUNDLED_PLUGINS))
    monkeypatch.setenv("MEDSREG_DISABLED_PLUGINS", ",".join(others))
    monkeypatch.delenv("MEDSREG_PLUGINS", raising=False)
