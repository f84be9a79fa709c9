"""``run_build``: the order of a build, from options to a written (or, with --dry-run, printed) result.

load the spec and the catalog -> choose the mixtures (the spec, a named mixture, or by default
every registered mixture with a readable task) and the suites -> select each mixture's training
tasks -> read the instances of only those tasks, each once -> decontaminate -> a plan per mixture
-> print the plans, or stream the rows into the writer with the card and the manifest. Reading decides nothing and writing decides
nothing: the choices live in plan.py and render.py. datasets / tqdm are imported only inside the
functions that need them (datasets not at all when layout.py has kept what it writes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from medsreg.build.bucket import TaskRows
from medsreg.build.layout import layout_of, value
from medsreg.build.mixture import Survey, bucket_step, pool_path, shuffled_tables, survey, task_rows
from medsreg.build.plan import (
    Plan,
    Selected,
    has_test_side,
    is_training_task,
    make_plan,
    select_tasks,
    test_instances,
)
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
from medsreg.build.workers import default_workers, few_collections, in_steps
from medsreg.build.writer import MIXTURE_PATH, mixture_path, scratch_beside, suite_path
from medsreg.catalog import Catalog, LoadedMixture, LoadedSuite, LoadedTask
from medsreg.errors import MedsregError
from medsreg.models import MixtureEntry, MixtureSpec, Suite, Task
from medsreg.progress import progress_bar

SAMPLES_PLUGIN = "samples"
_NOTHING_READABLE = "none of its training tasks can be read here ('medsreg list --mixtures' and 'medsreg info {plugin}' say " \
    "how to configure them)"
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
    trust_remote_code: bool = False
    """Let the --tokenizer folder's own code run (``medsreg.modelfolder`` refuses a folder that has some otherwise)."""
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
class MixtureRequest:
    """A mixture a build is asked for: its spec, where the spec comes from, and its folder in the output."""

    spec: MixtureSpec
    origin: str
    path: str = MIXTURE_PATH
    registered: bool = False
    """A registered mixture of the default build: its tasks that cannot be read are left out (said), never errors."""


@dataclass
class BuildResult:
    plans: list[Plan]
    """The mixtures built, each with its folder (none when only suites are built)."""
    suites: list[SuitePlan]
    selections: list[SuiteSelection] = field(default_factory=list)
    """The suites built, each with the tasks it misses (a partial suite)."""
    skipped_suites: list[tuple[str, str]] = field(default_factory=list)
    """(suite, why) for suites a default build left out."""
    skipped_mixtures: list[tuple[str, str]] = field(default_factory=list)
    """(mixture, why) for registered mixtures a default build left out."""
    checked: list[tuple[str, int]] = field(default_factory=list)
    """(test task, test instances) for every test set the mixtures were decontaminated against."""
    not_checked: list[tuple[str, str]] = field(default_factory=list)
    """(test task, why) for the test sets that could not be read, so the mixtures are not checked against them."""
    stats: dict[str, dict] | None = None
    """{dataset path: {"rows", "sha256"}}; None for a dry run."""
    output: Path | None = None
    from_samples: bool = False
    coverage: Coverage = field(default_factory=Coverage)
    """The test sets the mixtures were checked against and the suites' missing tasks: the card and manifest say them."""
    decontamination_s: float = 0.0
    """Seconds the training inputs spent in the overlap index, summed over the worker processes."""
    dropped: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    """{mixture path: {task: {reason: rows}}}: the planned rows --tokenizer left out."""


def run_build(options: BuildOptions, *, say: Echo = print, warn: Echo = print) -> BuildResult:
    """Build (or plan, with ``dry_run``) the mixtures and the suites; ``say`` gets progress lines, ``warn`` problems.

    A spec (``--spec``) or a registered mixture (``--mixture``) gives one mixture, in ``mixture/``. With neither,
    every registered mixture with a task that can be read here is built, each in ``mixtures/<plugin>--<name>/``;
    when none can, the default spec over every available training task (the bundled samples on a fresh clone).
    """
    with few_collections():  # a build makes millions of objects and no cycle worth collecting while it runs
        return _run_build(options, say, warn)


