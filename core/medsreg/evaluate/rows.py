"""The rows an evaluation runs: a suite rendered exactly as ``medsreg build --suite`` renders it, or read back
from a suite folder that build wrote; ``--limit``; the share of one data-parallel rank.

The suite path reuses the build pipeline's own steps (catalog, ``find_suite``, the availability
checks and their sentences, reading only the suite's tasks, ``suite_rows``): an evaluation sees
the very prompts a built suite holds, byte for byte.

A suite runs over its readable tasks (partial, said so once on stderr); ``require_complete``
(``--require complete``) refuses it instead. Either way ``SuiteRows.availability`` is what
``SuiteSelection.to_json`` records (None when unknown: rows of a suite that is not installed), so
that config.json, and through it ``medsreg score``, knows which categories miss tasks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError

Echo = Callable[[str], None]
ROW_COLUMNS = ("messages", "prompt", "references", "metrics", "suite", "category", "group", "average", "task",
               "legacy_id", "instance_id")
"""The columns of a suite row that an evaluation reads."""


@dataclass(frozen=True)
class SuiteRows:
    name: str
    rows: list[dict[str, Any]]
    max_input_tokens: int | None = None
    """The suite's own settings (None for rows read from a folder: the CLI defaults apply)."""
    max_new_tokens: int | None = None
    availability: dict[str, Any] | None = None
    """``SuiteSelection.to_json()``: which tasks the rows cover and which are missing (None: the suite is not installed)."""


def suite_rows_from_catalog(query: str, plugins_dirs: tuple[Path, ...], warn: Echo, *,
                            require_complete: bool = False, instructions: int = 0) -> SuiteRows:
    """The rows of the installed suite ``query`` ('meds-bench' or 'meds-bench/meds-bench'), rendered as build renders
    them: its readable tasks (a warning names the missing ones), or with ``require_complete`` all of them or an error.
    With ``instructions`` K > 0 each row is followed by its instance under K of the task's rewritten instructions
    (``instruction_rows``)."""
    from medsreg.build.pipeline import _catalog, _read_instances, suite_rows
    from medsreg.build.suites import (
        find_suite,
        missing_tasks,
        select_suite,
        suite_items,
        suite_sentence,
    )

    catalog = _catalog(plugins_dirs, warn)
    suite = find_suite(catalog, query, "--suite").suite
    missing = missing_tasks(catalog, suite, read=False)
    none = len(missing) == len(suite.task_names())
    if missing and (require_complete or none):  # before reading: nothing is read for a run that cannot happen
        raise MedsregError(suite_sentence(suite, missing, none=none))
    _read_instances(suite_items(catalog, suite), warn)
    selection = select_suite(catalog, suite, require_complete=require_complete)
    if not selection.complete:
        warn(f"warning: {selection.note()}")
    suite, pairs = selection.plan
    rows = list(suite_rows(suite, pairs)) if instructions <= 0 else instruction_rows(suite, pairs, instructions, warn)
    return SuiteRows(suite.name, rows, suite.max_input_tokens, suite.max_new_tokens, selection.to_json())


