"""``--compat official``: what the official MedS-Bench metric scripts (MedS-Ins repository, ``Metrics/*.py``) compute.

The scripts read a submission CSV with pandas, so a cell pandas reads as NaN (``""``, ``"None"``,
``"N/A"``, ``"null"`` ...: ``PANDAS_NA``) reaches them as a float. Each script then does one of
three things with it: turns it into the text ``"nan"`` (``str(cell)``), skips the row, or crashes.
Every rule below is the script's own, in its own order (strip before or after lower-casing, "."
removed from the reference or not, first line taken before or after stripping): the figures of
``tests/fixtures/official-scores`` are the proof, to 0.01 points.

Which script scores a task is decided, as the scripts decide it, by the MedS-Ins task id each of
them lists (``SCRIPTS``); a task no script lists (MMedBench, a plugin's own suite) gets the rule
of the script that uses its metric, with its own language. Where the script would crash on a
row, ``OfficialScriptFails`` names every such row and why: ``medsreg score`` then scores the task
as ``fixed`` does and says so, since the official script gives no figure at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from medsreg.errors import MedsregError
from medsreg.models import MetricContext

PANDAS_NA = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
                       "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"})
"""The cell texts pandas' ``read_csv`` turns into NaN (its default ``na_values``)."""

SCRIPTS: dict[str, tuple[int, ...]] = {
    "MCQA.py": (4, 5, 6, 8, 9, 57, 58, 59, 60, 61, 122, 123, 129),
    "Rationale.py": (51, 52, 53, 54, 55, 56),
    "ConceptExplanation.py": (18, 46, 50),
    "FactVerification.py": (12, 16, 100),
    "InformationExtraction.py": (1, 2, 3, 29, 74),
    "ClinicalOutcomePrediction.py": (117, 118, 119),
    "NamedEntityRecognition.py": (125, 126, 127, 128),
    "NatureLanguageInference.py": (41, 42),
    "TextClassification.py": (106,),
    "TextSummarization.py": (78, 114, 112, 110, *range(83, 95)),
    "TreatmentPlanning.py": (131,),
    "Diagnosis.py": (130,),
}
"""The task ids each official script scores (its default ``task_ids``; Diagnosis.py scores every row of its file)."""

SCRIPT_OF = {legacy_id: script for script, ids in SCRIPTS.items() for legacy_id in ids}
LEGACY_MCQA = (4, 5, 6, 8, 9)
"""Ids MCQA.py still lists that MedS-Bench's suite does not hold: official mode scores them as the script does."""
RATIONALE_LANGUAGES = {51: "zh", 52: "en", 53: "fr", 54: "ja", 55: "ru", 56: "es"}
"""Rationale.py's TASKID2LANG; every other script passes lang='en'."""
YES_NO_TASKS = (123,)

Cell = str | None
"""A cell as the script sees it: None where pandas read NaN."""


@dataclass
class Failure:
    index: int
    reason: str


class OfficialScriptFails(MedsregError):
    """The official script crashes on these rows: it gives no figure for the task."""

    def __init__(self, script: str, failures: list[Failure]):
        self.script, self.failures = script, failures
        super().__init__(f"the official {script} crashes on {len(failures)} row(s): {failures[0].reason}")


def _cells(values: Sequence[str], missing: Sequence[bool]) -> list[Cell]:
    return [None if index < len(missing) and missing[index] else value for index, value in enumerate(values)]


def _nan_text(cell: Cell) -> str:
    return "nan" if cell is None else cell  # str(float('nan'))


class _Rows:
    """One task's cells, with the crashes collected rather than raised at the first."""

    def __init__(self, outputs: Sequence[str], references: Sequence[Sequence[str]], context: MetricContext, script: str):
        self.outputs = _cells(outputs, context.missing_outputs)
        self.references = _cells([expected[0] if expected else "" for expected in references], context.missing_references)
        self.context, self.default = context, script
        self.failures: list[Failure] = []
        self.scripts: set[str] = set()

    def __iter__(self):
        for index, (output, reference) in enumerate(zip(self.outputs, self.references)):
            self.scripts.add(self.script(index) or self.default)
            yield index, output, reference

    def legacy_id(self, index: int) -> int | None:
        return self.context.legacy_ids[index] if index < len(self.context.legacy_ids) else None

    def script(self, index: int) -> str:
        """The official script that scores the row's task ("" for a task no script lists)."""
        return SCRIPT_OF.get(self.legacy_id(index), "")

    def language(self, index: int) -> str:
        """The language ``cal_similarity`` is given: Rationale.py's by task id, "en" from every other script, the
        task's own for a task no script lists."""
        script = self.script(index)
        if script:
            return RATIONALE_LANGUAGES.get(self.legacy_id(index), "en")  # type: ignore[arg-type]
        return self.context.languages[index] if index < len(self.context.languages) else "en"

    def fail(self, index: int, reason: str) -> None:
        self.failures.append(Failure(index, reason))

    def check(self) -> None:
        if self.failures:
            raise OfficialScriptFails(" / ".join(sorted(self.scripts)) or self.default, self.failures)


