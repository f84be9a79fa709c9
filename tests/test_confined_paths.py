"""No file is read outside its source folder or plugin folder (issue 13, part 2).

Every path a contribution names stays inside the folder it belongs to: ``instances_from`` and
``instructions_from`` paths inside the configured source folder (or Hub repository), ``[tool.medsreg]``
entries and the paths hooks return inside the plugin folder. Absolute paths and ``..`` are static
errors of ``medsreg validate``; links leading out are refused when read, with a sentence, and the
file is never opened. A link loop is a located sentence, never a traceback.
"""

from __future__ import annotations

import builtins
import importlib.util
import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, REGISTER_SUITES, make_plugin, task_document, write_json
from medsreg.catalog import load_installed, resolve_instances
from medsreg.cli import cli
from medsreg.paths import lexical_escape
from medsreg.plugins import get_plugin_manager

TASK125 = FIXTURES / "released" / "task125_bc4chem_named_enetity_recognition.json"
REWRITES = FIXTURES / "released" / "RewriteDefinitions.json"
CATALOG = Path("medsreg_src") / "tasks" / "chem.json"


@pytest.fixture(autouse=True)
def unconfigured(isolated_plugins, no_sources, monkeypatch, tmp_path):
    """Only --plugins-dir plugins load; no source configured; run from an empty folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def opened(monkeypatch) -> list[Path]:
    """The real paths of every file opened for reading from now on (pathlib's reads go through io.open)."""
    seen: list[Path] = []
    real_open = io.open

    def spy(file, *args, **kwargs):
        mode = args[0] if args else kwargs.get("mode", "r")
        if isinstance(file, (str, Path)) and not set(mode) & set("wax"):
            seen.append(Path(file).resolve())
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", spy)
    monkeypatch.setattr(builtins, "open", spy)
    return seen


@pytest.fixture
def outside(tmp_path) -> Path:
    """A valid MedS-Ins task file of 20 instances outside every folder a task may read from."""
    instances = [{"id": f"o{i}", "input": f"Outside sentence number {i}.", "output": ["x"]} for i in range(20)]
    return write_json(tmp_path / "elsewhere" / "outside.json", task_document(Instances=instances, medsreg=None))


def sourced_task(instances_from: dict | list, **medsreg) -> dict:
    """Task 'chem' (MedS-Ins id 125) whose instances come from ``instances_from``."""
    block = {"name": "chem", "legacy_id": 125, "version": "1.0", "license": "CC-BY-4.0", "access": "public",
             "instances_from": instances_from, **medsreg}
    return task_document(Instances=None, Categories=["Named Entity Recognition"], medsreg=block)


def local(path: str) -> dict:
    return {"kind": "local", "key": "meds-ins", "path": path, "how_to_obtain": "Download the MedS-Ins release."}


def plugin(tmp_path: Path, document: dict) -> Path:
    return make_plugin(tmp_path / "plugins", "src", {"chem": document})


def source_folder(tmp_path: Path, files: dict[str, Path]) -> Path:
    folder = tmp_path / "MedS-Ins"
    for name, file in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(file, folder / name)
    folder.mkdir(exist_ok=True)
    return folder


def validate(runner, *args: str) -> tuple[int, list[dict]]:
    result = runner.invoke(cli, ["validate", "--format", "json", *args])
    assert "Traceback" not in result.output and not isinstance(result.exception, RuntimeError | OSError), result.output
    return result.exit_code, json.loads(result.stdout)["problems"]


def errors(problems: list[dict], check: str) -> list[dict]:
    return [p for p in problems if p["check"] == check and p["severity"] == "error"]


def info(runner, folder: Path, *args: str) -> dict:
    result = runner.invoke(cli, ["info", "src/chem", "--json", "--plugins-dir", str(folder), *args])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return json.loads(result.stdout)


# --------------------------------------------------------------------------- the text of a path


@pytest.mark.parametrize(("path", "reason"), [
    ("/etc/passwd", "is an absolute path"),
    ("C:\\data\\task.json", "is an absolute path"),
    ("\\\\server\\share\\task.json", "is an absolute path"),
    ("../../outside.json", "climbs out with '..'"),
    ("sub/../../outside.json", "climbs out with '..'"),
    ("..\\outside.json", "climbs out with '..'"),
    ("task\x00.json", "holds a NUL character"),
    ("sub/dir/task125_x.json", None),
    ("task{legacy_id}_*", None),
    ("..data/x..json", None),
])
def test_absolute_paths_and_dot_dot_are_escapes_on_either_separator(path, reason):
    assert lexical_escape(path) == reason


# --------------------------------------------------------------------------- instances_from, static tier


@pytest.mark.parametrize(("path", "reason"), [
    ("/etc/passwd", "is an absolute path"),
    ("../../outside.json", "climbs out with '..'"),
])
def test_an_escaping_source_path_is_a_static_error_naming_file_field_and_fix(tmp_path, runner, path, reason):
    folder = plugin(tmp_path, sourced_task(local(path)))
    code, problems = validate(runner, "--strict", str(folder))
    (problem,) = errors(problems, "source-paths")
    assert code == 1
    assert problem["file"] == str(folder / CATALOG) and problem["path"] == "$.medsreg.instances_from.path"
    assert f"path {path!r} {reason}" in problem["message"]
    assert "inside the folder configured as source 'meds-ins'; name the file relative to it" in problem["message"]


def test_the_alternative_and_the_instructions_file_that_escape_are_located(tmp_path, runner):
    hub = {"kind": "hub", "repo_id": "MedS/MedS-Ins", "revision": "0" * 40, "path": "..\\..\\x.json"}
    document = sourced_task([local("task125_*"), hub], instructions_from=local("/data/RewriteDefinitions.json"))
    code, problems = validate(runner, str(plugin(tmp_path, document)))
    found = {p["path"]: p["message"] for p in errors(problems, "source-paths")}
    assert code == 1 and set(found) == {"$.medsreg.instances_from[1].path", "$.medsreg.instructions_from.path"}
    assert "inside the repository MedS/MedS-Ins" in found["$.medsreg.instances_from[1].path"]


def test_a_nested_source_path_passes_static_validation(tmp_path, runner):
    code, problems = validate(runner, "--strict", str(plugin(tmp_path, sourced_task(local("sub/dir/task125_x.json")))))
    assert code == 0 and not errors(problems, "source-paths"), problems


# --------------------------------------------------------------------------- instances_from, installed tier


@pytest.mark.parametrize("path", ["ABSOLUTE", "../elsewhere/outside.json", "../elsewhere/*.json"])
def test_an_escaping_source_path_is_refused_when_read_and_never_opened(tmp_path, runner, outside, opened, path):
    path = str(outside) if path == "ABSOLUTE" else path
    data = source_folder(tmp_path, {})
    folder = plugin(tmp_path, sourced_task(local(path)))
    option = ("--source", f"meds-ins={data}")
    code, problems = validate(runner, "--installed", "--plugins-dir", str(folder), *option)
    (problem,) = errors(problems, "source-paths")  # reported once, though both the text and the read refuse it
    assert code == 1 and problem["path"] == "$.medsreg.instances_from.path"
    shown = info(runner, folder, *option)
    assert shown["instances"] is None and shown["status"] == "not configured"
    assert "src/chem: medsreg.instances_from path" in shown["how_to_obtain"]
    listed = runner.invoke(cli, ["list", "--json", "--plugins-dir", str(folder), *option])
    assert json.loads(listed.stdout)[0]["status"] == "not configured"
    assert "medsreg.instances_from.path: path" in listed.stderr  # 'list' says why, as a warning
    assert outside.resolve() not in opened


def test_a_link_in_the_source_folder_to_a_file_outside_is_refused(tmp_path, runner, outside, opened):
    data = source_folder(tmp_path, {})
    (data / "task125_x.json").symlink_to(outside)
    folder = plugin(tmp_path, sourced_task(local("task125_*")))
    option = ("--source", f"meds-ins={data}")
    code, problems = validate(runner, "--strict", str(folder))
    assert code == 0, problems  # nothing on disk to see statically
    code, problems = validate(runner, "--installed", "--plugins-dir", str(folder), *option)
    (problem,) = errors(problems, "source-paths")
    assert code == 1 and (problem["file"], problem["path"]) == (str(folder / CATALOG), "$.medsreg.instances_from")
    message = problem["message"]
    assert message.startswith(f"src/chem: medsreg.instances_from: {data / 'task125_x.json'} is a link to a file outside "
                              "the folder configured as source 'meds-ins'")
    assert "copy the file in, or point the source at the folder that holds it" in message
    assert info(runner, folder, *option)["instances"] is None
    assert outside.resolve() not in opened


def test_a_linked_folder_leading_out_is_refused_before_it_is_listed(tmp_path, runner, outside, opened):
    data = source_folder(tmp_path, {})
    (data / "sub").symlink_to(outside.parent, target_is_directory=True)
    folder = plugin(tmp_path, sourced_task(local("sub/*.json")))
    shown = info(runner, folder, "--source", f"meds-ins={data}")
    assert shown["instances"] is None
    assert f"{data / 'sub'} is a link to a folder outside the folder configured as source" in shown["how_to_obtain"]
    assert outside.resolve() not in opened


def test_a_link_loop_in_the_source_folder_is_a_sentence(tmp_path, runner):
    data = source_folder(tmp_path, {})
    (data / "sub").symlink_to(data / "sub")
    folder = plugin(tmp_path, sourced_task(local("sub/*.json")))
    code, problems = validate(runner, "--installed", "--plugins-dir", str(folder), "--source", f"meds-ins={data}")
    (problem,) = errors(problems, "source-paths")
    assert code == 1 and f"{data / 'sub'} is a symbolic link loop; remove the link" in problem["message"]


def test_nested_paths_and_links_that_stay_inside_are_read(tmp_path, runner, opened):
    data = source_folder(tmp_path, {"sub/dir/task125_x.json": TASK125, "releases/v1/task125_x.json": TASK125})
    (data / "current").symlink_to(data / "releases" / "v1", target_is_directory=True)
    linked = tmp_path / "linked-source"  # the configured folder may itself be a link
    linked.symlink_to(data, target_is_directory=True)
    folder = plugin(tmp_path, sourced_task(local("sub/dir/task125_x.json")))
    for path, configured in [("sub/dir/task125_x.json", data), ("current/task125_*", data), ("sub/dir/task125_*", linked)]:
        write_json(folder / CATALOG, sourced_task(local(path)))  # one plugin: its module is imported once
        option = ("--source", f"meds-ins={configured}")
        assert info(runner, folder, *option)["instances"] == 12, path
        code, problems = validate(runner, "--installed", "--strict", "--plugins-dir", str(folder), *option)
        assert code == 0, (path, problems)
    assert (data / "sub" / "dir" / "task125_x.json") in opened  # the spy of the other tests sees reads


def test_an_instructions_file_linked_from_outside_is_refused(tmp_path, runner, opened):
    rewrites = tmp_path / "elsewhere" / "RewriteDefinitions.json"
    rewrites.parent.mkdir()
    shutil.copy(REWRITES, rewrites)
    data = source_folder(tmp_path, {TASK125.name: TASK125})
    (data / "RewriteDefinitions.json").symlink_to(rewrites)
    folder = plugin(tmp_path, sourced_task(local("task125_*"), instructions_from=local("RewriteDefinitions.json")))
    code, problems = validate(runner, "--installed", "--plugins-dir", str(folder), "--source", f"meds-ins={data}")
    (problem,) = errors(problems, "source-paths")
    assert code == 1 and problem["path"] == "$.medsreg.instructions_from"
    assert "src/chem: medsreg.instructions_from:" in problem["message"] and "is a link to a file outside" in problem["message"]
    assert rewrites.resolve() not in opened


def test_a_local_hub_mirror_is_a_source_folder_too(tmp_path, runner, outside, opened):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "task125_x.json").symlink_to(outside)
    hub = {"kind": "hub", "repo_id": str(mirror), "revision": "0123456789abcdef0123456789abcdef01234567", "path": "task125_x.json"}
    folder = plugin(tmp_path, sourced_task(hub))
    shown = info(runner, folder)
    assert shown["instances"] is None and f"is a link to a file outside the repository {mirror}" in shown["how_to_obtain"]
    assert outside.resolve() not in opened