def instruction_rows(suite: Any, pairs: list, count: int, warn: Echo) -> list[dict[str, Any]]:
    """``medsreg eval --instructions K``: each suite row (``instruction_index`` 0, byte for byte the row build renders)
    followed by the same instance, shots and framing under each of K rewrites of its task's instruction
    (``instruction_index`` 1..K, in the order of ``instruction_rewrites``: a seeded choice per suite and task, the
    same for every model); ``instruction`` is the index into the task's instructions (its ``Definition``). A task
    with fewer than K rewrites is evaluated under those it has, and a note says so."""
    from medsreg.build.plan import test_instances
    from medsreg.build.render import (
        choose_instruction,
        instruction_rewrites,
        row_rng,
        suite_row,
    )

    rows: list[dict[str, Any]] = []
    categories = {id(entry): category.name for category in suite.categories for entry in category.tasks}
    for entry, task in pairs:
        chosen = instruction_rewrites(suite.seed, task, count)
        if len(chosen) < count:
            warn(f"note: --instructions {count}: {task.name} has {len(chosen)} rewritten instruction"
                 f"{'' if len(chosen) == 1 else 's'}; its rows are evaluated under {len(chosen) + 1}, not {count + 1}")
        pool = test_instances(task)
        for position, instance in enumerate(pool):
            row = suite_row(suite, categories[id(entry)], entry, task, pool, position)
            own = 0 if suite.instruction == "original" else \
                choose_instruction(row_rng(suite.seed, task.name, instance["id"], 0), task.definition, 0.0)[0]
            rows.append({**row, "instruction_index": 0, "instruction": own})
            for index, definition in enumerate(chosen, 1):
                variant = suite_row(suite, categories[id(entry)], entry, task, pool, position,
                                    instruction=task.definition[definition])
                rows.append({**variant, "instruction_index": index, "instruction": definition})
    return rows


def suite_rows_from_folder(path: Path, plugins_dirs: tuple[Path, ...] = (), warn: Echo | None = None, *,
                           require_complete: bool = False) -> SuiteRows:
    """The rows of a suite folder written by ``medsreg build`` (``build/suites/<suite>``), in their order; when the
    suite is installed, the tasks it lacks (the suite's definition against the tasks of the rows)."""
    how = "give --data a suite folder written by 'medsreg build --suite NAME' (build/suites/<suite>), or use --suite NAME"
    if not path.exists():
        raise MedsregError(f"the suite folder {path} does not exist; {how}")
    if not path.is_dir() or not ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file()):
        raise MedsregError(f"{path} is not a saved dataset (no dataset_dict.json nor state.json); {how}")
    try:
        from datasets import DatasetDict, load_from_disk
    except ImportError as error:
        raise MedsregError(f"--data needs the datasets library ({error}); install it with pip install 'medsreg[build]'") from None
    try:
        loaded = load_from_disk(str(path))
    except Exception as error:  # noqa: BLE001 - datasets raises FileNotFoundError, ValueError, ArrowInvalid, ...
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise MedsregError(f"the dataset in {path} cannot be read ({type(error).__name__}: {reason}); {how}") from None
    if isinstance(loaded, DatasetDict):
        if "test" not in loaded:
            raise MedsregError(f"the dataset in {path} has no 'test' split (it has {', '.join(loaded) or 'none'}); {how}")
        loaded = loaded["test"]
    missing = [column for column in ROW_COLUMNS if column not in loaded.column_names]
    if missing:
        raise MedsregError(f"the dataset in {path} lacks the suite columns {', '.join(missing)} (it is not a suite "
                           f"that build wrote: a mixture?); {how}")
    rows = loaded.select_columns(list(ROW_COLUMNS)).to_list()
    names = sorted({row["suite"] for row in rows})
    if len(names) > 1:
        raise MedsregError(f"the dataset in {path} holds rows of several suites ({', '.join(names)}); {how}")
    name = names[0] if names else path.name
    availability = folder_availability(path, name, rows, plugins_dirs, warn or (lambda line: None),
                                       require_complete=require_complete)
    return SuiteRows(name, rows, availability=availability)


