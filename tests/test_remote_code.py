"""No Python code from a model or tokenizer folder runs without ``--trust-remote-code``, whatever stdin holds.

The folder here is a tiny Llama whose config.json and tokenizer_config.json name custom classes (``auto_map``) in
``configuration_evil.py`` / ``modeling_evil.py`` / ``tokenization_evil.py``; each module writes a sentinel file when
imported and is otherwise a thin subclass of a real transformers class, so that a trusted load still works. Every
command is fed "y" on stdin, the answer transformers' own prompt would take as consent.
"""

from __future__ import annotations

import json
import shutil
import sys
from concurrent.futures import Future
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("datasets")

from conftest import make_plugin, task_document  # noqa: E402
from test_eval_rows import demo_plugins, one_error, save_tiny_model  # noqa: E402 - after the importorskips

from medsreg.cli import cli  # noqa: E402
from medsreg.errors import MedsregError  # noqa: E402
from medsreg.modelfolder import custom_code, refuse_custom_code  # noqa: E402

MODULES = {
    "configuration_evil": "from transformers import LlamaConfig\n\n\nclass EvilConfig(LlamaConfig):\n"
                          "    model_type = 'evil'\n",
    "modeling_evil": "from transformers import LlamaForCausalLM\n\nfrom .configuration_evil import EvilConfig\n\n\n"
                     "class EvilForCausalLM(LlamaForCausalLM):\n    config_class = EvilConfig\n",
    "tokenization_evil": "from transformers import PreTrainedTokenizerFast\n\n\n"
                         "class EvilTokenizer(PreTrainedTokenizerFast):\n    pass\n",
}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama")


def _forget_trusted_modules() -> None:
    for name in [name for name in sys.modules if name.split(".")[0] == "transformers_modules"]:
        del sys.modules[name]


@pytest.fixture(autouse=True)
def modules_cache(tmp_path, monkeypatch):
    """transformers copies trusted modules into HF_MODULES_CACHE and imports them as ``transformers_modules.*``: a
    temporary cache of each test's own, not the user's, and those modules forgotten before and after."""
    import transformers.dynamic_module_utils as dynamic

    _forget_trusted_modules()
    monkeypatch.setattr(dynamic, "HF_MODULES_CACHE", str(tmp_path / "hf-modules"))
    monkeypatch.setattr(sys, "path", list(sys.path))  # where transformers adds that cache
    yield
    _forget_trusted_modules()


def evil_folder(tiny_model: Path, folder: Path, sentinels: Path) -> Path:
    """A copy of the tiny model whose config and tokenizer name custom classes; importing any of their modules
    writes ``sentinels/<module>``."""
    shutil.copytree(tiny_model, folder)
    sentinels.mkdir(parents=True, exist_ok=True)
    for module, body in MODULES.items():
        marker = f"from pathlib import Path\n\nPath({str(sentinels / module)!r}).write_text('ran')\n"
        (folder / f"{module}.py").write_text(marker + body, encoding="utf-8")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    # a model type transformers does not know: only the folder's code has it (so nothing else is tried first)
    config.update(model_type="evil", architectures=["EvilForCausalLM"],
                  auto_map={"AutoConfig": "configuration_evil.EvilConfig",
                            "AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"})
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    tokenizer_config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer_config.update(tokenizer_class="EvilTokenizer",
                            auto_map={"AutoTokenizer": [None, "tokenization_evil.EvilTokenizer"]})
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), encoding="utf-8")
    return folder


@pytest.fixture
def sentinels(tmp_path) -> Path:
    return tmp_path / "sentinels"


@pytest.fixture
def evil(tiny_model, tmp_path, sentinels) -> Path:
    return evil_folder(tiny_model, tmp_path / "evil", sentinels)


def ran(sentinels: Path) -> list[str]:
    return sorted(path.name for path in sentinels.iterdir())


