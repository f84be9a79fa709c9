"""Benchmark of ``medsreg build`` on large synthetic plugins, against a bare pyarrow write of the same rows.

Run from the repository root::

    .venv/bin/python bench/build.py --instances 20000     # quick run (well under a minute)
    .venv/bin/python bench/build.py --out /tmp/mbb1m       # 1M instances over 100 task files
    .venv/bin/python bench/build.py --out /tmp/mbb1m --reuse --scale 5   # and the 5x run, for peak RSS

What it does:

1. Writes two plugin folders under ``OUT/plugins`` holding N synthetic instances in the MedS-Ins
   task-file format: ``medsreg-buildsynth`` (the training tasks, ~90% of the files, as MedS-Ins
   is shipped: task cards in the plugin, the task files with their instances in a source folder,
   ``OUT/sources``) and ``medsreg-buildsynthbench`` (the test tasks, ~10%, and a suite over them
   in the MedS-Bench shape: MCQA zero-shot, the rest 3-shot). A few training inputs copy 15
   consecutive words of a test input (three shared 13-grams); the run asserts that
   decontamination removes exactly those. At ``--scale K`` only the training tasks grow: the
   suite is the same benchmark (as MedS-Bench stays one size whatever the mixture).
2. Measures, each in a fresh Python process (so that peak RSS is that phase's own):

   * ``build``: ``medsreg build`` of the default mixture of the training tasks and of the suite
     (decontaminated against it), through the library entry point ``pipeline.run_build``, with its
     steps timed (read + plan with decontamination, write; within the write, each dataset's own cost: the CPU
     seconds spent drawing its rows' random choices, making them into Arrow and writing them, in the workers and, for a
     suite's instance arrays, in the build process; per row for the suite vs the mixture). Decontamination runs inside the worker
     processes that read the tasks: its share is their lookup seconds divided by the workers, plus
     the index, over the build's wall time (an upper bound: the build makes the index while its
     workers read);
   * ``build without suites``: the same mixture with only the training plugin loaded (no suite, no
     decontamination): build time with vs without suites;
   * ``baseline``: a bare pyarrow write of the same rows: the datasets the build wrote are read back
     1,000 rows at a time as Python dicts (not timed) and timed while converted to Arrow
     (``RecordBatch.from_pylist`` with the build's schema) and written with ``pyarrow.ipc``
     (the format datasets' save_to_disk writes); also a pure IPC copy of the Arrow batches (no
     Python objects), the I/O floor;
   * with ``--scale K``: the build again on K times the instances (generated beside), for the
     peak RSS ratio.
3. Prints a table with the goals (build / baseline <= 3.0; peak RSS at K x <= 1.2 x) and writes the
   figures to ``OUT/bench_build.json``. Peak RSS is the larger of the build process's and of its
   largest worker process's.

Only the two synthetic plugins are loaded (``MEDSREG_PLUGINS``), so installed plugins change nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRAIN_PLUGIN = "buildsynth"
SUITE_PLUGIN = "buildsynthbench"
SUITE_NAME = f"{SUITE_PLUGIN}/bench"
SEED = 20240611
LEAKS = 12
"""Training inputs planted as copies of most of a test input: decontamination must remove exactly these."""

GOALS = {
    "build_over_pyarrow": 3.0,  # at most
    "rss_ratio": 1.2,  # at most, peak RSS at --scale x instances over peak RSS at --instances
    "suite_over_mixture_per_row": 1.5,  # at most, a suite row's cost (rendered, written) over a mixture row's
}

WORDS = """
patient patients presented presenting history acute chronic severe mild moderate pain chest abdominal headache fever
cough dyspnea nausea vomiting diarrhea fatigue weakness dizziness syncope palpitations edema rash pruritus jaundice
hematuria proteinuria wheezing stridor tachycardia bradycardia hypertension hypotension hypoxemia tachypnea confusion
delirium seizure stroke hemiparesis aphasia ataxia neuropathy myalgia arthralgia admitted emergency department ward
intensive care unit outpatient clinic discharged transferred year old man woman child infant elderly smoker diabetes
mellitus insulin metformin glucose hemoglobin creatinine urea sodium potassium chloride bicarbonate calcium magnesium
albumin bilirubin lactate troponin ferritin platelet leukocyte neutrophil lymphocyte anemia thrombocytopenia
leukocytosis coagulopathy heparin warfarin apixaban aspirin clopidogrel atorvastatin lisinopril amlodipine metoprolol
furosemide omeprazole ondansetron morphine vancomycin ceftriaxone piperacillin meropenem azithromycin doxycycline
amoxicillin cisplatin paclitaxel tacrolimus prednisone dexamethasone hydrocortisone levothyroxine norepinephrine
electrocardiogram echocardiogram ejection fraction tomography resonance ultrasound radiograph biopsy histology culture
serology puncture effusion ascites pneumothorax consolidation infiltrate nodule mass lesion opacity fracture
hemorrhage infarction ischemia thrombosis embolism aneurysm stenosis fibrillation pneumonia sepsis bacteremia
endocarditis meningitis cellulitis osteomyelitis pyelonephritis cholecystitis appendicitis pancreatitis hepatitis
cirrhosis colitis ulcer obstruction carcinoma lymphoma leukemia melanoma metastasis remission relapse chemotherapy
radiotherapy surgery resection transplantation dialysis ventilation intubation oxygen saturation blood pressure heart
rate temperature weight examination tenderness murmur crackles decreased increased elevated normal abnormal stable
improved worsened resolved persistent recurrent progressive sudden gradual onset days weeks months hours prior after
before during without with denied reported noted revealed showed consistent diagnosis treatment management therapy
dose daily twice intravenous oral infusion started stopped continued monitored assessed recommended trial cohort
outcome mortality readmission complication adverse event risk factor prognosis
""".split()  # noqa: SIM905  (a word list reads better as text)

# (category, labels or None for free text, suite metrics, suite shots): the MedS-Bench shapes
KINDS = [
    ("Question Answering", ["A", "B", "C", "D"], ["mcqa_accuracy"], 0),
    ("Text Classification", ["positive", "negative"], ["accuracy"], None),
    ("Named Entity Recognition", None, ["entity_f1"], None),
    ("Text Summarization", None, ["bleu1", "rougeL"], None),
    ("Diagnosis", None, ["accuracy"], None),
    ("Natural Language Inference", ["entailment", "contradiction", "neutral"], ["accuracy"], None),
]


# --------------------------------------------------------------------------- synthetic plugins

from validate import _sizes  # noqa: E402  (bench/ is on sys.path when run as a script: one data spread)


def _plugin_folder(root: Path, slug: str, description: str, with_suite: bool) -> Path:
    folder = root / f"medsreg-{slug}"
    module = folder / f"medsreg_{slug}"
    if folder.exists():
        shutil.rmtree(folder)
    (module / "tasks").mkdir(parents=True)
    suites = f'suites = ["medsreg_{slug}/suite.json"]\n' if with_suite else ""
    (folder / "pyproject.toml").write_text(
        "[build-system]\nrequires = [\"setuptools>=77\"]\nbuild-backend = \"setuptools.build_meta\"\n\n"
        f"[project]\nname = \"medsreg-{slug}\"\nversion = \"0.1.0\"\ndescription = \"{description}\"\n"
        "readme = \"README.md\"\nrequires-python = \">=3.10\"\nlicense = \"CC0-1.0\"\ndependencies = [\"medsreg\"]\n\n"
        f"[project.entry-points.medsreg]\n{slug} = \"medsreg_{slug}\"\n\n"
        f"[tool.medsreg]\ntasks = [\"medsreg_{slug}/tasks\"]\n{suites}",
        encoding="utf-8",
    )
    (folder / "README.md").write_text(f"# medsreg-{slug}\n\n{description}. Made-up text; no patient data. CC0-1.0.\n",
                                      encoding="utf-8")
    hooks = "@hookimpl\ndef register_tasks():\n    return [HERE / 'tasks']\n"
    if with_suite:
        hooks += "\n\n@hookimpl\ndef register_suites():\n    return [HERE / 'suite.json']\n"
    (module / "__init__.py").write_text(
        f'"""{description}."""\n\nfrom pathlib import Path\n\nfrom medsreg import hookimpl\n\nHERE = Path(__file__).parent\n\n\n'
        + hooks, encoding="utf-8")
    return module


def _document(name: str, category: str, split: str, rows: list[dict], rng: random.Random) -> dict:
    rewrites = rng.randint(2, 4)
    return {
        "Contributors": ["medsreg benchmark"],
        "Source": ["medsreg synthetic benchmark"],
        "URL": ["https://github.com/medsreg/medsreg/tree/main/bench"],
        "Domains": ["Medicine"],
        "Input_language": ["English"],
        "Output_language": ["English"],
        "Instruction_language": ["English"],
        "Categories": [category],
        "Reasoning": [],
        "Definition": [f"Synthetic {category.lower()} task {name}: read the clinical text and give the answer."]
        + [f"Rewrite {k} of the instruction of {name}: answer from the clinical text." for k in range(1, rewrites + 1)],
        "Positive Examples": [],
        "Negative Examples": [],
        "Split Type": split,
        "medsreg": {"name": name, "version": "1.0", "license": "CC0-1.0", "access": "public", "synthetic": True},
        "Instances": rows,
    }


def generate(out: Path, instances: int, tasks: int, train_scale: int = 1) -> dict:
    """Write the two plugins under ``out/plugins`` and the training task files under ``out/sources``; return what
    was planted. ``train_scale``: training tasks get that many times their instances (the test tasks do not)."""
    rng = random.Random(SEED)
    plugins = out / "plugins"
    train_module = _plugin_folder(plugins, TRAIN_PLUGIN, "Synthetic training tasks generated by bench/build.py", False)
    suite_module = _plugin_folder(plugins, SUITE_PLUGIN, "Synthetic test tasks and a suite generated by bench/build.py", True)
    sizes = _sizes(rng, instances, tasks)
    test_tasks = set(rng.sample(range(tasks), max(1, round(tasks * 0.1))))
    sizes = [size if t in test_tasks else size * train_scale for t, size in enumerate(sizes)]
    sources = out / "sources"
    if sources.exists():
        shutil.rmtree(sources)
    sources.mkdir(parents=True)
    choices, randint = rng.choices, rng.randint
    test_inputs: list[str] = []
    suite_categories: dict[str, list[dict]] = {}
    planted = {"leaks": [], "instances": 0, "train_instances": 0, "test_instances": 0,
               "train_tasks": 0, "test_tasks": len(test_tasks)}

    # test tasks first: the planted leaks copy from their inputs
    for t in sorted(test_tasks) + [t for t in range(tasks) if t not in test_tasks]:
        category, labels, metrics, shots = KINDS[t % len(KINDS)]
        is_test = t in test_tasks
        name = f"synth_{t:03d}_{category.lower().replace(' ', '_')}" + ("_test" if is_test else "")
        rows = []
        for i in range(sizes[t]):
            text = " ".join(choices(WORDS, k=randint(40, 80))) + "."
            answer = rng.choice(labels) if labels else " ".join(choices(WORDS, k=randint(1, 12)))
            rows.append({"id": f"{name}-{i:06d}", "input": text, "output": [answer]})
        if is_test:
            test_inputs.extend(row["input"] for row in rows)
            entry = {"task": f"{SUITE_PLUGIN}/{name}", "metrics": metrics}
            if shots is not None:
                entry["shots"] = shots
            suite_categories.setdefault(category, []).append(entry)
        elif len(planted["leaks"]) < LEAKS:
            victim = rows[rng.randrange(len(rows))]
            # a copy of a test input but its first 5 words, 10 words added: most of it shared, as a real leak is
            # (a short shared run inside a longer text is not one: overlap.py's coverage rule)
            shared = rng.choice(test_inputs).rstrip(".").split()[5:]
            victim["input"] = " ".join(shared + choices(WORDS, k=10)) + "."
            planted["leaks"].append(victim["id"])
        document = _document(name, category, "Test" if is_test else "Train", rows, rng)
        if is_test:
            with open(suite_module / "tasks" / f"{name}.json", "w", encoding="utf-8") as handle:
                json.dump(document, handle, ensure_ascii=False, indent=1)
        else:  # the task file in the source folder, its card (the same without instances) in the plugin
            with open(sources / f"{name}.json", "w", encoding="utf-8") as handle:
                json.dump(document, handle, ensure_ascii=False, indent=1)
            card = {key: value for key, value in document.items() if key != "Instances"}
            card["medsreg"] = {**document["medsreg"], "instances_from": {
                "kind": "local", "key": TRAIN_PLUGIN, "path": f"{name}.json",
                "how_to_obtain": "Run bench/build.py: it writes the task files under OUT/sources."}}
            with open(train_module / "tasks" / f"{name}.json", "w", encoding="utf-8") as handle:
                json.dump(card, handle, ensure_ascii=False, indent=1)
        planted["instances"] += len(rows)
        planted["test_instances" if is_test else "train_instances"] += len(rows)
        planted["train_tasks"] += not is_test

    suite = {"name": SUITE_NAME, "version": "1.0", "description": "A synthetic suite in the MedS-Bench shape.",
             "shots": 3, "instruction": "original", "seed": 0,
             "categories": [{"name": category, "tasks": entries} for category, entries in suite_categories.items()]}
    (suite_module / "suite.json").write_text(json.dumps(suite, indent=1), encoding="utf-8")
    return planted


# --------------------------------------------------------------------------- phases (each in its own process)


def _maxrss_mb() -> float:
    """Peak RSS of this process or of its largest (finished) child: the build's worker processes count too."""
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return peak / 1024  # KiB on Linux


