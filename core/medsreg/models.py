"""The pydantic models: the single source of truth for medsreg's data and for schemas/.

Two layers:

* ``TaskFile`` is a task file as people write it: the MedS-Ins task format (template
  or released variant, see SEEDS.md §1.1) plus an optional ``medsreg`` block that
  carries what a registry needs. It accepts the released drift (strings for lists,
  ``output`` as a string, missing optional fields); ``formats.medsins`` normalizes it.
* ``Task`` is the normalized task every other part of medsreg works with.

Instances are ``TypedDict`` s, not models: the real MedS-Ins holds about 5M of them, and
plain dicts validated in pydantic-core cost a fraction of model objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import NotRequired, TypedDict

PLUGIN_SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"
"""Lower-case letters, digits and single inner hyphens: a valid distribution name once prefixed with medsreg-."""
TASK_SLUG = r"^[a-z0-9][a-z0-9_.-]*$"
TASK_NAME = r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9_.-]*$"
VERSION = r"^\d+\.\d+$"

Access = Literal["public", "credentialed", "private"]
"""Who may obtain the instances: anyone, holders of a data-use agreement (PhysioNet), or nobody outside the owner."""

Split = Literal["train", "test", "train/test"]
InstanceSplit = Literal["train", "test"]
StrList = Union[str, list[str]]
"""A list of strings; released MedS-Ins files often hold a bare string instead."""
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite number from a file. Numbers, integers and flags from files are strict: pydantic's lax mode would read
"yes" as true, "3" as 3 and true as 1, and NaN or Infinity would make every rate and count built from them meaningless."""


# --------------------------------------------------------------------------- instances


class Instance(TypedDict):
    """One normalized instance: an input and its reference outputs."""

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    id: str
    input: str
    output: list[str]
    split: NotRequired[InstanceSplit]
    """Only for tasks whose split is "train/test": which side this instance is on."""


class RawInstance(TypedDict):
    """An instance as written in a task file: ``id`` may be missing or a number, ``output`` a string."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]

    id: NotRequired[str | StrictInt]
    input: str
    output: StrList
    split: NotRequired[InstanceSplit]


class Example(BaseModel):
    """A positive or negative demonstration shown beside the instruction."""

    model_config = ConfigDict(extra="forbid")

    input: str
    output: StrList
    explanation: str = ""


# --------------------------------------------------------------------------- sources


MEDS_INS_FORMAT = "meds-ins"
FORMAT_HELP = ("'meds-ins' for a MedS-Ins task file (read by core), else the name of a native format "
               "(e.g. 'mednli-jsonl') that the task's reader converts: only 'validate --installed' reads those.")


class LocalSource(BaseModel):
    """Instances read from a MedS-Ins task file in a directory the user configures.

    The directory is named by ``MEDSREG_SOURCE_<KEY>`` (upper case, ``-`` as ``_``) or by
    ``[sources] <key> = "..."`` in the medsreg config file.
    """

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local"] = "local"
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Name of the configured directory, e.g. 'meds-ins'.")
    path: str = Field(description="File inside that directory, relative, e.g. 'task125_bc4chem_named_enetity_recognition.json'.")
    how_to_obtain: str = Field(default="", description="One sentence a user reads when the source is not configured.")
    format: str = Field(default=MEDS_INS_FORMAT, pattern=r"^[a-z0-9][a-z0-9-]*$", description=FORMAT_HELP)


class HubSource(BaseModel):
    """Instances read from a MedS-Ins task file in a Hugging Face Hub repository at a pinned revision."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["hub"] = "hub"
    repo_id: str = Field(description="'owner/name' on the Hub, or a local folder laid out the same way.")
    revision: str = Field(description="A 40-hex commit sha: branches and tags move, so they are not accepted.")
    path: str = Field(description="File inside the repository.")
    repo_type: Literal["dataset", "model"] = "dataset"
    how_to_obtain: str = ""
    format: str = Field(default=MEDS_INS_FORMAT, pattern=r"^[a-z0-9][a-z0-9-]*$", description=FORMAT_HELP)