def assert_refused(result, folder: Path, sentinels: Path) -> None:
    message = one_error(result)  # exit code 1, no traceback, one "error:" line
    assert ran(sentinels) == [], message
    assert f"the folder {folder} holds custom code" in message and "--trust-remote-code" in message, message
    assert message.count(". ") == 0 and message.endswith("if you trust that folder"), message


# --------------------------------------------------------------------------- refused, "y" on stdin


def test_eval_refuses_a_folder_with_custom_code(runner, evil, sentinels, tmp_path, isolated_plugins, no_sources):
    plugins = demo_plugins(tmp_path / "plugins")
    result = runner.invoke(cli, ["eval", "--backend", "hf", "--model", str(evil), "--suite", "demo/bench",
                                 "--plugins-dir", str(plugins), "--output", str(tmp_path / "out"), "--limit", "1"],
                           input="y\n")
    assert_refused(result, evil, sentinels)
    assert not (tmp_path / "out" / "predictions.jsonl").exists()


def test_train_refuses_a_folder_with_custom_code(runner, evil, sentinels, tmp_path):
    from datasets import Dataset

    rows = [{"messages": [{"role": "user", "content": "fever"}, {"role": "assistant", "content": "pneumonia"}]}] * 4
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "mixture"))
    result = runner.invoke(cli, ["train", "--model", str(evil), "--data", str(tmp_path / "mixture"), "--output",
                                 str(tmp_path / "out"), "--max-steps", "1", "-q"], input="y\n")
    assert_refused(result, evil, sentinels)
    assert not (tmp_path / "out").exists()


def test_build_refuses_a_tokenizer_with_custom_code(runner, evil, sentinels, tmp_path, isolated_plugins, no_sources):
    result = runner.invoke(cli, ["build", "--tokenizer", str(evil), "--output", str(tmp_path / "out"), "-q"],
                           input="y\n")
    assert_refused(result, evil, sentinels)
    assert not (tmp_path / "out").exists()


def test_a_tokenizer_folder_alone_is_refused_too(runner, tiny_model, tmp_path, sentinels, isolated_plugins, no_sources):
    """A folder without config.json whose tokenizer_config.json alone names a class."""
    folder = evil_folder(tiny_model, tmp_path / "tokenizer-only", sentinels)
    (folder / "config.json").unlink()
    result = runner.invoke(cli, ["build", "--tokenizer", str(folder), "--dry-run"], input="y\n")
    assert_refused(result, folder, sentinels)
    assert "tokenizer_config.json" in result.stderr and "tokenization_evil.EvilTokenizer" in result.stderr


def test_the_refusal_names_the_files_and_classes(evil):
    assert custom_code(evil) == {"config.json": ["configuration_evil.EvilConfig", "modeling_evil.EvilForCausalLM"],
                                 "tokenizer_config.json": ["tokenization_evil.EvilTokenizer"]}
    refuse_custom_code(evil, trust_remote_code=True)  # asked: nothing to refuse
    with pytest.raises(MedsregError, match="config.json names configuration_evil.EvilConfig"):
        refuse_custom_code(evil, trust_remote_code=False)


def test_a_folder_without_custom_code_needs_no_flag(tiny_model):
    assert custom_code(tiny_model) == {}
    refuse_custom_code(tiny_model, trust_remote_code=False)


# --------------------------------------------------------------------------- allowed with --trust-remote-code


def test_build_with_the_flag_loads_the_folders_code(runner, evil, sentinels, tmp_path, isolated_plugins, no_sources):
    from datasets import load_from_disk

    plugins = make_plugin(tmp_path / "plugins", "demo", {"symptoms": task_document()})
    result = runner.invoke(cli, ["build", "--tokenizer", str(evil), "--trust-remote-code", "--plugins-dir", str(plugins),
                                 "--output", str(tmp_path / "out"), "--max-length", "512", "-q"], input="n\n")
    assert ran(sentinels) == ["configuration_evil", "tokenization_evil"], result.output
    assert result.exit_code == 0, result.output
    mixture = load_from_disk(str(tmp_path / "out" / "mixture"))["train"]
    assert len(mixture) and {"input_ids", "labels"} <= set(mixture.column_names)


