"""The keyword lists are MMedLM's own, and the filter decides as MMedLM's ``match_keywords`` does.

MMedLM: https://github.com/MAGIC-AI4Med/MMedLM, commit 9722bb79b344560c5958708bbc93b8b75774315b,
``data_collection/filtering/keywords.py`` (the lists) and ``filter.py`` (``MedicalTextFilter.match_keywords``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from medsreg.corpus.keywords import THRESHOLDS, KeywordFilter, read_keywords

KEYWORDS = Path(__file__).resolve().parents[1] / "medsreg_mmedc" / "keywords"
COMMIT = "9722bb79b344560c5958708bbc93b8b75774315b"

COUNTS = {"en": 167, "es": 188, "fr": 172, "ru": 171, "zh": 183, "ja": 146}
"""Distinct keywords (lower-cased) of each language in MMedLM's keywords.py at COMMIT: its two lists per
language (``<lang>_medical_biology_words``, ``<lang>_medical_words``; ``jp_`` for Japanese) hold 100 + 100
entries (99 + 100 in Japanese), many of them in both, as MMedLM's ``load_keywords`` merges them."""

FILL = {
    "en": "the garden was quiet in the morning light and the river ran past the old mill ",
    "es": "la ciudad estaba tranquila por la mañana y el río pasaba junto al viejo molino ",
    "fr": "la ville était calme ce matin et la rivière passait près du vieux moulin ",
    "ru": "утро было тихим и город спал под снегом а река текла мимо старой мельницы ",
    "zh": "今天天气很好我们一起去公园散步吧",
    "ja": "今日はいい天気なので公園を散歩しましょう",
}
"""Padding without keywords, to bring a text's keyword ratio near the language's R."""


