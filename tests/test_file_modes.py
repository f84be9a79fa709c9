"""Files and folders medsreg writes get the modes the umask asks for, as any program's do.

A file written beside its destination and renamed into place must not keep ``tempfile.mkstemp``'s
0600: registry.json, eval's config.json and submission CSVs or a leaderboard readable by their
owner only break a shared checkout or a served leaderboard. Every command that writes files runs
here under umask 0022 (0644 files, 0755 folders), and those that write through a temporary file or
copy the plugin template again under 0027 (0640, 0750). Everything under the test's folder is
checked, inputs included: they are written under the same umask.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from conftest import task_document, write_json
from medsreg.cli import cli
from medsreg.corpus import synthetic
from test_eval_openai import server  # noqa: F401  (the stub OpenAI endpoint fixture)
from test_eval_rows import demo_plugins


@contextmanager
def umask(mask: int) -> Iterator[None]:
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def wrong_modes(folder: Path, mask: int) -> list[str]:
    """Entries under ``folder`` whose permission bits are not 0777 (folders) or 0666 (files) less ``mask``."""
    wrong = []
    for path in sorted(folder.rglob("*")):
        expected = (0o777 if path.is_dir() else 0o666) & ~mask
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode != expected:
            wrong.append(f"{path.relative_to(folder)}: {mode:04o}, not {expected:04o}")
    return wrong


def run(runner, *args) -> None:
    result = runner.invoke(cli, [str(arg) for arg in args])
    assert result.exit_code == 0, result.output


def evaluate_score_and_rank(runner, work: Path, endpoint) -> list[Path]:
    """registry --installed, build, eval (OpenAI stub), score --output and leaderboard on the demo suite: the commands
    that write through a temporary file renamed into place. Returns what they wrote."""
    demo = demo_plugins(work / "demo")
    run(runner, "registry", "--installed", work / "installed" / "registry.json", "--plugins-dir", demo)
    run(runner, "build", "--plugins-dir", demo, "--output", work / "suite-build", "--quiet", "--export", "jsonl")
    run(runner, "eval", "--backend", "openai", "--model", "gpt-test", "--api-base", endpoint.url, "--suite", "demo/bench",
        "--plugins-dir", demo, "--output", work / "eval")
    run(runner, "score", work / "eval" / "predictions.jsonl", "--plugins-dir", demo, "--output",
        work / "results" / "gpt-test.json")
    run(runner, "leaderboard", work / "results" / "gpt-test.json", "--output", work / "board")
    return [work / "installed" / "registry.json", work / "suite-build" / "manifest.json",
            work / "suite-build" / "export", work / "eval" / "config.json", work / "eval" / "submission",
            work / "results" / "gpt-test.json", *(work / "board" / name for name in
                                                  ("leaderboard.md", "leaderboard.csv", "leaderboard.png", "index.html"))]


def test_every_command_writes_0644_files_and_0755_folders_under_umask_0022(runner, isolated_plugins, no_sources,
                                                                          server, tmp_path):  # noqa: F811
    pytest.importorskip("matplotlib")  # the leaderboard chart
    work = tmp_path / "work"
    with umask(0o022):
        work.mkdir()
        plugins = work / "plugins"
        run(runner, "new", "my-data", "--output", plugins)
        contribution = write_json(work / "contribution" / "symptoms.json", task_document())
        run(runner, "import", contribution, "--name", "claims", "--output", plugins)
        run(runner, "import", contribution, "--name", "claims", "--output", plugins, "--overwrite")
        run(runner, "registry", "--root", work)
        run(runner, "build", "--plugins-dir", plugins / "my-data", "--output", work / "build", "--quiet")

        rng = np.random.default_rng(0)
        documents = work / "corpus-in" / "a.jsonl"
        documents.parent.mkdir()
        documents.write_text("".join(json.dumps({"id": f"d{i}", "text": synthetic.document(rng, "en", 200, 0.2)}) + "\n"
                                     for i in range(6)), encoding="utf-8")
        run(runner, "corpus", "run", "--input", documents.parent, "--language", "en", "--output", work / "corpus", "--no-filter", "-q")

        written = evaluate_score_and_rank(runner, work, server)

    written += [plugins / "my-data" / "pyproject.toml", plugins / "claims" / ".medsreg-import.json",
                work / "registry.json", work / "schemas" / "task-file.schema.json", work / "build" / "mixture",
                work / "build" / "README.md", work / "corpus" / "manifest.json"]
    assert [path for path in written if not path.exists()] == []  # each command did write what is checked
    assert wrong_modes(work, 0o022) == []


def test_files_renamed_into_place_and_copied_templates_honour_umask_0027(runner, isolated_plugins, no_sources, server, tmp_path):  # noqa: F811
    pytest.importorskip("matplotlib")
    work = tmp_path / "work"
    with umask(0o027):
        work.mkdir()
        written = evaluate_score_and_rank(runner, work, server)
        plugins = work / "plugins"  # new and import copy the template: its modes are not the user's
        run(runner, "new", "my-data", "--output", plugins)
        contribution = write_json(work / "contribution" / "symptoms.json", task_document())
        run(runner, "import", contribution, "--name", "claims", "--output", plugins)
    written += [plugins / "my-data" / "pyproject.toml", plugins / "claims" / "pyproject.toml"]
    assert [path for path in written if not path.exists()] == []
    assert wrong_modes(work, 0o027) == []