def _run_build(options: BuildOptions, say: Echo, warn: Echo) -> BuildResult:
    spec_file = _overridden(load_spec(options.spec), options) if options.spec is not None else None
    if not options.dry_run and options.output.exists() and not options.overwrite:
        raise MedsregError(f"the output {options.output} already exists; pass --overwrite to replace it (the old output stays "
                           "until the new one is complete) or choose another --output")
    tokenization = _tokenization(options)  # before any reading: a bad tokenizer is reported at once
    catalog = _catalog(options.plugins_dirs, warn)
    requests, skipped_mixtures = _requests(options, spec_file, catalog)
    if options.dry_run:
        return _run(options, catalog, requests, skipped_mixtures, spec_file, tokenization, None, say, warn)
    # what the build keeps between reading and writing: the training tasks' instances, read once
    with scratch_beside(options.output) as pools:
        return _run(options, catalog, requests, skipped_mixtures, spec_file, tokenization, pools, say, warn)


def _run(options: BuildOptions, catalog: Catalog, requests: list[MixtureRequest], skipped_mixtures: list[tuple[str, str]],
         spec_file: MixtureSpec | None, tokenization: Any, pools: Path | None, say: Echo, warn: Echo) -> BuildResult:
    is_default = spec_file is None and options.mixture is None
    build = partial(plan_build, catalog=catalog, suite_names=options.suites, warn=warn, suites_only_ok=is_default,
                    workers=options.worker_count, quiet=options.quiet, require_complete=options.require_complete,
                    pools=pools)
    result = build(requests)
    if any(request.registered for request in requests) and not result.plans:
        warn("note: no registered mixture has a training task that can be read here, so the default spec is built")
        result = build([MixtureRequest(_overridden(default_spec(), options), "the default mixture spec")])
    result.skipped_mixtures = skipped_mixtures + result.skipped_mixtures
    for name, why in result.skipped_suites:
        warn(f"note: skipped suite {name}: it {why}")
    for name, why in result.skipped_mixtures:
        warn(f"note: skipped mixture {name}: {why}")
    if not result.plans:
        warn("note: no training task is available here, so only the suites are built (no mixture)")
    for plan in result.plans:
        if plan.skipped:
            named = f"mixture {plan.spec.name}: " if len(result.plans) > 1 else ""
            warn(f"note: {named}{len(plan.skipped)} training tasks the spec covers are not available here and are left "
                 f"out (e.g. {plan.skipped[0][1]}); the card lists them, and 'medsreg info TASK' says how to make one "
                 "available")
    if options.dry_run:
        for plan in result.plans:
            if len(result.plans) > 1:
                say(f"mixture {plan.spec.name} ({plan.path}/):")
            say(plan.table())
        for suite, pairs in result.suites:
            rows = sum(len(test_instances(task)) for _, task in pairs)
            say(f"suite {suite.name}: {len(pairs)} tasks, {rows:,} rows")
        say("dry run: nothing written")
        return result

    counts = {plan.path: tokenization.fresh() for plan in result.plans} if tokenization is not None else {}
    result.stats = _write(options, is_default and result.from_samples, catalog, result.plans, result.suites,
                          counts, result.coverage, pools)
    result.dropped = {path: step.counts.dropped_by_task() for path, step in counts.items()}
    result.output = options.output
    say(_summary(result))
    from medsreg.build.card import drop_lines  # every planned row missing from a mixture, per task and reason

    for plan in result.plans:
        step = counts.get(plan.path)
        if step is not None:  # what truncation, dropping and packing did to the mixture
            say(("" if len(result.plans) == 1 else f"mixture {plan.spec.name}: ") + step.counts.summary(step.max_length))
        for line in drop_lines(plan, result.dropped.get(plan.path), step.max_length if step is not None else None,
                               named=len(result.plans) > 1):
            say(line)
    if result.from_samples:
        say("built from the bundled sample plugins: synthetic data for trying medsreg, not for training a model")
    return result


