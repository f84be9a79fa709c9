"""Benchmark of ``medsreg validate`` on a large synthetic plugin, against two baselines.

Run from the repository root::

    .venv/bin/python bench/validate.py                     # 1M instances over 100 task files
    .venv/bin/python bench/validate.py --instances 20000   # quick run

What it does:

1. Writes a plugin folder ``medsreg-benchsynth`` (pyproject.toml, README.md, 100 task files in
   the MedS-Ins format with a ``medsreg`` block) holding N synthetic instances. Some files carry
   released-variant drift (``output`` and ``Contributors`` as strings), a few instances are
   planted duplicates, and a few test inputs copy most of a train input (the leakage check wants
   most of a test input's tokens, not one shared 13-gram); the run asserts that validate finds
   exactly those.
2. Times, best of --repeat, each phase in its own fresh Python process (so that peak RSS is that
   phase's own):

   * baseline A: bare ``json.load`` of every task file;
   * medsreg static validation without the leakage check: ``load_static`` (read, parse, schema,
     normalize) + ``run_checks`` with 'leakage' taken out of the check registry;
   * the leakage check alone (``collection.check_leakage``);
   * baseline B: ``jsonschema`` Draft 2020-12 validation of every instance against the
     ``RawInstance`` definition of schemas/task-file.schema.json (after json.load, not counted);
     on more than --schema-subset instances it is measured on a subset and scaled linearly;
   * ``medsreg --help`` and ``medsreg list`` as subprocesses, and which heavy modules they import.
3. Prints a table with the goals and writes the figures to OUT/bench_validate.json. When
   validate/json.load exceeds the goal (or with --profile) it adds a cProfile of the validate step.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PLUGIN = "benchsynth"
SEED = 20240611

GOALS = {
    "validate_over_json_load": 2.0,  # at most
    "speedup_over_jsonschema": 5.0,  # at least
    "help_s": 0.3,  # at most
    "list_s": 1.0,  # at most
}
HEAVY = ("torch", "transformers", "datasets")
NOTABLE = HEAVY + ("numpy", "pydantic", "pydantic_core", "pluggy", "jsonschema", "huggingface_hub", "pandas")

# --------------------------------------------------------------------------- synthetic data

WORDS = """
patient patients presented presenting history of acute chronic severe mild moderate pain chest abdominal
headache fever cough dyspnea nausea vomiting diarrhea fatigue weakness dizziness syncope palpitations
edema rash pruritus jaundice hematuria proteinuria oliguria anuria polyuria dysuria hemoptysis wheezing
stridor tachycardia bradycardia hypertension hypotension hypoxemia hypercapnia tachypnea diaphoresis
confusion delirium seizure stroke hemiparesis aphasia ataxia neuropathy myalgia arthralgia back flank
admitted emergency department ward intensive care unit outpatient clinic follow up discharged transferred
year old man woman male female child infant adolescent elderly smoker nonsmoker alcohol use diabetes
mellitus type insulin metformin glucose hemoglobin creatinine urea sodium potassium chloride bicarbonate
calcium magnesium phosphate albumin bilirubin alanine aminotransferase aspartate alkaline phosphatase
lactate troponin natriuretic peptide procalcitonin reactive protein ferritin platelet leukocyte count
neutrophil lymphocyte eosinophil anemia thrombocytopenia leukocytosis coagulopathy international
normalized ratio prothrombin time heparin warfarin apixaban rivaroxaban aspirin clopidogrel atorvastatin
lisinopril amlodipine metoprolol furosemide spironolactone omeprazole pantoprazole ondansetron morphine
fentanyl propofol midazolam ketamine vancomycin ceftriaxone piperacillin tazobactam meropenem azithromycin
doxycycline amoxicillin clavulanate cisplatin carboplatin paclitaxel tacrolimus cyclosporine prednisone
dexamethasone hydrocortisone methylprednisolone levothyroxine labetalol nitroglycerin dobutamine
norepinephrine vasopressin electrocardiogram echocardiogram ejection fraction computed tomography magnetic
resonance imaging ultrasound radiograph biopsy histology cytology culture sensitivity polymerase chain
reaction serology lumbar puncture cerebrospinal fluid pleural effusion ascites pneumothorax consolidation
infiltrate nodule mass lesion opacity atelectasis cardiomegaly fracture dislocation hemorrhage infarction
ischemia thrombosis embolism aneurysm stenosis regurgitation fibrillation flutter block pneumonia sepsis
bacteremia endocarditis meningitis encephalitis cellulitis osteomyelitis pyelonephritis cholecystitis
appendicitis pancreatitis hepatitis cirrhosis colitis gastritis ulcer obstruction perforation carcinoma
adenocarcinoma lymphoma leukemia melanoma metastasis remission relapse chemotherapy radiotherapy surgery
resection laparoscopic cholecystectomy appendectomy transplantation dialysis ventilation intubation
extubation tracheostomy oxygen saturation blood pressure heart rate respiratory temperature weight body
mass index examination auscultation palpation tenderness guarding rebound murmur crackles rales rhonchi
decreased increased elevated normal abnormal unremarkable stable improved worsened resolved persistent
recurrent intermittent progressive sudden gradual onset days weeks months hours prior after before during
without with denied reported noted revealed showed demonstrated consistent suggestive diagnosis differential
treatment management therapy dose daily twice intravenous oral subcutaneous infusion bolus started stopped
continued increased tapered monitored assessed evaluated recommended scheduled randomized trial cohort
study outcome mortality morbidity readmission complication adverse event risk factor prognosis
""".split()  # noqa: SIM905  (a word list reads better as text)

LABELS = ["yes", "no", "maybe"], ["positive", "negative"], ["A", "B", "C", "D"], ["entailment", "contradiction", "neutral"]


def _category_plan(rng: random.Random, tasks: int) -> list[str]:
    from medsreg.vocabulary import CATEGORIES

    return [CATEGORIES[i % len(CATEGORIES)] for i in rng.sample(range(tasks), tasks)]


def _sizes(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` split over ``parts`` with some spread (0.5x to 1.5x of the mean), every part >= 20."""
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    scale = total / sum(weights)
    sizes = [max(20, int(w * scale)) for w in weights]
    sizes[-1] += total - sum(sizes)
    if sizes[-1] < 20:
        raise SystemExit(f"--instances {total} is too small for --tasks {parts}")
    return sizes