def folder_availability(path: Path, name: str, rows: list[dict[str, Any]], plugins_dirs: tuple[Path, ...], warn: Echo, *,
                        require_complete: bool = False) -> dict[str, Any] | None:
    """What a built suite folder covers of its suite: the suite's definition (if installed) against the tasks of its
    rows, no instance read. None when the suite is not installed here (nothing to compare with)."""
    from medsreg.build.pipeline import _catalog
    from medsreg.build.suites import MissingTask, SuiteSelection

    catalog = _catalog(plugins_dirs, lambda line: None)  # a plugin problem is not this command's business here
    suite = next((loaded.suite for loaded in catalog.suites if loaded.suite.name == name), None)
    if suite is None:
        return None
    present = {row["task"] for row in rows}
    tasks = {item.task.name: item.task for item in catalog.tasks}
    rebuild = (f"it is not in {path}: configure its source and rebuild with 'medsreg build --suite {name}', or run "
               f"--suite {name.split('/', 1)[-1]} directly")
    pairs, absent = [], []
    for category in suite.categories:
        for entry in category.tasks:
            if entry.task in present:
                if entry.task in tasks:
                    pairs.append((entry, tasks[entry.task]))
            else:
                absent.append(MissingTask(entry.task, category.name, f"{entry.task}: {rebuild}"))
    selection = SuiteSelection(suite, pairs, absent)
    if absent and require_complete:
        names = ", ".join(entry.name for entry in absent[:3]) + (f" and {len(absent) - 3} more" if len(absent) > 3 else "")
        raise MedsregError(f"the suite folder {path} holds {len(present)} of the {len(suite.task_names())} tasks of suite "
                           f"{name} (it lacks {names}); configure their sources and rebuild it with 'medsreg build "
                           f"--suite {name}', or drop --require complete")
    if absent:
        warn(f"warning: {selection.note()}")
    return selection.to_json()


def instance_input(row: dict[str, Any]) -> str:
    """The instance's own input in a suite row: its user message, less the k-shot query framing ("Input:\\n...
    \\nOutput:\\n") when the system message is a k-shot one."""
    from medsreg.build.render import LEARN_FROM_SHOTS, QUERY

    messages = row["messages"]
    user = messages[-1]["content"]
    prefix, suffix = QUERY.split("{input}")
    if len(messages) > 1 and messages[0]["content"].endswith(LEARN_FROM_SHOTS) and user.startswith(prefix) \
            and user.endswith(suffix) and len(user) >= len(prefix) + len(suffix):
        return user[len(prefix):len(user) - len(suffix)]
    return user


def first_per_task(rows: Iterable[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """``--limit N``: the rows of the first N instances of each task, in order (all of them without a limit); an
    instance's rows under other instructions count once."""
    if limit is None:
        return list(rows)
    seen: dict[str, set[str]] = {}
    kept = []
    for row in rows:
        instances = seen.setdefault(row["task"], set())
        if row["instance_id"] in instances or len(instances) < limit:
            instances.add(row["instance_id"])
            kept.append(row)
    return kept


# --------------------------------------------------------------------------- data parallelism


@dataclass(frozen=True)
class Shard:
    """This process's place among data-parallel processes (torchrun / accelerate launch set RANK, WORLD_SIZE, LOCAL_RANK)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def take(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of this rank: index % world_size == rank."""
        return rows if self.world_size == 1 else rows[self.rank::self.world_size]


def current_shard(environ: dict[str, str] | None = None) -> Shard:
    """The shard the launcher's environment gives (a single process when WORLD_SIZE is unset or 1)."""
    environ = os.environ if environ is None else environ
    values = {}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        text = environ.get(name, "").strip()
        if not text:
            continue
        try:
            values[name] = int(text)
        except ValueError:
            raise MedsregError(f"the environment variable {name}={text!r} is not a whole number; it is set by torchrun or "
                               "accelerate launch for data-parallel evaluation: unset it to run one process") from None
    world_size = values.get("WORLD_SIZE", 1)
    if world_size <= 1:
        return Shard()
    rank = values.get("RANK", values.get("LOCAL_RANK"))
    if rank is None or not 0 <= rank < world_size:
        raise MedsregError(f"WORLD_SIZE={world_size} but RANK={environ.get('RANK')!r} is not in 0..{world_size - 1}; launch "
                           "with torchrun or accelerate launch, or set RANK for each process")
    return Shard(rank=rank, world_size=world_size, local_rank=values.get("LOCAL_RANK", rank))
