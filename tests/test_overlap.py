"""The overlap index (validate's leakage check, build's decontamination): tokens, hashes, matches.

The vectorized implementation is checked against its definitions: :func:`tokens` (Python's ``\\w+`` on the
lower-cased text) for the tokenization, and a plain-Python oracle of the matching rules (normalized
equality, a shared n-gram, containment of a short reference, template windows ignored) for the matches.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medsreg import overlap
from medsreg.overlap import NGRAM, SHORT_CONTAINMENT, OverlapIndex, tokens

EQUAL = "has the same normalized input as"
CONTAINED = "is contained in"
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


def test_tokens_are_python_word_characters_of_the_lower_cased_text():
    assert tokens("The PATIENT's BP: 120/80 mm_Hg.") == ["the", "patient", "s", "bp", "120", "80", "mm_hg"]
    for text in MULTILINGUAL:
        assert tokens(text) == re.findall(r"\w+", text.lower())


def test_vectorized_split_finds_the_tokens_on_a_multilingual_sample(split_path):
    assert split_tokens(MULTILINGUAL) == [tokens(text) for text in MULTILINGUAL]
    chinese = split_tokens([MULTILINGUAL[1]])[0]
    assert chinese == ["患者男性", "45岁", "因胸痛3小时入院", "心电图提示st段抬高"]
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
print(json.dumps([tokenized.hashes.tolist(), list(index.matches(texts))]))
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
    assert [tuple(match) for match in runs[0][1]] == list(OverlapIndex(texts[:3]).matches(texts))
    assert any(how == SHARES for _, _, how in runs[0][1])


# --------------------------------------------------------------------------- matches


def oracle(references: list[str], texts: list[str], size: int = NGRAM, chunk: int | None = None):
    """The matching rules in plain Python, in the index's order: per chunk, equal texts, then n-grams, then containment."""
    boilerplate = max(5, len(references) // 100)
    reference_tokens = [tokens(text) for text in references]
    exact: dict[tuple, int] = {}
    for position, words in enumerate(reference_tokens):
        exact.setdefault(tuple(words), position)
    held: dict[tuple, dict[tuple, set[int]]] = {}  # (kind, length) -> window -> reference texts
    lengths = [size] + list(dict.fromkeys(len(w) for w in reference_tokens if SHORT_CONTAINMENT <= len(w) < size))
    for position, words in enumerate(reference_tokens):
        if len(words) >= size:
            for at in range(len(words) - size + 1):
                held.setdefault(size, {}).setdefault(tuple(words[at : at + size]), set()).add(position)
        elif len(words) >= SHORT_CONTAINMENT:
            held.setdefault(len(words), {}).setdefault(tuple(words), set()).add(position)
    chunk = chunk or max(1, len(texts))
    out = []
    for first in range(0, len(texts), chunk):
        part = [tokens(text) for text in texts[first : first + chunk]]
        for offset, words in enumerate(part):
            if tuple(words) in exact:
                out.append((first + offset, exact[tuple(words)], EQUAL))
        for length in lengths:
            how = f"shares a {length}-gram with" if length == size else CONTAINED
            windows = {w: owners for w, owners in held.get(length, {}).items() if len(owners) <= boilerplate}
            for offset, words in enumerate(part):
                for at in range(len(words) - length + 1):
                    for owner in sorted(windows.get(tuple(words[at : at + length]), ())):
                        out.append((first + offset, owner, how))
    return out


VOCABULARY = ("patient fever cough chest pain acute chronic dose daily oral therapy risk outcome "
              "müde fièvre 发热 咳嗽 лихорадка tos dolor").split()


def sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(low, high)))


def corpus(seed: int = 3):
    rng = random.Random(seed)
    references = [sentence(rng, 30, 60) for _ in range(60)]
    references += [sentence(rng, 8, 12) for _ in range(12)] + [sentence(rng, 3, 7) for _ in range(4)]
    references += ["", "!!!", references[5].upper()]  # texts without tokens, a duplicate once normalized
    texts = [sentence(rng, 20, 80) for _ in range(300)]
    for text_at in rng.sample(range(len(texts)), 60):  # plant pieces of references: 13-grams, 12 words, short ones
        words = tokens(rng.choice(references))
        if len(words) < 3:
            continue
        take = rng.choice([NGRAM, NGRAM + 3, NGRAM - 1, len(words)])
        start = rng.randint(0, max(0, len(words) - take))
        texts[text_at] += " , " + " ".join(words[start : start + take]).title() + "."
    texts += [references[7].swapcase() + "?!", references[62], "", "...", references[3]]
    return references, texts


def test_matches_follow_the_rules_on_a_mixed_corpus(split_path):
    references, texts = corpus()
    found = list(OverlapIndex(references).matches(texts))
    expected = oracle(references, texts)
    assert found == expected
    hows = {how for _, _, how in found}
    assert hows == {EQUAL, SHARES, CONTAINED}


@pytest.mark.parametrize("chunk, piece", [(1, 1 << 20), (7, 50), (64, 1), (1000, 300)])
def test_chunk_and_piece_boundaries_change_nothing_but_the_order(monkeypatch, chunk, piece):
    references, texts = corpus(4)
    whole = list(OverlapIndex(references).matches(texts))
    monkeypatch.setattr(overlap, "CHUNK", chunk)
    monkeypatch.setattr(overlap, "_PIECE", piece)
    index = OverlapIndex(references)  # the references are read in chunks too
    found = list(index.matches(iter(texts)))
    assert found == oracle(references, texts, chunk=chunk)
    assert sorted(found) == sorted(whole)


