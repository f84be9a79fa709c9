"""medsreg's word tokenizer skips nltk's substitutions that cannot match: its tokens must be nltk's own, always."""

from __future__ import annotations

import random
import re

from medsreg.metrics import word_tokens
from nltk.tokenize import NLTKWordTokenizer

ALPHABET = [*"ab cdK'\"`«“‘„»”’.,:;@#$%&?!*()[]{}<>-\u2012\u2013\u2014\u2015\n\t\x1c\xa0ſıİ\u212a1\r\x0b\x85\u2028\u3000",
            "  ",
            "can", "not", "gon", "na", "got", "ta", "gim", "me", "lem", "d'ye", "more'n", "wan", "'t", "is", "was",
            "n't", "'ll", "'S", "'re", "''", "``", "...", "--", " 'tis", " 'Twas", "\t'tis", "\n'twas", "CANNOT",
            "WaNnA "]


def test_tokens_equal_nltks_on_random_text_full_of_what_the_patterns_look_for():
    nltk_words, fast = NLTKWordTokenizer(), word_tokens.word_tokenizer()
    generator = random.Random(11)
    for _ in range(30_000):
        text = "".join(generator.choice(ALPHABET) for _ in range(generator.randint(0, 30)))
        assert fast(text) == nltk_words.tokenize(text), repr(text)


def test_tokens_equal_nltks_on_long_prose():
    nltk_words, fast = NLTKWordTokenizer(), word_tokens.word_tokenizer()
    generator = random.Random(2)
    words = ["The", "patient's", "BP", "was", "152/96", "mmHg,", "i.e.", "high;", "(see", "Table", "2)", "--", "he",
             "can't", "gonna", "\"stop\"", "smoking.", "Dr.", "Patel", "said:", "5.2", "mg", "…", "—", "?", "!", "ok."]
    for _ in range(300):
        text = " ".join(generator.choice(words) for _ in range(generator.randint(1, 400)))
        assert fast(text) == nltk_words.tokenize(text)


def test_every_pattern_of_the_installed_nltk_is_known():
    """A pattern missing from NEEDS would always run (still right, only slower): this says when nltk changed one."""
    words = NLTKWordTokenizer()
    patterns = [*words.STARTING_QUOTES, *words.PUNCTUATION, words.PARENS_BRACKETS, words.DOUBLE_DASHES,
                *words.ENDING_QUOTES]
    unknown = {pattern.pattern for pattern, _ in patterns} - set(word_tokens.NEEDS) - {r"\s+"}
    assert not unknown
    assert word_tokens._contraction_words([*words.CONTRACTIONS2, *words.CONTRACTIONS3]) is not None


def test_every_character_that_backslash_s_matches_is_one_split_splits_at():
    """The final ``split()`` stands in for nltk's ``\\s+`` -> " " where no pattern after it runs."""
    import regex

    for engine in (re, regex):
        spaces = engine.compile(r"\s")
        assert all(character.isspace() for character in map(chr, range(0x110000)) if spaces.match(character))


def test_only_these_characters_fold_to_an_ascii_letter_under_ignorecase():
    letters = re.compile("(?i)[a-z]")
    folding = {chr(code) for code in range(128, 0x110000) if letters.match(chr(code))}
    assert folding == set(word_tokens.CASE_FOLDS_TO_ASCII)
    assert all(len(character.lower()) == 1 for character in map(chr, range(0x110000))
               if character not in word_tokens.CASE_FOLDS_TO_ASCII)  # lower() keeps every position


def _tokens_in_a_new_process(cache, texts):
    import json
    import os
    import subprocess
    import sys

    script = ("import json, sys\n"
              "from medsreg.metrics.word_tokens import word_tokenizer\n"
              "words = word_tokenizer()\n"
              "print(json.dumps([[words(text) for text in json.loads(sys.stdin.read())], 'nltk' in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), capture_output=True, text=True,
                          env={**os.environ, "MEDSREG_CACHE": str(cache)}, check=True)
    return json.loads(done.stdout)


def test_the_patterns_are_read_from_the_cache_without_importing_nltk(tmp_path):
    generator = random.Random(4)
    texts = ["".join(generator.choice(ALPHABET) for _ in range(generator.randint(0, 40))) for _ in range(2_000)]
    expected = [NLTKWordTokenizer().tokenize(text) for text in texts]
    first, imported = _tokens_in_a_new_process(tmp_path, texts)
    assert imported and first == expected
    (kept,) = (tmp_path / "nltk").glob("word-tokenizer-*.json")
    again, imported = _tokens_in_a_new_process(tmp_path, texts)
    assert not imported and again == expected
    kept.write_text('{"before": [["(", 0, "re", "x"]]}', encoding="utf-8")  # broken: nltk's patterns again
    repaired, imported = _tokens_in_a_new_process(tmp_path, texts)
    assert imported and repaired == expected
    assert '"contractions"' in kept.read_text(encoding="utf-8")
