"""``run_build``: the order of a build, from options to a written (or, with --dry-run, printed) result.

load the spec and the catalog -> choose the suites -> select the training tasks -> read the
instances of only those tasks -> decontaminate -> plan -> print the plan, or stream the rows
into the writer with the card and the manifest. Reading decides nothing and writing decides
nothing: the choices live in plan.py and render.py. datasets / tqdm are imported only here,
inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsreg.build.mixture import Survey, default_workers, render_tasks, shuffled_tables, survey
from medsreg.build.plan import Plan, Selected, has_test_side, make_plan, select_tasks, test_instances
from medsreg.build.render import suite_row
from medsreg.build.spec import default_spec, load_spec
from medsreg.build.suites import (
    Coverage,
    SuitePlan,
    SuiteSelection,
    find_named,
    find_suite,
    missing_tasks,
    select_suite,
    suite_items,
    suite_sentence,
    status_word,
    unreadable,
)
from medsreg.build.writer import MIXTURE_PATH, suite_path
from medsreg.catalog import Catalog, LoadedMixture, LoadedSuite, LoadedTask
from medsreg.errors import MedsregError
from medsreg.models import MixtureSpec, Suite, Task
from medsreg.progress import progress_bar

SAMPLES_PLUGIN = "samples"
Echo = Callable[[str], None]


@dataclass
class BuildOptions:
    """What ``medsreg build`` was asked for (the CLI's options, one to one)."""

    spec: Path | None = None
    mixture: str | None = None
    """A registered mixture ('meds-ins/meds-ins' or 'meds-ins'), instead of ``spec``."""
    suites: tuple[str, ...] = ()
    output: Path = Path("build")
    overwrite: bool = False
    dry_run: bool = False
    seed: int | None = None
    total: int | None = None
    export: str | None = None
    tokenizer: Path | None = None
    max_length: int | None = None
    pack: bool = False
    quiet: bool = False
    plugins_dirs: tuple[Path, ...] = ()
    workers: int | None = None
    """Processes reading and rendering training tasks; None: every CPU this process may use."""
    require_complete: bool = False
    """Refuse a suite that misses a task instead of building its readable part."""

    @property
    def worker_count(self) -> int:
        return self.workers or default_workers()


@dataclass
class BuildResult:
    plan: Plan
    suites: list[SuitePlan]
    selections: list[SuiteSelection] = field(default_factory=list)
    """The suites built, each with the tasks it misses (a partial suite)."""
    skipped_suites: list[tuple[str, str]] = field(default_factory=list)
    """(suite, why) for suites a default build left out."""
    checked: list[tuple[str, int]] = field(default_factory=list)
    """(test task, test instances) for every test set the mixture was decontaminated against."""
    not_checked: list[tuple[str, str]] = field(default_factory=list)
    """(test task, why) for the test sets that could not be read, so the mixture is not checked against them."""
    stats: dict[str, dict] | None = None
    """{dataset path: {"rows", "sha256"}}; None for a dry run."""
    output: Path | None = None
    from_samples: bool = False
    coverage: Coverage = field(default_factory=Coverage)
    """The test sets the mixture was checked against and the suites' missing tasks: the card and manifest say them."""
    decontamination_s: float = 0.0
    """Seconds the training inputs spent in the overlap index, summed over the worker processes."""


def run_build(options: BuildOptions, *, say: Echo = print, warn: Echo = print) -> BuildResult:
    """Build (or plan, with ``dry_run``) the mixture and the suites; ``say`` gets progress lines, ``warn`` problems."""
    spec, origin, is_default = _spec(options)
    if not options.dry_run and options.output.exists() and not options.overwrite:
        raise MedsregError(f"the output {options.output} already exists; pass --overwrite to replace it (the old output stays "
                           "until the new one is complete) or choose another --output")
    tokenization = _tokenization(options)  # before any reading: a bad tokenizer is reported at once
    catalog = _catalog(options.plugins_dirs, warn)
    if options.mixture is not None:
        spec, origin, is_default = _overridden(find_mixture(catalog, options.mixture).spec, options), \
            f"mixture {options.mixture}", False
    result = plan_build(spec, origin, catalog, options.suites, warn, suites_only_ok=is_default,
                        workers=options.worker_count, quiet=options.quiet, require_complete=options.require_complete)
    for name, why in result.skipped_suites:
        warn(f"note: skipped suite {name}: it {why}")
    if not result.plan.rows:
        warn("note: no training task is available here, so only the suites are built (no mixture/)")
    elif result.plan.skipped:
        warn(f"note: {len(result.plan.skipped)} training tasks the spec covers are not available here and are left out "
             f"(e.g. {result.plan.skipped[0][1]}); 'medsreg list --status \"not configured\"' lists them")
    if options.dry_run:
        say(result.plan.table())
        for suite, pairs in result.suites:
            rows = sum(len(test_instances(task)) for _, task in pairs)
            say(f"suite {suite.name}: {len(pairs)} tasks, {rows:,} rows")
        say("dry run: nothing written")
        return result

    result.stats = _write(options, spec, is_default and result.from_samples, catalog, result.plan, result.suites,
                          tokenization, result.coverage)
    result.output = options.output
    say(_summary(result))
    if tokenization is not None:  # what truncation, dropping and packing did to the mixture
        say(tokenization.counts.summary(tokenization.max_length))
    from medsreg.build.card import drop_lines  # every planned row missing from the mixture, per task and reason

    for line in drop_lines(result.plan, tokenization.counts.dropped_by_task() if tokenization is not None else None,
                           tokenization.max_length if tokenization is not None else None):
        say(line)
    if result.from_samples:
        say("built from the bundled sample plugins: synthetic data for trying medsreg, not for training a model")
    return result


def plan_build(spec: MixtureSpec, origin: str, catalog: Catalog, suite_names: tuple[str, ...] = (),
               warn: Echo = print, *, suites_only_ok: bool = False, workers: int = 1, quiet: bool = True,
               require_complete: bool = False) -> BuildResult:
    """Everything but the writing: the suites and the test sets (read here), the training tasks (surveyed one at a
    time), the plan.

    ``suite_names`` empty: every suite with a readable task (partial ones marked, suites with none listed as
    skipped). ``require_complete``: a suite that misses a task is refused (named) or skipped (default build).
    ``suites_only_ok``: when no training task is available but a suite is, build the suites alone (an
    evaluation-only installation running the default spec) instead of failing. ``workers``: processes
    reading the training tasks; ``quiet``: no progress bar.
    """
    from medsreg.overlap import OverlapIndex

    explicit = _unique([find_suite(catalog, name, "--suite") for name in suite_names])
    referenced = [find_suite(catalog, name, f"{origin}: suites[{index}]") for index, name in enumerate(spec.suites)]
    selected = select_tasks(spec, catalog, origin)
    to_build, skipped_suites = (explicit, []) if explicit else _default_suites(catalog, require_complete)
    for loaded in [*explicit, *referenced]:  # before reading anything: these are errors, not skips
        missing = missing_tasks(catalog, loaded.suite, read=False)
        if missing and (require_complete or len(missing) == len(loaded.suite.task_names())):
            raise MedsregError(suite_sentence(loaded.suite, missing, none=len(missing) == len(loaded.suite.task_names())))
    selected, skipped_tasks = _readable(selected)

    # every test set that can be read, whether or not its suite is built or complete: none may reach the mixture
    test_sets = [item for item in catalog.tasks if has_test_side(item.task)] if spec.decontaminate else []
    _read_instances([*test_sets, *(item for loaded in [*to_build, *referenced] for item in suite_items(catalog, loaded.suite))],
                    warn)

    selections: list[SuiteSelection] = []
    for loaded in to_build:
        try:
            selection = select_suite(catalog, loaded.suite, require_complete=require_complete)
        except MedsregError as error:
            if _holds(explicit, loaded):
                raise
            skipped_suites.append((loaded.suite.name, str(error).removeprefix(f"suite {loaded.suite.name} ")))
            continue
        if not selection.complete:
            warn(f"warning: {selection.note()}")
        selections.append(selection)
    for loaded in referenced:
        missing = missing_tasks(catalog, loaded.suite, read=True)
        if missing and require_complete:
            raise MedsregError(f"{origin}: suites: {suite_sentence(loaded.suite, missing)}")

    checked, not_checked = _test_sets(test_sets)
    if not_checked:
        names = ", ".join(name for name, _ in not_checked[:3]) + (", ..." if len(not_checked) > 3 else "")
        warn(f"note: the mixture is checked against the {len(checked)} test sets that can be read here, not against "
             f"{len(not_checked)} others ({names}); the card and manifest.json list both, and 'medsreg list --split test' "
             "says how to configure the rest")
    references = [(task.name, instance["input"]) for task in checked for instance in test_instances(task)]
    index = OverlapIndex([text for _, text in references], groups=[name for name, _ in references]) if references else None
    with progress_bar("reading training tasks", len(selected), quiet, unit=" tasks") as bar:
        found = survey([choice.item for choice in selected], index, workers=workers, progress=bar)
    for problem in {problem: None for result in found for problem in result.problems}:
        warn(f"warning: {problem}")
    selected, more_skipped = _read(selected, found)
    suites = [selection.plan for selection in selections]
    plan = make_plan(spec, [choice for choice, _ in selected],
                     {choice.item.task.name: result.available - len(result.removed) for choice, result in selected},
                     {choice.item.task.name: result.removed for choice, result in selected},
                     skipped_tasks + more_skipped, allow_empty=suites_only_ok and bool(suites))
    from_samples = all(row.task.plugin == SAMPLES_PLUGIN for row in plan.rows) and all(
        task.plugin == SAMPLES_PLUGIN for _, pairs in suites for _, task in pairs)
    checked_counts = [(task.name, len(test_instances(task))) for task in checked]
    return BuildResult(plan=plan, suites=suites, selections=selections, skipped_suites=skipped_suites,
                       from_samples=from_samples, decontamination_s=sum(result.decontamination_s for result in found),
                       checked=checked_counts, not_checked=not_checked,
                       coverage=Coverage.of(checked_counts, not_checked, selections))


def _test_sets(items: list[LoadedTask]) -> tuple[list[Task], list[tuple[str, str]]]:
    """(the test tasks whose test instances were read, (task, status word) for the others)."""
    checked, not_checked = [], []
    for item in items:
        if item.task.instances is not None and test_instances(item.task):
            checked.append(item.task)
        else:
            not_checked.append((item.task.name, status_word(item)))
    return checked, not_checked


def _unique(suites: list[LoadedSuite]) -> list[LoadedSuite]:
    return list({id(loaded): loaded for loaded in suites}.values())


def _holds(suites: list[LoadedSuite], loaded: LoadedSuite) -> bool:
    return any(candidate is loaded for candidate in suites)


def _summary(result: BuildResult) -> str:
    stats = result.stats or {}
    plan = result.plan
    mixture = stats.get(MIXTURE_PATH, {})
    tokenized = mixture.get("tokenization") or {}
    if tokenized.get("pack"):  # the dataset's rows are blocks: say the examples they hold too
        examples = tokenized["rows"] - tokenized["dropped"]
        size = f"{examples:,} examples in {mixture.get('rows', 0):,} blocks"
    else:
        size = f"{mixture.get('rows', plan.total):,} rows"
    line = f"wrote {result.output}: mixture {size} from {len(plan.rows)} tasks"
    if not plan.rows:
        line = f"wrote {result.output}: no mixture (no training task available)"
    elif plan.spec.decontaminate:
        removed = sum(row.decontaminated for row in plan.rows)
        line += f" ({removed:,} training instance{'' if removed == 1 else 's'} removed by decontamination)"
    if result.suites:
        line += "; suites " + ", ".join(f"{suite.name} ({stats.get(suite_path(suite.name), {}).get('rows', 0):,} rows)"
                                        for suite, _ in result.suites)
    return line + "; README.md, manifest.json"


# --------------------------------------------------------------------------- inputs


def _spec(options: BuildOptions) -> tuple[MixtureSpec, str, bool]:
    """(spec with --seed / --total applied, where it comes from, whether it is the built-in default)."""
    if options.spec is None:
        spec, origin, is_default = default_spec(), "the default mixture spec", True
    else:
        spec, origin, is_default = load_spec(options.spec), str(options.spec), False
    return _overridden(spec, options), origin, is_default


def _overridden(spec: MixtureSpec, options: BuildOptions) -> MixtureSpec:
    """``spec`` with --seed / --total applied."""
    overrides: dict[str, Any] = {}
    if options.seed is not None:
        overrides["seed"] = options.seed
    if options.total is not None:
        overrides["total"] = options.total
    return MixtureSpec.model_validate({**spec.model_dump(), **overrides}) if overrides else spec


def find_mixture(catalog: Catalog, query: str) -> LoadedMixture:
    """A registered mixture by full name ('meds-ins/meds-ins') or by its name inside the plugin ('meds-ins')."""
    return find_named(catalog.mixtures, lambda loaded: loaded.spec.name, query, "--mixture", "mixture",
                      listing="Registered mixtures", none="No installed plugin registers a mixture.",
                      how="'medsreg list --mixtures' lists them; or give your own with --spec FILE")


def _catalog(plugins_dirs: tuple[Path, ...], warn: Echo) -> Catalog:
    from medsreg.catalog import check_configuration, load_installed
    from medsreg.plugins import get_plugin_manager

    catalog = load_installed(get_plugin_manager(plugins_dirs))
    check_configuration(catalog)  # a misspelled --source would otherwise only show as tasks left out
    for problem in catalog.findings.problems:
        if problem.severity != "note":
            warn(f"warning: {problem.location()}: {problem.message}")
    return catalog


def _default_suites(catalog: Catalog, require_complete: bool) -> tuple[list[LoadedSuite], list[tuple[str, str]]]:
    """Every suite with a task that looks available (all of them, with ``require_complete``); the others with why."""
    chosen, skipped = [], []
    for loaded in sorted(catalog.suites, key=lambda loaded: loaded.suite.name):
        missing = missing_tasks(catalog, loaded.suite, read=False)
        if missing and (require_complete or len(missing) == len(loaded.suite.task_names())):
            sentence = suite_sentence(loaded.suite, missing, none=len(missing) == len(loaded.suite.task_names()))
            skipped.append((loaded.suite.name, sentence.removeprefix(f"suite {loaded.suite.name} ")))
        else:
            chosen.append(loaded)
    return chosen, skipped


def _readable(selected: list[Selected]) -> tuple[list[Selected], list[tuple[str, str]]]:
    """Before reading: drop tasks whose source is not configured (a task the spec names is an error instead)."""
    kept, skipped = [], []
    for choice in selected:
        why = unreadable(choice.item, read=False)
        if why is None or choice.explicit:  # reading a named task gives the sentence on how to get it
            kept.append(choice)
        else:
            skipped.append((choice.item.task.name, why))
    return kept, skipped


def _read(selected: list[Selected], found: list[Survey]) -> tuple[list[tuple[Selected, Survey]], list[tuple[str, str]]]:
    """After reading: drop tasks whose instances could not be read (a task the spec names is an error instead)."""
    kept, skipped = [], []
    for choice, result in zip(selected, found):
        if result.unavailable is None:
            kept.append((choice, result))
        elif choice.explicit:
            raise MedsregError(f"{choice.where}.task: {result.unavailable}")
        else:
            skipped.append((choice.item.task.name, result.unavailable))
    return kept, skipped


def _read_instances(items: list[LoadedTask], warn: Echo) -> None:
    """Read the instances of these tasks only (a build of three tasks reads three sources, not all of them)."""
    from medsreg.catalog import resolve_instances

    unique = list({id(item): item for item in items}.values())
    part = Catalog(tasks=unique)
    resolve_instances(part)
    for problem in part.findings.problems:
        if problem.severity == "error":
            warn(f"warning: {problem.location()}: {problem.message}")


# --------------------------------------------------------------------------- output


def training_features():
    from datasets import Features, Value

    text = Value("string")
    return Features({
        "messages": [{"role": text, "content": text}],
        "prompt": text, "completion": text, "task": text, "legacy_id": Value("int64"), "category": text,
        "source": text, "license": text, "instance_id": text, "instruction_index": Value("int32"),
        "shot_ids": [text], "zero_shot": Value("bool"), "repeat": Value("int32"),
    })


def suite_features():
    from datasets import Features, Value

    text = Value("string")
    return Features({
        "messages": [{"role": text, "content": text}],
        "prompt": text, "references": [text], "metrics": [text], "suite": text, "category": text, "group": text,
        "average": Value("bool"), "task": text, "legacy_id": Value("int64"), "instance_id": text, "shot_ids": [text],
    })


def suite_rows(suite: Suite, pairs: list) -> Iterator[dict[str, Any]]:
    categories = {id(entry): category.name for category in suite.categories for entry in category.tasks}
    for entry, task in pairs:
        pool = test_instances(task)
        for position in range(len(pool)):
            yield suite_row(suite, categories[id(entry)], entry, task, pool, position)


def _tokenization(options: BuildOptions) -> Any:
    """The --tokenizer step, or None: an object with ``features(Features) -> Features`` and
    ``rows(Iterator[dict]) -> Iterator[dict]`` (adds input_ids / labels, truncates or packs), built by tokenize.py."""
    if options.tokenizer is None:
        return None
    try:
        from medsreg.build.tokenize import prepare
    except ImportError as error:
        raise MedsregError(f"--tokenizer needs the tokenize extra ({error}); install it with "
                           "pip install 'medsreg[tokenize]'") from None
    return prepare(options.tokenizer, max_length=options.max_length, pack=options.pack)


def _write(options: BuildOptions, spec: MixtureSpec, default_samples: bool, catalog: Catalog, plan: Plan,
           suites: list[SuitePlan], tokenization: Any = None, coverage: Coverage | None = None) -> dict[str, dict]:
    """Hand the datasets to the writer; ``default_samples``: the default spec over the bundled samples (the card says so)."""
    from medsreg.build.writer import OutputDataset, tables_of, write_build

    rendered = training_features()
    features = rendered if tokenization is None else tokenization.features(rendered)
    items = {item.task.name: item for item in catalog.tasks}

    def mixture(scratch: Path) -> Iterator[Any]:
        with progress_bar("rendering the mixture", plan.total, options.quiet) as bar:
            paths = render_tasks(plan, items, rendered.arrow_schema, scratch, workers=options.worker_count, progress=bar)
        tables = shuffled_tables(plan, paths, rendered.arrow_schema)
        if tokenization is None:
            yield from tables
        else:  # only the mixture is tokenized: suites are prompts for generation
            rows = (row for table in tables for row in table.to_pylist())
            yield from tables_of(tokenization.rows(rows), features, MIXTURE_PATH)

    # the writer draws the progress bars (on a terminal only, not with --quiet or in CI)
    datasets = [OutputDataset(path=MIXTURE_PATH, split="train", features=features, tables=mixture,
                              total=None if tokenization is not None and options.pack else plan.total)] if plan.rows else []
    for suite, pairs in suites:
        datasets.append(OutputDataset(
            path=suite_path(suite.name), split="test", features=suite_features(),
            rows=lambda suite=suite, pairs=pairs: suite_rows(suite, pairs),
            total=sum(len(test_instances(task)) for _, task in pairs),
        ))

    def finalize(stats: dict[str, dict]) -> dict[str, str]:
        from medsreg.build.card import render_card
        from medsreg.build.manifest import build_manifest, dump_manifest

        dropped = None
        if tokenization is not None and MIXTURE_PATH in stats:  # what truncation, dropping and packing did
            counts = tokenization.counts
            dropped = counts.dropped_by_task()  # per task in the manifest's and the card's composition
            stats[MIXTURE_PATH]["tokenization"] = {
                "max_length": tokenization.max_length, "pack": options.pack, "rows": counts.rows,
                "truncated": counts.truncated, "dropped": counts.dropped,
                "dropped_by_reason": counts.dropped_by_reason(), "blocks": counts.blocks,
                "summary": counts.summary(tokenization.max_length)}

        mixture = plan if plan.rows else None
        return {
            "README.md": render_card(mixture, suites, stats, spec, default_samples, export=options.export,
                                     dropped=dropped, coverage=coverage),
            "manifest.json": dump_manifest(build_manifest(catalog, mixture, suites, spec, stats, dropped,
                                                          coverage=coverage)),
        }

    return write_build(options.output, datasets, finalize, overwrite=options.overwrite, export=options.export,
                       quiet=options.quiet)
