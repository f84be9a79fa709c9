"""The plugin contract: the hooks a medsreg plugin may implement.

A plugin is a module registered under the entry-point group ``medsreg`` whose functions
are decorated with ``medsreg.hookimpl`` and named like the hooks below. Every hook is
optional. A hook that raises, or returns something that is not what its docstring says,
is reported by plugin name and skipped; the other plugins keep working.
"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING, Union

import pluggy

if TYPE_CHECKING:
    from medsreg.models import Corpus, Metric, MixtureSpec, Suite, Task

hookspec = pluggy.HookspecMarker("medsreg")

TaskItem = Union["PathLike[str]", str, "Task"]


@hookspec
def register_tasks() -> Sequence[TaskItem]:
    """Return the tasks this plugin provides.

    Each item is one of:

    * a path to a task file (MedS-Ins JSON, template or released variant, optionally with
      a ``medsreg`` block);
    * a path to a catalog: ``{"defaults": {...}, "tasks": [card, ...]}``, cards being task
      files without instances;
    * a path to a folder: every ``*.json`` file in it (not recursive) is a task file;
    * a ``medsreg.Task`` object (``medsreg.read_tasks`` builds them from a file), with
      ``instances`` inline, ``instances_from`` (a ``LocalSource`` directory the user
      configures, a ``HubSource`` at a pinned revision, or a list of alternatives) read as a
      MedS-Ins task file or converted by the task's ``reader(path)``, or a ``loader()``
      callable that yields instances.

    Task names are ``<plugin>/<task>``; the plugin part is the entry-point name.
    """


@hookspec
def register_corpora() -> Sequence[Corpus]:
    """Return the pretraining corpora (MMedC style) this plugin provides, as ``medsreg.Corpus`` objects."""


@hookspec
def register_metrics() -> Sequence[Metric]:
    """Return scoring functions as ``medsreg.Metric`` objects; names must be unique across plugins."""


@hookspec
def register_suites() -> Sequence[PathLike[str] | str | Suite]:
    """Return evaluation suites (MedS-Bench style): suite file paths or ``medsreg.Suite`` objects named ``<plugin>/<suite>``."""


@hookspec
def register_mixtures() -> Sequence[PathLike[str] | str | MixtureSpec]:
    """Return named training mixtures (MedS-Ins style): mixture spec files or ``medsreg.MixtureSpec`` objects named
    ``<plugin>/<mixture>``; ``medsreg build --mixture NAME`` builds one, a default build every available one."""