class UrlSource(BaseModel):
    """A file downloaded once from a fixed URL (e.g. a GitHub raw URL at a commit) and checked against its sha256."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["url"] = "url"
    url: str = Field(pattern=r"^(https|file)://", description="https:// (or file:// for a local mirror) address of the file.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Expected sha256 of the file: a moved or changed file is refused.")
    how_to_obtain: str = ""


TaskSource = Annotated[LocalSource | HubSource | UrlSource, Field(discriminator="kind")]
Sources = Union[TaskSource, list[TaskSource]]
"""One source, or alternatives tried in order: the first one available is used."""

InstanceLoader = Callable[[], Iterable[Instance]]
"""A plugin's own producer of instances, called with no arguments."""

InstanceReader = Callable[[Path], Iterable[Instance]]
"""A plugin's converter of the file ``instances_from`` names, in a native format (e.g. MedNLI's jsonl)."""


# --------------------------------------------------------------------------- task files


class RegistryBlock(BaseModel):
    """The ``medsreg`` block of a task file: what a registry needs beyond the MedS-Ins format."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, pattern=TASK_SLUG, description="Task name inside its plugin; defaults to the file name without 'task<N>_'.")
    legacy_id: StrictInt | None = Field(default=None, ge=1, description="The MedS-Ins numeric id (task<N>), where one exists.")
    version: str = Field(default="1.0", pattern=VERSION)
    license: str | None = Field(default=None, description="SPDX licence expression of the instances, e.g. 'CC-BY-4.0'.")
    access: Access | None = None
    source_revision: str | None = Field(default=None, description="Pinned revision of the upstream source (commit, release, DOI version).")
    synthetic: StrictBool = Field(default=False, description="True when the instances are made up for demonstration.")
    description: str = Field(default="", description="One sentence saying what the task asks, shown by 'medsreg list' and 'info'.")
    released_name: str | None = Field(
        default=None, pattern=r"^task\d+_[^/\\]+\.jsonl?$",
        description="The file name the task has in its upstream release, when known; name and legacy_id default from it.",
    )
    instances_from: Sources | None = Field(
        default=None,
        description="Where the instances live when the file carries none. In a local path, {legacy_id} and {name} are "
        "replaced and shell wildcards match exactly one file.",
    )
    instructions_from: Sources | None = Field(
        default=None,
        description="A RewriteDefinitions.json-style file ({\"task<N>\": {\"original_def\", \"auto_rewrite_def\"}}) giving "
        "the instruction and its rewrites.",
    )


class TaskFile(BaseModel):
    """A task file in the MedS-Ins format (template or released variant) with an optional ``medsreg`` block."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    contributors: StrList = Field(alias="Contributors")
    source: StrList = Field(alias="Source")
    url: StrList = Field(alias="URL")
    categories: StrList = Field(alias="Categories")
    reasoning: StrList | None = Field(default=None, alias="Reasoning")
    definition: StrList | None = Field(default=None, alias="Definition")
    input_language: StrList = Field(alias="Input_language")
    output_language: StrList = Field(alias="Output_language")
    instruction_language: StrList = Field(alias="Instruction_language")
    domains: StrList = Field(alias="Domains")
    positive_examples: list[Example] | Literal[""] | None = Field(default=None, alias="Positive Examples")
    negative_examples: list[Example] | Literal[""] | None = Field(default=None, alias="Negative Examples")
    split_type: Literal["Train", "Test", "Train/Test"] | None = Field(default=None, alias="Split Type")
    instances: list[RawInstance] | None = Field(default=None, alias="Instances")
    medsreg: RegistryBlock | None = None


class TaskCollection(BaseModel):
    """A catalog file: many task cards (task files without instances) sharing ``defaults``.

    Each card is merged over ``defaults`` (the ``medsreg`` block key by key) and read as a task file;
    cards name themselves with ``medsreg.name`` / ``legacy_id`` or ``medsreg.released_name``.
    """

    model_config = ConfigDict(extra="forbid")

    defaults: dict[str, Any] = Field(default={}, description="Task-file fields every card inherits.")
    tasks: list[dict[str, Any]] = Field(min_length=1, description="The task cards, each in the task-file format.")


