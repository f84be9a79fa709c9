"""Loading plugins: entry points and --plugins-dir, isolation of broken ones, allow/block lists, sources."""

from __future__ import annotations

import json
import os

import pytest
from conftest import make_plugin, task_document, write_json
from medsreg.catalog import load_installed, resolve_instances
from medsreg.cli import cli
from medsreg.plugins import get_plugin_manager

pytestmark = pytest.mark.usefixtures("isolated_plugins")

BROKEN_IMPORT = "raise RuntimeError('database password missing')\n"
RAISING_HOOK = "from medsreg import hookimpl\n\n@hookimpl\ndef register_tasks():\n    raise ValueError('boom')\n"
GARBAGE_HOOK = "from medsreg import hookimpl\n\n@hookimpl\ndef register_tasks():\n    return [42, '/no/such/file.json']\n"
TYPO_HOOK = "from medsreg import hookimpl\n\n@hookimpl\ndef register_task():\n    return []\n"
BAD_SIGNATURE = "from medsreg import hookimpl\n\n@hookimpl\ndef register_tasks(config):\n    return []\n"


def test_plugins_dir_loads_a_plugin_without_installing(tmp_path, runner):
    make_plugin(tmp_path, "alpha", {"t": task_document()})
    result = runner.invoke(cli, ["list", "--plugins-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == ["alpha/symptoms"]
    result = runner.invoke(cli, ["plugins", "--plugins-dir", str(tmp_path / "alpha"), "--json"])
    (row,) = json.loads(result.stdout)
    assert row | {"origin": None} == {"name": "alpha", "version": "0.1.0", "package": "medsreg-alpha", "module": "medsreg_alpha",
                                      "origin": None, "hooks": ["register_tasks"], "tasks": 1, "corpora": 0, "metrics": 0, "suites": 0,
                                      "mixtures": 0,
                                      "ok": True, "errors": []}


@pytest.mark.parametrize(
    ("init_py", "expected"),
    [
        (BROKEN_IMPORT, "importing medsreg_broken raised RuntimeError: database password missing"),
        (RAISING_HOOK, "its register_tasks() raised ValueError: boom"),
        (GARBAGE_HOOK, "its register_tasks()[0] is a int"),
        (TYPO_HOOK, "implements unknown hook 'register_task'. Did you mean 'register_tasks'?"),
        (BAD_SIGNATURE, "cannot be registered"),
    ],
)
def test_broken_plugin_is_named_and_skipped_good_one_keeps_working(tmp_path, runner, init_py, expected):
    make_plugin(tmp_path, "good", {"t": task_document()})
    make_plugin(tmp_path, "broken", {}, init_py=init_py)
    result = runner.invoke(cli, ["list", "--plugins-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "good/symptoms" in result.stdout
    assert "plugin broken" in result.stderr and expected in result.stderr and "Traceback" not in result.output
    assert "MEDSREG_DISABLED_PLUGINS=broken" in result.stderr
    strict = runner.invoke(cli, ["list", "--strict", "--plugins-dir", str(tmp_path)])
    assert strict.exit_code == 1 and "good/symptoms" in strict.stdout


def test_validate_installed_reports_broken_plugin_and_strict_fails(tmp_path, runner):
    make_plugin(tmp_path, "good", {"t": task_document()})
    make_plugin(tmp_path, "broken", {}, init_py=BROKEN_IMPORT)
    result = runner.invoke(cli, ["validate", "--installed", "--plugins-dir", str(tmp_path)])
    assert result.exit_code == 0 and "[plugin-load]" in result.output
    result = runner.invoke(cli, ["validate", "--installed", "--strict", "--plugins-dir", str(tmp_path)])
    assert result.exit_code == 1


def test_block_and_allow_lists(tmp_path, monkeypatch):
    make_plugin(tmp_path, "alpha", {"t": task_document()})
    make_plugin(tmp_path, "beta", {"t": task_document()})
    installed = os.environ["MEDSREG_DISABLED_PLUGINS"]  # every installed plugin, blocked by isolated_plugins
    monkeypatch.setenv("MEDSREG_DISABLED_PLUGINS", f"{installed},beta")
    assert [p.name for p in get_plugin_manager([tmp_path]).plugins] == ["alpha"]
    monkeypatch.setenv("MEDSREG_DISABLED_PLUGINS", "")
    monkeypatch.setenv("MEDSREG_PLUGINS", "beta")
    assert [p.name for p in get_plugin_manager([tmp_path]).plugins] == ["beta"]


def test_single_file_plugins_in_a_folder(tmp_path, runner):
    task_file = write_json(tmp_path / "data" / "t.json", task_document())
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "quick.py").write_text(
        f"from medsreg import hookimpl\n\n@hookimpl\ndef register_tasks():\n    return [{str(task_file)!r}]\n"
    )
    result = runner.invoke(cli, ["list", "--json", "--plugins-dir", str(tmp_path / "mods")])
    assert [row["name"] for row in json.loads(result.stdout)] == ["quick/symptoms"]


TASK_OBJECTS = """
from medsreg import HubSource, LocalSource, Task, hookimpl

COMMON = dict(categories=["Text Classification"], definition=["Label it."], input_languages=["en"],
              output_languages=["en"], instruction_languages=["en"], source=["s"], contributors=["c"],
              license="CC-BY-4.0", split="train")

def rows():
    for i in range(12):
        yield {{"id": str(i), "input": f"loader input number {{i}} text", "output": ["a" if i % 2 else "b"]}}

@hookimpl
def register_tasks():
    return [
        Task(name="objs/inline", access="public", instances=[{{"id": "1", "input": "x y z", "output": ["a"]}}], **COMMON),
        Task(name="objs/from_loader", access="public", loader=rows, **COMMON),
        Task(name="objs/credentialed", access="credentialed",
             instances_from=LocalSource(key="mimic-demo", path="t.json", how_to_obtain="Download it from PhysioNet."), **COMMON),
        Task(name="objs/hub", access="public",
             instances_from=HubSource(repo_id={mirror!r}, revision="0123456789abcdef0123456789abcdef01234567", path="t.json"), **COMMON),
        Task(name="wrongprefix/x", access="public", instances=[], **COMMON),
    ]
"""


def test_task_objects_inline_loader_local_and_hub_sources(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    write_json(mirror / "t.json", task_document())
    make_plugin(tmp_path / "p", "objs", {}, init_py=TASK_OBJECTS.format(mirror=str(mirror)))
    monkeypatch.delenv("MEDSREG_SOURCE_MIMIC_DEMO", raising=False)
    monkeypatch.setenv("MEDSREG_CONFIG", str(tmp_path / "no-config.toml"))
    catalog = load_installed(get_plugin_manager([tmp_path / "p"]))
    resolve_instances(catalog)
    tasks = {item.task.name: item for item in catalog.tasks}
    assert set(tasks) == {"objs/inline", "objs/from_loader", "objs/credentialed", "objs/hub"}
    assert len(tasks["objs/from_loader"].task.instances) == 12
    assert len(tasks["objs/hub"].task.instances) == 12  # read through the local mirror at the pinned revision
    unavailable = tasks["objs/credentialed"].unavailable
    assert tasks["objs/credentialed"].task.instances is None
    assert "not available" in unavailable and "MEDSREG_SOURCE_MIMIC_DEMO" in unavailable
    assert "Download it from PhysioNet." in unavailable and "credentialed data" in unavailable
    assert any("does not start with 'objs/'" in p.message for p in catalog.findings.problems)

    # configured through the config file, the credentialed source is read from the user's copy
    private = tmp_path / "physionet"
    write_json(private / "t.json", task_document())
    (tmp_path / "config.toml").write_text(f'[sources]\n"mimic-demo" = "{private}"\n')
    monkeypatch.setenv("MEDSREG_CONFIG", str(tmp_path / "config.toml"))
    catalog = load_installed(get_plugin_manager([tmp_path / "p"]))
    resolve_instances(catalog)
    assert len(next(i for i in catalog.tasks if i.task.name == "objs/credentialed").task.instances) == 12


def test_loader_yielding_bad_rows_is_located(tmp_path):
    init_py = (
        "from medsreg import Task, hookimpl\n\n"
        "def rows():\n    yield {'id': '1', 'input': 'ok', 'output': ['a']}\n    yield {'id': '2', 'input': 5, 'output': 'a'}\n\n"
        "@hookimpl\ndef register_tasks():\n    return [Task(name='badloader/t', categories=['Diagnosis'], definition=['d'], loader=rows)]\n"
    )
    make_plugin(tmp_path, "badloader", {}, init_py=init_py)
    catalog = load_installed(get_plugin_manager([tmp_path]))
    resolve_instances(catalog)
    paths = {p.path for p in catalog.findings.problems if p.check == "schema"}
    assert paths == {"$[1].input", "$[1].output"}


def test_broken_config_file_is_a_sentence(tmp_path, runner, monkeypatch):
    make_plugin(tmp_path / "p", "objs", {}, init_py=TASK_OBJECTS.format(mirror=str(tmp_path)))
    (tmp_path / "config.toml").write_text("[sources\nbroken")
    monkeypatch.setenv("MEDSREG_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("MEDSREG_SOURCE_MIMIC_DEMO", raising=False)
    result = runner.invoke(cli, ["validate", "--installed", "--plugins-dir", str(tmp_path / "p")])
    assert result.exit_code == 1
    assert "config.toml is not valid TOML" in result.stderr and "MEDSREG_CONFIG" in result.stderr


CORPORA_AND_METRICS = """
from medsreg import Corpus, Metric, hookimpl

def exact(predictions, references, context):
    return {"exact": 100.0 * sum(p in r for p, r in zip(predictions, references)) / max(len(predictions), 1)}

@hookimpl
def register_corpora():
    return [Corpus(name="extras/web-en", language="en", source_type="filtered_web", license="CC-BY-NC-SA-4.0",
                   access="public", token_estimate=10), "not a corpus"]

@hookimpl
def register_metrics():
    return [Metric(name="exact", description="Exact match.", compute=exact)]
"""


def test_corpora_and_metrics_are_collected_and_counted(tmp_path, runner):
    make_plugin(tmp_path, "extras", {}, init_py=CORPORA_AND_METRICS)
    catalog = load_installed(get_plugin_manager([tmp_path]))
    assert [(owner, corpus.name) for owner, corpus in catalog.corpora] == [("extras", "extras/web-en")]
    from medsreg import MetricContext

    ((owner, metric),) = [(owner, metric) for owner, metric in catalog.metrics if owner != "medsreg"]
    assert owner == "extras" and metric.compute(["a"], [["a"]], MetricContext()) == {"exact": 100.0}
    # medsreg's own metrics come through the same hook, from the built-in plugin "medsreg"
    assert {"mcqa_accuracy", "bleu1", "rougeL", "entity_f1"} <= {m.name for o, m in catalog.metrics if o == "medsreg"}
    result = runner.invoke(cli, ["plugins", "--json", "--plugins-dir", str(tmp_path)])
    (row,) = json.loads(result.stdout)
    assert (row["tasks"], row["corpora"], row["metrics"]) == (0, 1, 1)
    assert row["hooks"] == ["register_corpora", "register_metrics"]
    assert row["errors"] == ["its register_corpora()[1] is a str; return medsreg.Corpus objects"]


def test_licence_refs_are_accepted_for_licences_without_spdx_ids():
    from medsreg.vocabulary import license_problem

    assert license_problem("LicenseRef-PhysioNet-Credentialed-Health-Data-1.5.0") is None
    assert license_problem("CC-BY-4.0 AND LicenseRef-PhysioNet-1.5") is None
    assert "CC-BY-4.0" in license_problem("CC-BY-4")