def text(language: str, head: str, length: int) -> str:
    """``head``, then padding, ``length`` characters in all."""
    head += "。" if language in ("zh", "ja") else " "
    pad = length - len(head)
    assert pad >= 0, (head, length)
    fill = FILL[language]
    return head + (fill * (pad // len(fill) + 1))[:pad]


SIDA = "MMedLM counts the token 'sida' twice ('SIDA' and 'Sida' are both in its French lists)"
UPPER = "MMedLM's unspaced branch looks for the lower-cased keyword 'dna' in the text as written"

# (language, head, length, MMedLM's decision, why medsreg decides otherwise or None).
# MMedLM's decisions came from running MMedLM's own MedicalTextFilter.match_keywords (filter.py at commit
# 9722bb79b344560c5958708bbc93b8b75774315b, with keywords.py of that commit and its THRESHOLD table) on
# text(language, head, length), outside this repository: en_like=True (the default, as filter_file calls it)
# for en, es, fr and ru; for zh and ja its en_like=False branch, run over the long and short keywords as one
# list, because as released that branch iterates the (long, short) pair and raises TypeError.
CASES = [
    ('en', 'the patient told the doctor at the hospital that surgery and diagnosis went well', 925, True, None),
    ('en', 'the patient told the doctor at the hospital that surgery and diagnosis went well', 926, False, None),
    ('en', 'the patient told the doctor at the hospital that surgery went well', 120, False, None),
    ('en', 'the PATIENT told the Doctor at the hospital, that surgery and diagnosis went well', 120, False, None),
    ('en', 'chemotherapy-related inflammation: the patient and the doctor ordered a biopsy', 1075, True, None),
    ('en', 'chemotherapy-related inflammation: the patient and the doctor ordered a biopsy', 1076, False, None),
    ('es', 'el paciente habló con el doctor en el hospital sobre la cirugía', 725, True, None),
    ('es', 'el paciente habló con el doctor en el hospital sobre la cirugía', 726, False, None),
    ('es', 'un tratamiento con antibiótico contra la infección bacteriana', 100, False, None),
    ('es', 'un tratamiento con antibiótico contra la infección y la bacteria', 975, True, None),
    ('es', 'un tratamiento con antibiótico contra la infección y la bacteria', 976, False, None),
    ('es', 'el paciente, el doctor y el hospital', 60, False, None),
    ('fr', "le patient a vu le docteur à l'hôpital pour un diagnostic", 100, False, None),
    ('fr', 'le patient a vu le docteur pour un diagnostic et un traitement', 850, True, None),
    ('fr', 'le patient a vu le docteur pour un diagnostic et un traitement', 851, False, None),
    ('fr', 'le patient a le sida et voit le docteur', 100, True, SIDA),
    ('fr', 'le patient a le sida et voit le docteur pour un diagnostic', 700, True, None),
    ('fr', 'le patient a le sida et voit le docteur pour un diagnostic', 701, True, SIDA),
    ('ru', 'врач поставил диагноз и назначил лечение и операция прошла', 1300, True, None),
    ('ru', 'врач поставил диагноз и назначил лечение и операция прошла', 1301, False, None),
    ('ru', 'врач поставил диагноз: рак', 60, False, None),
    ('ru', 'клонированием и генетический анализ, врач и лечение', 2700, True, None),
    ('ru', 'клонированием и генетический анализ, врач и лечение', 2701, False, None),
    ('zh', '患者在医院接受手术治疗后康复', 280, True, None),
    ('zh', '患者在医院接受手术治疗后康复', 281, False, None),
    ('zh', '医生给病人做检查和诊断', 40, False, None),
    ('zh', '医生给病人做肺部检查和诊断', 180, True, None),
    ('zh', '医生给病人做肺部检查和诊断', 181, False, None),
    ('ja', '患者は病院で医師の診断を受けて手術した', 200, True, None),
    ('ja', '患者は病院で医師の診断を受けて手術した', 201, False, None),
    ('ja', '患者は病院で医師の診断とDNA検査を受けた', 60, False, UPPER),
    ('ja', '患者は病院で医師の診断とdna検査を受けた', 220, True, None),
    ('ja', '患者は病院で医師の診断とdna検査を受けた', 221, False, None),
    ('ja', '患者は病院で医師の診断とmRNAワクチン', 60, False, None),
]


@pytest.mark.parametrize("language", sorted(THRESHOLDS))
def test_each_list_is_mmedlms_with_its_attribution(language):
    path = KEYWORDS / f"{language}.txt"
    keywords = read_keywords(path)
    assert len(keywords) == COUNTS[language] == len({keyword.lower() for keyword in keywords})
    header = path.read_text(encoding="utf-8").split("\n\n")[0]
    for needed in ("https://github.com/MAGIC-AI4Med/MMedLM", "data_collection/filtering/keywords.py", COMMIT,
                   "CC BY-SA", "MAGIC: Medical Artificial General Intelligence Consortium"):
        assert needed in header, (language, needed)


def test_a_few_keywords_of_each_list_as_mmedlm_spells_them():
    lists = {language: read_keywords(KEYWORDS / f"{language}.txt") for language in COUNTS}
    assert lists["en"][:3] == ["Cell", "Gene", "DNA"] and lists["en"][-1] == "Genome" and "CT Scan" in lists["en"]
    assert lists["es"][:3] == ["Biología", "Médico", "Célula"] and "Otorrinolaringólogo" in lists["es"]
    assert lists["fr"][:3] == ["Cellule", "ADN", "ARN"] and "SIDA" in lists["fr"] and "Sida" not in lists["fr"]
    assert lists["ru"][:3] == ["Биология", "Медицина", "Генетика"] and "Гиппократическая клятва" in lists["ru"]
    assert lists["zh"][:3] == ["医学", "生物学", "细胞"] and "肺" in lists["zh"] and lists["zh"][-1] == "疫苗疫苗"
    assert lists["ja"][:3] == ["医学", "生物学", "細胞"] and {"DNA", "RNA", "HIV", "癌"} <= set(lists["ja"])


@pytest.mark.parametrize("language", sorted(THRESHOLDS))
def test_the_fixtures_cover_both_decisions_of_each_language(language):
    decisions = {official for case_language, _, _, official, _ in CASES if case_language == language}
    assert decisions == {True, False}


@pytest.mark.parametrize(("language", "head", "length", "official", "deviation"), CASES,
                         ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)])
def test_decisions_are_mmedlms(language, head, length, official, deviation):
    keyword_filter = KeywordFilter(language, read_keywords(KEYWORDS / f"{language}.txt"))
    expected = official if deviation is None else not official
    assert keyword_filter.keep(text(language, head, length)) is expected, deviation
