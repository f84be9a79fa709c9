"""The seed's keyword filter (SEEDS.md §5): decisions just above and just below each language's H and R,
the long / short keyword rules, Chinese and Japanese matching, and agreement with the seed's own algorithm."""

from __future__ import annotations

import math
import random

import pytest

from medsreg.corpus.keywords import THRESHOLDS, KeywordFilter, is_long, read_keywords
from medsreg.errors import MedsregError

# short keywords (whole tokens) and filler words that are no keyword, per language
WORDS = {
    "en": (["patient", "doctor", "fever", "cancer", "nurse", "tumor"], "the garden was quiet in the morning light"),
    "ru": (["врач", "диагноз", "кровь", "рак", "вирус"], "утро было тихим и город спал под снегом"),
    "es": (["paciente", "médico", "fiebre", "cáncer", "dolor"], "la ciudad estaba tranquila por la mañana"),
    "fr": (["patient", "médecin", "fièvre", "cancer", "douleur"], "la ville était calme ce matin au bord de"),
    "zh": (["患者", "医生", "发热", "癌症", "护士", "肿瘤"], "今天天气很好我们一起去公园散步吧"),
    "ja": (["患者", "医師", "発熱", "腫瘍", "看護師", "手術"], "今日はいい天気なので公園を散歩しましょう"),
}