def phase_build(data: Path, output: Path, with_suites: bool, profile: bool = False, tokenizer: Path | None = None,
                max_length: int = 2048, pack: bool = False) -> dict:
    """``run_build`` of the default spec, with the time of its steps (the pipeline's functions wrapped by timers)."""
    os.environ["MEDSREG_PLUGINS"] = f"{TRAIN_PLUGIN},{SUITE_PLUGIN}" if with_suites else TRAIN_PLUGIN
    os.environ.pop("MEDSREG_DISABLED_PLUGINS", None)
    os.environ["MEDSREG_SOURCE_" + TRAIN_PLUGIN.upper()] = str(data / "sources")
    import medsreg.overlap
    from medsreg.build import pipeline

    times: dict[str, float] = {}

    def timed(name: str, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    for name in ("plan_build", "_read_instances", "_write", "_catalog", "_tokenization"):
        setattr(pipeline, name, timed(name, getattr(pipeline, name)))
    from medsreg.build import mixture, suitebuild

    # each dataset's own cost: the CPU seconds of the worker jobs that make its rows (their random choices drawn, then
    # rendered and written), summed over the workers, and of what the build process makes for them (the suite's
    # arrays); a mixture draws its rows in a pass of their own (pass 2), a suite's pieces draw theirs. The pieces of a
    # suite are made by the mixture's workers, beside its last buckets: wall time per dataset would not tell them
    # apart. The jobs report through a file: they run in other processes.
    jobs_file = Path(tempfile.mkstemp(prefix="medsreg-bench-jobs-")[1])

    def cpu_timed(function, name: str):
        def wrapper(*args, **kwargs):
            start = os.times()
            try:
                return function(*args, **kwargs)
            finally:
                end = os.times()
                with open(jobs_file, "a", encoding="utf-8") as handle:
                    handle.write(f"{name} {end[0] + end[1] - start[0] - start[1]}\n")
        wrapper.__module__, wrapper.__qualname__ = function.__module__, function.__qualname__  # found by name in workers
        return wrapper

    mixture._rows_one = cpu_timed(mixture._rows_one, "mixture")
    mixture._write_bucket = cpu_timed(mixture._write_bucket, "mixture")
    suitebuild._suite_piece = cpu_timed(suitebuild._suite_piece, "suite")
    suitebuild.suite_step = cpu_timed(suitebuild.suite_step, "suite")
    medsreg.overlap.OverlapIndex.__init__ = timed("overlap_index", medsreg.overlap.OverlapIndex.__init__)
    rss_imports = _maxrss_mb()
    notes: list[str] = []
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    start = time.perf_counter()
    result = pipeline.run_build(
        pipeline.BuildOptions(output=output, overwrite=True, quiet=True, plugins_dirs=(data / "plugins",),
                              tokenizer=tokenizer, max_length=max_length, pack=pack),
        say=notes.append, warn=notes.append)
    seconds = time.perf_counter() - start
    profile_text = None
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(20)
        profile_text = text.getvalue()
    jobs_cpu_s: dict[str, float] = {}
    for line in jobs_file.read_text(encoding="utf-8").splitlines():
        name, seconds_text = line.split()
        jobs_cpu_s[name] = jobs_cpu_s.get(name, 0.0) + float(seconds_text)
    jobs_file.unlink()
    removed = {row.task.name: row.decontaminated for plan in result.plans for row in plan.rows if row.decontaminated}
    workers = pipeline.BuildOptions().worker_count
    times["decontaminate"] = times.get("overlap_index", 0.0) + result.decontamination_s / workers
    return {
        "workers": workers,
        "build_s": seconds, "steps_s": times, "jobs_cpu_s": jobs_cpu_s, "rss_after_imports_mb": rss_imports,
        "peak_rss_mb": _maxrss_mb(),
        "stats": result.stats, "suites": [suite.name for suite, _ in result.suites],
        "removed": removed, "notes": notes,
        "output_bytes": sum(path.stat().st_size for path in output.rglob("*") if path.is_file()),
        "profile": profile_text,
    }


def phase_baseline(output: Path, scratch: Path) -> dict:
    """A bare pyarrow write of the rows the build wrote, from Python dicts (timed: from_pylist + IPC write only)."""
    import pyarrow as pa

    datasets = sorted(path.parent for path in output.rglob("dataset_info.json"))
    scratch.mkdir(parents=True, exist_ok=True)
    write_s = copy_s = 0.0
    rows = 0
    for split_dir in datasets:
        target = scratch / (split_dir.relative_to(output).as_posix().replace("/", "--") + ".arrow")
        copy_target = target.with_suffix(".copy.arrow")
        writer = copier = None
        for shard in sorted(split_dir.glob("data-*.arrow")):
            with pa.memory_map(str(shard)) as source:
                reader = pa.ipc.open_stream(source)
                schema = reader.schema
                if writer is None:
                    writer = pa.ipc.new_stream(str(target), schema)
                    copier = pa.ipc.new_stream(str(copy_target), schema)
                for batch in reader:
                    start = time.perf_counter()
                    copier.write_batch(batch)
                    copy_s += time.perf_counter() - start
                    pending = batch.to_pylist()  # the rows as a renderer hands them over: not timed
                    start = time.perf_counter()
                    writer.write_batch(pa.RecordBatch.from_pylist(pending, schema=schema))
                    write_s += time.perf_counter() - start
                    rows += len(pending)
        for handle in (writer, copier):
            if handle is not None:
                start = time.perf_counter()
                handle.close()
                elapsed = time.perf_counter() - start
                if handle is writer:
                    write_s += elapsed
                else:
                    copy_s += elapsed
    size = sum(path.stat().st_size for path in scratch.glob("*.arrow") if ".copy." not in path.name)
    shutil.rmtree(scratch)
    return {"pyarrow_write_s": write_s, "ipc_copy_s": copy_s, "rows": rows, "bytes": size, "peak_rss_mb": _maxrss_mb()}


def _run_phase(args: list[str]) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-8000:])
        raise SystemExit(f"phase {' '.join(args[:2])} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- report


def _check(build: dict, planted: dict, with_suites: bool) -> None:
    stats = build["stats"]
    assert stats["mixture"]["rows"] == planted["train_instances"] - (len(planted["leaks"]) if with_suites else 0), stats
    if with_suites:
        assert build["suites"] == [SUITE_NAME], build["suites"]
        suite = next(value for key, value in stats.items() if key.startswith("suites/"))
        assert suite["rows"] == planted["test_instances"], suite
        assert sum(build["removed"].values()) == len(planted["leaks"]), (build["removed"], planted["leaks"])
    else:
        assert not build["suites"] and not build["removed"], build


def report(args: argparse.Namespace, planted: dict, gen_s: float, full: dict, bare: dict, base: dict,
           base_bare: dict, scaled: dict | None) -> dict:
    steps = full["steps_s"]
    rows = sum(value["rows"] for value in full["stats"].values())
    ratio = full["build_s"] / base["pyarrow_write_s"]
    ratio_bare = bare["build_s"] / base_bare["pyarrow_write_s"]
    decon_share = steps.get("decontaminate", 0.0) / full["build_s"]
    suites_share = (full["build_s"] - bare["build_s"]) / full["build_s"]
    figures = {
        "instances": planted["instances"], "tasks": args.tasks, "train_instances": planted["train_instances"],
        "test_instances": planted["test_instances"], "rows_written": rows, "generate_s": gen_s,
        "build_s": full["build_s"], "build_steps_s": steps, "build_without_suites_s": bare["build_s"],
        "build_without_suites_steps_s": bare["steps_s"],
        "pyarrow_write_s": base["pyarrow_write_s"], "ipc_copy_s": base["ipc_copy_s"],
        "pyarrow_write_mixture_only_s": base_bare["pyarrow_write_s"],
        "build_over_pyarrow": ratio, "build_without_suites_over_pyarrow": ratio_bare,
        "decontamination_s": steps.get("decontaminate", 0.0), "decontamination_share": decon_share,
        "suites_share": suites_share, "planted_leaks": len(planted["leaks"]), "removed": sum(full["removed"].values()),
        "peak_rss_build_mb": full["peak_rss_mb"], "peak_rss_build_without_suites_mb": bare["peak_rss_mb"],
        "rss_after_imports_mb": full["rss_after_imports_mb"], "peak_rss_baseline_mb": base["peak_rss_mb"],
        "output_mb": full["output_bytes"] / 1e6, "baseline_mb": base["bytes"] / 1e6,
        "goals": GOALS, "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }
    # each dataset's own cost per row: its workers' CPU rendering and writing it (reading and decontamination are the
    # plan's, hashing is the parent's and the same per byte)
    mixture_rows = full["stats"]["mixture"]["rows"]
    suite_path = next(key for key in full["stats"] if key.startswith("suites/"))
    suite_rows = full["stats"][suite_path]["rows"]
    mixture_us = full["jobs_cpu_s"]["mixture"] / max(mixture_rows, 1) * 1e6
    suite_us = full["jobs_cpu_s"]["suite"] / max(suite_rows, 1) * 1e6
    figures.update(mixture_cpu_s=full["jobs_cpu_s"]["mixture"], suite_cpu_s=full["jobs_cpu_s"]["suite"],
                   mixture_us_per_row=mixture_us, suite_us_per_row=suite_us, suite_over_mixture_per_row=suite_us / mixture_us)
    figures["goals_met"] = {"build_over_pyarrow": ratio <= GOALS["build_over_pyarrow"],
                            "suite_over_mixture_per_row": suite_us / mixture_us <= GOALS["suite_over_mixture_per_row"]}
    if scaled is not None:
        figures["scale"] = args.scale
        figures["scaled_instances"] = scaled["instances"]
        figures["scaled_build_s"] = scaled["build_s"]
        figures["peak_rss_scaled_mb"] = scaled["peak_rss_mb"]
        figures["rss_ratio"] = scaled["peak_rss_mb"] / full["peak_rss_mb"]
        figures["goals_met"]["rss_ratio"] = figures["rss_ratio"] <= GOALS["rss_ratio"]

    def ok(key: str) -> str:
        return "ok" if figures["goals_met"][key] else "MISSED"

    per = 1e6 / max(rows, 1)
    read_plan = steps.get("plan_build", 0.0) - steps.get("decontaminate", 0.0)
    lines = [
        (f"medsreg build benchmark: {planted['instances']:,} instances in {args.tasks} task files "
         f"({planted['train_instances']:,} train, {planted['test_instances']:,} test in a suite); "
         f"Python {figures['python']}, {figures['cpus']} CPUs, {full['workers']} build workers"),
        f"data: {args.out}   (generated in {gen_s:.1f} s)" if gen_s else f"data: {args.out}   (reused)",
        f"rows written: {rows:,} (mixture {full['stats']['mixture']['rows']:,} + suite); output {figures['output_mb']:,.0f} MB",
        "",
        f"{'measure':<62}{'seconds':>9}{'us/row':>9}   goal",
        "-" * 92,
        f"{'B  medsreg build: mixture + suite, decontaminated':<62}{full['build_s']:>9.2f}{full['build_s'] * per:>9.2f}",
        f"{'     catalog: load the plugins and their task files':<62}{steps.get('_catalog', 0):>9.2f}",
        f"{'     select, read sources, plan (without decontamination)':<62}{read_plan:>9.2f}",
        f"{'     decontamination (13-gram index of the suite, scan / workers)':<62}{steps.get('decontaminate', 0):>9.2f}",
        f"{'     write: render, hash, Arrow, card, manifest':<62}{steps.get('_write', 0):>9.2f}",
        f"{'       mixture: CPU, its rows drawn, rendered and written':<62}{figures['mixture_cpu_s']:>9.2f}{mixture_us:>9.2f}",
        f"{'       suite: CPU, its rows drawn, rendered and written':<62}{figures['suite_cpu_s']:>9.2f}{suite_us:>9.2f}",
        f"{'B0 medsreg build without suites (mixture only)':<62}{bare['build_s']:>9.2f}",
        (f"{'P  pyarrow: from_pylist + IPC write of the same rows':<62}{base['pyarrow_write_s']:>9.2f}"
         f"{base['pyarrow_write_s'] * per:>9.2f}"),
        f"{'     IPC copy of the same Arrow batches (I/O floor)':<62}{base['ipc_copy_s']:>9.2f}",
        "",
        (f"{'ratio B / P   (build vs bare pyarrow write)':<62}{ratio:>9.2f}x{'':>8}   <= {GOALS['build_over_pyarrow']:.1f}  "
         f"{ok('build_over_pyarrow')}"),
        f"{'ratio B0 / P0 (mixture only)':<62}{ratio_bare:>9.2f}x",
        (f"{'decontamination share of B':<62}{decon_share * 100:>8.1f}%   "
         f"({figures['removed']} removed = {len(planted['leaks'])} planted)"),
        f"{'(B - B0) / B: suites (rendering, writing, decontamination)':<62}{suites_share * 100:>8.1f}%",
        (f"{'suite row / mixture row (CPU per row: draw, render, write)':<62}{suite_us / mixture_us:>9.2f}x{'':>8}   "
         f"<= {GOALS['suite_over_mixture_per_row']:.1f}  {ok('suite_over_mixture_per_row')}"),
        "",
        f"{'peak RSS, build process (B)':<62}{full['peak_rss_mb']:>9.0f} MB   (after imports {full['rss_after_imports_mb']:.0f} MB)",
        f"{'peak RSS, build without suites (B0)':<62}{bare['peak_rss_mb']:>9.0f} MB",
        f"{'peak RSS, pyarrow baseline':<62}{base['peak_rss_mb']:>9.0f} MB",
    ]
    if scaled is not None:
        lines += [
            f"{f'peak RSS, build at {args.scale}x the instances':<62}{scaled['peak_rss_mb']:>9.0f} MB",
            (f"{f'RSS ratio {args.scale}x / 1x':<62}{figures['rss_ratio']:>9.2f}x{'':>8}   <= {GOALS['rss_ratio']:.1f}  "
             f"{ok('rss_ratio')}"),
            f"     ({scaled['instances']:,} instances built in {scaled['build_s']:.1f} s)",
        ]
    else:
        lines.append("     (peak RSS at 5x: run again with --reuse --scale 5)")
    figures["table"] = "\n".join(lines)
    return figures


def _generate(out: Path, instances: int, tasks: int, reuse: bool, train_scale: int = 1) -> tuple[dict, float]:
    marker = out / "planted.json"
    key = [instances, tasks, SEED, train_scale, "sourced"]
    if reuse and marker.is_file() and json.loads(marker.read_text())["key"] == key:
        return json.loads(marker.read_text())["planted"], 0.0
    print(f"generating {instances:,} instances over {tasks} task files in {out} ...", file=sys.stderr)
    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    planted = generate(out, instances, tasks, train_scale)
    marker.write_text(json.dumps({"key": key, "planted": planted}))
    return planted, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", type=int, default=1_000_000, help="Synthetic instances in all (default 1,000,000).")
    parser.add_argument("--tasks", type=int, default=100, help="Task files (default 100; ~10%% are test tasks).")
    parser.add_argument("--out", type=Path, help="Folder for the plugins, the builds and bench_build.json "
                        "(default: a new temp folder).")
    parser.add_argument("--reuse", action="store_true", help="Reuse plugins already generated in --out with the same sizes.")
    parser.add_argument("--scale", type=int, default=0, metavar="K",
                        help="Also build with K times the training instances (e.g. 5) and report the peak RSS ratio.")
    parser.add_argument("--keep", action="store_true", help="Keep the build outputs (default: removed at the end).")
    parser.add_argument("--profile", action="store_true",
                        help="Measure the build once more under cProfile and add the top functions (by own time).")
    parser.add_argument("--tokenizer", type=Path, help="Also measure the build with this local tokenizer folder "
                        "(--tokenizer of medsreg build: input_ids / labels for the mixture).")
    parser.add_argument("--max-length", type=int, default=2048, help="With --tokenizer: --max-length (default 2048).")
    parser.add_argument("--pack", action="store_true", help="With --tokenizer: --pack.")
    parser.add_argument("--phase", choices=["build", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--without-suites", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:  # a child process measuring one phase: one JSON line on stdout
        if args.phase == "build":
            result = phase_build(args.data, args.output, with_suites=not args.without_suites, profile=args.profile,
                                 tokenizer=args.tokenizer, max_length=args.max_length, pack=args.pack)
        else:
            result = phase_baseline(args.output, args.data)
        print(json.dumps(result))
        return

    if args.out is None:
        args.out = Path(tempfile.mkdtemp(prefix="medsreg-bench-build-"))
    args.out = args.out.resolve()
    planted, gen_s = _generate(args.out, args.instances, args.tasks, args.reuse)
    builds = args.out / "builds"

    def build(data: Path, name: str, with_suites: bool = True, profile: bool = False, tokenize: bool = False) -> dict:
        print(f"measuring {name}{' under cProfile' if profile else ''} ...", file=sys.stderr)
        flags = ([] if with_suites else ["--without-suites"]) + (["--profile"] if profile else [])
        if tokenize:
            flags += ["--tokenizer", str(args.tokenizer.resolve()), "--max-length", str(args.max_length)]
            flags += ["--pack"] if args.pack else []
        return _run_phase(["--phase", "build", "--data", str(data), "--output", str(builds / name), *flags])

    def baseline(name: str) -> dict:
        print(f"measuring the pyarrow baseline of {name} ...", file=sys.stderr)
        return _run_phase(["--phase", "baseline", "--output", str(builds / name), "--data", str(builds / f"{name}.pyarrow")])

    full = build(args.out, "build")
    _check(full, planted, with_suites=True)
    base = baseline("build")
    bare = build(args.out, "build-without-suites", with_suites=False)
    _check(bare, planted, with_suites=False)
    base_bare = baseline("build-without-suites")
    scaled = None
    if args.scale:
        scaled_data = args.out / f"x{args.scale}"
        scaled_planted, _ = _generate(scaled_data, args.instances, args.tasks, args.reuse, train_scale=args.scale)
        scaled = build(scaled_data, f"build-x{args.scale}")
        _check(scaled, scaled_planted, with_suites=True)
        scaled["instances"] = scaled_planted["instances"]
    tokenized = build(args.out, "build-tokenized", tokenize=True) if args.tokenizer else None
    profile = build(args.out, "build-profiled", profile=True)["profile"] if args.profile else None
    if not args.keep:
        shutil.rmtree(builds, ignore_errors=True)

    figures = report(args, planted, gen_s, full, bare, base, base_bare, scaled)
    if tokenized is not None:
        extra = tokenized["build_s"] - full["build_s"]
        mixture = tokenized["stats"]["mixture"]["rows"]
        figures.update(tokenized_build_s=tokenized["build_s"], tokenized_rows=mixture,
                       peak_rss_tokenized_mb=tokenized["peak_rss_mb"], tokenizer=str(args.tokenizer),
                       max_length=args.max_length, pack=args.pack)
        figures["table"] += (
            f"\n\n{'BT medsreg build --tokenizer' + (' --pack' if args.pack else ''):<62}{tokenized['build_s']:>9.2f}"
            f"   (+{extra:.2f} s over B: {extra / max(full['stats']['mixture']['rows'], 1) * 1e6:.0f} us per mixture row; "
            f"mixture {'blocks' if args.pack else 'rows'}: {mixture:,}; peak RSS {tokenized['peak_rss_mb']:.0f} MB)")
    if profile:
        figures["profile"] = profile
        figures["table"] += "\n\ncProfile of the build (mixture + suite), top 20 by own time:\n" + profile
    print(figures["table"])
    (args.out / "bench_build.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.out / 'bench_build.json'}")


if __name__ == "__main__":
    main()