def generate(out: Path, instances: int, tasks: int) -> dict:
    """Write the plugin folder; return what was planted (duplicates, leaks, drift files)."""
    from medsreg.vocabulary import CLASSIFICATION_CATEGORIES

    rng = random.Random(SEED)
    plugin = out / f"medsreg-{PLUGIN}"
    task_dir = plugin / f"medsreg_{PLUGIN}" / "tasks"
    task_dir.mkdir(parents=True, exist_ok=True)
    for old in task_dir.glob("*.json"):
        old.unlink()
    (plugin / "pyproject.toml").write_text(
        "[build-system]\nrequires = [\"setuptools>=69\"]\nbuild-backend = \"setuptools.build_meta\"\n\n"
        f"[project]\nname = \"medsreg-{PLUGIN}\"\nversion = \"0.1.0\"\n"
        "description = \"Synthetic tasks generated by bench/validate.py\"\nreadme = \"README.md\"\n"
        "requires-python = \">=3.10\"\nlicense = \"CC0-1.0\"\ndependencies = [\"medsreg\"]\n\n"
        f"[project.entry-points.medsreg]\n{PLUGIN} = \"medsreg_{PLUGIN}\"\n\n"
        f"[tool.medsreg]\ntasks = [\"medsreg_{PLUGIN}/tasks\"]\n",
        encoding="utf-8",
    )
    (plugin / "README.md").write_text(
        f"# medsreg-{PLUGIN}\n\n{instances:,} synthetic instances over {tasks} task files, generated by "
        "bench/validate.py for benchmarking `medsreg validate`. Made-up text; no patient data. CC0-1.0.\n",
        encoding="utf-8",
    )
    (plugin / f"medsreg_{PLUGIN}" / "__init__.py").write_text('"""Synthetic benchmark tasks."""\n', encoding="utf-8")

    sizes = _sizes(rng, instances, tasks)
    categories = _category_plan(rng, tasks)
    test_tasks = set(rng.sample(range(tasks), max(1, round(tasks * 0.1))))
    train_tasks = [t for t in range(tasks) if t not in test_tasks]
    drift_tasks = set(rng.sample(train_tasks, max(1, tasks // 8)) + rng.sample(sorted(test_tasks), 1))
    dup_tasks = rng.sample([t for t in train_tasks if t not in drift_tasks], 5)
    leak_sources = rng.sample([t for t in train_tasks if t not in dup_tasks], 5)  # one train task per leak
    leak_targets = [sorted(test_tasks)[i % len(test_tasks)] for i in range(5)]
    source_inputs: dict[int, str] = {}
    planted = {"duplicates": [], "leaks": [], "drift_files": [], "test_tasks": [], "instances": 0}
    words, choices, randint = WORDS, rng.choices, rng.randint

    # train tasks first, so the inputs the leaks copy from exist when the test tasks are written
    for t in train_tasks + sorted(test_tasks):
        name = f"synth_{t:03d}_{categories[t].lower().replace(' ', '_')}"
        drift = t in drift_tasks
        category = categories[t]
        labels = LABELS[t % len(LABELS)] if category in CLASSIFICATION_CATEGORIES else None
        rows = []
        for i in range(sizes[t]):
            text = " ".join(choices(words, k=randint(40, 80))) + "."
            if labels is not None:
                answer = labels[i % len(labels)] if i % 7 else rng.choice(labels)
            else:
                answer = " ".join(choices(words, k=randint(1, 6)))
            rows.append({"id": f"{name}-{i:06d}", "input": text, "output": answer if drift else [answer]})
        if t in leak_sources:
            source_inputs[t] = rows[len(rows) // 2]["input"]
            planted["leaks_from"] = planted.get("leaks_from", []) + [(name, rows[len(rows) // 2]["id"])]
        if t in dup_tasks:
            src = rng.randrange(len(rows) // 2)
            copy = dict(rows[src], id=f"{name}-dup")
            rows.insert(rng.randrange(src + 1, len(rows)), copy)
            planted["duplicates"].append(name)
        if t in test_tasks:
            planted["test_tasks"].append(name)
            for k, (source, target) in enumerate(zip(leak_sources, leak_targets)):
                if target != t:
                    continue
                # a real leak: all but the first 5 words of a train input (35 to 75), 10 words of its own around
                # them, so most of its tokens are the train input's (a 13-gram alone is no leak any more)
                shared = source_inputs[source].rstrip(".").split()[5:]
                slot = rng.randrange(len(rows))
                rows[slot]["input"] = " ".join(choices(words, k=5) + shared + choices(words, k=5)) + "."
                planted["leaks"].append(rows[slot]["id"])
        planted["instances"] += len(rows)
        document = {
            "Contributors": "medsreg benchmark" if drift else ["medsreg benchmark"],
            "Source": ["medsreg synthetic benchmark"],
            "URL": ["https://github.com/medsreg/medsreg/tree/main/bench"],
            "Domains": ["Medicine"],
            "Input_language": ["English"],
            "Output_language": ["English"],
            "Instruction_language": ["English"],
            "Categories": [category],
            "Reasoning": [],
            "Definition": [f"Synthetic {category.lower()} task {t}: read the clinical text and give the answer."],
            "Positive Examples": [{
                "input": " ".join(choices(words, k=50)) + ".",
                "output": labels[0] if labels else " ".join(choices(words, k=3)),
                "explanation": "A made-up example of the expected answer.",
            }],
            "Negative Examples": [],
            "Split Type": "Test" if t in test_tasks else "Train",
            "medsreg": {"name": name, "version": "1.0", "license": "CC0-1.0", "access": "public", "synthetic": True},
            "Instances": rows,
        }
        with open(task_dir / f"{name}.json", "w", encoding="utf-8") as handle:
            json.dump(document, handle, ensure_ascii=False, indent=1)
        if drift:
            planted["drift_files"].append(name)
    return planted


# --------------------------------------------------------------------------- phases (each in its own process)


def _task_files(data: Path) -> list[Path]:
    return sorted((data / f"medsreg-{PLUGIN}" / f"medsreg_{PLUGIN}" / "tasks").glob("*.json"))


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _best(function, repeat: int):
    best, result = math.inf, None
    for _ in range(repeat):
        result = None  # drop the previous run's objects before the next one
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def phase_json(data: Path, repeat: int) -> dict:
    files = _task_files(data)
    rss0 = _maxrss_mb()

    def load():
        out = []
        for path in files:
            with open(path, encoding="utf-8") as handle:
                out.append(json.load(handle))
        return out

    seconds, documents = _best(load, repeat)
    count = sum(len(d["Instances"]) for d in documents)
    return {"json_load_s": seconds, "instances": count, "files": len(files),
            "bytes": sum(p.stat().st_size for p in files), "rss_start_mb": rss0, "peak_rss_mb": _maxrss_mb()}


def _without_leakage():
    from medsreg.validate import problems

    class Context:
        def __enter__(self):
            self.saved = dict(problems.CHECKS)
            del problems.CHECKS["leakage"]

        def __exit__(self, *exc):
            problems.CHECKS.clear()
            problems.CHECKS.update(self.saved)

    return Context()


def phase_medsreg(data: Path, repeat: int) -> dict:
    from medsreg.catalog import load_static
    from medsreg.validate import collection
    from medsreg.validate.problems import Options
    from medsreg.validate.runner import all_checks, run_checks

    plugin = data / f"medsreg-{PLUGIN}"
    options = Options()
    assert "leakage" in {c.id for c in all_checks()}
    rss0 = _maxrss_mb()
    load_times, check_times = [], []

    def validate():
        start = time.perf_counter()
        catalog = load_static([plugin], max_file_mb=options.max_file_mb)
        loaded = time.perf_counter()
        with _without_leakage():
            report = run_checks(catalog, options)
        load_times.append(loaded - start)
        check_times.append(time.perf_counter() - loaded)
        return catalog, report

    seconds, (catalog, report) = _best(validate, repeat)
    assert "leakage" in {c.id for c in all_checks()}, "the leakage check was not restored"
    best = min(range(repeat), key=lambda i: load_times[i] + check_times[i])
    rss_validate = _maxrss_mb()
    leakage_s, leaks = _best(lambda: list(collection.check_leakage(catalog.tasks, options)), repeat)
    problems = [p for p in report.problems if p.check != "leakage"] + leaks
    return {
        "validate_s": seconds, "load_static_s": load_times[best], "run_checks_s": check_times[best],
        "leakage_s": leakage_s, "tasks": report.tasks, "plugins": report.plugins,
        "instances": sum(len(item.task.instances or ()) for item in catalog.tasks),
        "problems": [{"check": p.check, "severity": p.severity, "file": Path(p.file).name, "path": p.path,
                      "message": p.message} for p in problems],
        "rss_start_mb": rss0, "peak_rss_validate_mb": rss_validate, "peak_rss_mb": _maxrss_mb(),
    }


def phase_schema(data: Path, repeat: int, subset: int) -> dict:
    import jsonschema

    schema = json.loads((ROOT / "schemas" / "task-file.schema.json").read_text(encoding="utf-8"))
    instance_schema = {"$schema": schema.get("$schema", "https://json-schema.org/draft/2020-12/schema"),
                       "$ref": "#/$defs/RawInstance", "$defs": schema["$defs"]}
    jsonschema.Draft202012Validator.check_schema(instance_schema)
    validator = jsonschema.Draft202012Validator(instance_schema)
    documents = []
    for path in _task_files(data):
        with open(path, encoding="utf-8") as handle:
            documents.append(json.load(handle))
    total = sum(len(d["Instances"]) for d in documents)
    fraction = min(1.0, subset / total) if subset else 1.0
    sample = [d["Instances"][: math.ceil(len(d["Instances"]) * fraction)] for d in documents]
    measured = sum(len(rows) for rows in sample)
    is_valid = validator.is_valid

    def run():
        return sum(1 for rows in sample for instance in rows if not is_valid(instance))

    seconds, invalid = _best(run, repeat)
    assert invalid == 0, f"{invalid} instances fail the JSON Schema"
    bad = {"output": 3}
    assert not is_valid(bad), "the JSON Schema accepts an instance without input"
    return {"jsonschema_s": seconds * total / measured, "jsonschema_measured_s": seconds, "measured_instances": measured,
            "instances": total, "scaled": measured < total, "peak_rss_mb": _maxrss_mb()}


def phase_profile(data: Path) -> dict:
    import cProfile
    import io
    import pstats

    from medsreg.catalog import load_static
    from medsreg.validate.problems import Options
    from medsreg.validate.runner import run_checks

    options = Options()
    profiler = cProfile.Profile()
    with _without_leakage():
        profiler.enable()
        run_checks(load_static([data / f"medsreg-{PLUGIN}"]), options)
        profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(15)
    return {"profile": text.getvalue()}


def _run_phase(name: str, args: argparse.Namespace, data: Path) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", name, "--data", str(data),
               "--repeat", str(args.repeat), "--schema-subset", str(args.schema_subset)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"phase {name} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- CLI start-up


def _cli_times(runs: int = 5) -> dict:
    medsreg = VENV_BIN / "medsreg"
    out = {}
    for label, argv in (("help", ["--help"]), ("list", ["list"])):
        best = math.inf
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run([str(medsreg), *argv], check=False, capture_output=True, text=True)
            best = min(best, time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"medsreg {' '.join(argv)} exited {done.returncode}: {done.stderr}")
        out[f"{label}_s"] = best
        probe = (
            "import json, sys\nfrom medsreg.cli import main\n"
            f"sys.argv = ['medsreg', {', '.join(repr(a) for a in argv)}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"sys.stderr.write('\\nMODULES ' + json.dumps(sorted(m for m in {NOTABLE!r} if m in sys.modules)) + '\\n')\n"
        )
        done = subprocess.run([sys.executable, "-c", probe], check=False, capture_output=True, text=True)
        line = [x for x in done.stderr.splitlines() if x.startswith("MODULES ")]
        if not line:
            raise SystemExit(f"could not probe the imports of medsreg {' '.join(argv)}: {done.stderr}")
        out[f"{label}_modules"] = json.loads(line[-1].removeprefix("MODULES "))
    import importlib.util

    out["heavy_installed"] = [m for m in HEAVY if importlib.util.find_spec(m) is not None]
    return out


# --------------------------------------------------------------------------- report


def _check_findings(found: list[dict], planted: dict) -> list[str]:
    """Assert validate found the planted problems and nothing else but the drift notes; return the unexpected ones."""
    by_check: dict[str, list[dict]] = {}
    for problem in found:
        by_check.setdefault(problem["check"], []).append(problem)
    duplicates = by_check.pop("duplicates", [])
    assert len(duplicates) == len(planted["duplicates"]), duplicates
    assert {Path(p["file"]).stem for p in duplicates} == set(planted["duplicates"])
    assert all("repeats Instances[" in p["message"] and p["severity"] == "error" for p in duplicates)
    leaks = by_check.pop("leakage", [])
    assert len(leaks) == len(planted["leaks"]), leaks
    assert all("13-gram" in p["message"] and "informative tokens are shared" in p["message"] for p in leaks), leaks
    assert {p["message"].split("#", 1)[1].split(" ", 1)[0] for p in leaks} == set(planted["leaks"])
    notes = by_check.pop("normalized", [])
    contributors = {Path(p["file"]).stem for p in notes if "Contributors given as a string" in p["message"]}
    outputs = {Path(p["file"]).stem for p in notes if "'output' as a string" in p["message"]}
    assert contributors == outputs == set(planted["drift_files"]), (contributors, outputs, planted["drift_files"])
    # the files say "English": the language notes ("read as ISO 639 codes") are expected on every file
    other = [p for p in notes if "Contributors given" not in p["message"] and "'output' as a string" not in p["message"]
             and "languages read as ISO 639 codes" not in p["message"]]
    assert not other, other
    return [f"{p['severity']}: {p['file']}::{p['path']}: {p['message']} [{p['check']}]" for ps in by_check.values() for p in ps]


def report(args: argparse.Namespace, planted: dict, gen_s: float, a: dict, m: dict, b: dict, cli: dict) -> dict:
    ratio = m["validate_s"] / a["json_load_s"]
    speedup = b["jsonschema_s"] / m["validate_s"]
    n = m["instances"]
    figures = {
        "instances": n, "tasks": m["tasks"], "files_mb": a["bytes"] / 1e6, "repeat": args.repeat, "generate_s": gen_s,
        "json_load_s": a["json_load_s"],
        "validate_no_leakage_s": m["validate_s"], "load_static_s": m["load_static_s"], "run_checks_s": m["run_checks_s"],
        "validate_over_json_load": ratio,
        "jsonschema_s": b["jsonschema_s"], "jsonschema_measured_s": b["jsonschema_measured_s"],
        "jsonschema_measured_instances": b["measured_instances"], "jsonschema_scaled": b["scaled"],
        "speedup_over_jsonschema": speedup,
        "leakage_s": m["leakage_s"], "validate_with_leakage_s": m["validate_s"] + m["leakage_s"],
        "peak_rss_json_load_mb": a["peak_rss_mb"], "peak_rss_validate_mb": m["peak_rss_validate_mb"],
        "peak_rss_validate_leakage_mb": m["peak_rss_mb"], "peak_rss_jsonschema_mb": b["peak_rss_mb"],
        "rss_after_imports_mb": m["rss_start_mb"],
        "help_s": cli["help_s"], "list_s": cli["list_s"], "help_modules": cli["help_modules"],
        "list_modules": cli["list_modules"], "heavy_installed": cli["heavy_installed"],
        "planted": {k: v for k, v in planted.items() if k != "leaks_from"},
        "problem_counts": {},
        "goals": GOALS, "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }
    for problem in m["problems"]:
        key = f"{problem['check']}/{problem['severity']}"
        figures["problem_counts"][key] = figures["problem_counts"].get(key, 0) + 1
    heavy_loaded = sorted(set(HEAVY) & set(cli["help_modules"] + cli["list_modules"]))
    figures["goals_met"] = {
        "validate_over_json_load": ratio <= GOALS["validate_over_json_load"],
        "speedup_over_jsonschema": speedup >= GOALS["speedup_over_jsonschema"],
        "help_s": cli["help_s"] <= GOALS["help_s"],
        "list_s": cli["list_s"] <= GOALS["list_s"],
        "no_heavy_imports": not heavy_loaded,
    }

    def ok(key: str) -> str:
        return "ok" if figures["goals_met"][key] else "MISSED"

    per = 1e6 / n
    imports_label = f"peak RSS, validate process after M (imports: {m['rss_start_mb']:.0f} MB)"
    scaled = (f"measured on {b['measured_instances']:,} instances in {b['jsonschema_measured_s']:.2f} s, "
              f"scaled linearly x{n / b['measured_instances']:.1f}") if b["scaled"] else "all instances"
    lines = [
        (f"medsreg validate benchmark: {n:,} instances in {m['tasks']} task files ({a['bytes'] / 1e6:,.0f} MB), "
         f"1 plugin; best of {args.repeat}; Python {figures['python']}, {figures['cpus']} CPUs"),
        f"data: {args.out}   (generated in {gen_s:.1f} s)" if gen_s else f"data: {args.out}   (reused)",
        "",
        f"{'measure':<58}{'seconds':>9}{'us/inst':>9}   goal",
        "-" * 90,
        f"{'A  json.load of all task files (baseline)':<58}{a['json_load_s']:>9.2f}{a['json_load_s'] * per:>9.2f}",
        f"{'M  medsreg validate without leakage (load_static+checks)':<58}{m['validate_s']:>9.2f}{m['validate_s'] * per:>9.2f}",
        f"{'     load_static: read, parse, schema, normalize':<58}{m['load_static_s']:>9.2f}{m['load_static_s'] * per:>9.2f}",
        f"{'     run_checks: task + collection checks (no leakage)':<58}{m['run_checks_s']:>9.2f}{m['run_checks_s'] * per:>9.2f}",
        f"{'L  leakage check (13-gram coverage, train vs test)':<58}{m['leakage_s']:>9.2f}{m['leakage_s'] * per:>9.2f}",
        (f"{'M+L medsreg validate, all checks':<58}{m['validate_s'] + m['leakage_s']:>9.2f}"
         f"{(m['validate_s'] + m['leakage_s']) * per:>9.2f}"),
        f"{'B  jsonschema Draft 2020-12, per instance (no json.load)':<58}{b['jsonschema_s']:>9.2f}{b['jsonschema_s'] * per:>9.2f}",
        f"     B: {scaled}",
        "",
        (f"{'ratio M / A   (validate vs bare json.load)':<58}{ratio:>9.2f}x{'':>8}   <= {GOALS['validate_over_json_load']:.1f}  "
         f"{ok('validate_over_json_load')}"),
        (f"{'speed-up B / M (jsonschema per-instance vs full validate)':<58}{speedup:>9.2f}x{'':>8}   >= "
         f"{GOALS['speedup_over_jsonschema']:.1f}  {ok('speedup_over_jsonschema')}"),
        "     (M does strictly more than B: it reads and parses the files, validates whole task files, normalizes,",
        "      and runs every task and collection check except leakage; B only validates already-parsed instances)",
        "",
        f"{'peak RSS, json.load process':<58}{a['peak_rss_mb']:>9.0f} MB",
        f"{imports_label:<58}{m['peak_rss_validate_mb']:>9.0f} MB",
        f"{'peak RSS, validate process after M+L':<58}{m['peak_rss_mb']:>9.0f} MB",
        f"{'peak RSS, jsonschema process':<58}{b['peak_rss_mb']:>9.0f} MB",
        "",
        f"{'medsreg --help (subprocess, best of 5)':<58}{cli['help_s']:>9.3f}{'':>9}   <= {GOALS['help_s']}  {ok('help_s')}",
        f"{'medsreg list   (subprocess, best of 5)':<58}{cli['list_s']:>9.3f}{'':>9}   <= {GOALS['list_s']}  {ok('list_s')}",
        f"     --help imports: {', '.join(cli['help_modules']) or '-'}",
        f"     list imports:   {', '.join(cli['list_modules']) or '-'}",
        (f"     torch/transformers/datasets imported: {', '.join(heavy_loaded) or 'none'} "
         f"(installed in this venv: {', '.join(cli['heavy_installed']) or 'none'})  {ok('no_heavy_imports')}"),
        "",
        "problems found (as planted): " + ", ".join(f"{k} {v}" for k, v in sorted(figures["problem_counts"].items())),
        (f"     planted: {len(planted['duplicates'])} duplicates, {len(planted['leaks'])} leaking test inputs, "
         f"{len(planted['drift_files'])} drift files (output and Contributors as strings)"),
    ]
    figures["table"] = "\n".join(lines)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1_000_000, help="Synthetic instances in all (default 1,000,000).")
    parser.add_argument("--tasks", type=int, default=100, help="Task files (default 100).")
    parser.add_argument("--out", type=Path, help="Folder for the plugin and bench_validate.json (default: a new temp folder).")
    parser.add_argument("--repeat", type=int, default=1, help="Report the best of this many runs of each measure.")
    parser.add_argument("--schema-subset", type=int, default=100_000,
                        help="Measure jsonschema on about this many instances and scale linearly (0: all).")
    parser.add_argument("--reuse", action="store_true", help="Reuse data already generated in --out with the same sizes.")
    parser.add_argument("--profile", action="store_true", help="Add a cProfile of the validate step even when the goal is met.")
    parser.add_argument("--phase", choices=["json", "medsreg", "schema", "profile"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process measuring one phase: one JSON line on stdout
        result = {"json": lambda: phase_json(args.data, args.repeat),
                  "medsreg": lambda: phase_medsreg(args.data, args.repeat),
                  "schema": lambda: phase_schema(args.data, args.repeat, args.schema_subset),
                  "profile": lambda: phase_profile(args.data)}[args.phase]()
        print(json.dumps(result))
        return

    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="medsreg-bench-"))
    args.out.mkdir(parents=True, exist_ok=True)
    marker = args.out / "planted.json"
    gen_s = 0.0
    if args.reuse and marker.is_file() and json.loads(marker.read_text())["key"] == [args.instances, args.tasks, SEED]:
        planted = json.loads(marker.read_text())["planted"]
    else:
        print(f"generating {args.instances:,} instances over {args.tasks} task files in {args.out} ...", file=sys.stderr)
        start = time.perf_counter()
        planted = generate(args.out, args.instances, args.tasks)
        gen_s = time.perf_counter() - start
        marker.write_text(json.dumps({"key": [args.instances, args.tasks, SEED], "planted": planted}))

    phases = {}
    for name in ("json", "medsreg", "schema"):
        print(f"measuring {name} ...", file=sys.stderr)
        phases[name] = _run_phase(name, args, args.out)
    print("measuring CLI start-up ...", file=sys.stderr)
    cli = _cli_times()

    unexpected = _check_findings(phases["medsreg"]["problems"], planted)
    figures = report(args, planted, gen_s, phases["json"], phases["medsreg"], phases["schema"], cli)
    figures["unexpected_problems"] = unexpected
    if unexpected:
        figures["table"] += f"\nUNEXPECTED problems ({len(unexpected)}):\n" + "\n".join("     " + u for u in unexpected[:20])
    if args.profile or not figures["goals_met"]["validate_over_json_load"]:
        print("profiling validate ...", file=sys.stderr)
        figures["profile"] = _run_phase("profile", args, args.out)["profile"]
        figures["table"] += "\n\ncProfile of load_static + run_checks (no leakage), top 15 by cumulative time:\n" + figures["profile"]
    print(figures["table"])
    (args.out / "bench_validate.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out / 'bench_validate.json'}")


if __name__ == "__main__":
    main()