def _text(language: str, distinct: int, length: int) -> str:
    """``distinct`` keywords once each, then filler up to ``length`` characters in all."""
    keywords, filler = WORDS[language]
    joiner = "" if language in ("zh", "ja") else " "
    text = joiner.join(keywords[:distinct]) + (joiner or "。")
    pad = length - len(text)
    assert pad >= 0
    return text + (filler * (pad // len(filler) + 1))[:pad]


def _weight(language: str, distinct: int) -> int:
    return sum(len(keyword) for keyword in WORDS[language][0][:distinct])


@pytest.mark.parametrize("language", sorted(THRESHOLDS))
def test_decisions_around_the_distinct_hits_threshold(language):
    hits, ratio = THRESHOLDS[language]
    keyword_filter = KeywordFilter(language, WORDS[language][0])
    # plenty of keyword mass (ratio far above R): only the number of distinct keywords decides
    for distinct, kept in ((hits, True), (hits - 1, False)):
        text = _text(language, distinct, _weight(language, distinct) * 3)
        verdict = keyword_filter.verdict(text)
        assert verdict.distinct == distinct and verdict.ratio > 2 * ratio
        assert verdict.keep is kept, (language, distinct, text)


@pytest.mark.parametrize("language", sorted(THRESHOLDS))
def test_decisions_around_the_ratio_threshold(language):
    hits, ratio = THRESHOLDS[language]
    keyword_filter = KeywordFilter(language, WORDS[language][0])
    weight = _weight(language, hits)
    longest = math.floor(weight / ratio + 1e-9)  # the longest text whose ratio is still >= R
    at, below = _text(language, hits, longest), _text(language, hits, longest + 1)
    assert keyword_filter.verdict(at).ratio >= ratio > keyword_filter.verdict(below).ratio
    assert keyword_filter.verdict(at).distinct == keyword_filter.verdict(below).distinct == hits
    assert keyword_filter.keep(at) and not keyword_filter.keep(below)


def test_the_seed_thresholds_are_the_table_of_seeds_md():
    assert THRESHOLDS == {"en": (5, 0.04), "zh": (5, 0.05), "ja": (5, 0.05), "ru": (4, 0.02), "es": (4, 0.04), "fr": (4, 0.04)}


def test_long_and_short_keywords_follow_the_length_rule():
    assert is_long("hypertension") and is_long("blood pressure") and is_long("heart attack")
    assert not is_long("diagnosis") and not is_long("x ray") and not is_long("tumor")
    assert not is_long("ct scan".replace(" scan", "")) and is_long("ct scans")  # 8 characters, two words


def test_short_keywords_are_whole_whitespace_tokens_and_long_ones_substrings():
    keyword_filter = KeywordFilter("en", ["fever", "cancer", "hypertension", "blood pressure", "x ray"], 1, 0.0)
    counts = keyword_filter.counts("Fever, fever and FEVER. cancers prehypertension and hypertension; "
                                   "high blood pressure, blood pressures, an x ray and x rays")
    # 'Fever,' and 'FEVER.' carry punctuation: not the whole token 'fever' (the seed splits on whitespace)
    assert counts == {"fever": 1, "hypertension": 2, "blood pressure": 2, "x ray": 1}


def test_counts_weigh_each_occurrence_by_the_keyword_length():
    keyword_filter = KeywordFilter("en", ["fever", "hypertension"], 2, 0.0)
    text = "fever fever hypertension"
    verdict = keyword_filter.verdict(text)
    assert verdict.counts == {"fever": 2, "hypertension": 1}
    assert verdict.ratio == pytest.approx((2 * 5 + 12) / len(text)) and verdict.keep


def test_substring_occurrences_do_not_overlap_as_str_count():
    keyword_filter = KeywordFilter("en", ["abcabcabcab"], 1, 0.0)
    text = "abcabcabcabcabcabcab"
    assert keyword_filter.counts(text) == {"abcabcabcab": text.count("abcabcabcab")} == {"abcabcabcab": 1}


def test_chinese_and_japanese_keywords_match_as_character_runs_with_latin_boundaries():
    zh = KeywordFilter("zh", ["高血压", "CT", "HIV感染"], 1, 0.0)
    counts = zh.counts("患者有高血压，做了CT检查。doctor说，高血压患者的HIV感染和 ct 正常；OCT不算")
    assert counts == {"高血压": 2, "ct": 2, "hiv感染": 1}
    ja = KeywordFilter("ja", ["患者", "MRI"], 1, 0.0)
    assert ja.counts("患者はMRI検査を受けた。入院患者とMRIs") == {"患者": 2, "mri": 1}


def _seed_counts(keywords: list[str], text: str, spaced: bool) -> dict[str, int]:
    """The seed's algorithm as MMedC's released filter runs it: str.count for long keywords (and every keyword in
    Chinese and Japanese), whole str.split() tokens for short ones."""
    lowered = text.lower()
    tokens = lowered.split()
    counts = {}
    for keyword in {k.lower() for k in keywords}:
        count = lowered.count(keyword) if (is_long(keyword) or not spaced) else tokens.count(keyword)
        if count:
            counts[keyword] = count
    return counts


@pytest.mark.parametrize("language", ["en", "ru", "es", "fr", "zh", "ja"])
def test_agrees_with_the_seed_algorithm_on_random_texts(language):
    from medsreg.corpus.synthetic import FILLER

    spaced = language not in ("zh", "ja")
    keywords = WORDS[language][0] + (["blood pressure", "hypertension", "myocardial infarction"] if spaced else ["高血压病", "心電図検査"])
    pieces = keywords + FILLER[language].split() + [",", ".", "hyper", "tension"]
    rng = random.Random(language)
    keyword_filter = KeywordFilter(language, keywords, 1, 0.0)
    for _ in range(200):
        words = [rng.choice(pieces) for _ in range(rng.randint(0, 60))]
        text = ("" if not spaced else " ").join(words)
        assert keyword_filter.counts(text) == _seed_counts(keywords, text, spaced), text


def test_bad_keyword_lists_and_languages_are_sentences(tmp_path):
    with pytest.raises(MedsregError, match="no keyword thresholds for language 'de'.*--min-hits and --min-ratio"):
        KeywordFilter("de", ["Patient"])
    assert KeywordFilter("de", ["Patient"], 3, 0.01).min_hits == 3
    with pytest.raises(MedsregError, match="is empty"):
        KeywordFilter("en", ["  "])
    empty = tmp_path / "empty.txt"
    empty.write_text("# only a comment\n\n", encoding="utf-8")
    with pytest.raises(MedsregError, match="holds no keyword"):
        read_keywords(empty)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("fièvre\n".encode("latin-1"))
    with pytest.raises(MedsregError, match=r"latin1.txt is not UTF-8 \(byte 2\)"):
        read_keywords(latin1)