class InProcessPool:
    """ProcessPoolExecutor's part the build uses, run here: the worker's initializer and jobs, without spawning."""

    def __init__(self, max_workers, mp_context, initializer, initargs) -> None:  # noqa: ANN001 - the pool's signature
        initializer(*initargs)

    def submit(self, function, *args) -> Future:  # noqa: ANN001
        future: Future = Future()
        future.set_result(function(*args))
        return future

    def shutdown(self, wait: bool, cancel_futures: bool) -> None:
        pass


def test_the_flag_reaches_the_build_workers(evil, sentinels, monkeypatch):
    """Large builds tokenize in worker processes, which load the tokenizer again: with the flag passed on."""
    import concurrent.futures

    from medsreg.build import tokenize

    with pytest.raises(MedsregError, match="--trust-remote-code"):
        tokenize.prepare(evil, max_length=64)
    step = tokenize.prepare(evil, max_length=512, num_proc=2, trust_remote_code=True)
    assert step.trust_remote_code and type(step.tokenizer).__name__ == "EvilTokenizer"
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", InProcessPool)
    monkeypatch.setattr(tokenize, "_worker_tokenizer", None)
    rows = [{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": f"fever {i}"},
                          {"role": "assistant", "content": "pneumonia"}], "task": "demo/t", "instance_id": f"i{i}"}
            for i in range(6)]
    step.batch_rows = 2  # three batches: more than one, so they go to the workers
    assert len(list(step.rows(rows))) == 6
    assert type(tokenize._worker_tokenizer).__name__ == "EvilTokenizer"  # noqa: SLF001 - what the worker loaded


def test_eval_with_the_flag_runs_the_folders_model(runner, evil, sentinels, tmp_path, isolated_plugins, no_sources):
    plugins = demo_plugins(tmp_path / "plugins")
    result = runner.invoke(cli, ["eval", "--backend", "hf", "--model", str(evil), "--suite", "demo/bench",
                                 "--plugins-dir", str(plugins), "--output", str(tmp_path / "out"), "--limit", "1",
                                 "--max-new-tokens", "2", "--trust-remote-code", "-q"])
    assert ran(sentinels) == ["configuration_evil", "modeling_evil", "tokenization_evil"], result.output
    assert result.exit_code == 0, result.output


def test_train_with_the_flag_runs_the_folders_model(runner, evil, sentinels, tmp_path):
    from datasets import Dataset

    rows = [{"messages": [{"role": "user", "content": "fever"}, {"role": "assistant", "content": "pneumonia"}]}] * 4
    Dataset.from_list(rows).save_to_disk(str(tmp_path / "mixture"))
    result = runner.invoke(cli, ["train", "--model", str(evil), "--data", str(tmp_path / "mixture"), "--output",
                                 str(tmp_path / "out"), "--max-steps", "1", "--device", "cpu", "--trust-remote-code",
                                 "-q"])
    assert ran(sentinels) == ["configuration_evil", "modeling_evil", "tokenization_evil"], result.output
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "out" / "medsreg-train.json").read_text(encoding="utf-8"))
    assert record["config"]["trust_remote_code"] is True


@pytest.mark.parametrize("where", ["config file", "--set"])
def test_only_the_flag_trusts_not_a_settings_file(runner, evil, sentinels, tmp_path, where):
    """Training recipes are shared: a config file (or --set) cannot stand in for the user's own flag."""
    if where == "config file":
        (tmp_path / "recipe.json").write_text(json.dumps({"trust_remote_code": True}), encoding="utf-8")
        extra = ["--config", str(tmp_path / "recipe.json")]
    else:
        extra = ["--set", "trust_remote_code=true"]
    result = runner.invoke(cli, ["train", "--model", str(evil), "--data", str(tmp_path), "--output", str(tmp_path / "out"),
                                 *extra], input="y\n")
    message = one_error(result)
    assert ran(sentinels) == [] and "trust_remote_code cannot be set" in message and "--trust-remote-code" in message
