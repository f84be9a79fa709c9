"""Every metric against hand-computed values, each official-script difference in both modes, and ROUGE-L vs the package."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from medsreg.metrics import answers
from medsreg.metrics.builtin import builtin_metrics
from medsreg.metrics.entities import entity_counts, hallmark_macro, micro_f1
from medsreg.metrics.official import PANDAS_NA
from medsreg.metrics.generation import bleu1, generation_scores, official_tokens, tokenize
from medsreg.metrics.rouge_l import rouge_l
from medsreg.models import MetricContext

METRICS = {metric.name: metric for metric in builtin_metrics()}


def run(name: str, outputs: list[str], references: list[str], *, official: bool = False, languages=None,
        legacy_id: int | None = None) -> float:
    """The metric over the instances; ``official`` as ``--compat official`` on a submission CSV, task id ``legacy_id``."""
    context = MetricContext(languages=languages or ["en"] * len(outputs), official=official,
                            legacy_ids=[legacy_id] * len(outputs), missing_outputs=[o in PANDAS_NA for o in outputs],
                            missing_references=[r in PANDAS_NA for r in references])
    return METRICS[name].compute(outputs, [[r] for r in references], context)[name]


# --------------------------------------------------------------------------- multiple choice


def test_mcqa_reads_the_letter_after_the_official_phrase():
    reference = "The right answer is C. Amoxicillin"
    assert answers.mcqa_correct("The right answer is C.", reference)
    assert answers.mcqa_correct("c) amoxicillin", reference)
    assert not answers.mcqa_correct("The right answer is B.", reference)
    assert run("mcqa_accuracy", ["C", "B", "(c)", "A"], [reference] * 4) == 50.0


def test_mcqa_option_e_scores_only_with_the_fix():
    assert answers.mcqa_correct("The right answer is E.", "E")
    assert run("mcqa_accuracy", ["The right answer is E."], ["E"], official=True, legacy_id=57) == 0.0  # a-d only
    assert run("mcqa_accuracy", ["The right answer is E."], ["E"]) == 100.0


def test_mcqa_multi_answer_items_score_only_with_the_fix():
    assert answers.mcqa_correct("A and C", "The right answer is A, C.")
    assert not answers.mcqa_correct("A", "The right answer is A, C.")  # a subset is wrong
    # the scripts compare first letters: the subset "A" scores, and so does "A, D"
    assert run("mcqa_accuracy", ["A", "A, D"], ["The right answer is A, C."] * 2, official=True, legacy_id=58) == 100.0
    assert run("mcqa_accuracy", ["A", "A, D"], ["The right answer is A, C."] * 2) == 0.0


def test_mcqa_yes_no_maybe_compares_the_first_word():
    assert answers.mcqa_correct("Yes, because the trial showed it.", "yes")
    assert answers.mcqa_correct("maybe.", "Maybe")
    assert not answers.mcqa_correct("no", "yes")
    # the scripts read y / n for task123 only, and "maybe" never
    assert run("mcqa_accuracy", ["yes", "maybe"], ["yes", "maybe"], official=True, legacy_id=123) == 50.0
    assert run("mcqa_accuracy", ["yes", "maybe"], ["yes", "maybe"]) == 100.0
    assert run("mcqa_accuracy", ["yes"], ["yes"], official=True, legacy_id=57) == 0.0


def test_mmedbench_accuracy_is_an_exact_letter_set_in_either_answer_format():
    reference = "###Rationale: ...\n###Answer: OPTION B,D IS CORRECT."
    assert answers.mmedbench_correct("###Answer: OPTION D, B IS CORRECT.", reference)
    assert not answers.mmedbench_correct("###Answer: OPTION B IS CORRECT.", reference)
    assert answers.mmedbench_correct("B,D", reference)  # the letters the mcqa prompt asks for
    assert answers.mmedbench_correct("B, D", "B,D") and not answers.mmedbench_correct("B", "B,D")
    assert answers.mmedbench_correct("OPTION E IS CORRECT", "E")
    assert run("mmedbench_accuracy", ["OPTION A IS CORRECT", "OPTION C IS CORRECT"], ["A", "B"]) == 50.0


def test_mmedbench_official_accuracy_is_mmedlm_accuracy_py():
    # MMedLM removes "###Answer: OPTION " and "IS CORRECT.</s>": without the literal "</s>" nothing matches
    outputs = ["###Answer: OPTION B IS CORRECT.</s>", "###Answer: OPTION B IS CORRECT.", "B", "D,B"]
    assert run("mmedbench_accuracy", outputs, ["B", "B", "B", "B,D"], official=True) == 75.0
    assert run("mmedbench_accuracy", outputs, ["B", "B", "B", "B,D"]) == 100.0


# --------------------------------------------------------------------------- substring accuracies


def test_diagnosis_and_treatment_drop_the_prefix_and_the_dots():
    assert answers.diagnosis_correct("I think it is Community-acquired pneumonia", "The diagnosis result is community-acquired pneumonia.")
    assert not answers.diagnosis_correct("bronchitis", "The diagnosis result is pneumonia.")
    assert answers.treatment_correct("Plan: surgery and chemotherapy", "The treatment planning is: Surgery and chemotherapy.")
    # an empty reference matches everything in the scripts, nothing with the fix
    assert run("diagnosis_accuracy", ["anything"], ["The diagnosis result is ."], official=True, legacy_id=130) == 100.0
    assert not answers.diagnosis_correct("anything", "The diagnosis result is .")
    assert run("diagnosis_accuracy", ["flu", "asthma", "flu and cold"], ["Flu.", "Flu.", "Flu."]) == pytest.approx(200 / 3)


def test_na_words_are_text_and_an_empty_output_never_matches():
    # pandas reads "", "None", "N/A" as NaN: the scripts then compare the text "nan" with "nan"
    outputs, references = ["", "N/A", "nothing found"], ["None", "None", "None"]
    assert run("extraction_accuracy", outputs, references, official=True, legacy_id=74) == pytest.approx(200 / 3)
    assert run("extraction_accuracy", outputs, references) == pytest.approx(100 / 3)  # "" is not an answer
    # MCQA.py: a "None" output is "nan", whose first letter answers "no"
    assert run("mcqa_accuracy", ["None"], ["no."], official=True, legacy_id=123) == 100.0
    assert run("mcqa_accuracy", ["None"], ["no."]) == 0.0


def test_extraction_ignores_case_quotes_and_newlines():
    assert answers.extraction_correct('Dose: "Aspirin 100 mg"\ndaily', "aspirin 100 mg")
    assert answers.extraction_correct("Dose: aspirin 10\n0 mg", "Aspirin '100 mg'")  # newlines are removed, not spaced
    assert answers.extraction_correct('the dose was "10 mg"', "10 mg")
    assert not answers.extraction_correct("20 mg", "10 mg")


def test_outcome_needs_the_word_and_not_its_opposite():
    assert answers.outcome_correct("True.", "true")
    assert not answers.outcome_correct("true or false", "true")
    assert not answers.outcome_correct("untrue", "true")
    assert run("outcome_accuracy", ["untrue"], ["true"], official=True, legacy_id=117) == 100.0
    assert not answers.outcome_correct("False", "True")
    assert run("outcome_accuracy", ["true", "false", "true, not false"], ["true", "true", "true"]) == pytest.approx(100 / 3)


def test_verification_reads_the_first_line_only():
    assert answers.verification_correct("SUPPORTED\nbecause of the trial", "supported")
    assert not answers.verification_correct("I am not sure\nsupported", "supported")


def test_verification_matches_the_label_as_a_word_only_with_the_fix():
    output = "Yes, the trial supports it; nothing suggests otherwise."
    assert run("verification_accuracy", [output], ["no"], official=True, legacy_id=12) == 100.0  # "no" in "nothing"
    assert run("verification_accuracy", [output], ["no"]) == 0.0
    assert run("verification_accuracy", [output], ["yes."]) == 100.0


def test_verification_official_takes_the_first_line_before_stripping():
    # FactVerification.py splits on newlines first: a leading newline leaves an empty first line
    assert run("verification_accuracy", ["\nno"], ["no."], official=True, legacy_id=12) == 0.0
    assert run("verification_accuracy", ["\nno"], ["no."]) == 100.0


def test_nli_names_one_label_as_a_word():
    assert answers.nli_correct("Entailment.\nThe premise says so.", "entailment")
    assert answers.nli_correct("Let me compare the sentences.\nThe answer is neutral.", "Neutral.")
    assert not answers.nli_correct("entailment, not contradiction", "entailment")  # a hedge names two labels
    assert run("nli_accuracy", ["entailment, not contradiction"], ["entailment"], official=True, legacy_id=41) == 100.0
    assert run("nli_accuracy", ["entailment, not contradiction"], ["entailment"]) == 0.0
    # NatureLanguageInference.py looks for the label anywhere in the output, as medsreg does
    assert run("nli_accuracy", ["I think\nneutral"], ["neutral"], official=True, legacy_id=41) == 100.0
    assert run("nli_accuracy", ["I think\nneutral"], ["neutral"]) == 100.0


# --------------------------------------------------------------------------- NER and HoC


def test_entity_micro_f1_sums_over_instances():
    outputs = ["Aspirin, paracetamol.", "There is no related enetity.", "heparin"]
    references = ["aspirin, ibuprofen.", "There is no related enetity.", "warfarin."]
    # instance 1: TP 1 (aspirin), FP 1, FN 1; instance 2: nothing; instance 3: FP 1, FN 1
    assert entity_counts(outputs, references) == (1, 2, 2)
    assert micro_f1(1, 2, 2) == pytest.approx(2 / 6)
    assert run("entity_f1", outputs, references) == pytest.approx(100 / 3)


def test_entity_order_matters_only_in_the_official_script():
    # the scripts drop the last character after removing the dots: "ibuprofen" becomes "ibuprofe" at the end only
    assert run("entity_f1", ["ibuprofen, aspirin."], ["aspirin, ibuprofen."], official=True, legacy_id=125) == 0.0
    assert entity_counts(["ibuprofen, aspirin."], ["aspirin, ibuprofen."]) == (2, 0, 0)


def test_ner_rows_without_an_output_are_skipped_only_officially():
    context = MetricContext(languages=["en", "en"], official=True, legacy_ids=[125, 125], missing_outputs=[False, True])
    outputs, references = [["aspirin."], [""]], [["aspirin."], ["heparin, warfarin."]]
    official = METRICS["entity_f1"].compute([o[0] for o in outputs], references, context)["entity_f1"]
    assert official == 100.0  # the second row's entities are never counted as missed
    assert run("entity_f1", ["aspirin.", ""], ["aspirin.", "heparin, warfarin."]) == pytest.approx(100 * 2 / 4)


def test_hallmark_macro_precision_recall_f1():
    outputs = ["Resisting cell death and inducing angiogenesis.", "Inducing angiogenesis."]
    references = ["resisting cell death", "evading growth suppressors"]
    # resisting: P 1/1, R 1/1; angiogenesis: P 0/2, R 0 (never present); evading: P 0 (never predicted), R 0/1
    precision, recall, f1 = hallmark_macro(outputs, references)
    assert (precision, recall, f1) == pytest.approx((0.1, 0.1, 0.1))
    assert run("hallmark_macro_f1", outputs, references) == pytest.approx(10.0)


# --------------------------------------------------------------------------- generation


def test_official_tokens_per_language():
    # Punkt splits the sentences first: "arrived." becomes "arrived", "." (word tokenizing the line alone would not)
    assert tokenize("Dr. Smith arrived. He was ill.", "en") == ["Dr.", "Smith", "arrived", ".", "He", "was", "ill", "."]
    assert tokenize("У пациента жар. Он кашляет.", "ru") == ["У", "пациента", "жар", ".", "Он", "кашляет", "."]
    assert tokenize("Le patient a de la fièvre. Il tousse.", "fr")[:7] == ["Le", "patient", "a", "de", "la", "fièvre", "."]
    assert tokenize("¿Dónde está el dolor? Aquí.", "es") == ["¿Dónde", "está", "el", "dolor", "?", "Aquí", "."]
    assert tokenize("我爱北京天安门", "zh") == ["我", "爱", "北京", "天安门"]
    assert tokenize("すもももももももものうち", "ja") == ["すもも", "も", "もも", "も", "もも", "の", "うち"]


def test_bleu1_and_rouge_l_by_hand():
    # 6 hypothesis tokens, 5 clipped matches, hypothesis longer: BLEU-1 = 5/6
    # ROUGE-L (rouge package rules): one sentence each, 4 distinct reference words, 5 hypothesis words, LCS 4
    scores = generation_scores(["the patient has a fever ."], [["the patient has fever ."]], ["en"])
    assert scores["bleu1"] == pytest.approx(500 / 6)
    assert scores["rougeL"] == pytest.approx(100 * 2 * 0.8 / (1.8 + 1e-8))


def test_multilingual_bleu1_and_rouge_l_by_hand():
    # zh: 3 hypothesis tokens all matching, reference 4 tokens: BP = exp(1 - 4/3); ROUGE-L P 1, R 3/4
    zh = generation_scores(["我爱北京"], [["我爱北京天安门"]], ["zh"])
    assert zh["bleu1"] == pytest.approx(100 * 2.718281828459045 ** (1 - 4 / 3))
    assert zh["rougeL"] == pytest.approx(100 * 2 * 0.75 / (1.75 + 1e-8))
    # ja: identical texts score 100 on both
    ja = generation_scores(["すもももももももものうち"], [["すもももももももものうち"]], ["ja"])
    assert ja["bleu1"] == pytest.approx(100.0) and ja["rougeL"] == pytest.approx(100.0, abs=1e-5)


def test_whitespace_outputs_count_as_zero_and_only_rationale_skips_them_officially():
    outputs, references = ["  ", "the patient has a fever ."], ["x y", "the patient has fever ."]
    assert run("bleu1", outputs, references) == pytest.approx(500 / 12)
    assert run("bleu1", outputs, references, official=True, legacy_id=52) == pytest.approx(500 / 6)  # Rationale.py
    assert run("bleu1", outputs, references, official=True, legacy_id=78) == pytest.approx(500 / 12)  # summarization


def test_official_rouge_reads_raw_text_and_bleu_english_punkt():
    # ROUGE on the raw text: "fever," and "fever" are different words for the rouge package
    outputs, references = ["the patient has fever, cough"], ["the patient has fever cough"]
    assert run("rougeL", outputs, references, official=True, legacy_id=78) < 100.0
    assert run("rougeL", outputs, references) == pytest.approx(100 * 2 * (5 / 6) / (5 / 6 + 1), abs=0.01)  # tokens
    # fr / es / ru: word_tokenize without a language, so English Punkt: "т.д." is cut, "Dr." kept in French
    assert official_tokens("Назначен преднизолон и т.д. Пациент стабилен.", "ru")[3:5] == ["т.д", "."]
    assert tokenize("Назначен преднизолон и т.д. Пациент стабилен.", "ru")[3] == "т.д."
    assert run("bleu1", ["Назначен преднизолон и т.д."], ["Назначен преднизолон и т.д."], official=True,
               legacy_id=55) == pytest.approx(100.0)
    # zh: jieba's whitespace tokens are kept officially
    assert official_tokens("我爱 北京", "zh") == ["我", "爱", " ", "北京"] and tokenize("我爱 北京", "zh") == ["我", "爱", "北京"]


def test_fact_verification_100_scores_the_texts_as_given():
    # FactVerification.py lower-cases both and removes every "." from the GT only: the output's "." tokens count
    # against it, and case is ignored; medsreg compares the texts as given
    outputs, references = ["No. The trial was small."], ["No. The trial was small."]
    assert run("bleu1", outputs, references, official=True, legacy_id=100) < 100.0
    assert run("bleu1", outputs, references) == pytest.approx(100.0)
    assert run("bleu1", ["NO"], ["no"], official=True, legacy_id=100) == pytest.approx(100.0)


def test_word_tokens_equal_nltks_own_tokenizer():
    """medsreg runs nltk's word tokenizer without its per-call regex timeouts: the tokens must stay nltk's."""
    import csv

    import punkt
    from nltk.tokenize import NLTKWordTokenizer

    nltk_words = NLTKWordTokenizer()
    texts = {cell for path in (Path(__file__).parent / "fixtures" / "official-scores").rglob("*.csv")
             for row in csv.reader(path.open(encoding="utf-8", newline="")) for cell in row}
    generator = random.Random(5)
    pieces = ["Dr.", "don't", "\"quoted\"", "``", "''", "(a)", "[b]", "{c}", "--", "...", "e.g.", "U.S.", "5.2mg",
              "can't", "gonna", "'tis", "1,000", "$3", "%", "&", "¿Qué?", "т.д.", "l'homme", "—", ":", ";", "!?"]
    texts |= {" ".join(generator.choice(pieces) for _ in range(generator.randint(1, 20))) for _ in range(2000)}
    assert len(texts) > 4000
    for text in texts:
        expected = [token for sentence in punkt.sent_tokenize(text, "english") for token in nltk_words.tokenize(sentence)]
        assert tokenize(text, "en") == expected, text


def test_sentences_equal_the_punkt_packages_in_every_language():
    """medsreg keeps Punkt's decision per candidate window: the sentences must stay the package's, in every language."""
    import csv

    import punkt
    from medsreg.metrics.generation import PUNKT_LANGUAGES, _sentence_splitter

    fixtures = sorted({cell for path in (Path(__file__).parent / "fixtures" / "official-scores").rglob("*.csv")
                       for row in csv.reader(path.open(encoding="utf-8", newline="")) for cell in row})
    generator = random.Random(8)
    pieces = ["Dr.", "mg.", "The", "the", "e.g.", "U.S.", "etc.", "He", "said.", "5.", "No.", "!", "?", "...", "'Yes.'",
              "(a.)", "т.д.", "Sr.", "S.A.", "St.", "z.B.", "p.ej.", "Il", "Der", "\n", "Fig.", "vs.", "2.5", "i.e."]
    generated = [" ".join(generator.choice(pieces) for _ in range(generator.randint(1, 40))) for _ in range(300)]
    for language in sorted(set(PUNKT_LANGUAGES.values())):
        splitter, package = _sentence_splitter(language), punkt.tokenizer_for(language)
        for text in [*generated, *(fixtures if language == "english" else fixtures[:100])]:
            assert splitter(text) == package.tokenize(text), (language, text)
        assert splitter.__self__._decided, language  # the decisions are kept (the package still calls the method)


def test_bleu1_equals_nltk():
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    generator = random.Random(11)
    words = "a b c d e f g the patient fever".split()
    for _ in range(500):
        hypothesis = [generator.choice(words) for _ in range(generator.randint(0, 12))]
        reference = [generator.choice(words) for _ in range(generator.randint(1, 12))]
        expected = sentence_bleu([reference], hypothesis, weights=(1, 0, 0, 0),
                                 smoothing_function=SmoothingFunction().method1)
        assert bleu1(hypothesis, reference) == expected


def test_rouge_l_equals_the_rouge_package():
    from rouge import Rouge

    package = Rouge()
    generator = random.Random(7)
    words = "a b c d e f . the patient fever cough , x".split(" ")
    for _ in range(400):
        hypothesis = " ".join(generator.choice(words) for _ in range(generator.randint(1, 25)))
        reference = " ".join(generator.choice(words) for _ in range(generator.randint(1, 25)))
        try:
            expected = package.get_scores(hypothesis, reference)[0]["rouge-l"]
        except ValueError:
            with pytest.raises(ValueError):
                rouge_l(hypothesis, reference)
            continue
        assert rouge_l(hypothesis, reference) == pytest.approx(expected, abs=1e-12)


def test_rouge_l_of_texts_sharing_whole_sentences_equals_the_rouge_package():
    from rouge import Rouge

    package = Rouge()
    generator = random.Random(13)
    sentences = ["the patient has fever", "cough for three days", "fever and cough", "no fever", "x y z x"]
    for _ in range(400):  # identical sentences and sentences adding no new shared word: the shortcuts
        hypothesis = " . ".join(generator.choice(sentences) for _ in range(generator.randint(1, 6)))
        reference = " . ".join(generator.choice(sentences) for _ in range(generator.randint(1, 6)))
        assert rouge_l(hypothesis, reference) == pytest.approx(package.get_scores(hypothesis, reference)[0]["rouge-l"],
                                                               abs=1e-12)


def test_rouge_l_on_long_sentences_equals_the_rouge_package():
    from rouge import Rouge

    generator = random.Random(3)
    words = [f"w{i}" for i in range(30)]
    for _ in range(20):  # sentences of 60-90 words: bit vectors wider than a machine word
        hypothesis = " ".join(generator.choice(words) for _ in range(generator.randint(60, 90)))
        reference = " ".join(generator.choice(words) for _ in range(generator.randint(60, 90)))
        expected = Rouge().get_scores(hypothesis, reference)[0]["rouge-l"]
        assert rouge_l(hypothesis, reference) == pytest.approx(expected, abs=1e-12)


def test_rouge_l_handles_long_texts_the_package_cannot():
    long = " ".join(f"w{i % 50}" for i in range(3000))
    assert rouge_l(long, long)["f"] == pytest.approx(1.0, abs=1e-6)  # the package's recursion overflows here


def test_every_documented_fix_names_tests_that_exist():
    root = Path(__file__).resolve().parents[1]
    page = (root / "docs" / "metrics.md").read_text(encoding="utf-8")
    fixes = page.split("## Fixes", 1)[1].split("## Aggregation", 1)[0]
    rows = [line for line in fixes.splitlines() if line.startswith("| ") and not line.startswith("| fix ")]
    defined = {name for path in (root / "tests").glob("test_*.py") for name in
               re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), flags=re.MULTILINE)}
    for row in rows:
        named = set(re.findall(r"`(test_\w+)`", row.split("|")[-2]))
        assert named and named <= defined, (row[:60], named - defined)
    assert len(rows) >= 15


def test_a_prediction_line_is_scored_once_per_rule_while_lines_are_remembered(monkeypatch):
    from medsreg.metrics import generation

    calls = []
    real = generation._official_pair
    monkeypatch.setattr(generation, "_official_pair", lambda *pair: calls.append(pair) or real(*pair))
    pairs = [("the patient has fever", "fever", "en")] * 2
    with generation.lines_remembered():
        first = generation.official_pair_scores(pairs, [1, 2])  # the same texts on two lines: two computations
        again = generation.official_pair_scores(pairs[:1], [2])  # line 2 again (its pooled group): none
        fixed = generation.generation_scores(["the patient has fever"], [["fever"]], ["en"], [2])  # another rule
    assert len(calls) == 2 and again == first[1:] and fixed["bleu1"] > 0
    generation.official_pair_scores(pairs, [1, 2])  # outside the block nothing is remembered
    assert len(calls) == 4


def test_a_pooled_group_is_scored_in_the_job_of_its_tasks():
    from medsreg.predictions import Prediction
    from medsreg.score import SUBSET, _jobs

    def rows(task, group=None, count=2, language="en", metrics=("bleu1",)):
        return [Prediction(task=task, instance_id=str(i), output="x" * 50, references=["x"], metrics=list(metrics),
                           category="c", group=group, language=language) for i in range(count)]

    ct_head, ct_chest, other = rows("ct_head", "CT"), rows("ct_chest", "CT"), rows("mcqa", metrics=("mcqa_accuracy",))
    japanese = rows("explain_ja", language="ja")
    units = [(0, "ct_head", ct_head), (0, "ct_chest", ct_chest), (0, "mcqa", other), (0, "explain_ja", japanese),
             (0, "CT", ct_head + ct_chest), (0, f"ct_head{SUBSET}clean", ct_head[:1]), (1, "ct_head", rows("ct_head"))]
    jobs = _jobs(units)
    assert sorted(map(sorted, jobs)) == [[0, 1, 4, 5, 6], [2], [3]]
    assert jobs[0] == [3]  # janome's task first: the slowest tokenizer, per character
