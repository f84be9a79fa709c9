"""The overlap index (validate's leakage check, build's decontamination): tokens, hashes, matches.

The vectorized implementation is checked against its definitions: :func:`tokens` (Python's ``\\w+`` on the
lower-cased text) for the tokenization, and a plain-Python oracle of the matching rules (boilerplate learned
per group on both sides, informative tokens, coverage of at least MIN_TOKENS and MIN_SHARE, normalized
equality and containment of short references with MIN_TOKENS, the longest shared run as evidence) for the
matches; then each rule on a case built for it.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
import re
import subprocess
import sys
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medsreg import overlap
from medsreg.overlap import (
    BOILERPLATE_FLOOR,
    CONTAINED,
    EQUAL,
    MIN_SHARE,
    MIN_TOKENS,
    NGRAM,
    SPAN_TOKENS,
    Match,
    OverlapIndex,
    boilerplate_holders,
    tokens,
)

SHARES = f"shares a {NGRAM}-gram with"

MULTILINGUAL = [
    "A 45-year-old Patient presented with CHEST pain; ECG showed ST-elevation (V1–V4).",
    "患者男性，45岁，因胸痛3小时入院。心电图提示ST段抬高。",
    "患者は45歳の男性で、胸痛のため救急外来を受診した。カテーテル検査を行った。",
    "Пациент 45 лет поступил с БОЛЬЮ в груди; ЭКГ: подъём сегмента ST.",
    "Le patient âgé de 45 ans présente une douleur thoracique; l'ÉCG montre un sus-décalage.",
    "El paciente, de 45 años, acudió por dolor torácico y disnea. ¿Niega fiebre? Sí, niega ÑANDÚ.",
    "snake_case __dunder__ x_1 2nd 3.14159 1,000 mg/dL 5% 37°C µg ½ ² Ⅻ ① ١٢٣ ๓",
    "Punctuation!!! ... --- (brackets) [more] {curly} <angle> «guillemets» “quotes” 'single' `tick` @#$%^&*",
    "ΟΔΟΣ οδος ὈΔΥΣΣΕΎΣ ΣΑΣ İstanbul KELVIN: K Ω ẞ ǅ ﬁ",  # final sigma, dotted I, signs that lower-case off ASCII
    "Cafe\u0301 nai\u0308ve क्षत्रिय हिन्दी עִבְרִית العَرَبِيَّة ไทย 한국어 𝐀𝐁𝐂 𠀀𠀁 🙂👍🏽",  # combining marks, astral
    "tabs\tand\nnew\r\nlines\u00a0nbsp\u2003em\u200bzero-width\ufeffbom",
    "nul\x00inside\x00text and a lone surrogate \ud800 here \udfff",
    "",
    "!!! ??? ...",
    "x" * 300 + " " + "ä" * 200 + " short " + "y" * 17 + " " + "z" * 16 + " " + "w" * 24,
]


@pytest.fixture(params=["bytes", "re"])
def split_path(request, monkeypatch):
    """Both ways to split non-ASCII text: numpy on its bytes, or ``re`` for text of few tokens per byte (Chinese)."""
    monkeypatch.setattr(overlap, "_WIDE", float("inf") if request.param == "bytes" else 0.0)
    return request.param


def split_tokens(texts: list[str]) -> list[list[str]]:
    """The tokens the vectorized path finds, read back as text."""
    blob, starts, ends, counts = overlap._split(texts)
    words = [blob[start:end].decode("utf-8", "surrogatepass") for start, end in zip(starts.tolist(), ends.tolist())]
    bounds = np.r_[0, np.cumsum(counts)].tolist()
    return [words[a:b] for a, b in zip(bounds, bounds[1:])]


def token_hashes(texts: list[str]) -> list[list[int]]:
    tokenized = overlap._Tokenized(texts)
    bounds = tokenized.offsets.tolist()
    return [tokenized.hashes[a:b].tolist() for a, b in zip(bounds, bounds[1:])]


# --------------------------------------------------------------------------- tokens


def test_tokens_are_python_word_characters_of_the_lower_cased_text_with_each_ideograph_alone():
    assert tokens("The PATIENT's BP: 120/80 mm_Hg.") == ["the", "patient", "s", "bp", "120", "80", "mm_hg"]
    assert tokens("心电图ST段抬高, 日本語テキスト 한국어") == ["心", "电", "图", "st", "段", "抬", "高", "日", "本", "語", "テ", "キ",
                                                     "ス", "ト", "한국어"]
    for text in MULTILINGUAL:  # every \w run, cut before and after each kana or ideograph
        runs = re.findall(r"\w+", text.lower())
        assert "".join(tokens(text)) == "".join(runs)
        assert all(len(token) == 1 or not re.search(f"[{overlap._IDEOGRAPHS}]", token) for token in tokens(text))


def test_vectorized_split_finds_the_tokens_on_a_multilingual_sample(split_path):
    assert split_tokens(MULTILINGUAL) == [tokens(text) for text in MULTILINGUAL]
    chinese = split_tokens([MULTILINGUAL[1]])[0]
    assert chinese == [*"患者男性", "45", "岁", *"因胸痛", "3", *"小时入院", *"心电图提示", "st", *"段抬高"]
    assert split_tokens(["ΟΔΟΣ", "İstanbul"]) == [["οδος"], ["i", "stanbul"]]  # as str.lower() has them


def test_vectorized_split_agrees_on_every_code_point(split_path):
    # every code point (surrogates included) between two letters, upper-cased and not: one scan of the table
    texts = [f"a{chr(c)}b {chr(c).upper()}Z{chr(c)}" for c in range(0x110000) if c % 7 == 0 or c < 0x3000]
    texts += ["".join(map(chr, range(start, min(start + 512, 0x110000)))) for start in range(0, 0x110000, 512)]
    assert split_tokens(texts) == [tokens(text) for text in texts]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=()), max_size=40), max_size=8))
def test_vectorized_split_agrees_on_any_text(texts):
    expected = [tokens(text) for text in texts]
    wide = overlap._WIDE
    try:
        for overlap._WIDE in (float("inf"), 0.0):  # numpy on the bytes, then re
            assert split_tokens(texts) == expected
    finally:
        overlap._WIDE = wide


def test_text_boundaries_never_join_tokens(split_path):
    assert split_tokens(["abc", "def", "", "ghi jkl", "mno"]) == [["abc"], ["def"], [], ["ghi", "jkl"], ["mno"]]


# --------------------------------------------------------------------------- hashes


def test_a_token_hash_depends_on_the_token_alone(split_path):
    words = ["a", "ab", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "abcdefghijklmnopq", "x" * 40, "y" * 300, "é" * 9]
    hashes = token_hashes([" ".join(words), " -- ".join(reversed(words)).upper(), "z " + " ".join(words)])
    assert hashes[0] == hashes[1][::-1] == hashes[2][1:]


def test_distinct_tokens_have_distinct_hashes(split_path):
    rng = random.Random(5)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789_éß中"
    words = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(20_000)}
    words |= {"a" * n for n in range(1, 300)} | {"a" * n + "b" for n in range(1, 300)}  # every length, past 256
    words = sorted(word for word in words if tokens(word) == [word])
    hashes = token_hashes([" ".join(words)])[0]
    assert len(hashes) == len(words) and len(set(hashes)) == len(words)


HASH_SCRIPT = """
import json, sys
from medsreg import overlap
texts = json.loads(sys.stdin.read())
tokenized = overlap._Tokenized(texts)
index = overlap.OverlapIndex(texts[:3])
print(json.dumps([tokenized.hashes.tolist(), [[m.text, m.reference, m.how, m.covered] for m in index.matches(texts)]]))
"""


def test_hashes_and_matches_are_the_same_in_every_process():
    texts = MULTILINGUAL[:4] + [MULTILINGUAL[0].upper() + " and more", " ".join(tokens(MULTILINGUAL[3])[2:])]
    runs = []
    for seed in ("1", "2", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run([sys.executable, "-c", HASH_SCRIPT], input=json.dumps(texts), env=env,
                                capture_output=True, text=True, check=True)
        runs.append(json.loads(result.stdout))
    assert runs[0] == runs[1] == runs[2]
    here = overlap._Tokenized(texts).hashes.tolist()
    assert runs[0][0] == here
    assert runs[0][1] == [[m.text, m.reference, m.how, m.covered] for m in OverlapIndex(texts[:3]).matches(texts)]
    assert {how for _, _, how, _ in runs[0][1]} == {EQUAL, SHARES}


# --------------------------------------------------------------------------- matches


def limit(instances: int) -> int:
    """boilerplate_holders, written out: ceil(sqrt(n)), at least the floor."""
    return max(BOILERPLATE_FLOOR, math.ceil(math.sqrt(instances)))


def evidence(words: list[str], run: tuple[int, int]) -> str:
    shown = words[run[0] : run[1]]
    return " ".join(shown[:SPAN_TOKENS]) + (" ..." if len(shown) > SPAN_TOKENS else "")


def oracle(references: list[str], texts: list[str], size: int = NGRAM, groups=None, text_groups=None,
           chunk: int | None = None) -> list[tuple]:
    """The rules in plain Python: (text, reference, how, covered, informative, span) of each leaking pair, by text
    then reference; the streamed side's boilerplate is learned per chunk, among the windows a reference holds."""
    groups = list(groups) if groups is not None else [0] * len(references)
    words = [tokens(text) for text in references]
    sizes = Counter(groups)
    holders: dict[tuple, set] = defaultdict(set)  # (window, group) -> the distinct texts holding it
    for position, these in enumerate(words):
        for at in range(len(these) - size + 1):
            holders[tuple(these[at : at + size]), groups[position]].add(tuple(these))
    boilerplate = {key for key, held in holders.items() if len(held) >= limit(sizes[key[1]])}
    keys = {window for window, group in holders if (window, group) not in boilerplate}
    informative = []
    for position, these in enumerate(words):
        flags = [True] * len(these)
        for at in range(len(these) - size + 1):
            if (tuple(these[at : at + size]), groups[position]) in boilerplate:
                flags[at : at + size] = [False] * size
        informative.append(flags)
    lengths = {len(these) for these in words if MIN_TOKENS <= len(these) < size}
    chunk = chunk or max(1, len(texts))
    out = []
    for first in range(0, len(texts), chunk):
        part = [tokens(text) for text in texts[first : first + chunk]]
        part_groups = list(text_groups[first : first + chunk]) if text_groups is not None else [0] * len(part)
        held: dict[tuple, set] = defaultdict(set)
        for these, group in zip(part, part_groups):
            for length in lengths | {size}:
                for at in range(len(these) - length + 1):
                    held[tuple(these[at : at + length]), group].add(tuple(these))
        counts = Counter(part_groups)
        text_boilerplate = {key for key, texts_holding in held.items() if len(texts_holding) >= limit(counts[key[1]])}
        for offset, (these, group) in enumerate(zip(part, part_groups)):
            plain = [True] * len(these)  # tokens under none of the group's boilerplate windows (that a reference holds)
            for at in range(len(these) - size + 1):
                if (window := tuple(these[at : at + size])) in keys and (window, group) in text_boilerplate:
                    plain[at : at + size] = [False] * size
            for position, reference in enumerate(words):
                total = sum(informative[position])
                if these == reference and total >= MIN_TOKENS:
                    out.append((first + offset, position, EQUAL, total, total, evidence(reference, (0, len(reference)))))
                elif len(reference) >= size:
                    shared = [(at, there) for at in range(len(reference) - size + 1)
                              for there in range(len(these) - size + 1)
                              if (window := tuple(reference[at : at + size])) == tuple(these[there : there + size])
                              and (window, groups[position]) not in boilerplate and (window, group) not in text_boilerplate]
                    covered = {at + k for at, there in shared for k in range(size)
                               if informative[position][at + k] and plain[there + k]}
                    if len(covered) >= MIN_TOKENS and len(covered) >= MIN_SHARE * total:
                        runs: list[list[int]] = []
                        for at in sorted({at for at, _ in shared}):
                            if runs and at <= runs[-1][1]:
                                runs[-1][1] = at + size
                            else:
                                runs.append([at, at + size])
                        best = max(runs, key=lambda run: run[1] - run[0])  # the first of the longest
                        out.append((first + offset, position, SHARES, len(covered), total, evidence(reference, best)))
                elif len(reference) >= MIN_TOKENS and (tuple(reference), group) not in text_boilerplate:
                    length = len(reference)
                    covered = max((sum(plain[at : at + length]) for at in range(len(these) - length + 1)
                                   if these[at : at + length] == reference), default=0)
                    if covered >= MIN_TOKENS and covered >= MIN_SHARE * length:
                        out.append((first + offset, position, CONTAINED, covered, length, evidence(reference, (0, length))))
    return out


