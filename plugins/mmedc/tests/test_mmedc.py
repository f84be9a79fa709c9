"""This plugin's own test: corpora.json is valid, the hook gives its corpora, every keyword list is usable."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from medsreg.corpus.keywords import THRESHOLDS, KeywordFilter, is_long, read_keywords
from medsreg.models import Corpus
from medsreg.validate.problems import Options
from medsreg.validate.runner import validate_paths

PLUGIN = Path(__file__).resolve().parents[1]
MODULE = PLUGIN / "medsreg_mmedc"


@pytest.fixture
def module(monkeypatch):
    monkeypatch.setattr(sys, "path", [str(PLUGIN), *sys.path])
    monkeypatch.delitem(sys.modules, "medsreg_mmedc", raising=False)
    import medsreg_mmedc

    yield medsreg_mmedc
    sys.modules.pop("medsreg_mmedc", None)


def test_the_plugin_validates_without_errors_or_warnings():
    report = validate_paths([PLUGIN], Options())
    assert [str(problem) for problem in report.problems if problem.severity != "note"] == []


def test_corpora_follow_the_seed_table_and_the_schema(module):
    corpora = module.register_corpora()
    assert all(isinstance(corpus, Corpus) for corpus in corpora)
    assert len(corpora) == 17 and len({corpus.name for corpus in corpora}) == 17
    total = sum(corpus.token_estimate for corpus in corpora)
    assert abs(total - 25.49e9) < 0.02e9  # 10.56 + 4.35 + 2.10 + 1.69 + 4.74 + 2.05
    web = [corpus for corpus in corpora if corpus.source_type == "filtered_web"]
    assert sorted(corpus.language for corpus in web) == sorted(THRESHOLDS)
    assert all(corpus.keywords and Path(corpus.keywords).is_file() for corpus in web)
    assert all(corpus.keywords is None for corpus in corpora if corpus.source_type != "filtered_web")
    (textbooks,) = [corpus for corpus in corpora if corpus.name == "mmedc/en-textbooks"]
    assert textbooks.access == "private"
    listed = json.loads((MODULE / "corpora.json").read_text(encoding="utf-8"))["corpora"]
    assert [entry["name"] for entry in listed] == [corpus.name for corpus in corpora]


@pytest.mark.parametrize("language", sorted(THRESHOLDS))
def test_each_keyword_list_is_distinct_and_mixes_long_and_short_keywords(language):
    # the lists are MMedLM's (their counts and sources: test_mmedlm_filter.py)
    keywords = read_keywords(MODULE / "keywords" / f"{language}.txt")
    assert len(set(keyword.lower() for keyword in keywords)) == len(keywords)
    assert all(keyword == keyword.strip() and "\t" not in keyword for keyword in keywords)
    if language in ("zh", "ja"):
        # runs of characters; MMedLM's lists hold a few of one character (肺, 癌), found inside any word, as there
        assert all(" " not in keyword for keyword in keywords)
    else:
        assert any(is_long(k) for k in keywords) and any(not is_long(k) for k in keywords)
    KeywordFilter(language, keywords)  # the seed's thresholds exist for it
