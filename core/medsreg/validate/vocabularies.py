"""Checks against controlled vocabularies and registry requirements: categories, languages, licences, access, revisions."""

from __future__ import annotations

from collections.abc import Iterator

from medsreg.catalog import LoadedTask
from medsreg.errors import quoted
from medsreg.models import HubSource
from medsreg.sources import PINNED_REVISION, alternatives
from medsreg.validate.problems import Options, Problem, check, task_problem
from medsreg.vocabulary import CATEGORIES, did_you_mean, language_code, license_problem


@check("categories", scope="task")
def check_categories(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """Every category is one of the 19 MedS-Ins categories (new ones are added to core by pull request)."""
    for index, category in enumerate(item.task.categories):
        if category not in CATEGORIES:
            yield task_problem("categories", "error", item, f"$.Categories[{index}]",
                     f"{quoted(category)} is not a MedS-Ins category.{did_you_mean(category, CATEGORIES)} "
                     "To propose a new one, see CONTRIBUTING.md, 'Adding a category'")


@check("languages", scope="task")
def check_languages(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """Input, output and instruction languages are known languages (names are mapped to ISO 639 codes)."""
    task = item.task
    for key, values in (("Input_language", task.input_languages), ("Output_language", task.output_languages),
                        ("Instruction_language", task.instruction_languages)):
        if not values:
            yield task_problem("languages", "error", item, f"$.{key}", f"{key} is empty; name the language, e.g. \"English\" or \"en\"")
        for index, value in enumerate(values):
            if language_code(value) != value:
                yield task_problem("languages", "error", item, f"$.{key}[{index}]",
                         f"{quoted(value)} is not a language medsreg knows; write its English name (\"Chinese\") or ISO 639 "
                         "code (\"zh\")")


@check("license", scope="task")
def check_license(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """'medsreg.license' is a valid SPDX licence expression of the instances."""
    licence = item.task.license
    if licence is None or not licence.strip():
        severity = "error" if item.native else "warning"
        yield task_problem("license", severity, item, "$.medsreg.license",
                 f"{'no licence is given' if licence is None else 'the licence is empty'}; set 'medsreg.license' to "
                 "the SPDX id of the source's licence, e.g. \"CC-BY-4.0\"")
        return
    problem = license_problem(licence)
    if problem:
        yield task_problem("license", "error", item, "$.medsreg.license", f"{quoted(licence)} is not a valid SPDX expression: {problem}")


@check("access", scope="task")
def check_access(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """'medsreg.access' is set; credentialed and private tasks ship no real instances in the repository."""
    task = item.task
    if task.access is None:
        severity = "error" if item.native else "warning"
        yield task_problem("access", severity, item, "$.medsreg.access",
                 "no access tier is set; set 'medsreg.access' to \"public\", \"credentialed\" (e.g. PhysioNet) or \"private\"")
    elif task.access != "public" and task.instances and not task.synthetic and task.instances_from is None and task.loader is None:
        yield task_problem("access", "error", item, "$.Instances",
                 f"the task is {task.access} but its file carries {len(task.instances)} instances; credentialed data "
                 "may not be redistributed: remove them and read them from the user's copy with 'medsreg.instances_from'")


@check("hub-revision", scope="task")
def check_hub_revision(item: LoadedTask, options: Options) -> Iterator[Problem]:
    """A Hub source names a full 40-hex commit, never a branch or tag that can move."""
    for key in ("instances_from", "instructions_from"):
        for source in alternatives(getattr(item.task, key)):
            if isinstance(source, HubSource) and not PINNED_REVISION.match(source.revision):
                yield task_problem("hub-revision", "error", item, f"$.medsreg.{key}",
                         f"revision {quoted(source.revision)} is not a pinned commit; use the full 40-character commit sha of "
                         f"{quoted(source.repo_id)}")