# --------------------------------------------------------------------------- normalized task


class Task(BaseModel):
    """A normalized task: metadata, and instances inline, from a source, or from a loader."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=TASK_NAME, description="Registry-wide unique '<plugin>/<task>'.")
    legacy_id: StrictInt | None = Field(default=None, ge=1)
    version: str = Field(default="1.0", pattern=VERSION)
    license: str | None = None
    access: Access | None = None
    split: Split | None = None
    contributors: list[str] = []
    source: list[str] = []
    url: list[str] = []
    source_revision: str | None = None
    categories: list[str]
    reasoning: list[str] = []
    definition: list[str] = Field(default=[], description="The instruction first, then its rewrites.")
    description: str = ""
    released_name: str | None = None
    input_languages: list[str] = Field(default=[], description="ISO 639 codes.")
    output_languages: list[str] = []
    instruction_languages: list[str] = []
    domains: list[str] = []
    positive_examples: list[Example] = []
    negative_examples: list[Example] = []
    synthetic: StrictBool = False
    instances: list[Instance] | None = None
    instances_from: Sources | None = None
    instructions_from: Sources | None = None
    loader: SkipJsonSchema[InstanceLoader | None] = Field(default=None, exclude=True)
    reader: SkipJsonSchema[InstanceReader | None] = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _has_instruction(self) -> Task:
        if not self.definition and self.instructions_from is None and self.instances_from is None:
            raise ValueError("a task needs a Definition, or 'instructions_from' / 'instances_from' that provide one")
        return self

    @property
    def plugin(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def instruction(self) -> str | None:
        """The instruction MedS-Ins code uses: ``Definition[0]`` (None until a source provides it)."""
        return self.definition[0] if self.definition else None


# --------------------------------------------------------------------------- corpora, metrics

SourceType = Literal["filtered_web", "textbook", "website", "small_dataset"]


class Corpus(BaseModel):
    """A pretraining corpus in the MMedC style: one language, one kind of source."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=TASK_NAME, description="Registry-wide unique '<plugin>/<corpus>'.")
    language: str = Field(pattern=r"^[a-z]{2}$", description="ISO 639-1 code.")
    source_type: SourceType
    description: str = Field(default="", description="One sentence on what the corpus holds.")
    license: str | None = None
    access: Access | None = None
    token_estimate: int | None = Field(default=None, ge=0)
    documents_from: TaskSource | None = Field(default=None, description="Where the document files are (for a local "
                                              "source, 'path' is a folder, read recursively, or a file).")
    keywords: str | None = Field(default=None, description="Keyword list of the seed's web filter (UTF-8, one keyword a "
                                 "line); null: the documents are not keyword-filtered (textbooks, websites, curated sets).")
    loader: SkipJsonSchema[Callable[[], Iterable[str]] | None] = Field(default=None, exclude=True)


class MetricContext(BaseModel):
    """What a metric may need besides outputs and references."""

    languages: list[str] = Field(default_factory=list, description="ISO 639 code of each instance's output ('en' if unknown).")
    official: bool = Field(default=False, description="Reproduce the official scripts' behaviour, bugs included "
                           "(``--compat official``), instead of the corrected one.")
    legacy_ids: list[int | None] = Field(default_factory=list, description="Each instance's MedS-Ins task id (None "
                                         "if its task has none): the official scripts' rules depend on it.")
    missing_outputs: list[bool] = Field(default_factory=list, description="True where the output cell is one the "
                                        "official scripts read as NaN (empty, 'None', 'N/A' ...; pandas' rule).")
    missing_references: list[bool] = Field(default_factory=list, description="The same for the reference (GT) cell.")
    lines: list[int] = Field(default_factory=list, description="Each instance's prediction line, as a number distinct "
                             "for distinct lines of one scoring run (empty if unknown): a metric may keep the work it "
                             "did for a line it meets again in the run (a pooled group, a clean / dirty part).")