def test_resolve_instances_refuses_what_build_and_eval_would_read(tmp_path, outside, opened, monkeypatch):
    data = source_folder(tmp_path, {})
    (data / "task125_x.json").symlink_to(outside)
    monkeypatch.setenv("MEDSREG_SOURCE_MEDS_INS", str(data))
    catalog = load_installed(get_plugin_manager([plugin(tmp_path, sourced_task(local("task125_*")))]))
    resolve_instances(catalog)
    (item,) = catalog.tasks
    assert item.task.instances is None and item.data_path is None and "is a link to a file outside" in item.unavailable
    assert outside.resolve() not in opened


def test_build_names_the_refused_task_and_reads_nothing(tmp_path, runner, outside, opened):
    data = source_folder(tmp_path, {})
    (data / "task125_x.json").symlink_to(outside)
    folder = plugin(tmp_path, sourced_task(local("task125_*")))
    spec = write_json(tmp_path / "spec.json", {"include": [{"task": "src/chem"}], "decontaminate": False})
    result = runner.invoke(cli, ["build", "--dry-run", "--spec", str(spec), "--plugins-dir", str(folder),
                                 "--source", f"meds-ins={data}"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "src/chem: medsreg.instances_from:" in result.stderr and "is a link to a file outside" in result.stderr
    assert outside.resolve() not in opened


# --------------------------------------------------------------------------- the plugin folder


def _manifest(folder: Path, key: str, value: str) -> None:
    text = (folder / "pyproject.toml").read_text(encoding="utf-8")
    (folder / "pyproject.toml").write_text(text.replace('tasks = ["medsreg_src/tasks"]', f"{key} = [{value!r}]"),
                                           encoding="utf-8")


@pytest.mark.parametrize("key", ["tasks", "suites", "mixtures", "corpora"])
@pytest.mark.parametrize(("entry", "reason"), [("../elsewhere", "climbs out with '..'"), ("ABSOLUTE", "is an absolute path")])
def test_a_manifest_entry_outside_the_plugin_folder_is_an_error(tmp_path, runner, outside, opened, key, entry, reason):
    folder = make_plugin(tmp_path, "src", {})
    entry = str(outside.parent) if entry == "ABSOLUTE" else entry
    _manifest(folder, key, entry)
    code, problems = validate(runner, "--strict", str(folder))
    (problem,) = errors(problems, "plugin-paths")
    assert code == 1 and (problem["file"], problem["path"]) == (str(folder / "pyproject.toml"), f"tool.medsreg.{key}[0]")
    assert problem["message"] == (f"{entry!r} points outside the plugin folder ({reason}); list paths relative to the "
                                  "plugin folder and inside it (e.g. 'medsreg_<slug>/tasks')")
    assert outside.resolve() not in opened


def test_a_manifest_entry_linked_out_of_the_plugin_folder_is_an_error(tmp_path, runner, outside):
    folder = make_plugin(tmp_path, "src", {})
    (folder / "data").symlink_to(outside.parent, target_is_directory=True)
    _manifest(folder, "tasks", "data")
    code, problems = validate(runner, str(folder))
    (problem,) = errors(problems, "plugin-paths")
    assert code == 1 and problem["path"] == "tool.medsreg.tasks[0]"
    assert problem["message"].startswith("'data' is a link to a folder outside the plugin folder")


@pytest.mark.parametrize("loop", ["self", "pair", "entry"])
def test_a_link_loop_in_the_tasks_folder_is_a_located_sentence(tmp_path, runner, loop):
    folder = make_plugin(tmp_path, "src", {"good": task_document()})
    tasks = folder / "medsreg_src" / "tasks"
    if loop == "self":
        (tasks / "a.json").symlink_to("a.json")
        located = [(str(tasks / "a.json"), "")]
    elif loop == "pair":
        (tasks / "a.json").symlink_to("b.json")
        (tasks / "b.json").symlink_to("a.json")
        located = [(str(tasks / "a.json"), ""), (str(tasks / "b.json"), "")]
    else:
        (folder / "loop").symlink_to(folder / "loop")
        _manifest(folder, "tasks", "loop")
        located = [(str(folder / "pyproject.toml"), "tool.medsreg.tasks[0]")]
    code, problems = validate(runner, str(folder))
    found = errors(problems, "plugin-paths")
    assert code == 1 and [(p["file"], p["path"]) for p in found] == located
    assert all("is a symbolic link loop; remove the link or point it at a real file" in p["message"] for p in found)
    if loop != "entry":  # the other task files are still checked
        code, problems = validate(runner, "--installed", "--plugins-dir", str(folder))
        assert code == 1 and [(p["file"], p["path"]) for p in errors(problems, "plugin-paths")] == located
        listed = runner.invoke(cli, ["list", "--json", "--plugins-dir", str(folder)])
        assert listed.exit_code == 0 and [row["name"] for row in json.loads(listed.stdout)] == ["src/symptoms"]
        assert "symbolic link loop" in listed.stderr and "Traceback" not in listed.output


def test_a_folder_named_like_a_task_file_is_a_sentence(tmp_path, runner):
    folder = make_plugin(tmp_path, "src", {"good": task_document()})
    (folder / "medsreg_src" / "tasks" / "odd.json").mkdir()
    code, problems = validate(runner, str(folder))
    (problem,) = errors(problems, "plugin-paths")
    assert code == 1 and "is a folder named like a file in 'medsreg_src/tasks'" in problem["message"]


def test_nested_entries_and_links_inside_the_plugin_folder_are_read(tmp_path, runner):
    folder = make_plugin(tmp_path, "src", {})
    write_json(folder / "medsreg_src" / "sub" / "dir" / "t.json", task_document())
    (folder / "medsreg_src" / "tasks" / "link.json").symlink_to(folder / "medsreg_src" / "sub" / "dir" / "t.json")
    _manifest(folder, "tasks", "medsreg_src/sub/dir/t.json")
    code, problems = validate(runner, "--strict", str(folder))
    assert code == 0, problems
    _manifest(folder, "tasks", "medsreg_src/tasks")  # the link: same task, read through it
    result = runner.invoke(cli, ["validate", "--strict", str(folder)])
    assert result.exit_code == 0 and "1 tasks from 1 plugins" in result.output, result.output


# --------------------------------------------------------------------------- paths hooks return


ESCAPING_HOOKS = """from pathlib import Path

from medsreg import hookimpl

OUTSIDE = Path({outside!r})


@hookimpl
def register_tasks():
    return [OUTSIDE, Path(__file__).parent / 'tasks']


@hookimpl
def register_suites():
    return [OUTSIDE]


@hookimpl
def register_mixtures():
    return [Path(__file__).parent / '..' / '..' / '..' / 'elsewhere' / 'outside.json']
"""


def test_paths_hooks_return_outside_the_plugin_folder_are_refused(tmp_path, runner, outside, opened):
    folder = make_plugin(tmp_path / "plugins", "src", {"good": task_document()},
                         init_py=ESCAPING_HOOKS.format(outside=str(outside)))
    (folder / "medsreg_src" / "tasks" / "link.json").symlink_to(outside)
    code, problems = validate(runner, "--installed", "--plugins-dir", str(folder))
    found = {(p["path"] or Path(p["file"]).name): p["message"] for p in errors(problems, "plugin-paths")}
    assert code == 1
    assert set(found) == {"register_tasks()[0]", "link.json", "register_suites()[0]", "register_mixtures()[0]"}
    assert found["register_tasks()[0]"].startswith(f"{outside} lies outside the plugin folder")
    assert found["link.json"].startswith("is a link to a file outside the plugin folder")
    assert all("a plugin registers only files inside its own folder" in message for message in found.values())
    catalog = load_installed(get_plugin_manager([folder]))
    assert [item.task.name for item in catalog.tasks] == ["src/symptoms"] and not catalog.suites and not catalog.mixtures
    assert outside.resolve() not in opened


def test_an_installed_plugin_is_confined_to_its_package_a_plain_module_to_nothing(tmp_path):
    import medsreg_samples
    from medsreg.plugins import package_folder

    assert package_folder(medsreg_samples) == Path(medsreg_samples.__file__).parent
    plain = tmp_path / "plain_module.py"
    plain.write_text("X = 1\n")
    spec = importlib.util.spec_from_file_location("plain_module", plain)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert package_folder(module) is None


def test_a_suite_file_a_hook_returns_from_inside_the_plugin_is_read(tmp_path):
    folder = make_plugin(tmp_path / "plugins", "demo", {"t": task_document()}, init_py=REGISTER_SUITES)
    write_json(folder / "medsreg_demo" / "suite.json", {
        "name": "demo/bench", "description": "One task.",
        "categories": [{"name": "Classification", "tasks": [{"task": "demo/symptoms", "metrics": ["exact_match"]}]}],
    })
    catalog = load_installed(get_plugin_manager([folder]))
    assert [loaded.suite.name for loaded in catalog.suites] == ["demo/bench"]
    assert not [p for p in catalog.findings.problems if p.check == "plugin-paths"]


def test_a_pyproject_linked_from_outside_or_looping_is_a_sentence(tmp_path, runner, outside, opened):
    folder = make_plugin(tmp_path, "src", {"good": task_document()})
    (folder / "pyproject.toml").unlink()
    (folder / "pyproject.toml").symlink_to(outside)
    code, problems = validate(runner, str(folder))
    (problem,) = errors(problems, "plugin-manifest")
    assert code == 1 and "is a link to a file outside the plugin folder" in problem["message"]
    assert outside.resolve() not in opened
    (folder / "pyproject.toml").unlink()
    (folder / "pyproject.toml").symlink_to(folder / "pyproject.toml")
    code, problems = validate(runner, str(folder))
    (problem,) = [p for p in problems if p["severity"] == "error"]
    assert code == 1 and problem["message"].endswith("pyproject.toml is a symbolic link loop; remove the link or point "
                                                     "it at a real file")


def test_a_path_given_to_validate_that_loops_is_a_sentence(tmp_path, runner):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    code, problems = validate(runner, str(tmp_path / "loop"))
    (problem,) = errors(problems, "readable")
    assert code == 1 and problem["message"] == "is a symbolic link loop; remove the link or point it at a real file"


def test_a_folder_that_cannot_be_listed_is_a_sentence(tmp_path, runner, monkeypatch):
    make_plugin(tmp_path / "plugins", "src", {"good": task_document()})
    listing = Path.iterdir

    def refused(self):
        if self == tmp_path / "plugins":
            raise PermissionError(13, "Permission denied", str(self))
        return listing(self)

    monkeypatch.setattr(Path, "iterdir", refused)
    code, problems = validate(runner, str(tmp_path / "plugins"))
    (problem,) = errors(problems, "readable")
    assert code == 1 and problem["message"].startswith("cannot be read (Permission denied)")
    listed = runner.invoke(cli, ["list", "--plugins-dir", str(tmp_path / "plugins")])
    assert listed.exit_code == 0 and "Traceback" not in listed.output
    assert f"--plugins-dir {tmp_path / 'plugins'} cannot be read (Permission denied)" in listed.stderr


@pytest.mark.parametrize("how", ["dots", "link"])
def test_a_corpus_reads_no_document_outside_its_source_folder(tmp_path, monkeypatch, how):
    from medsreg.corpus.registered import documents_folder
    from medsreg.errors import MedsregError
    from medsreg.models import Corpus, LocalSource

    folder, elsewhere = tmp_path / "configured", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (elsewhere / "a.txt").write_text("a document\n", encoding="utf-8")
    path = "../elsewhere"
    if how == "link":
        (folder / "docs").symlink_to(elsewhere, target_is_directory=True)
        path = "docs"
    monkeypatch.setenv("MEDSREG_SOURCE_WEB", str(folder))
    corpus = Corpus(name="demo/web", language="en", source_type="filtered_web",
                    documents_from=LocalSource(key="web", path=path))
    with pytest.raises(MedsregError, match="corpus demo/web: documents_from") as error:
        documents_folder(corpus)
    assert ("climbs" in str(error.value) or ".." in str(error.value)) if how == "dots" else "link" in str(error.value)
    (folder / "inside").mkdir()
    inside = Corpus(name="demo/web", language="en", source_type="filtered_web",
                    documents_from=LocalSource(key="web", path="inside"))
    assert documents_folder(inside) == folder / "inside"