def plan_build(requests: list[MixtureRequest], catalog: Catalog, suite_names: tuple[str, ...] = (),
               warn: Echo = print, *, suites_only_ok: bool = False, workers: int = 1, quiet: bool = True,
               require_complete: bool = False, pools: Path | None = None) -> BuildResult:
    """Everything but the writing: the suites and the test sets (read here), the training tasks (surveyed once each,
    however many mixtures take them), a plan per mixture.

    ``suite_names`` empty: every suite with a readable task (partial ones marked, suites with none listed as
    skipped). ``require_complete``: a suite that misses a task is refused (named) or skipped (default build).
    ``suites_only_ok``: when no training task is available but a suite is, build the suites alone (an
    evaluation-only installation running the default spec) instead of failing. A registered mixture of the default
    build without a readable task is left out (``skipped_mixtures``). ``workers``: processes reading the training
    tasks; ``quiet``: no progress bar; ``pools``: a folder where the training tasks' instances are kept as read, for
    the writing (a build that writes; none for a dry run).
    """
    from medsreg.overlap import OverlapIndex

    explicit = _unique([find_suite(catalog, name, "--suite") for name in suite_names])
    referenced = [find_suite(catalog, name, f"{request.origin}: suites[{index}]")
                  for request in requests for index, name in enumerate(request.spec.suites)]
    chosen = [_selected(request, catalog) for request in requests]
    to_build, skipped_suites = (explicit, []) if explicit else _default_suites(catalog, require_complete)
    for loaded in [*explicit, *referenced]:  # before reading anything: these are errors, not skips
        missing = missing_tasks(catalog, loaded.suite, read=False)
        if missing and (require_complete or len(missing) == len(loaded.suite.task_names())):
            raise MedsregError(suite_sentence(loaded.suite, missing, none=len(missing) == len(loaded.suite.task_names())))

    # every test set that can be read, whether or not its suite is built or complete: none may reach a mixture
    decontaminate = any(request.spec.decontaminate for request in requests)
    test_sets = [item for item in catalog.tasks if has_test_side(item.task)] if decontaminate else []
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
    for request in requests:
        for name in request.spec.suites:
            loaded = find_suite(catalog, name, f"{request.origin}: suites")
            missing = missing_tasks(catalog, loaded.suite, read=True)
            if missing and require_complete:
                raise MedsregError(f"{request.origin}: suites: {suite_sentence(loaded.suite, missing)}")

    checked, not_checked = _test_sets(test_sets)
    if not_checked:
        names = ", ".join(name for name, _ in not_checked[:3]) + (", ..." if len(not_checked) > 3 else "")
        warn(f"note: the mixture is checked against the {len(checked)} test sets that can be read here, not against "
             f"{len(not_checked)} others ({names}); the card and manifest.json list both, and 'medsreg list --split test' "
             "says how to configure the rest")
    references = [(task.name, instance["input"]) for task in checked for instance in test_instances(task)]

    def index() -> OverlapIndex | None:  # made while the training tasks are read (survey)
        return OverlapIndex([text for _, text in references], groups=[name for name, _ in references]) if references else None

    # a task two mixtures take is read and checked once
    items = list({id(choice.item): choice.item for selected, _ in chosen for choice in selected}.values())
    with progress_bar("reading training tasks", len(items), quiet, unit=" tasks") as bar:
        # a build that writes converts values with pyarrow, which imports pandas (half a second): while the workers read
        found = dict(zip(map(id, items), survey(items, index, workers=workers, progress=bar, pools=pools,
                                                meanwhile=_import_pandas if pools is not None else None)))
    for problem in {problem: None for result in found.values() for problem in result.problems}:
        warn(f"warning: {problem}")
    suites = [selection.plan for selection in selections]
    plans, skipped_mixtures = [], []
    for request, (selected, skipped_tasks) in zip(requests, chosen):
        read, more_skipped = _read(selected, [found[id(choice.item)] for choice in selected])
        removed = {choice.item.task.name: result.removed if request.spec.decontaminate else [] for choice, result in read}
        try:
            plan = make_plan(request.spec, [choice for choice, _ in read],
                             {choice.item.task.name: result.available - len(removed[choice.item.task.name])
                              for choice, result in read},
                             removed, skipped_tasks + more_skipped, path=request.path,
                             allow_empty=request.registered or (suites_only_ok and bool(suites)))
        except MedsregError as error:
            if not request.registered:
                raise
            skipped_mixtures.append((request.spec.name, str(error).replace("the mixture spec gives", "it gives")))
            continue
        if plan.rows:
            plans.append(plan)
        elif request.registered:
            skipped_mixtures.append((request.spec.name, _NOTHING_READABLE.format(plugin=request.spec.name.split("/")[0])))
    from_samples = all(row.task.plugin == SAMPLES_PLUGIN for plan in plans for row in plan.rows) and all(
        task.plugin == SAMPLES_PLUGIN for _, pairs in suites for _, task in pairs)
    checked_counts = [(task.name, len(test_instances(task))) for task in checked]
    return BuildResult(plans=plans, suites=suites, selections=selections, skipped_suites=skipped_suites,
                       skipped_mixtures=skipped_mixtures, from_samples=from_samples,
                       decontamination_s=sum(result.decontamination_s for result in found.values()),
                       checked=checked_counts, not_checked=not_checked,
                       coverage=Coverage.of(checked_counts, not_checked, selections))