class Metric(BaseModel):
    """A scoring function: ``compute(outputs, references, context)`` gives ``{metric name: score x100}``.

    ``outputs[i]`` is a model's text for instance i, ``references[i]`` its reference texts, and
    ``context`` a ``MetricContext``. A metric is computed over a whole task (or a pooled group of
    tasks): corpus-level metrics (micro F1, macro P/R/F1) need every instance at once.
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="As suites name it, e.g. 'bleu1', 'rougeL'.")
    description: str
    higher_is_better: bool = True
    compute: SkipJsonSchema[Callable[[list[str], list[list[str]], MetricContext], dict[str, float]] | None] = Field(
        default=None, exclude=True)


# --------------------------------------------------------------------------- suites


class SuiteTask(BaseModel):
    """One task of a suite and how it is scored."""

    model_config = ConfigDict(extra="forbid")

    task: str = Field(pattern=TASK_NAME, description="Full task name '<plugin>/<task>'.")
    metrics: list[str] = Field(min_length=1, description="Metric names, e.g. ['accuracy'] or ['bleu1', 'rougeL'].")
    shots: StrictInt | None = Field(default=None, ge=0, description="Few-shot examples in the prompt; default: the suite's.")
    group: str | None = Field(default=None, description="Pooling group inside the category (e.g. 'CT', 'MRI'): scored together.")
    average: StrictBool = Field(default=True, description="Whether the task counts in its category's average.")


class SuiteCategory(BaseModel):
    """A category of a suite: its tasks are scored and averaged together."""

    model_config = ConfigDict(extra="forbid")

    name: str
    tasks: list[SuiteTask] = Field(min_length=1)


class Suite(BaseModel):
    """An evaluation suite (MedS-Bench, MMedBench): categories of test tasks, metrics and prompt settings."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TASK_NAME, description="Registry-wide unique '<plugin>/<suite>'.")
    version: str = Field(default="1.0", pattern=VERSION)
    description: str
    url: list[str] = []
    shots: StrictInt = Field(default=3, ge=0, description="Default few-shot count (the official evaluation: 3, MCQA 0).")
    instruction: Literal["original", "rewrite"] = Field(default="original", description="Which instruction the prompts use.")
    max_input_tokens: StrictInt = Field(default=2048, ge=1)
    max_new_tokens: StrictInt = Field(default=200, ge=1)
    seed: StrictInt = Field(default=0, description="Seed of shot sampling: the same prompts on every machine.")
    categories: list[SuiteCategory] = Field(min_length=1)

    @property
    def plugin(self) -> str:
        return self.name.split("/", 1)[0]

    def task_names(self) -> list[str]:
        return [entry.task for category in self.categories for entry in category.tasks]


# --------------------------------------------------------------------------- mixtures


class MixtureEntry(BaseModel):
    """Which tasks an entry covers (one of task / category / plugin) and how much of each, in named units."""

    model_config = ConfigDict(extra="forbid")

    task: str | None = Field(default=None, description="A task: full name, short name, or MedS-Ins id ('125', 'meds-ins/125').")
    category: str | None = Field(default=None, description="Every available training task of this category.")
    plugin: str | None = Field(default=None, description="Every available training task of this plugin.")
    weight: Number | None = Field(default=None, ge=0, description="Relative rate, multiplying the examples-proportional rate (default 1).")
    n: StrictInt | None = Field(default=None, ge=0, description="Exactly this many examples of each covered task.")
    fraction: Number | None = Field(default=None, ge=0, description="This fraction of each covered task's rows (above 1 oversamples).")
    cap: StrictInt | None = Field(default=None, ge=1, description="Per-task cap on rows counted for the rate (overrides the mixture's).")

    @model_validator(mode="after")
    def _one_selector_one_unit(self) -> MixtureEntry:
        selectors = [key for key in ("task", "category", "plugin") if getattr(self, key) is not None]
        if len(selectors) != 1:
            raise ValueError("give exactly one of 'task', 'category' or 'plugin'")
        units = [key for key in ("weight", "n", "fraction") if getattr(self, key) is not None]
        if len(units) > 1:
            raise ValueError(f"give at most one of 'weight', 'n' or 'fraction' (got {', '.join(units)})")
        return self