def _nan_crash(attribute: str) -> str:
    return f"the cell is empty or a pandas NA word, read as NaN: AttributeError: 'float' object has no attribute '{attribute}'"


# --------------------------------------------------------------------------- accuracies


def _accuracy(rows: _Rows, judge: Callable[[int, Cell, Cell], bool | None]) -> float:
    """Mean x100 of ``judge`` over the rows; a judge returns None for a row the script skips."""
    counted = correct = 0
    for index, output, reference in rows:
        verdict = judge(index, output, reference)
        if verdict is None:
            continue
        counted += 1
        correct += verdict
    rows.check()
    return 100 * correct / counted if counted else 0.0


def mcqa(outputs, references, context) -> dict[str, float]:
    rows = _Rows(outputs, references, context, "MCQA.py")

    def judge(index: int, output: Cell, reference: Cell) -> bool:
        pred = _nan_text(output).lower().replace("the right answer is", "").strip()
        gt = _nan_text(reference).lower().replace("the right answer is", "").strip()
        if not pred or not gt:
            side = "output" if not pred else "GT"
            rows.fail(index, f"the {side} is empty once 'the right answer is' and spaces are removed: "
                             "IndexError: string index out of range (MCQA.py:30)")
            return False
        letters = "yn" if rows.legacy_id(index) in YES_NO_TASKS else "abcd"
        return pred[0] in letters and gt[0] in letters and pred[0] == gt[0]

    return {"mcqa_accuracy": _accuracy(rows, judge)}


def _prefixed(name: str, prefix: str, script: str) -> Callable[..., dict[str, float]]:
    """Diagnosis.py and TreatmentPlanning.py: the reference without its prefix and dots, in the lower-cased output."""

    def compute(outputs, references, context) -> dict[str, float]:
        rows = _Rows(outputs, references, context, script)

        def judge(index: int, output: Cell, reference: Cell) -> bool:
            if output is None or reference is None:
                rows.fail(index, _nan_crash("lower" if output is None else "replace"))
                return False
            return reference.replace(".", "").replace(prefix, "").strip().lower() in output.lower()

        return {name: _accuracy(rows, judge)}

    return compute


def extraction(outputs, references, context) -> dict[str, float]:
    def clean(cell: Cell) -> str:
        return _nan_text(cell).lower().strip().replace('"', "").replace("'", "").replace("\n", "")

    rows = _Rows(outputs, references, context, "InformationExtraction.py")
    return {"extraction_accuracy": _accuracy(rows, lambda index, output, reference: clean(reference) in clean(output))}


def outcome(outputs, references, context) -> dict[str, float]:
    def judge(index: int, output: Cell, reference: Cell) -> bool:
        said, expected = _nan_text(output).lower().strip(), _nan_text(reference).lower().strip()
        if expected not in ("true", "false"):
            return False
        other = "false" if expected == "true" else "true"
        return expected in said and other not in said

    rows = _Rows(outputs, references, context, "ClinicalOutcomePrediction.py")
    return {"outcome_accuracy": _accuracy(rows, judge)}


def verification(outputs, references, context) -> dict[str, float]:
    rows = _Rows(outputs, references, context, "FactVerification.py")

    def judge(index: int, output: Cell, reference: Cell) -> bool:
        if output is None or reference is None:
            rows.fail(index, _nan_crash("split" if output is None else "replace"))
            return False
        return reference.replace(".", "").strip().lower() in output.split("\n")[0].strip().lower()

    return {"verification_accuracy": _accuracy(rows, judge)}


def nli(outputs, references, context) -> dict[str, float]:
    def judge(index: int, output: Cell, reference: Cell) -> bool:
        return _nan_text(reference).replace(".", "").strip().lower() in _nan_text(output).lower().strip()

    rows = _Rows(outputs, references, context, "NatureLanguageInference.py")
    return {"nli_accuracy": _accuracy(rows, judge)}


