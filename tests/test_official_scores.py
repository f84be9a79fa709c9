"""``medsreg score --compat official`` against the official MedS-Bench scripts' own output.

The figures in ``fixtures/official-scores`` were computed by running the official ``Metrics/*.py``
scripts of the MedS-Ins repository unchanged (see that folder's README): the repository's real
300-row MMedS-Llama 3 rationale example (CC BY-SA) and a synthetic submission per script, plus
probes on which a script crashes. Every figure is one test case, named by file, task and metric,
and must come out to within 0.01 points; every crash must be reported at its row, the task scored
as ``fixed`` instead.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from medsreg.cli import cli

OFFICIAL = Path(__file__).parent / "fixtures" / "official-scores"
SYNTHETIC = json.loads((OFFICIAL / "synthetic" / "official-figures.json").read_text(encoding="utf-8"))
REAL = json.loads((OFFICIAL / "real-example" / "official-figures.json").read_text(encoding="utf-8"))
REAL_FILE = OFFICIAL / "real-example" / "eval_results_Rationale_1_context_1_oriINS_MMedS-Llama 3.csv"
METRIC_NAMES = {"accuracy": "accuracy", "f1": "f1", "precision": "hallmark_macro_precision",
                "recall": "hallmark_macro_recall", "bleu1": "bleu1", "rougeL": "rougeL"}


def _cases() -> list:
    files = [(OFFICIAL / "synthetic" / name, entry["figures"]) for name, entry in SYNTHETIC["files"].items()]
    files += [(OFFICIAL / "synthetic" / "probes" / name, entry["figures"]) for name, entry in SYNTHETIC["probes"].items()
              if "figures" in entry]
    files.append((REAL_FILE, REAL["figures"]))
    cases = []
    for path, figures in files:
        for task, values in figures.items():
            for metric, value in values.items():
                if metric != "rows":
                    kind = "real" if path == REAL_FILE else path.parent.name
                    label = f"{kind}-{path.stem.removeprefix('eval_results_').split('_')[0]}-{task}-{metric}"
                    cases.append(pytest.param(path, task, metric, value, values.get("rows"), id=label))
    return cases


@functools.cache
def _scored(path: Path, compat: str) -> dict:
    """The JSON results of ``medsreg score PATH --compat COMPAT`` (each file scored once per session)."""
    result = CliRunner().invoke(cli, ["score", str(path), "--compat", compat, "--format", "json", "--allow-empty"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _row(results: dict, task: str) -> dict:
    found = [row for row in results["rows"] if row.get("task_id") == task or row["name"] == task]
    assert found, f"{task} is not in the results: {[row['name'] for row in results['rows']]}"
    return found[0]


def _value(row: dict, metric: str) -> float:
    name = METRIC_NAMES[metric]
    matching = [key for key in row["scores"] if key == name or key.endswith(f"_{name}")]
    assert len(matching) == 1, (metric, row["scores"])
    return row["scores"][matching[0]]


@pytest.mark.parametrize(("path", "task", "metric", "official", "rows"), _cases())
def test_official_compat_gives_the_official_figure(path, task, metric, official, rows, unconfigured):
    row = _row(_scored(path, "official"), task)
    assert _value(row, metric) == pytest.approx(official, abs=0.01)
    assert (rows is None or row["count"] == rows) and "compat" not in row


CRASHES = [pytest.param(name, entry, id=name.removesuffix(".csv")) for name, entry in SYNTHETIC["probes"].items()
           if "error" in entry]


@pytest.mark.parametrize(("name", "entry"), CRASHES)
def test_where_the_official_script_crashes_the_row_is_named_and_the_task_scored_as_fixed(name, entry, unconfigured):
    path = OFFICIAL / "synthetic" / "probes" / name
    official, fixed = _scored(path, "official"), _scored(path, "fixed")
    exception = entry["error"].split(":")[0]  # e.g. "AttributeError", "ValueError"
    notes = [note for note in official["notes"] if note.startswith(f"{name}: the official {entry['script']} cannot score")]
    assert len(notes) == 1 and exception in notes[0] and "row " in notes[0], official["notes"]
    fallen = [row for row in official["rows"] if row.get("compat") == "fixed"]
    assert fallen and all("scored as fixed" in row["note"] for row in fallen)
    by_name = {row["name"]: row for row in fixed["rows"]}
    for row in fallen:  # the figures are fixed's, not a partial official computation
        assert row["scores"] == by_name[row["name"]]["scores"]


def _documented_fixes() -> list[tuple[set[str], set[str], str]]:
    """(tasks, metrics, fix) of each row of docs/metrics.md's table of fixes."""
    page = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text(encoding="utf-8")
    table = page.split("## Fixes", 1)[1].split("Not reproduced", 1)[0]
    fixes = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 6 or cells[0] in ("fix", "---"):
            continue
        tasks: set[str] = set()
        for first, last, group in re.findall(r"task(\d+)(?:-(\d+))?|\b(CT|MRI)\b", cells[3]):
            tasks |= {group} if group else {f"task{n}" for n in range(int(first), int(last or first) + 1)}
        fixes.append((tasks, set(re.findall(r"`(\w+)`", cells[4])), cells[0]))
    return fixes


def test_fixed_differs_from_official_only_where_a_documented_fix_says_so(unconfigured):
    fixes = _documented_fixes()
    assert len(fixes) >= 15
    unexplained, differing = [], 0
    for name in SYNTHETIC["files"]:
        path = OFFICIAL / "synthetic" / name
        official, fixed = _scored(path, "official"), _scored(path, "fixed")
        fixed_rows = {(row["kind"], row["name"]): row for row in fixed["rows"]}
        for row in official["rows"]:
            if row["kind"] == "category":
                continue
            label = row.get("task_id") or row["name"]
            for metric, value in row["scores"].items():
                if abs(fixed_rows[(row["kind"], row["name"])]["scores"][metric] - value) < 0.005:
                    continue
                differing += 1
                if not any(label in tasks and metric in metrics for tasks, metrics, _ in fixes):
                    unexplained.append(f"{label} {metric}: official {value:.2f}, fixed "
                                       f"{fixed_rows[(row['kind'], row['name'])]['scores'][metric]:.2f}")
    assert not unexplained, "figures that differ for no documented fix (docs/metrics.md):\n" + "\n".join(unexplained)
    assert differing >= 40  # the synthetic set exercises the fixes


def test_the_fixtures_are_the_shared_reference_when_it_is_present():
    shared = Path(__file__).resolve().parents[2] / "shared" / "reference" / "official-scores"
    if not shared.is_dir():
        pytest.skip("../shared/reference is not beside this clone")
    for source in shared.rglob("*"):
        if source.is_file():
            assert (OFFICIAL / source.relative_to(shared)).read_bytes() == source.read_bytes(), source


@pytest.fixture
def unconfigured(no_sources, monkeypatch):
    """Every installed plugin (meds-bench's suite says how each task is scored); no source configured."""
    for name in ("MEDSREG_PLUGINS", "MEDSREG_DISABLED_PLUGINS"):
        monkeypatch.delenv(name, raising=False)


def test_every_synthetic_file_in_one_run_over_two_workers_gives_the_same_figures(unconfigured, monkeypatch):
    import medsreg.score

    monkeypatch.setattr(medsreg.score, "PARALLEL_ROWS", 0)  # the forked workers, whatever the size
    paths = [OFFICIAL / "synthetic" / name for name in SYNTHETIC["files"]]
    result = CliRunner().invoke(cli, ["score", *map(str, paths), "--compat", "official", "--format", "json",
                                      "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [_scored(path, "official") for path in paths]
