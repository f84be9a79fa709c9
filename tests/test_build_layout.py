"""layout.py: what datasets writes around a split's rows, made by datasets once and read back from the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

datasets = pytest.importorskip("datasets")

from datasets import DatasetInfo, Features, SplitDict, SplitInfo  # noqa: E402
from datasets.arrow_writer import ArrowWriter  # noqa: E402
from datasets.utils.py_utils import asdict  # noqa: E402

from medsreg.build import layout  # noqa: E402
from medsreg.build.layout import END_OF_STREAM, layout_of  # noqa: E402
from medsreg.build.pipeline import SUITE_FEATURES, TRAINING_FEATURES  # noqa: E402

from conftest import REPO  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDSREG_CACHE", str(tmp_path / "cache"))
    layout._layout.cache_clear()
    yield tmp_path / "cache" / "datasets"
    layout._layout.cache_clear()


def _their_info(features: Features, split: str, num_bytes: int, shard_rows: list[int]) -> dict:
    splits = SplitDict()
    splits.add(SplitInfo(name=split, num_bytes=num_bytes, num_examples=sum(shard_rows),
                         shard_lengths=shard_rows if len(shard_rows) > 1 else None))
    return json.loads(json.dumps(asdict(DatasetInfo(features=features, splits=splits, dataset_size=num_bytes))))


def _their_header(features: Features) -> tuple[bytes, int]:
    """(ArrowWriter's header, its batch size)."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    writer = ArrowWriter(features=features, stream=sink)
    writer.finalize(close_stream=False)
    return sink.getvalue().to_pybytes()[: -len(END_OF_STREAM)], writer.writer_batch_size


def _assert_is_datasets_own(found: layout.Layout, declaration: dict, split: str) -> None:
    features = Features.from_dict(declaration)
    assert found.features == features.to_dict()
    assert found.schema.equals(features.arrow_schema, check_metadata=True)
    assert (found.header, found.batch_rows) == _their_header(features)
    assert found.columns == list(features)
    for num_bytes, shard_rows in ((0, [0]), (12_345, [678]), (987_654_321, [40_000, 40_000, 1_234])):
        assert found.dataset_info(num_bytes, shard_rows) == _their_info(features, split, num_bytes, shard_rows)


@pytest.mark.parametrize(("declaration", "split"), [(TRAINING_FEATURES, "train"), (SUITE_FEATURES, "test")])
def test_a_layout_is_what_datasets_makes_first_made_and_then_read_from_the_cache(cache, declaration, split):
    made = layout_of(declaration, split)
    _assert_is_datasets_own(made, declaration, split)
    kept = list(cache.glob("layout-*.json"))
    assert len(kept) == 1

    layout._layout.cache_clear()
    read = layout_of(declaration, split)
    _assert_is_datasets_own(read, declaration, split)
    assert read == made
    # the same features given as datasets' object (its to_dict() is another declaration of them): the same layout
    layout._layout.cache_clear()
    assert layout_of(Features.from_dict(declaration), split) == made


def test_a_damaged_cache_file_is_made_again(cache):
    made = layout_of(SUITE_FEATURES, "test")
    (kept,) = cache.glob("layout-*.json")
    for damage in ("{not json", json.dumps({"features": 3}), json.dumps({**json.loads(kept.read_text()), "schema": "!!"})):
        kept.write_text(damage)
        layout._layout.cache_clear()
        assert layout_of(SUITE_FEATURES, "test") == made
        assert json.loads(kept.read_text())["header"]  # written afresh


def test_a_dataset_info_whose_sizes_cannot_be_told_apart_is_not_kept_and_asked_of_datasets(cache, monkeypatch):
    """A datasets whose dataset_info.json held a figure derived from the sizes (here: twice the bytes) would not come
    out of the template right: nothing is kept, and each split asks datasets."""
    own = layout._dataset_info

    def derived(features, split, num_bytes, shard_rows):
        return {**own(features, split, num_bytes, shard_rows), "twice": 2 * num_bytes}

    monkeypatch.setattr(layout, "_dataset_info", derived)
    found = layout_of(TRAINING_FEATURES, "train")
    assert found.info is None
    assert not cache.exists() or not list(cache.glob("layout-*.json"))
    assert found.dataset_info(1_000, [7, 8])["twice"] == 2_000
    assert found.dataset_info(1_000, [7, 8])["splits"]["train"]["shard_lengths"] == [7, 8]


_BUILD = """
import json, sys
from pathlib import Path
from medsreg.build.pipeline import BuildOptions, run_build
run_build(BuildOptions(output=Path(sys.argv[1]), quiet=True), say=lambda *a: None, warn=lambda *a: None)
print(json.dumps({"datasets": "datasets" in sys.modules,
                  "manifest": json.loads((Path(sys.argv[1]) / "manifest.json").read_text())["datasets"]}))
"""


def test_a_build_whose_layouts_are_kept_does_not_import_datasets_and_writes_the_same_bytes(tmp_path):
    """The default build twice with a new cache: the first asks datasets, the second does not import it at all (a
    second of CPU), and both write the same files."""
    env = {**os.environ, "MEDSREG_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env.pop("MEDSREG_PLUGINS", None)
    env.pop("MEDSREG_DISABLED_PLUGINS", None)
    runs = []
    for name in ("cold", "warm"):
        done = subprocess.run([sys.executable, "-c", _BUILD, str(tmp_path / name)], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert runs[0]["datasets"] and not runs[1]["datasets"]
    assert runs[0]["manifest"] == runs[1]["manifest"]
    for path in ("mixture/train/dataset_info.json", "mixture/train/state.json", "mixture/dataset_dict.json"):
        assert (tmp_path / "cold" / path).read_bytes() == (tmp_path / "warm" / path).read_bytes()
    loaded = datasets.load_from_disk(str(tmp_path / "warm" / "mixture"))
    assert loaded["train"].features == Features.from_dict(TRAINING_FEATURES)