def _selected(request: MixtureRequest, catalog: Catalog) -> tuple[list[Selected], list[tuple[str, str]]]:
    """(the training tasks the request's spec covers whose source is configured, (task, why) for the others)."""
    selected = select_tasks(request.spec, catalog, request.origin)
    if request.registered:  # a default build takes what can be read of a registered mixture: a missing task is no error
        selected = [replace(choice, explicit=False) for choice in selected]
    return _readable(selected)


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

    def size(plan: Plan) -> tuple[str, str]:
        """(rows or examples in blocks, from how many tasks; how many instances decontamination removed, or "")."""
        written = stats.get(plan.path, {})
        tokenized = written.get("tokenization") or {}
        if tokenized.get("pack"):  # the dataset's rows are blocks: say the examples they hold too
            rows = f"{tokenized['rows'] - tokenized['dropped']:,} examples in {written.get('rows', 0):,} blocks"
        else:
            rows = f"{written.get('rows', plan.total):,} rows"
        removed = sum(row.decontaminated for row in plan.rows)
        return (f"{rows} from {len(plan.rows)} tasks",
                f"{removed:,} training instance{'' if removed == 1 else 's'} removed by decontamination"
                if plan.spec.decontaminate else "")

    if not result.plans:
        line = f"wrote {result.output}: no mixture (no training task available)"
    elif len(result.plans) == 1:
        rows, removed = size(result.plans[0])
        line = f"wrote {result.output}: mixture {rows}" + (f" ({removed})" if removed else "")
    else:
        line = f"wrote {result.output}: mixtures " + "; ".join(
            f"{plan.spec.name}: " + ", ".join(part for part in size(plan) if part) for plan in result.plans)
    if result.suites:
        line += "; suites " + ", ".join(f"{suite.name} ({stats.get(suite_path(suite.name), {}).get('rows', 0):,} rows)"
                                        for suite, _ in result.suites)
    return line + "; README.md, manifest.json"


# --------------------------------------------------------------------------- inputs


def _requests(options: BuildOptions, spec_file: MixtureSpec | None,
              catalog: Catalog) -> tuple[list[MixtureRequest], list[tuple[str, str]]]:
    """The mixtures to build (--spec, --mixture, or every registered mixture with a configured task, or the default
    spec), and (mixture, why) for the registered ones left out before reading."""
    if spec_file is not None:
        return [MixtureRequest(spec_file, str(options.spec))], []
    if options.mixture is not None:
        return [MixtureRequest(_overridden(find_mixture(catalog, options.mixture).spec, options),
                               f"mixture {options.mixture}")], []
    requests, skipped = [], []
    for loaded in sorted(catalog.mixtures, key=lambda loaded: loaded.spec.name):
        request = MixtureRequest(_overridden(loaded.spec, options), f"mixture {loaded.spec.name}",
                                 mixture_path(loaded.spec.name), registered=True)
        try:
            selected, _ = _selected(request, catalog)
        except MedsregError as error:  # a broken registered mixture must not stop the default build of the others
            skipped.append((loaded.spec.name, f"{error} ('medsreg validate --installed' checks it)"))
            continue
        if selected:
            requests.append(request)
        else:
            skipped.append((loaded.spec.name, _NOTHING_READABLE.format(plugin=loaded.spec.name.split("/")[0])))
    return requests or [MixtureRequest(_overridden(_default_spec(catalog), options), "the default mixture spec")], skipped


