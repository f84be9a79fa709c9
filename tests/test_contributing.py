"""CONTRIBUTING.md's worked example, executed: extracted, pip-installed, listed, validated, then broken on purpose."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow
BLOCK = re.compile(r"```[\w-]* path=(\S+)\n(.*?)```", re.S)


def extract_example(target: Path) -> Path:
    text = (REPO / "CONTRIBUTING.md").read_text(encoding="utf-8")
    blocks = BLOCK.findall(text)
    assert blocks, "CONTRIBUTING.md has no worked-example blocks (```lang path=...)"
    for relative, body in blocks:
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    (folder,) = {target / Path(relative).parts[0] for relative, _ in blocks}
    return folder


def pip_install(folder: Path, site: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", "--target", str(site), str(folder)],
        check=True, capture_output=True, text=True,
    )


def medsreg(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(site), "MEDSREG_DISABLED_PLUGINS": "samples"}
    return subprocess.run([sys.executable, "-m", "medsreg", *args], capture_output=True, text=True, env=env)


def test_worked_example_installs_lists_and_validates(tmp_path):
    folder = extract_example(tmp_path / "src")
    static = medsreg(tmp_path, "validate", "--strict", str(folder))
    assert static.returncode == 0, static.stdout + static.stderr
    pip_install(folder, tmp_path / "site")
    listed = medsreg(tmp_path / "site", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    names = [row["name"] for row in json.loads(listed.stdout)]
    assert names and all(name.startswith("hello/") for name in names)
    installed = medsreg(tmp_path / "site", "validate", "--installed", "--strict")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert f"OK: {len(names)} tasks from 1 plugins checked; 0 errors, 0 warnings" in installed.stdout


def test_deliberate_mistakes_in_the_example_are_each_caught_and_located(tmp_path):
    folder = extract_example(tmp_path / "src")
    (task_file,) = sorted(folder.glob("medsreg_hello/tasks/*.json"))
    document = json.loads(task_file.read_text(encoding="utf-8"))
    document["Categories"] = ["Text Clasification"]
    document["medsreg"]["license"] = "CC-BY-4"
    document["Instances"][2]["output"] = [""]
    document["Instances"][5] = dict(document["Instances"][4], id="copy-of-4")
    document["Input_language"] = ["Englsh"]
    task_file.write_text(json.dumps(document, indent=1), encoding="utf-8")
    pip_install(folder, tmp_path / "site")
    result = medsreg(tmp_path / "site", "validate", "--installed")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    expected = [
        ("$.Categories[0]", "[categories]", "Did you mean 'Text Classification'?"),
        ("$.medsreg.license", "[license]", "not a valid SPDX expression"),
        ("$.Instances[2].output", "[nonempty]", "needs a reference output"),
        ("$.Instances[5]", "[duplicates]", "repeats Instances[4] exactly"),
        ("$.Input_language[0]", "[languages]", "'Englsh'"),
    ]
    for path, check, words in expected:
        assert any(f"{task_file.name}::{path}: error:" in line and check in line and words in line for line in lines), (path, result.stdout)