class MixtureSpec(BaseModel):
    """A training mixture: which tasks, how much of each, how examples are rendered, and a seed.

    Rates are examples-proportional with a cap and a temperature (T5 / seqio / FLAN): a task's rate is
    ``weight * min(rows, cap) ** (1 / temperature)``; with ``total`` the rates share it, without it each
    task contributes ``min(rows, cap)`` rows scaled by its weight. ``n`` and ``fraction`` fix a task's count.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="mixture", pattern=r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)?$",
                      description="A registered mixture is named '<plugin>/<mixture>' (e.g. 'meds-ins/meds-ins').")
    description: str = ""
    include: list[MixtureEntry] = Field(default=[], description="Empty: every available training task, weight 1.")
    exclude: list[str] = Field(default=[], description="Tasks left out (names, short names or ids).")
    cap: StrictInt | None = Field(default=None, ge=1, description="Examples-proportional cap per task (T5's K); none: no cap.")
    temperature: Number = Field(default=1.0, gt=0, description="Mixing temperature; 1 is examples-proportional, higher flattens.")
    total: StrictInt | None = Field(default=None, ge=1, description="Examples in the mixture; none: the sum of the tasks' counts.")
    seed: StrictInt = 0
    p_original: Number = Field(default=0.5, ge=0, le=1, description="Probability of the original instruction, else a uniformly drawn rewrite.")
    p_zero_shot: Number = Field(default=0.5, ge=0, le=1, description="Probability of the raw input as query, else k-shot context.")
    shots: StrictInt = Field(default=3, ge=0, description="k of the k-shot context (never the example itself).")
    suites: list[str] = Field(default=[], description="Suites whose test instances are removed from the mixture (13-gram or equal input).")
    decontaminate: StrictBool = True


# --------------------------------------------------------------------------- plugins and registry


class PluginManifest(BaseModel):
    """The ``[tool.medsreg]`` table of a plugin's pyproject.toml: what static validation reads."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[str] = Field(default=[], description="Task files or folders of task files, relative to the plugin folder.")
    corpora: list[str] = Field(default=[], description="Corpus description files, relative to the plugin folder.")
    suites: list[str] = Field(default=[], description="Suite files (schemas/suite.schema.json), relative to the plugin folder.")
    mixtures: list[str] = Field(default=[], description="Named training mixtures (schemas/mixture.schema.json), relative to "
                                "the plugin folder.")


class RegistryTask(BaseModel):
    """One task's row in registry.json."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TASK_NAME)
    legacy_id: int | None
    version: str
    categories: list[str]
    input_languages: list[str]
    output_languages: list[str]
    instruction_languages: list[str]
    domains: list[str]
    split: Split | None
    access: Access | None
    license: str | None
    source: list[str]
    url: list[str]
    source_revision: str | None
    synthetic: bool
    description: str
    released_name: str | None
    instances: int | None = Field(description="Count of inline instances; null when they come from a configured source.")
    instructions: int | None = Field(description="Count of instructions (original plus rewrites); null when they come from a source.")
    sha256: str | None = Field(description="sha256 of the normalized instances as canonical JSON.")


class RegistryPlugin(BaseModel):
    """One plugin's entry in registry.json."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=PLUGIN_SLUG)
    version: str
    package: str
    module: str
    tasks: list[RegistryTask]
    suites: list[Suite] = []
    mixtures: list[MixtureSpec] = []


class RegistryFile(BaseModel):
    """registry.json: the generated index of the in-tree plugins."""

    model_config = ConfigDict(extra="forbid")

    registry_version: Literal[1] = 1
    generated_by: str = "medsreg registry"
    plugins: list[RegistryPlugin]


SCHEMA_MODELS: dict[str, Any] = {
    "task-file": TaskFile,
    "task-collection": TaskCollection,
    "suite": Suite,
    "mixture": MixtureSpec,
    "task": Task,
    "instance": Instance,
    "corpus": Corpus,
    "metric": Metric,
    "plugin": PluginManifest,
    "registry": RegistryFile,
}
"""What ``medsreg registry`` writes to schemas/<name>.schema.json."""
