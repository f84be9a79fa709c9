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
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from typing_extensions import NotRequired, TypedDict

PLUGIN_SLUG = r"^[a-z0-9][a-z0-9-]*$"
TASK_SLUG = r"^[a-z0-9][a-z0-9_.-]*$"
TASK_NAME = r"^[a-z0-9][a-z0-9-]*/[a-z0-9][a-z0-9_.-]*$"
VERSION = r"^\d+\.\d+$"

Access = Literal["public", "credentialed", "private"]
"""Who may obtain the instances: anyone, holders of a data-use agreement (PhysioNet), or nobody outside the owner."""

Split = Literal["train", "test", "train/test"]
InstanceSplit = Literal["train", "test"]
StrList = Union[str, list[str]]
"""A list of strings; released MedS-Ins files often hold a bare string instead."""


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

    id: NotRequired[Union[str, int]]
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


class HubSource(BaseModel):
    """Instances read from a MedS-Ins task file in a Hugging Face Hub repository at a pinned revision."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["hub"] = "hub"
    repo_id: str = Field(description="'owner/name' on the Hub, or a local folder laid out the same way.")
    revision: str = Field(description="A 40-hex commit sha: branches and tags move, so they are not accepted.")
    path: str = Field(description="File inside the repository.")
    repo_type: Literal["dataset", "model"] = "dataset"
    how_to_obtain: str = ""


TaskSource = Annotated[Union[LocalSource, HubSource], Field(discriminator="kind")]

InstanceLoader = Callable[[], Iterable[Instance]]
"""A plugin's own reader, for sources in a native format (e.g. MedNLI's jsonl)."""


# --------------------------------------------------------------------------- task files


class RegistryBlock(BaseModel):
    """The ``medsreg`` block of a task file: what a registry needs beyond the MedS-Ins format."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, pattern=TASK_SLUG, description="Task name inside its plugin; defaults to the file name without 'task<N>_'.")
    legacy_id: int | None = Field(default=None, ge=1, description="The MedS-Ins numeric id (task<N>), where one exists.")
    version: str = Field(default="1.0", pattern=VERSION)
    license: str | None = Field(default=None, description="SPDX licence expression of the instances, e.g. 'CC-BY-4.0'.")
    access: Access | None = None
    source_revision: str | None = Field(default=None, description="Pinned revision of the upstream source (commit, release, DOI version).")
    synthetic: bool = Field(default=False, description="True when the instances are made up for demonstration.")
    instances_from: TaskSource | None = Field(default=None, description="Where the instances live when the file carries none.")


class TaskFile(BaseModel):
    """A task file in the MedS-Ins format (template or released variant) with an optional ``medsreg`` block."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    contributors: StrList = Field(alias="Contributors")
    source: StrList = Field(alias="Source")
    url: StrList = Field(alias="URL")
    categories: StrList = Field(alias="Categories")
    reasoning: StrList | None = Field(default=None, alias="Reasoning")
    definition: StrList = Field(alias="Definition")
    input_language: StrList = Field(alias="Input_language")
    output_language: StrList = Field(alias="Output_language")
    instruction_language: StrList = Field(alias="Instruction_language")
    domains: StrList = Field(alias="Domains")
    positive_examples: list[Example] | Literal[""] | None = Field(default=None, alias="Positive Examples")
    negative_examples: list[Example] | Literal[""] | None = Field(default=None, alias="Negative Examples")
    split_type: Literal["Train", "Test", "Train/Test"] | None = Field(default=None, alias="Split Type")
    instances: list[RawInstance] | None = Field(default=None, alias="Instances")
    medsreg: RegistryBlock | None = None


# --------------------------------------------------------------------------- normalized task


class Task(BaseModel):
    """A normalized task: metadata, and instances inline, from a source, or from a loader."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=TASK_NAME, description="Registry-wide unique '<plugin>/<task>'.")
    legacy_id: int | None = Field(default=None, ge=1)
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
    definition: list[str] = Field(min_length=1)
    input_languages: list[str] = Field(default=[], description="ISO 639 codes.")
    output_languages: list[str] = []
    instruction_languages: list[str] = []
    domains: list[str] = []
    positive_examples: list[Example] = []
    negative_examples: list[Example] = []
    synthetic: bool = False
    instances: list[Instance] | None = None
    instances_from: TaskSource | None = None
    loader: SkipJsonSchema[InstanceLoader | None] = Field(default=None, exclude=True)

    @property
    def plugin(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def instruction(self) -> str:
        """The instruction MedS-Ins code uses: ``Definition[0]``."""
        return self.definition[0]


# --------------------------------------------------------------------------- corpora, metrics

SourceType = Literal["filtered_web", "textbook", "website", "small_dataset"]


class Corpus(BaseModel):
    """A pretraining corpus in the MMedC style: one language, one kind of source."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=TASK_NAME, description="Registry-wide unique '<plugin>/<corpus>'.")
    language: str = Field(description="ISO 639 code.")
    source_type: SourceType
    license: str | None = None
    access: Access | None = None
    token_estimate: int | None = Field(default=None, ge=0)
    documents_from: TaskSource | None = None
    loader: SkipJsonSchema[Callable[[], Iterable[str]] | None] = Field(default=None, exclude=True)


class Metric(BaseModel):
    """A scoring function: predictions and references in, named scores (x100) out."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    description: str
    higher_is_better: bool = True
    compute: SkipJsonSchema[Callable[[list[str], list[list[str]]], dict[str, float]] | None] = Field(default=None, exclude=True)


# --------------------------------------------------------------------------- plugins and registry


class PluginManifest(BaseModel):
    """The ``[tool.medsreg]`` table of a plugin's pyproject.toml: what static validation reads."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[str] = Field(default=[], description="Task files or folders of task files, relative to the plugin folder.")
    corpora: list[str] = Field(default=[], description="Corpus description files, relative to the plugin folder.")


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
    instances: int | None = Field(description="Count of inline instances; null when they come from a configured source.")
    sha256: str | None = Field(description="sha256 of the normalized instances as canonical JSON.")


class RegistryPlugin(BaseModel):
    """One plugin's entry in registry.json."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=PLUGIN_SLUG)
    version: str
    package: str
    module: str
    tasks: list[RegistryTask]


class RegistryFile(BaseModel):
    """registry.json: the generated index of the in-tree plugins."""

    model_config = ConfigDict(extra="forbid")

    registry_version: Literal[1] = 1
    generated_by: str = "medsreg registry"
    plugins: list[RegistryPlugin]


SCHEMA_MODELS: dict[str, Any] = {
    "task-file": TaskFile,
    "task": Task,
    "instance": Instance,
    "corpus": Corpus,
    "metric": Metric,
    "plugin": PluginManifest,
    "registry": RegistryFile,
}
"""What ``medsreg registry`` writes to schemas/<name>.schema.json."""
