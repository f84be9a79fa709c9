"""The corpus pipeline on datatrove: planted exact and near duplicates removed, tokens counted and windows packed,
under datatrove's LocalPipelineExecutor with 2 workers on a synthetic multilingual corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medsreg.corpus import synthetic
from medsreg.corpus.keywords import THRESHOLDS, KeywordFilter
from medsreg.corpus.packing import pack
from medsreg.corpus.pipeline import CorpusRun, run_corpus
from medsreg.corpus.steps import token_hashes
from medsreg.corpus.tokenizer import load_tokenizer

LANGUAGES = ["en", "zh", "ja", "ru", "es", "fr"]


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory) -> Path:
    rng = np.random.default_rng(7)
    texts = [synthetic.document(rng, language, 300, 0.2) for language in LANGUAGES for _ in range(15)]
    return synthetic.write_tokenizer(tmp_path_factory.mktemp("tokenizer") / "tiny", texts)


def _filters() -> dict[str, KeywordFilter]:
    return {language: KeywordFilter(language, synthetic._keywords(language)) for language in THRESHOLDS}


def _documents(output: Path) -> dict[str, dict]:
    rows = {}
    for file in sorted((output / "documents").glob("*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rows[row["id"]] = row
    return rows


def _windows(output: Path):
    import pyarrow.parquet as pq

    return pq.read_table(sorted((output / "packed").glob("*.parquet"))).to_pydict()


def test_two_workers_on_a_synthetic_multilingual_corpus(tmp_path, tokenizer_dir):
    planted = synthetic.write_corpus(tmp_path / "in", documents=360, languages=LANGUAGES, files=4, seed=3)
    assert planted["exact"] >= 10 and planted["near"] >= 10
    output = tmp_path / "out"
    manifest = run_corpus(CorpusRun(output=output, language="en", input=tmp_path / "in", filters=_filters(),
                                    tokenizer=tokenizer_dir, workers=2, window=256, stride=192))
    counts = manifest["documents"]
    assert counts["read"] == planted["documents"]
    assert counts["kept_by_filter"] == planted["medical"] + planted["exact"] + planted["near"]  # filler-only texts go
    assert counts["exact_duplicates"] == planted["exact"] and counts["near_duplicates"] == planted["near"]
    assert counts["written"] == planted["medical"] and manifest["workers"] == 2 and manifest["tasks"] == 4

    documents = _documents(output)
    assert len(documents) == planted["medical"]
    assert {row["metadata"]["language"] for row in documents.values()} == set(LANGUAGES)
    assert len({row["text"] for row in documents.values()}) == len(documents)  # no exact copy left
    tokenizer = load_tokenizer(tokenizer_dir)
    windows = _windows(output)
    assert len(windows["document"]) == manifest["windows"]
    assert sum(row["metadata"]["token_count"] for row in documents.values()) == manifest["tokens"]
    # each document's windows are exactly pack() of its tokens with EOS appended
    by_document: dict[str, list[int]] = {}
    for index, name in enumerate(windows["document"]):
        by_document.setdefault(name, []).append(index)
    assert set(by_document) == set(documents)
    for name in sorted(documents)[:40]:
        (ids,) = tokenizer.encode([documents[name]["text"]])
        assert ids[-1] == tokenizer.eos_id and len(ids) == documents[name]["metadata"]["token_count"]
        expected, mask = pack(ids, 256, 192, tokenizer.pad_id)
        rows = by_document[name]
        assert [windows["window"][i] for i in rows] == list(range(len(expected)))
        assert [windows["input_ids"][i] for i in rows] == expected.tolist()
        assert [windows["attention_mask"][i] for i in rows] == mask.tolist()
    assert not list(tmp_path.glob(".out.tmp-*"))  # the temporary folder became the output
    assert {path.name for path in output.iterdir()} == {"documents", "packed", "manifest.json", "logs"}


def _medical(language: str, seed: int, words: int = 200) -> str:
    return synthetic.document(np.random.default_rng(seed), language, words, 0.2)


def test_planted_exact_and_near_duplicates_are_removed_and_one_copy_stays(tmp_path):
    import datasketch

    a, b, c = _medical("en", 1), _medical("en", 2), _medical("zh", 3)
    near_b = synthetic.near_copy(np.random.default_rng(4), b, "en", changes=2)
    near_c = synthetic.near_copy(np.random.default_rng(5), c, "zh", changes=2)
    rows = [("a", a, "en"), ("b", b, "en"), ("c", c, "zh"), ("a-copy", a, "en"), ("b-near", near_b, "en"),
            ("a-copy-2", "  " + a + "\n", "en"), ("c-near", near_c, "zh"), ("short", "fever patient", "en"),
            ("short-copy", "fever patient", "en")]
    (tmp_path / "in").mkdir()
    for part in range(2):  # copies spread over files (tasks) of their originals
        with open(tmp_path / "in" / f"{part}.jsonl", "w", encoding="utf-8") as handle:
            for name, text, language in rows[part::2]:
                handle.write(json.dumps({"id": name, "text": text, "language": language}, ensure_ascii=False) + "\n")

    def jaccard(first: str, second: str) -> float:  # datasketch, independently of datatrove's MinHash
        signatures = []
        for text in (first, second):
            minhash = datasketch.MinHash(num_perm=256, seed=1)
            hashes = token_hashes(text)
            for k in range(hashes.size - 4):
                minhash.update(hashes[k : k + 5].tobytes())
            signatures.append(minhash)
        return signatures[0].jaccard(signatures[1])

    assert jaccard(b, near_b) > 0.8 and jaccard(c, near_c) > 0.8 and jaccard(a, b) < 0.1
    manifest = run_corpus(CorpusRun(output=tmp_path / "out", language="en", input=tmp_path / "in", filters=None))
    kept = _documents(tmp_path / "out")
    texts = [row["text"] for row in kept.values()]
    assert texts.count(a) == 1 and texts.count("fever patient") == 1
    assert (b in texts) != (near_b in texts) and (c in texts) != (near_c in texts)
    assert "  " + a + "\n" not in texts and len(kept) == 4
    assert manifest["documents"] == {"read": 9, "kept_by_filter": 9, "exact_duplicates": 3, "near_duplicates": 2,
                                     "written": 4}
    assert manifest["tokens"] is None and not (tmp_path / "out" / "packed").exists()


def test_a_plugin_loader_feeds_the_pipeline(tmp_path, tokenizer_dir):
    run = CorpusRun(output=tmp_path / "out", language="ja", loader=_loader, name="test/ja", filters=_filters(),
                    tokenizer=tokenizer_dir, workers=1, tasks=2)
    manifest = run_corpus(run)
    assert manifest["documents"]["read"] == 6 and manifest["documents"]["written"] == 2
    assert manifest["windows"] >= 2 and manifest["tasks"] == 2


def _loader():
    first, second = _medical("ja", 11), _medical("ja", 12)
    return [first, "今日はいい天気です。" * 30, second, first, "", "散歩しましょう。" * 20, "公園"]