def _default_spec(catalog: Catalog) -> MixtureSpec:
    """The default spec: every available training task, but the bundled samples only when no real task is configured
    (their synthetic rows are for trying medsreg, never beside real data)."""
    spec = default_spec()
    real = sorted({item.task.plugin for item in catalog.tasks if item.task.plugin != SAMPLES_PLUGIN
                   and is_training_task(item.task) and unreadable(item, read=False) is None})
    if not real:
        return spec
    return spec.model_copy(update={"include": [MixtureEntry(plugin=name) for name in real]})


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
    """Every suite with a task that looks available (all of them, with ``require_complete``), the bundled samples' only
    when no other is; the others with why."""
    chosen, skipped = [], []
    for loaded in sorted(catalog.suites, key=lambda loaded: loaded.suite.name):
        missing = missing_tasks(catalog, loaded.suite, read=False)
        if missing and (require_complete or len(missing) == len(loaded.suite.task_names())):
            sentence = suite_sentence(loaded.suite, missing, none=len(missing) == len(loaded.suite.task_names()))
            skipped.append((loaded.suite.name, sentence.removeprefix(f"suite {loaded.suite.name} ")))
        else:
            chosen.append(loaded)
    if any(loaded.suite.plugin != SAMPLES_PLUGIN for loaded in chosen):  # synthetic demo suites beside real ones mislead
        skipped += [(loaded.suite.name, "is the bundled synthetic demonstration suite, built by default only when no "
                     f"real suite can be read (--suite {loaded.suite.name} builds it)")
                    for loaded in chosen if loaded.suite.plugin == SAMPLES_PLUGIN]
        chosen = [loaded for loaded in chosen if loaded.suite.plugin != SAMPLES_PLUGIN]
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


def _import_pandas() -> None:
    """pyarrow's first conversion of Python or numpy values in a process (``pa.array``) imports pandas, half a second:
    done once here, before the workers that convert are forked, rather than in each of them."""
    import pandas  # noqa: F401


TEXT = value("string")
TRAINING_FEATURES = {
    "messages": [{"role": TEXT, "content": TEXT}],
    "prompt": TEXT, "completion": TEXT, "task": TEXT, "legacy_id": value("int64"), "category": TEXT,
    "source": TEXT, "license": TEXT, "instance_id": TEXT, "instruction_index": value("int32"),
    "shot_ids": [TEXT], "zero_shot": value("bool"), "repeat": value("int32"),
}
"""The columns of a mixture, declared as ``datasets.Features.from_dict`` takes them (layout.py)."""
SUITE_FEATURES = {
    "messages": [{"role": TEXT, "content": TEXT}],
    "prompt": TEXT, "references": [TEXT], "metrics": [TEXT], "suite": TEXT, "category": TEXT, "group": TEXT,
    "average": value("bool"), "task": TEXT, "legacy_id": value("int64"), "instance_id": TEXT, "shot_ids": [TEXT],
}
"""The columns of a suite."""


def training_features():
    """The mixture's ``datasets.Features`` (imports datasets)."""
    from datasets import Features

    return Features.from_dict(TRAINING_FEATURES)


def suite_features():
    """The suite's ``datasets.Features`` (imports datasets)."""
    from datasets import Features

    return Features.from_dict(SUITE_FEATURES)


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
    return prepare(options.tokenizer, max_length=options.max_length, pack=options.pack,
                   trust_remote_code=options.trust_remote_code)


