"""The error types library code raises; only the CLI turns them into exit codes.

Every message is a sentence that says what is wrong, where, and how to fix it.
"""

from __future__ import annotations


class MedsregError(Exception):
    """Base class: a problem a user can fix, reported as a sentence (exit code 1)."""


class TaskFileError(MedsregError):
    """A task file cannot be read at all (missing, too large, not UTF-8, not JSON)."""


class UnknownNameError(MedsregError):
    """A task, suite, plugin or check name that is not registered."""


class PluginError(MedsregError):
    """A plugin failed to load or returned something that is not a task."""


class SourceNotConfiguredError(MedsregError):
    """Instances live in a source the user has not configured (or may not redistribute)."""


class StaleFileError(MedsregError):
    """A generated file (registry.json, schemas/) does not match what would be generated."""