def found(index: OverlapIndex, texts, groups=None) -> list[tuple]:
    return [(m.text, m.reference, m.how, m.covered, m.informative, m.span) for m in index.matches(texts, groups)]


VOCABULARY = ("patient fever cough chest pain acute chronic dose daily oral therapy risk outcome "
              "müde fièvre 发热 咳嗽 лихорадка tos dolor").split()
TEMPLATE = "You are a doctor: read the case and answer the question with the letter of the best option only."
PHRASE = "the following phrase is held by many training texts of one task and by a single test text"


def sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(low, high)))


def corpus(seed: int = 3):
    """(references, their groups, texts, their groups): templated and plain test tasks, short references, pieces
    of every size planted in the texts, a phrase one training task holds everywhere."""
    rng = random.Random(seed)
    references = [f"{TEMPLATE} {sentence(rng, 8, 30)}" for _ in range(40)]  # a template group: informative = the rest
    references += [f"{TEMPLATE} {sentence(rng, 2, 4)}" for _ in range(3)]  # mostly template: under MIN_TOKENS left
    references += [sentence(rng, 30, 60) for _ in range(20)] + [f"{sentence(rng, 5, 8)} {PHRASE}"]
    references += [sentence(rng, 8, 12) for _ in range(12)] + [sentence(rng, 3, 7) for _ in range(4)]
    references += ["", "!!!", "1.", references[45].upper()]  # no tokens, a trivial one, a duplicate once normalized
    groups = ["templated"] * 43 + ["plain"] * 21 + ["short"] * 16 + ["plain"] * 4
    texts = [sentence(rng, 20, 80) for _ in range(300)]
    text_groups = ["one"] * 150 + ["other"] * 150
    for text_at in rng.sample(range(300), 120):  # plant pieces of references: 12 to all of their words
        words = tokens(rng.choice(references))
        if len(words) < 3:
            continue
        take = rng.choice([NGRAM - 1, NGRAM, NGRAM + 3, len(words) // 2, len(words) // 2 + 2, len(words) * 3 // 4, len(words)])
        start = rng.randint(0, max(0, len(words) - take))
        texts[text_at] += " , " + " ".join(words[start : start + take]).title() + "."
    for text_at in range(150, 170):  # a phrase every twentieth... of task 'other' holds: its boilerplate there
        texts[text_at] = f"{sentence(rng, 3, 6)} {PHRASE} {sentence(rng, 3, 6)}"
    texts[10] = f"{sentence(rng, 3, 6)} {PHRASE} {sentence(rng, 3, 6)}"  # the same phrase in task 'one': no template there
    texts[11] = f"{TEMPLATE} {sentence(rng, 20, 30)}"  # the template with other content
    texts += [references[47].swapcase() + "?!", references[66], "", "...", "1.", references[3], references[42]]
    text_groups += ["other"] * 7
    return references, groups, texts, text_groups


def test_boilerplate_holders_grow_with_the_square_root_of_a_task():
    assert [boilerplate_holders(n) for n in (1, 12, 40, 1500, 13_000, 1_000_000)] == [5, 5, 7, 39, 115, 1000]


def test_matches_follow_the_rules_on_a_mixed_corpus(split_path):
    references, groups, texts, text_groups = corpus()
    result = found(OverlapIndex(references, groups=groups), texts, text_groups)
    assert result == oracle(references, texts, groups=groups, text_groups=text_groups)
    hows = Counter(how for _, _, how, *_ in result)
    assert set(hows) == {EQUAL, SHARES, CONTAINED} and hows[SHARES] >= 10
    # pieces under MIN_SHARE of their reference were planted too: a 13-gram shared is not enough
    pairs = {(text, reference) for text, reference, *_ in result}
    grams = [{tuple(words[at : at + NGRAM]) for at in range(len(words) - NGRAM + 1)} for words in map(tokens, references)]
    sharing = {(text, reference) for text, words in enumerate(map(tokens, texts)) for reference, held in enumerate(grams)
               if held & {tuple(words[at : at + NGRAM]) for at in range(len(words) - NGRAM + 1)}}
    assert len(sharing - pairs) >= 20
    # the reference holding PHRASE: found in task 'one', where one text holds it; a template of task 'other'
    assert PHRASE in references[63]
    assert [(text, how) for text, reference, how, *_ in result if reference == 63] == [(10, SHARES)]


def test_groups_decide_what_is_boilerplate():
    references, groups, texts, text_groups = corpus(5)
    index = OverlapIndex(references, groups=groups)
    assert index.informative(0) == len(tokens(references[0])) - len(tokens(TEMPLATE))
    assert all(index.informative(position) < MIN_TOKENS for position in (40, 41, 42))
    # one group: the 40 templated references are 40 of 84, still over sqrt(84), the template is still learned
    assert OverlapIndex(references).informative(0) == index.informative(0)
    # PHRASE is task 'other''s template; in task 'one' it is a single text's, and leaks reference 63
    assert [m.text for m in index.matches(texts, text_groups) if m.reference == 63] == [10]
    # without the texts' groups, the 21 texts holding it are one task's (21 >= sqrt(307)): a template there
    assert found(index, texts) == oracle(references, texts, groups=groups)
    assert [m.text for m in index.matches(texts) if m.reference == 63] == []


@pytest.mark.parametrize("chunk, piece", [(1, 1 << 20), (7, 50), (64, 1), (1000, 300)])
def test_chunk_and_piece_boundaries_change_nothing_but_what_a_chunk_learns(monkeypatch, chunk, piece):
    references, groups, texts, text_groups = corpus(4)
    monkeypatch.setattr(overlap, "CHUNK", chunk)
    monkeypatch.setattr(overlap, "_PIECE", piece)
    index = OverlapIndex(references, groups=groups)  # the references are read in chunks too
    assert found(index, iter(texts), iter(text_groups)) == oracle(references, texts, groups=groups,
                                                                 text_groups=text_groups, chunk=chunk)


def test_coverage_needs_most_of_the_reference_and_min_tokens():
    rng = random.Random(11)
    words = tokens(sentence(rng, 40, 40))[:40]  # 40 tokens (an ideograph is one)
    reference = " ".join(words)
    filler = "zebra " * 30
    half = filler + " ".join(words[5:25]).upper() + ". " + filler  # 20 of 40: exactly MIN_SHARE
    under = filler + " ".join(words[5:24]) + " " + filler  # 19 of 40
    split = filler + " ".join(words[0:12]) + " | zebra | " + " ".join(words[12:40]) + " " + filler  # 12 + 28: two runs
    near_miss = filler + " | ".join(" ".join(words[at : at + 12]) for at in range(0, 40, 10)) + filler  # no 13-gram
    index = OverlapIndex([reference])
    result = [(m.text, m.how, m.covered, m.share, m.span) for m in index.matches([under, half, split, near_miss])]
    assert result == [(1, SHARES, 20, 0.5, " ".join(words[5:25])),
                      (2, SHARES, 28, 0.7, " ".join(words[12:32]) + " ...")]
    assert list(OverlapIndex([reference], size=5).matches([near_miss]))  # the size is a parameter


def test_an_equal_text_needs_min_tokens():
    references = ["Which enzyme is inhibited by allopurinol in patients with gout?", "1.", "Methods.",
                  "something else entirely", "WHICH enzyme is: inhibited by ALLOPURINOL in patients with GOUT"]
    texts = ["which   ENZYME is inhibited by Allopurinol in patients with gout ...", "1.", "methods",
             "Which enzyme is inhibited by allopurinol in patients? Why?"]
    result = [(m.text, m.reference, m.how, m.share, m.span) for m in OverlapIndex(references).matches(texts)]
    span = "which enzyme is inhibited by allopurinol in patients with gout"
    assert result == [(0, 0, EQUAL, 1.0, span), (0, 4, EQUAL, 1.0, span)]  # every equal test instance is named


def test_an_equal_hash_is_not_taken_for_an_equal_text(monkeypatch):
    # every whole text hashes alike: only the normalized texts themselves tell them apart
    monkeypatch.setattr(overlap._Tokenized, "texts", lambda self: np.zeros(self.offsets.size - 1, np.uint64))
    rng = random.Random(9)
    references = [sentence(rng, 9, 12) for _ in range(5)]  # under the n-gram: only equality or containment
    references.insert(3, references[1].upper())
    texts = [sentence(rng, 5, 10), references[4] + "!", references[1].lower(), sentence(rng, 30, 40)]
    result = [(m.text, m.reference, m.how) for m in OverlapIndex(references).matches(texts)]
    assert result == [(1, 4, EQUAL), (2, 1, EQUAL), (2, 3, EQUAL)]


def test_a_short_reference_matches_when_contained():
    short = "Is aspirin safe in the third trimester of pregnancy"  # 10 tokens: under the 13-gram
    assert MIN_TOKENS <= len(tokens(short)) < NGRAM
    too_short = "aspirin in pregnancy is it safe"  # 6 tokens: never contained
    index = OverlapIndex([short, too_short])
    texts = [f"Question: {short.lower()}? Answer briefly.", "Is aspirin safe in the third trimester", f"Q: {too_short}!",
             "Is aspirin safe in the third - no - trimester of pregnancy", too_short]
    result = [(m.text, m.reference, m.how, m.share, m.span) for m in index.matches(texts)]
    assert result == [(0, 0, CONTAINED, 1.0, " ".join(tokens(short)))]


def test_a_template_and_a_first_option_are_no_leak_but_the_question_is():
    rng = random.Random(2)
    template = "Which of the following is the best treatment for this patient? ###Options: A. {} B. {} C. {}"
    options = ["amoxicillin", "azithromycin", "ceftriaxone", "doxycycline", "vancomycin", "metronidazole"]

    def question(first: str) -> str:
        return f"###Question: {sentence(rng, 12, 20)} " + template.format(first, *rng.sample(options, 2))

    references = [question(rng.choice(options)) for _ in range(40)]
    texts = [question(tokens(references[at])[-5]) for at in range(40)]  # each test's first option, another question
    texts += [references[7].replace("###Question:", "Q:").replace(" C. ", " D. ")]  # the question copied
    result = [(m.text, m.reference) for m in OverlapIndex(references).matches(texts)]
    assert result == [(40, 7)]
    # GPT-3's rule (any shared 13-gram, template windows of this task aside) would call most of them leaks
    shared = {tuple(tokens(text)[at : at + NGRAM]) for text in texts[:40] for at in range(len(tokens(text)) - NGRAM + 1)}
    assert sum(any(tuple(tokens(r)[at : at + NGRAM]) in shared for at in range(len(tokens(r)) - NGRAM + 1))
               for r in references) >= 30


def test_the_texts_side_learns_its_templates_too():
    template = "Summarize the findings of the following chest radiograph report for the referring physician in one line"
    rng = random.Random(4)
    reference = f"{template}: {sentence(rng, 6, 6)}"  # one test text: no group of its own to learn the template from
    informative = len(tokens(reference))
    assert OverlapIndex([reference]).informative(0) == informative
    task = [f"{template}: {sentence(rng, 10, 20)}" for _ in range(30)]
    assert list(OverlapIndex([reference]).matches(task)) == []  # the template is the training task's boilerplate
    alone = list(OverlapIndex([reference]).matches(task[:1]))  # one such text is evidence: most of the reference
    assert [(m.text, m.covered) for m in alone] == [(0, len(tokens(template)))]
    # the same text copied many times is no template: distinct texts are counted
    copies = [f"{reference} Also noted."] * 30 + [reference] * 30
    assert [m.how for m in OverlapIndex([reference]).matches(copies)] == [SHARES] * 30 + [EQUAL] * 30


def test_a_real_copy_is_found_whatever_else_the_groups_hold():
    rng = random.Random(6)
    big = [sentence(rng, 20, 40) for _ in range(3000)]
    small = [f"{TEMPLATE} {sentence(rng, 10, 20)}" for _ in range(12)]
    references = big + small
    groups = ["big"] * 3000 + ["small"] * 12
    index = OverlapIndex(references, groups=groups)
    # 12 holders are no template in 3,012 texts, but are in a task of 12
    assert index.informative(3005) == len(tokens(references[3005])) - len(tokens(TEMPLATE))
    texts = [f"{TEMPLATE} {sentence(rng, 5, 8)}", references[3005] + " and more", references[17].upper()]
    assert [(m.text, m.reference, m.how) for m in index.matches(texts)] == [(1, 3005, SHARES), (2, 17, EQUAL)]


def test_groups_must_match_the_texts():
    with pytest.raises(ValueError, match="2 groups for 3 texts"):
        OverlapIndex(["a", "b", "c"], groups=["x", "y"])
    with pytest.raises(ValueError, match="1 groups for 2 texts"):
        list(OverlapIndex(["a"]).matches(["a", "b"], groups=["x"]))


def test_the_span_is_cut_after_span_tokens():
    words = [f"word{i}" for i in range(40)]
    match = next(OverlapIndex([" ".join(words)]).matches([" ".join(words).upper()]))
    assert isinstance(match, Match) and match.how == EQUAL
    assert match.span == " ".join(words[:SPAN_TOKENS]) + " ..."


def test_an_empty_index_and_empty_inputs():
    assert list(OverlapIndex([]).matches(["anything at all " * 5])) == []
    index = OverlapIndex(["one two three four five six seven eight nine ten eleven twelve thirteen"])
    assert list(index.matches([])) == []
    assert list(index.matches(["", "...", "one"])) == []


def test_the_index_pickles():  # what a spawned worker would receive
    references, groups, texts, text_groups = corpus(6)
    index = OverlapIndex(references, groups=groups)
    assert found(pickle.loads(pickle.dumps(index)), texts, text_groups) == found(index, texts, text_groups)


def test_matches_stream_their_input(monkeypatch):
    monkeypatch.setattr(overlap, "CHUNK", 10)
    read = []

    def texts():
        for number in range(100):
            read.append(number)
            yield "one two three four five six seven eight nine ten eleven twelve thirteen" if number == 3 else "no"

    matches = OverlapIndex(["one two three four five six seven eight nine ten eleven twelve thirteen"]).matches(texts())
    assert next(matches).text == 3
    assert len(read) == 10


_SHARED: dict = {}


def _matches_in_child(_: int) -> list:
    return found(_SHARED["index"], _SHARED["texts"])


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_worker_finds_the_same_matches():  # how build's workers share the index: inherited, not pickled
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork")
    references, groups, texts, _ = corpus(8)
    index = OverlapIndex(references, groups=groups)
    _SHARED.update(index=index, texts=texts)
    try:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            assert pool.map(_matches_in_child, [0]) == [found(index, texts)]
    finally:
        _SHARED.clear()
