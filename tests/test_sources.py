"""Where instances and instructions come from: configured folders with wildcards, --source, the config
file, hf:// values, alternatives, pinned URLs with their cache, and what 'list' says about each.

Nothing here reaches the network: HF_HUB_OFFLINE=1, the Hub client is absent or replaced by a fake,
and URLs are file:// ones.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import sys
import types
from pathlib import Path

import pytest
from conftest import FIXTURES, make_plugin, task_document
from medsreg import sources
from medsreg.cli import cli

RELEASED = FIXTURES / "released"
TASK125 = RELEASED / "task125_bc4chem_named_enetity_recognition.json"
TASK126_JSONL = RELEASED / "task126_bc5chem_named_enetity_recognition.jsonl"
REWRITES = RELEASED / "RewriteDefinitions.json"
COMMIT = "0123456789abcdef0123456789abcdef01234567"

DEFAULTS = {
    "Contributors": ["medsreg tests"],
    "Source": ["BC4CHEMD"],
    "URL": ["https://example.org/bc4chemd"],
    "Categories": ["Named Entity Recognition"],
    "Input_language": ["English"],
    "Output_language": ["English"],
    "Instruction_language": ["English"],
    "Domains": ["Medicine"],
    "Split Type": "Train",
    "medsreg": {"license": "CC-BY-4.0", "access": "public"},
}
MEDS_INS = {"kind": "local", "key": "meds-ins", "path": "task{legacy_id}_*", "how_to_obtain": "Download the MedS-Ins release."}


def card(name: str, legacy_id: int, instances_from, **medsreg) -> dict:
    return {"medsreg": {"name": name, "legacy_id": legacy_id, "instances_from": instances_from, **medsreg}}


def plugin(tmp_path: Path, *cards: dict, extra_tasks: dict | None = None) -> Path:
    """Plugin 'src' whose tasks folder holds catalog.json (DEFAULTS + ``cards``) and ``extra_tasks`` files."""
    document = {"defaults": copy.deepcopy(DEFAULTS), "tasks": copy.deepcopy(list(cards))}
    return make_plugin(tmp_path, "src", {"catalog": document, **(extra_tasks or {})})


def folder_with(root: Path, files: dict[str, Path]) -> Path:
    """A folder holding copies of ``files`` under the given names."""
    root.mkdir(parents=True, exist_ok=True)
    for name, file in files.items():
        shutil.copy(file, root / name)
    return root


def invoke(runner, folder: Path, *args: str):
    return runner.invoke(cli, [*args, "--plugins-dir", str(folder)])


def info(runner, folder: Path, task: str, *args: str) -> dict:
    result = invoke(runner, folder, "info", task, "--json", *args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return json.loads(result.stdout)


def statuses(runner, folder: Path, *args: str) -> dict[str, str]:
    result = invoke(runner, folder, "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return {row["name"]: row["status"] for row in json.loads(result.stdout)}


def validate_installed(runner, folder: Path, *args: str) -> tuple[int, list[dict]]:
    result = invoke(runner, folder, "validate", "--installed", "--format", "json", *args)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)["problems"]


@pytest.fixture(autouse=True)
def unconfigured(isolated_plugins, no_sources, monkeypatch, tmp_path):
    """Only --plugins-dir plugins load (isolated_plugins); no source configured, no config file, a private cache, offline."""
    monkeypatch.chdir(tmp_path)  # a relative 'owner/name' must not be found as a local mirror
    yield


# --------------------------------------------------------------------------- local folders and wildcards


@pytest.mark.parametrize("fixture", [TASK125, TASK126_JSONL], ids=["json", "jsonl"])
def test_wildcard_finds_the_one_json_or_jsonl_file(tmp_path, runner, fixture):
    name = "task125_x" + fixture.suffix
    data = folder_with(tmp_path / "MedS-Ins", {name: fixture, "task1250_other.json": TASK125, "task125_notes.txt": TASK125})
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS))
    shown = info(runner, folder, "125", "--source", f"meds-ins={data}")
    assert (shown["instances"], shown["status"], shown["instances_from"]["path"]) == (12, "available", "task125_*")
    assert shown["instruction"] == json.loads(fixture.read_text(encoding="utf-8"))["Definition"][0]
    code, problems = validate_installed(runner, folder, "--strict", "--source", f"meds-ins={data}")
    assert code == 0, problems


def test_two_matching_files_are_a_located_error_naming_both(tmp_path, runner):
    data = folder_with(tmp_path / "MedS-Ins", {"task125_a.json": TASK125, "task125_b.jsonl": TASK126_JSONL})
    folder = plugin(tmp_path, card("other", 124, MEDS_INS), card("chem", 125, MEDS_INS))
    code, problems = validate_installed(runner, folder, "--source", f"meds-ins={data}")
    assert code == 1
    (problem,) = [p for p in problems if p["severity"] == "error"]
    assert (problem["check"], problem["path"]) == ("source", "$.tasks[1]")
    assert problem["file"] == str(folder / "medsreg_src" / "tasks" / "catalog.json")
    assert "holds 2 files matching 'task125_*' (task125_a.json, task125_b.jsonl)" in problem["message"]
    assert "keep one per task" in problem["message"]


def test_not_configured_note_says_every_way_to_configure(tmp_path, runner):
    credentialed = card("notes", 116, {**MEDS_INS, "key": "mimic-iv", "how_to_obtain": "Get MIMIC-IV from PhysioNet."},
                        access="credentialed")
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS), credentialed)
    code, problems = validate_installed(runner, folder)
    assert code == 0, problems
    notes = {p["message"].split(":", 1)[0]: p["message"] for p in problems if "not available" in p["message"]}
    config = str(tmp_path / "missing-config.toml")
    public = notes["src/chem"]
    assert "MEDSREG_SOURCE_MEDS_INS=" in public and "--source meds-ins=" in public and config in public
    assert "[sources]" in public and "Download the MedS-Ins release." in public and "agreement" not in public
    gated = notes["src/notes"]
    assert "MEDSREG_SOURCE_MIMIC_IV=" in gated and "--source mimic-iv=" in gated and config in gated
    assert "Get MIMIC-IV from PhysioNet." in gated and "data-use agreement" in gated

    shown = info(runner, folder, "notes")
    assert shown["status"] == "credentialed" and shown["instances"] is None
    assert shown["how_to_obtain"] == gated


def test_not_configured_note_is_located_at_the_card(tmp_path, runner):
    folder = plugin(tmp_path, card("other", 124, {**MEDS_INS, "key": "elsewhere"}), card("chem", 125, MEDS_INS))
    _, problems = validate_installed(runner, folder)
    paths = {p["message"].split(":", 1)[0]: p["path"] for p in problems if ": not available" in p["message"]}
    assert paths == {"src/other": "$.tasks[0]", "src/chem": "$.tasks[1]"}


def test_source_option_environment_and_config_file_in_that_order(tmp_path, monkeypatch):
    by_option, by_env, by_config = (str(tmp_path / name) for name in ("option", "env", "config"))
    config = tmp_path / "config.toml"
    config.write_text(f'[sources]\n"meds-ins" = "{by_config}"\n', encoding="utf-8")
    monkeypatch.setenv("MEDSREG_CONFIG", str(config))
    assert sources.configured_value("meds-ins") == by_config
    monkeypatch.setenv("MEDSREG_SOURCE_MEDS_INS", by_env)
    assert sources.configured_value("meds-ins") == by_env
    sources.set_overrides({"meds-ins": by_option})
    assert sources.configured_value("meds-ins") == by_option
    assert sources.configured_value("mednli") is None


def test_source_option_configures_list_info_and_validate(tmp_path, runner):
    data = folder_with(tmp_path / "MedS-Ins", {TASK125.name: TASK125})
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS))
    option = ("--source", f"meds-ins={data}")
    assert statuses(runner, folder, *option) == {"src/chem": "available"}
    assert info(runner, folder, "chem", *option)["instances"] == 12
    code, problems = validate_installed(runner, folder, "--strict", *option)
    assert code == 0 and not [p for p in problems if "not available" in p["message"]]


def test_source_environment_variable_and_config_file_configure_the_cli(tmp_path, runner, monkeypatch):
    data = folder_with(tmp_path / "MedS-Ins", {TASK125.name: TASK125})
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS))
    monkeypatch.setenv("MEDSREG_SOURCE_MEDS_INS", str(data))
    assert info(runner, folder, "chem")["instances"] == 12
    monkeypatch.delenv("MEDSREG_SOURCE_MEDS_INS")
    config = tmp_path / "config.toml"
    config.write_text(f'[sources]\n"meds-ins" = "{data}"\n', encoding="utf-8")
    monkeypatch.setenv("MEDSREG_CONFIG", str(config))
    assert statuses(runner, folder) == {"src/chem": "available"}


@pytest.mark.parametrize("value", ["meds-ins", "=/data", "meds-ins="])
@pytest.mark.parametrize("command", [["list"], ["info", "chem"], ["validate", "--installed"], ["registry", "--installed", "out.json"]])
def test_malformed_source_option_is_a_usage_error(tmp_path, runner, command, value):
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS))
    result = invoke(runner, folder, *command, "--source", value)
    assert result.exit_code == 2
    assert "is not KEY=PATH" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.json").exists()


def test_source_option_does_not_outlive_its_command(tmp_path, runner):
    data = folder_with(tmp_path / "MedS-Ins", {TASK125.name: TASK125})
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS))
    assert statuses(runner, folder, "--source", f"meds-ins={data}") == {"src/chem": "available"}
    assert statuses(runner, folder) == {"src/chem": "not configured"}


# --------------------------------------------------------------------------- hf:// values


class _FakeHub(types.ModuleType):
    """huggingface_hub as it behaves offline: every download raises; the calls are recorded."""

    class OfflineModeIsEnabled(ConnectionError):
        pass

    def __init__(self) -> None:
        super().__init__("huggingface_hub")
        self.calls: list[tuple] = []

    def _offline(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        raise self.OfflineModeIsEnabled("Cannot reach https://huggingface.co/api: offline mode is enabled.")

    def hf_hub_download(self, *args, **kwargs):
        return self._offline(*args, **kwargs)

    def snapshot_download(self, *args, **kwargs):
        return self._offline(*args, **kwargs)


def test_hub_value_without_huggingface_hub_is_a_sentence(tmp_path, runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails as if it were not installed
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS))
    option = ("--source", f"meds-ins=hf://MedS/MedS-Ins@{COMMIT}")
    shown = info(runner, folder, "chem", *option)
    assert shown["instances"] is None
    assert "src/chem: not available: reading MedS/MedS-Ins from the Hub needs huggingface_hub" in shown["how_to_obtain"]
    assert "pip install 'medsreg[hub]'" in shown["how_to_obtain"]
    code, problems = validate_installed(runner, folder, *option)
    assert code == 0 and any("needs huggingface_hub" in p["message"] for p in problems)


@pytest.mark.parametrize(("path", "call"), [("task{legacy_id}_*", "snapshot_download"), ("task{legacy_id}_x.json", "hf_hub_download")])
def test_hub_value_offline_is_a_sentence_with_the_pinned_revision(tmp_path, runner, monkeypatch, path, call):
    hub = _FakeHub()
    monkeypatch.setitem(sys.modules, "huggingface_hub", hub)
    folder = plugin(tmp_path, card("chem", 125, {**MEDS_INS, "path": path}))
    shown = info(runner, folder, "chem", "--source", f"meds-ins=hf://MedS/MedS-Ins@{COMMIT}")
    assert shown["instances"] is None
    message = shown["how_to_obtain"]
    assert message.startswith("src/chem: not available: could not fetch task125_")
    assert f"MedS/MedS-Ins@{COMMIT[:12]}" in message and "OfflineModeIsEnabled" in message
    assert "Download the MedS-Ins release." in message
    ((args, kwargs),) = hub.calls
    assert args[0] == "MedS/MedS-Ins" and kwargs["revision"] == COMMIT and kwargs["repo_type"] == "dataset"


def test_info_status_agrees_with_how_to_obtain(tmp_path, runner, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS))
    shown = info(runner, folder, "chem", "--source", f"meds-ins=hf://MedS/MedS-Ins@{COMMIT}")
    assert "not available" in shown["how_to_obtain"]
    assert shown["status"] != "available"


def test_hub_value_with_a_branch_says_a_commit_is_needed(tmp_path, runner):
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS))
    shown = info(runner, folder, "chem", "--source", "meds-ins=hf://MedS/MedS-Ins@main")
    assert "commit" in shown["how_to_obtain"] and "hf:/MedS" not in shown["how_to_obtain"]


# --------------------------------------------------------------------------- alternatives


def test_alternatives_the_first_available_is_used(tmp_path, runner):
    mirror = {"kind": "local", "key": "mirror", "path": "task{legacy_id}_*", "how_to_obtain": "Ask the lab for the mirror."}
    folder = plugin(tmp_path, card("chem", 125, [mirror, MEDS_INS]))
    data = folder_with(tmp_path / "MedS-Ins", {TASK125.name: TASK125})
    # first not configured, second configured: the second is read
    assert info(runner, folder, "chem", "--source", f"meds-ins={data}")["instances"] == 12
    assert statuses(runner, folder, "--source", f"meds-ins={data}") == {"src/chem": "available"}
    # first configured but without the file, second configured: the second is read
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    assert info(runner, folder, "chem", "--source", f"mirror={empty}", "--source", f"meds-ins={data}")["instances"] == 12


def test_alternatives_none_available_says_how_to_configure_the_first(tmp_path, runner):
    mirror = {"kind": "local", "key": "mirror", "path": "task{legacy_id}_*", "how_to_obtain": "Ask the lab for the mirror."}
    folder = plugin(tmp_path, card("chem", 125, [mirror, MEDS_INS]))
    shown = info(runner, folder, "chem")
    assert shown["status"] == "not configured"
    assert "MEDSREG_SOURCE_MIRROR=" in shown["how_to_obtain"] and "Ask the lab for the mirror." in shown["how_to_obtain"]
    assert [source["key"] for source in shown["instances_from"]] == ["mirror", "meds-ins"]


# --------------------------------------------------------------------------- pinned URLs


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cached_files(tmp_path: Path) -> list[Path]:
    cache = tmp_path / "cache"
    return sorted(p for p in cache.rglob("*") if p.is_file()) if cache.exists() else []


def test_url_source_is_downloaded_into_the_cache_and_reused(tmp_path, runner):
    upstream = folder_with(tmp_path / "upstream", {"task125.json": TASK125}) / "task125.json"
    pin = _sha256(upstream)
    folder = plugin(tmp_path, card("chem", 125, {"kind": "url", "url": upstream.as_uri(), "sha256": pin}))
    assert statuses(runner, folder) == {"src/chem": "not configured"}  # 'list' reads no data: not fetched yet
    assert info(runner, folder, "chem")["instances"] == 12
    # cached by hash, under the file's own name (the release checks read the name)
    assert _cached_files(tmp_path) == [tmp_path / "cache" / "url" / pin / "task125.json"]
    assert (tmp_path / "cache" / "url" / pin / "task125.json").read_bytes() == TASK125.read_bytes()
    upstream.unlink()  # from now on only the cached copy can serve it
    assert info(runner, folder, "chem")["instances"] == 12
    assert statuses(runner, folder) == {"src/chem": "available"}


def test_url_source_for_instructions(tmp_path, runner):
    upstream = folder_with(tmp_path / "upstream", {"RewriteDefinitions.json": REWRITES}) / "RewriteDefinitions.json"
    rewrites = {"kind": "url", "url": upstream.as_uri(), "sha256": _sha256(upstream)}
    data = folder_with(tmp_path / "MedS-Ins", {TASK125.name: TASK125})
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS, instructions_from=rewrites))
    shown = info(runner, folder, "chem", "--source", f"meds-ins={data}")
    assert shown["instructions"] == 3 and shown["instruction"] == json.loads(TASK125.read_text(encoding="utf-8"))["Definition"][0]


def test_url_source_with_a_wrong_pin_names_the_url_and_caches_nothing(tmp_path, runner):
    upstream = folder_with(tmp_path / "upstream", {"task125.json": TASK125}) / "task125.json"
    folder = plugin(tmp_path, card("chem", 125, {"kind": "url", "url": upstream.as_uri(), "sha256": "0" * 64}))
    code, problems = validate_installed(runner, folder)
    assert code == 1
    (problem,) = [p for p in problems if p["severity"] == "error"]
    assert (problem["check"], problem["path"]) == ("source", "$.tasks[0]")
    assert upstream.as_uri() in problem["message"] and f"not the pinned {'0' * 12}" in problem["message"]
    assert _sha256(upstream)[:12] in problem["message"]
    assert _cached_files(tmp_path) == []


def test_https_url_offline_is_not_fetched(tmp_path, runner, monkeypatch):
    import urllib.request

    def no_network(*args, **kwargs):
        raise AssertionError("the network was reached")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    url = "https://raw.githubusercontent.com/example/meds/0123456/task125.json"
    folder = plugin(tmp_path, card("chem", 125, {"kind": "url", "url": url, "sha256": "a" * 64, "how_to_obtain": "Go online once."}))
    shown = info(runner, folder, "chem")
    assert shown["instances"] is None and shown["status"] == "not configured"
    assert f"could not fetch {url}: offline (MEDSREG_OFFLINE or HF_HUB_OFFLINE is set)" in shown["how_to_obtain"]
    assert "Go online once." in shown["how_to_obtain"]


def test_url_source_with_released_name_has_no_release_warning(tmp_path, runner):
    upstream = folder_with(tmp_path / "upstream", {TASK125.name: TASK125}) / TASK125.name
    source = {"kind": "url", "url": upstream.as_uri(), "sha256": _sha256(upstream)}
    folder = plugin(tmp_path, {"medsreg": {"released_name": TASK125.name, "instances_from": source}})
    code, problems = validate_installed(runner, folder, "--strict")
    assert code == 0, [p for p in problems if p["severity"] != "note"]


# --------------------------------------------------------------------------- list: STATUS column and --status


@pytest.fixture
def three_states(tmp_path):
    credentialed = card("notes", 116, {**MEDS_INS, "key": "mimic-iv"}, access="credentialed")
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS), card("bc5", 126, MEDS_INS), credentialed,
                    extra_tasks={"inline": task_document()})
    data = folder_with(tmp_path / "MedS-Ins", {TASK125.name: TASK125})
    return folder, data


def test_list_status_column(runner, three_states):
    folder, data = three_states
    option = ("--source", f"meds-ins={data}")
    assert statuses(runner, folder, *option) == {
        "src/chem": "available", "src/bc5": "not configured", "src/notes": "credentialed", "src/symptoms": "available",
    }
    result = invoke(runner, folder, "list", *option)
    assert result.exit_code == 0
    columns = {line.split()[0]: line.split()[3:5] for line in result.stdout.splitlines()}
    assert columns["src/chem"][0] == "available" and columns["src/bc5"] == ["not", "configured"]
    assert columns["src/notes"][0] == "credentialed"
    assert "4 of 4 tasks (2 available, 1 not configured, 1 credentialed)" in result.stderr


@pytest.mark.parametrize(
    ("status", "expected"),
    [("available", {"src/chem", "src/symptoms"}), ("not configured", {"src/bc5"}), ("credentialed", {"src/notes"})],
)
def test_list_status_filter(runner, three_states, status, expected):
    folder, data = three_states
    assert set(statuses(runner, folder, "--status", status, "--source", f"meds-ins={data}")) == expected


def test_list_status_of_a_configured_credentialed_task_is_available(runner, three_states, tmp_path):
    folder, data = three_states
    mimic = folder_with(tmp_path / "mimic", {"task116_mimic_notes.json": TASK125})
    result = statuses(runner, folder, "--status", "credentialed", "--source", f"mimic-iv={mimic}")
    assert result == {}
    assert statuses(runner, folder, "--source", f"mimic-iv={mimic}")["src/notes"] == "available"
    bad = invoke(runner, folder, "list", "--status", "ready")
    assert bad.exit_code == 2 and "'available', 'empty', 'not configured', 'credentialed'" in bad.output


# --------------------------------------------------------------------------- configuration mistakes


def test_a_misspelled_or_missing_source_is_reported_once_not_per_task(runner, tmp_path, monkeypatch):
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS), card("chem2", 126, MEDS_INS))
    monkeypatch.setenv("MEDSREG_SOURCE_MEDSINS", str(tmp_path))
    code, problems = validate_installed(runner, folder, "--source", f"meds-ins={tmp_path / 'absent'}")
    configuration = [p for p in problems if p["file"] == "configuration"]
    assert code == 1 and len(configuration) == 2
    missing = next(p for p in configuration if p["severity"] == "error")
    assert "source 'meds-ins' (--source meds-ins=) is" in missing["message"] and "which does not exist" in missing["message"]
    unused = next(p for p in configuration if p["severity"] == "warning")
    assert "MEDSREG_SOURCE_MEDSINS is set but no installed task or corpus reads" in unused["message"]
    assert "Did you mean 'MEDSREG_SOURCE_MEDS_INS'?" in unused["message"]
    assert not [p for p in problems if p["severity"] == "error" and p["file"] != "configuration"]


def test_a_sources_entry_that_is_not_a_table_is_a_sentence(runner, tmp_path, monkeypatch):
    folder = plugin(tmp_path, card("chem", 125, MEDS_INS))
    config = tmp_path / "config.toml"
    config.write_text('sources = "abc"\n')
    monkeypatch.setenv("MEDSREG_CONFIG", str(config))
    result = invoke(runner, folder, "list")
    assert result.exit_code == 1 and "Traceback" not in result.output and "internal error" not in result.output
    assert f"{config}: 'sources' must be a table" in result.stderr


@pytest.mark.parametrize("name", [
                                  "task52_mmedbench_explanation_english_test_only.jsonl",
                                  "task130_DDXPlus_text_classification_test.json", "task122_medmcqa_test_set.json",
                                  "task125_test_bc4chem.json"])
def test_meds_bench_file_names_are_recognized_as_test_files(name):
    from medsreg.catalog import TEST_FILE

    assert TEST_FILE.search(name.lower())


def test_a_released_training_file_with_test_in_its_name_is_not_a_test_file():
    from medsreg.catalog import TEST_FILE

    assert not TEST_FILE.search("task132_fact_verication_short_medical_test_train.json")