def mmedbench(outputs, references, context) -> dict[str, float]:
    """MMedLM's ``metrics/accuracy.py``: the response without "###Answer: OPTION " and "IS CORRECT.</s>", stripped,
    equals the GT letter (several letters: the same set of ","-separated parts). A response without the literal
    "</s>" keeps "IS CORRECT." and scores 0, as there."""
    from medsreg.metrics.answers import option_letters

    def judge(index: int, output: Cell, reference: Cell) -> bool:
        response = _nan_text(output).strip().replace("###Answer: OPTION ", "").replace("IS CORRECT.</s>", "").strip()
        letters = option_letters(_nan_text(reference))  # the suite's reference may be MMedLM's sentence
        gt = ",".join(sorted(letter.upper() for letter in letters)) if letters is not None else _nan_text(reference).strip()
        if len(gt) == 1:
            return response == gt
        return set(response.split(",")) == set(gt.split(","))

    rows = _Rows(outputs, references, context, "MMedLM metrics/accuracy.py")
    return {"mmedbench_accuracy": _accuracy(rows, judge)}


# --------------------------------------------------------------------------- entities and hallmarks


def _entities(text: str) -> set[str]:
    from medsreg.metrics.entities import NO_ENTITY

    text = text.replace(".", "").strip().lower()
    return set() if text == NO_ENTITY[0] else set(text[:-1].split(", "))


def entity_f1(outputs, references, context) -> dict[str, float]:
    from medsreg.metrics.entities import micro_f1

    rows = _Rows(outputs, references, context, "NamedEntityRecognition.py")
    tp = fp = fn = 0
    for index, output, reference in rows:
        if output is None:
            continue  # the script skips a NaN output
        if reference is None:
            rows.fail(index, _nan_crash("replace"))
            continue
        predicted, expected = _entities(output), _entities(reference)
        hits = len(predicted & expected)
        tp, fp, fn = tp + hits, fp + len(predicted - expected), fn + len(expected - predicted)
    rows.check()
    return {"entity_f1": 100 * micro_f1(tp, fp, fn)}


def hallmarks(name: str, position: int) -> Callable[..., dict[str, float]]:
    def compute(outputs, references, context) -> dict[str, float]:
        from medsreg.metrics.entities import hallmark_macro

        rows = _Rows(outputs, references, context, "TextClassification.py")
        texts = [(_nan_text(output).lower().strip(), _nan_text(reference).lower().strip()) for _, output, reference in rows]
        return {name: 100 * hallmark_macro([o for o, _ in texts], [r for _, r in texts])[position]}

    return compute


# --------------------------------------------------------------------------- BLEU-1 and ROUGE-L


def _generation_pairs(outputs, references, context) -> tuple[list[tuple[str, str, str] | None], _Rows]:
    """Per row, the (hypothesis, reference, language) the script passes to ``cal_similarity``; None where it skips
    the row, and (``"", ...``) where it counts the row with a 0 without calling it (FactVerification.py)."""
    rows = _Rows(outputs, references, context, "utils.cal_similarity")  # a task no script lists: the shared rule
    pairs: list[tuple[str, str, str] | None] = []
    for index, output, reference in rows:
        script = rows.script(index)
        if script == "ConceptExplanation.py" and (output is None or reference is None):
            pairs.append(None)  # skipped: not a str
            continue
        if output is None or reference is None:
            attribute = {"Rationale.py": "strip", "FactVerification.py": "replace" if reference is None else "strip"}
            reason = (_nan_crash(attribute[script]) if script in attribute else
                      "the cell is empty or a pandas NA word, read as NaN: TypeError: expected string or bytes-like "
                      "object, got 'float' (nltk's word_tokenize)")
            rows.fail(index, reason)
            pairs.append(None)
            continue
        if script == "Rationale.py":
            output, reference = output.strip(), reference.strip()
            if not output or not reference:
                pairs.append(None)
                continue
        elif script == "FactVerification.py":
            output, reference = output.strip().lower(), reference.replace(".", "").strip().lower()
        pairs.append((output, reference, rows.language(index)))
    return pairs, rows


def generation(outputs, references, context) -> dict[str, float]:
    from medsreg.metrics.generation import official_pair_scores

    pairs, rows = _generation_pairs(outputs, references, context)
    positions = [index for index, pair in enumerate(pairs) if pair is not None]
    lines = [context.lines[index] for index in positions] if len(context.lines) == len(pairs) else []
    scores = official_pair_scores([pairs[index] for index in positions], lines)  # type: ignore[misc]
    for index, score in zip(positions, scores):
        if isinstance(score, str):
            rows.fail(index, score)
    rows.failures.sort(key=lambda failure: failure.index)
    rows.check()
    bleu = rouge = 0.0
    for value in scores:  # summed in row order, as the scripts do
        bleu, rouge = bleu + value[0], rouge + value[1]  # type: ignore[index]
    return {"bleu1": 100 * bleu / len(scores) if scores else 0.0, "rougeL": 100 * rouge / len(scores) if scores else 0.0}


diagnosis = _prefixed("diagnosis_accuracy", "The diagnosis result is", "Diagnosis.py")
treatment = _prefixed("treatment_accuracy", "The treatment planning is:", "TreatmentPlanning.py")
