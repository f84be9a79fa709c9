"""Reader of MedS-Ins instruction sets: ``RewriteDefinitions.json``.

The released file maps ``"task<N>"`` to ``{"original_def": str, "auto_rewrite_def": [str, ...]}``
(122 tasks, 18,996 rewrites). A task's instructions are its original definition followed by
its rewrites; the official loader lets a task file's own ``Definition`` replace the original.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pydantic_core
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from medsreg.errors import MedsregError


class Rewrites(BaseModel):
    """One task's entry: the original definition and its automatic rewrites."""

    model_config = ConfigDict(extra="ignore")

    original_def: str | list[str]
    auto_rewrite_def: list[str] = []

    @property
    def original(self) -> str:
        return self.original_def if isinstance(self.original_def, str) else (self.original_def or [""])[0]


_FILE = TypeAdapter(dict[str, Rewrites])


def read_rewrites(path: Path) -> dict[str, Rewrites]:
    """Every task's entry, keyed ``task<N>``; a malformed or unreadable file raises a ``MedsregError`` naming it.

    ``path`` is one ``medsreg.sources`` resolved, so it was checked to stay inside its source folder.
    """
    try:
        stat = path.stat()
    except OSError as error:
        raise _unreadable(path, error) from None
    return _read_rewrites(path, stat.st_mtime_ns, stat.st_size)


def _unreadable(path: Path, error: OSError) -> MedsregError:
    from medsreg.paths import os_problem

    return MedsregError(f"{path} {os_problem(error)}")


@lru_cache(maxsize=4)
def _read_rewrites(path: Path, mtime_ns: int, size: int) -> dict[str, Rewrites]:
    """Read once per version of the file: 122 tasks share it, and it is 4 MB."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise _unreadable(path, error) from None
    try:
        document = pydantic_core.from_json(data)
    except ValueError as error:
        raise MedsregError(f"{path} is not valid JSON ({error}); re-download RewriteDefinitions.json") from None
    try:
        return _FILE.validate_python(document)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = "$" + "".join(f"[{part!r}]" if isinstance(part, str) else f"[{part}]" for part in first["loc"])
        raise MedsregError(
            f"{path}::{where}: {first['msg']}; the file should map 'task<N>' to "
            "{\"original_def\": ..., \"auto_rewrite_def\": [...]}, as MedS-Ins' Evaluation/RewriteDefinitions.json does"
        ) from None


def instructions(path: Path, legacy_id: int, definition: list[str]) -> list[str] | None:
    """[instruction, *rewrites] for task ``legacy_id``; ``definition`` (the task file's) replaces the original.

    None when the file has no entry for the task (the official loader then uses the task's Definition only).
    """
    entry = read_rewrites(path).get(f"task{legacy_id}")
    if entry is None:
        return None
    original = definition[0] if definition else entry.original
    return [original, *entry.auto_rewrite_def]