def _write(options: BuildOptions, default_samples: bool, catalog: Catalog, plans: list[Plan], suites: list[SuitePlan],
           tokenization: dict[str, Any], coverage: Coverage | None = None, pools: Path | None = None) -> dict[str, dict]:
    """Hand the datasets to the writer; ``default_samples``: the default spec over the bundled samples (the card says
    so); ``tokenization``: {mixture path: its --tokenizer step}, empty without --tokenizer; ``pools``: where planning
    kept the training tasks' instances."""
    from medsreg.build.suitebuild import suite_step
    from medsreg.build.writer import OutputDataset, tables_of, write_build

    schema = layout_of(TRAINING_FEATURES, "train").schema
    suite_schema = layout_of(SUITE_FEATURES, "test").schema if suites else None
    workers = options.worker_count
    # the suites' pieces are made by the workers of the last mixture written from buckets, after its buckets: their
    # pool is closed once the last suite is read (or with ``crew``, on a failure)
    crew = contextlib.ExitStack()
    last_bucketed = next((plan for plan in reversed(plans) if plan.path not in tokenization), None)
    suite_sets: list[tuple[OutputDataset, SuitePlan]] = []
    ahead: dict[str, tuple[Iterator[Any], contextlib.ExitStack]] = {}

    def planned(plan: Plan, scratch: Path, meanwhile: Callable[[], Any] | None = None) -> list[TaskRows]:
        with progress_bar(f"planning the rows of {plan.path}", plan.total, options.quiet) as bar:
            return task_rows(plan, scratch, pools, workers=workers, progress=bar, meanwhile=meanwhile)

    def release(plan: Plan) -> None:
        """Delete the pools no mixture written after this one takes (their pages go back for the next rows)."""
        position = next(number for number, other in enumerate(plans) if other is plan)
        later = {row.task.name for other in plans[position + 1:] for row in other.rows}
        for row in plan.rows:
            if row.task.name not in later:
                pool_path(pools, row.task.name).unlink(missing_ok=True)

    def mixture(plan: Plan) -> Callable[[Path, Any], Iterator[Any]]:
        def pieces(scratch: Path, shards: Any) -> Iterator[Any]:  # the workers write the shards
            later = suite_sets if plan is last_bucketed else []
            suite_steps: list[Any] = []  # made while the workers plan the rows (suite_step makes the instances' arrays)
            parts = planned(plan, scratch, lambda: suite_steps.extend(suite_step(suite, suite_schema, dataset.shards)
                                                                       for dataset, suite in later))
            pool = crew.enter_context(contextlib.ExitStack())
            made = pool.enter_context(in_steps(workers, [bucket_step(plan, parts, schema, shards), *suite_steps]))
            ahead.update((dataset.path, (results, pool)) for (dataset, _), results in zip(later, made[1:]))
            yield from made[0]
            release(plan)
            if not later:
                pool.close()
        return pieces

    def suite_pieces(path: str, suite: SuitePlan, shards: Any) -> Iterator[Any]:
        if path in ahead:  # made by the mixture's workers
            made, pool = ahead.pop(path)
            yield from made
            if all(other is not pool for _, other in ahead.values()):
                pool.close()
            return
        with in_steps(workers, [suite_step(suite, suite_schema, shards)]) as (made,):
            yield from made

    def tokenized(plan: Plan, step: Any) -> Callable[[Path], Iterator[Any]]:
        def tables(scratch: Path) -> Iterator[Any]:  # only the mixtures are tokenized: suites are prompts for generation
            shuffled = shuffled_tables(plan, planned(plan, scratch), schema)
            rows = (row for table in shuffled for row in table.to_pylist())
            yield from tables_of(step.rows(rows), step.features(training_features()), plan.path)
            release(plan)
        return tables

    # the writer draws the progress bars (on a terminal only, not with --quiet or in CI)
    datasets = []
    for plan in plans:
        step = tokenization.get(plan.path)
        if step is None:
            datasets.append(OutputDataset(path=plan.path, split="train", pieces=mixture(plan), features=TRAINING_FEATURES,
                                          total=plan.total))
        else:
            datasets.append(OutputDataset(path=plan.path, split="train", tables=tokenized(plan, step),
                                          features=step.features(training_features()),
                                          total=None if options.pack else plan.total))
    for suite, pairs in suites:
        path = suite_path(suite.name)
        datasets.append(OutputDataset(
            path=path, split="test", features=SUITE_FEATURES,
            pieces=lambda scratch, shards, path=path, plan=(suite, pairs): suite_pieces(path, plan, shards),
            total=sum(len(test_instances(task)) for _, task in pairs),
        ))
        suite_sets.append((datasets[-1], (suite, pairs)))

    def finalize(stats: dict[str, dict]) -> dict[str, str]:
        from medsreg.build.card import render_card
        from medsreg.build.manifest import build_manifest, dump_manifest

        dropped = {}
        for path, step in tokenization.items():  # what truncation, dropping and packing did to each mixture
            counts = step.counts
            dropped[path] = counts.dropped_by_task()  # per task in the manifest's and the card's composition
            stats[path]["tokenization"] = {
                "max_length": step.max_length, "pack": options.pack, "rows": counts.rows,
                "truncated": counts.truncated, "dropped": counts.dropped,
                "dropped_by_reason": counts.dropped_by_reason(), "blocks": counts.blocks,
                "summary": counts.summary(step.max_length)}
        return {
            "README.md": render_card(plans, suites, stats, default_samples, export=options.export, dropped=dropped,
                                     coverage=coverage),
            "manifest.json": dump_manifest(build_manifest(catalog, plans, suites, stats, dropped, coverage=coverage)),
        }

    with crew:
        return write_build(options.output, datasets, finalize, overwrite=options.overwrite, export=options.export,
                           quiet=options.quiet)