def test_a_planted_13_gram_is_found_and_12_shared_words_are_not():
    rng = random.Random(11)
    reference = sentence(rng, 40, 40)
    words = tokens(reference)
    filler = "zebra " * 30
    planted = filler + " ".join(words[10:23]).upper() + ". " + filler
    near_miss = filler + " ".join(words[10:22]) + " " + filler
    split = filler + " ".join(words[10:16]) + " | zebra | " + " ".join(words[16:23]) + filler
    assert list(OverlapIndex([reference]).matches([near_miss, planted, split])) == [(1, 0, SHARES)]
    assert list(OverlapIndex([reference], size=5).matches([split]))  # the size is a parameter


def test_normalized_equality_names_the_first_equal_reference():
    references = ["Which enzyme is inhibited by allopurinol?", "something else entirely", "WHICH enzyme is: inhibited by ALLOPURINOL"]
    texts = ["which   ENZYME is inhibited by Allopurinol ...", "which enzyme is inhibited", "Which enzyme is inhibited by allopurinol? Why?"]
    assert list(OverlapIndex(references).matches(texts)) == [(0, 0, EQUAL)]


def test_an_equal_hash_is_not_taken_for_an_equal_text(monkeypatch):
    # every whole text hashes alike: only the normalized texts themselves tell them apart
    monkeypatch.setattr(overlap._Tokenized, "texts", lambda self: np.zeros(self.offsets.size - 1, np.uint64))
    rng = random.Random(9)
    references = [sentence(rng, 14, 20) for _ in range(5)]
    references.insert(3, references[1].upper())
    texts = [sentence(rng, 5, 10), references[4] + "!", references[1].lower(), sentence(rng, 30, 40)]
    found = [match for match in OverlapIndex(references).matches(texts) if match[2] == EQUAL]
    assert found == [(1, 4, EQUAL), (2, 1, EQUAL)]  # not 3: equal to 1, which comes first


def test_a_short_reference_matches_when_contained():
    short = "Is aspirin safe in the third trimester of pregnancy"  # 10 tokens: under the 13-gram
    assert SHORT_CONTAINMENT <= len(tokens(short)) < NGRAM
    too_short = "aspirin in pregnancy is it safe"  # 6 tokens: never contained
    index = OverlapIndex([short, too_short])
    texts = [f"Question: {short.lower()}? Answer briefly.", "Is aspirin safe in the third trimester", f"Q: {too_short}!",
             "Is aspirin safe in the third - no - trimester of pregnancy"]
    assert list(index.matches(texts)) == [(0, 0, CONTAINED)]


def test_windows_held_by_many_references_are_templates():
    template = "Answer the following multiple choice question about the patient described below and explain why"
    rng = random.Random(2)
    references = [f"{template}: {sentence(rng, 20, 30)}" for _ in range(6)]  # 6 > max(5, 6 // 100): a template
    text = f"{template}: the same instructions, another case of fever"
    assert list(OverlapIndex(references).matches([text])) == []
    windows = len(tokens(template)) - NGRAM + 1  # 5 is no template: each window of the template, in all 5
    assert windows == 2
    assert list(OverlapIndex(references[:5]).matches([text])) == [(0, p, SHARES) for _ in range(windows) for p in range(5)]


def test_an_empty_index_and_empty_inputs():
    assert list(OverlapIndex([]).matches(["anything at all " * 5])) == []
    index = OverlapIndex(["one two three four five six seven eight nine ten eleven twelve thirteen"])
    assert list(index.matches([])) == []
    assert list(index.matches(["", "...", "one"])) == []


def test_the_index_pickles():  # what a spawned worker would receive
    references, texts = corpus(6)
    index = OverlapIndex(references)
    assert list(pickle.loads(pickle.dumps(index)).matches(texts)) == list(index.matches(texts))


def test_matches_stream_their_input(monkeypatch):
    monkeypatch.setattr(overlap, "CHUNK", 10)
    read = []

    def texts():
        for number in range(100):
            read.append(number)
            yield "one two three four five six seven eight nine ten eleven twelve thirteen" if number == 3 else "no"

    matches = OverlapIndex(["one two three four five six seven eight nine ten eleven twelve thirteen"]).matches(texts())
    assert next(matches)[0] == 3
    assert len(read) == 10


_SHARED: dict = {}


def _matches_in_child(_: int) -> list:
    return list(_SHARED["index"].matches(_SHARED["texts"]))


@pytest.mark.skipif(sys.platform == "win32", reason="no fork")
def test_a_forked_worker_finds_the_same_matches():  # how build's workers share the index: inherited, not pickled
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork")
    references, texts = corpus(8)
    index = OverlapIndex(references)
    _SHARED.update(index=index, texts=texts)
    try:
        with multiprocessing.get_context("fork").Pool(1) as pool:
            assert pool.map(_matches_in_child, [0]) == [list(index.matches(texts))]
    finally:
        _SHARED.clear()
