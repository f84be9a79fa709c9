"""``medsreg corpus``: running a registered corpus or a folder, listing corpora, and bad input as one sentence
with exit code 1 (never a traceback): a file that is not UTF-8, an empty or unknown language, a tokenizer
without EOS, an existing output, an unknown or unconfigured corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medsreg.cli import cli
from medsreg.corpus import synthetic


@pytest.fixture
def corpus(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    with open(folder / "a.jsonl", "w", encoding="utf-8") as handle:
        for index in range(6):
            handle.write(json.dumps({"id": f"d{index}", "text": synthetic.document(rng, "en", 200, 0.2)}) + "\n")
    return folder


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory) -> Path:
    rng = np.random.default_rng(1)
    return synthetic.write_tokenizer(tmp_path_factory.mktemp("tok") / "tiny",
                                     [synthetic.document(rng, "en", 200, 0.2) for _ in range(20)], vocab_size=500)


def _fails(runner, args: list[str]) -> str:
    result = runner.invoke(cli, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


def test_run_on_a_folder_writes_the_output_and_a_summary(runner, corpus, tmp_path, tokenizer_dir):
    result = runner.invoke(cli, ["corpus", "run", "--input", str(corpus), "--language", "en", "--output",
                                 str(tmp_path / "out"), "--tokenizer", str(tokenizer_dir), "--window", "64",
                                 "--stride", "48", "-q"])
    assert result.exit_code == 0, result.output
    assert "6 documents read, 6 kept by the filter, 0 exact and 0 near duplicates removed, 6 written" in result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["window"] == 64 and manifest["stride"] == 48 and manifest["tokens"] > 6 * 64
    assert manifest["filter"]["en"] == {"min_hits": 5, "min_ratio": 0.04, "keywords": manifest["filter"]["en"]["keywords"]}
    # an existing output is kept unless --overwrite
    message = _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", "en", "--output", str(tmp_path / "out")])
    assert "already exists; pass --overwrite" in message
    result = runner.invoke(cli, ["corpus", "run", "--input", str(corpus), "--language", "en", "--output",
                                 str(tmp_path / "out"), "--overwrite", "--no-filter", "-q"])
    assert result.exit_code == 0 and not (tmp_path / "out" / "packed").exists()


def test_a_registered_corpus_runs_from_its_configured_folder(runner, corpus, tmp_path):
    listed = runner.invoke(cli, ["corpus", "list", "--json"])
    assert listed.exit_code == 0
    rows = {row["name"]: row for row in json.loads(listed.output)}
    assert rows["mmedc/en-web"]["keyword_filter"] and rows["mmedc/en-web"]["token_estimate"] == 6_560_000_000
    assert rows["mmedc/en-textbooks"]["access"] == "private" and not rows["mmedc/en-textbooks"]["keyword_filter"]
    message = _fails(runner, ["corpus", "run", "--corpus", "mmedc/en-web", "--output", str(tmp_path / "out")])
    assert "corpus mmedc/en-web: not available" in message and "MEDSREG_SOURCE_MMEDC_EN_WEB" in message
    result = runner.invoke(cli, ["corpus", "run", "--corpus", "en-web", "--source", f"mmedc-en-web={corpus}",
                                 "--output", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["corpus"] == "mmedc/en-web" and manifest["source_type"] == "filtered_web"
    assert manifest["license"] == "CC-BY-NC-SA-4.0" and manifest["documents"]["written"] == 6


def test_a_file_that_is_not_utf8_names_the_file_and_the_byte(runner, corpus, tmp_path):
    good = (corpus / "a.jsonl").read_bytes()
    bad = good + b'{"id": "x", "text": "caf\xe9 patient"}\n'
    (corpus / "b.jsonl").write_bytes(bad)
    message = _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", "en", "--output",
                              str(tmp_path / "out"), "--workers", "2"])
    offset = len(good) + len(b'{"id": "x", "text": "caf')
    assert f"{corpus / 'b.jsonl'} is not UTF-8: byte {offset} (0xe9)" in message and "iconv" in message
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.tmp-*"))  # nothing half written
    (corpus / "b.jsonl").unlink()
    (corpus / "c.txt").write_bytes("fièvre".encode("utf-16"))
    message = _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", "en", "--output", str(tmp_path / "out")])
    assert f"{corpus / 'c.txt'} is not UTF-8: byte 0 (0xff)" in message


@pytest.mark.parametrize(("language", "expected"), [
    ("", "the language is empty; give the corpus's ISO 639-1 code with --language"),
    ("  ", "the language is empty"),
    ("xx", "'xx' is not an ISO 639-1 language code"),
    ("english", "'english' is not an ISO 639-1 language code"),
    ("de", "no keyword list for language 'de': pass --keywords FILE"),
])
def test_empty_and_unknown_languages_are_sentences(runner, corpus, tmp_path, language, expected):
    message = _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", language, "--output", str(tmp_path / "o")])
    assert expected in message


def test_a_language_without_the_seed_thresholds_needs_them(runner, corpus, tmp_path):
    keywords = tmp_path / "de.txt"
    keywords.write_text("Patient\nDiagnose\n", encoding="utf-8")
    base = ["corpus", "run", "--input", str(corpus), "--language", "de", "--keywords", str(keywords), "--output", str(tmp_path / "o")]
    assert "no keyword thresholds for language 'de'" in _fails(runner, base)
    result = runner.invoke(cli, [*base, "--min-hits", "1", "--min-ratio", "0.001", "-q"])
    assert result.exit_code == 0 and "6 documents read" in result.output


def test_a_tokenizer_without_eos_is_a_sentence(runner, corpus, tmp_path, tokenizer_dir):
    no_eos = tmp_path / "no-eos"
    no_eos.mkdir()
    (no_eos / "tokenizer.json").write_text((tokenizer_dir / "tokenizer.json").read_text(encoding="utf-8"), encoding="utf-8")
    (no_eos / "tokenizer_config.json").write_text('{"pad_token": "<pad>"}', encoding="utf-8")
    message = _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", "en", "--output", str(tmp_path / "o"),
                              "--tokenizer", str(no_eos)])
    assert f"tokenizer {no_eos} has no EOS token" in message
    (no_eos / "tokenizer_config.json").write_text('{"eos_token": "<|end|>"}', encoding="utf-8")
    message = _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", "en", "--output", str(tmp_path / "o"),
                              "--tokenizer", str(no_eos)])
    assert "names '<|end|>' as the EOS token, which is not in its vocabulary" in message
    assert "is not a folder" in _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", "en",
                                                "--output", str(tmp_path / "o"), "--tokenizer", str(tmp_path / "none")])
    assert not (tmp_path / "o").exists()


def test_other_bad_input_is_a_sentence(runner, corpus, tmp_path):
    out = ["--output", str(tmp_path / "o")]
    assert "no corpus named 'mmedc/xx-web'" in _fails(runner, ["corpus", "run", "--corpus", "mmedc/xx-web", *out])
    (tmp_path / "empty").mkdir()
    assert "holds no corpus file" in _fails(runner, ["corpus", "run", "--input", str(tmp_path / "empty"), "--language", "en", *out])
    assert "does not exist" in _fails(runner, ["corpus", "run", "--input", str(tmp_path / "missing"), "--language", "en", *out])
    (corpus / "bad.jsonl").write_text('{"id": 1, "body": "x"}\n', encoding="utf-8")
    assert "line 1 has no \"text\" string" in _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", "en", *out])
    (corpus / "bad.jsonl").write_text('{"text": "x"\n', encoding="utf-8")
    assert "line 1 is not JSON" in _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", "en", *out])
    (corpus / "bad.jsonl").write_text('{"text": "un patient", "language": "it"}\n', encoding="utf-8")
    message = _fails(runner, ["corpus", "run", "--input", str(corpus), "--language", "en", *out])
    assert "is in language 'it', for which this run has no keyword list" in message
    result = runner.invoke(cli, ["corpus", "run", "--language", "en", *out])
    assert result.exit_code == 2 and "exactly one of --corpus NAME or --input PATH" in result.output
