"""medsreg: a plugin-based contribution registry for medical instruction data.

This module owns the public surface a plugin author imports: ``hookimpl`` and the
models. Re-exports are resolved lazily so that ``medsreg --help`` does not pay for
pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("medsreg")
"""Decorator marking a plugin function as an implementation of a medsreg hook."""

_LAZY = {
    "Task": "medsreg.models",
    "Instance": "medsreg.models",
    "TaskSource": "medsreg.models",
    "LocalSource": "medsreg.models",
    "HubSource": "medsreg.models",
    "UrlSource": "medsreg.models",
    "Suite": "medsreg.models",
    "SuiteCategory": "medsreg.models",
    "SuiteTask": "medsreg.models",
    "read_tasks": "medsreg.catalog",
    "Corpus": "medsreg.models",
    "Metric": "medsreg.models",
    "MetricContext": "medsreg.models",
    "MedsregError": "medsreg.errors",
}

__all__ = ["__version__", "hookimpl", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from medsreg.catalog import read_tasks
    from medsreg.errors import MedsregError
    from medsreg.models import (
        Corpus,
        HubSource,
        Instance,
        LocalSource,
        Metric,
        MetricContext,
        Suite,
        SuiteCategory,
        SuiteTask,
        Task,
        TaskSource,
        UrlSource,
    )


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'medsreg' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
