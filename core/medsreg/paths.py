"""Keeping every path a contribution names inside the folder it belongs to.

A plugin names files in two kinds of place: its own folder (``[tool.medsreg]`` entries, the paths
its hooks return, the task files of a task folder) and the folders a user configures as sources
(``instances_from`` / ``instructions_from`` paths, read relative to that folder or to a Hub
repository). Both are checked twice:

* from the text alone (``lexical_escape``): an absolute path, or one with a ``..`` part, leaves any
  folder, so ``medsreg validate`` refuses it before anything is on disk;
* on disk (``outside``): with every symbolic link followed, the real path must still lie inside the
  real folder; a link loop, or a folder that cannot be walked, is a sentence as well, never a traceback.

The disk check and the read that follows are separate system calls, so a link swapped in between
is not caught: the guard is against what contributions name, not against someone rewriting the
user's folders while medsreg runs.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from medsreg.errors import MedsregError
from medsreg.models import HubSource, LocalSource
from medsreg.validate.problems import Problem, task_problem


class PathEscapeError(MedsregError):
    """A path that leads outside the folder it must stay in; it is refused, never read."""

    def __init__(self, message: str, *, lexical: bool) -> None:
        super().__init__(message)
        self.lexical = lexical
        """True when the text of the path already escapes (static validation reports those too)."""


def lexical_escape(relative: str) -> str | None:
    """Why the text ``relative`` leaves any folder it is joined to, or None: absolute, climbing with '..', or a NUL."""
    if "\x00" in relative:
        return "holds a NUL character"
    # both separators count: a plugin checked on Linux is also installed on Windows
    windows = PureWindowsPath(relative)
    if PurePosixPath(relative).is_absolute() or windows.drive or windows.root:
        return "is an absolute path"
    if ".." in windows.parts:
        return "climbs out with '..'"
    return None


def real_path(path: Path) -> Path:
    """``path`` with every symbolic link followed (a missing file is resolved as far as it goes).

    A link loop is an ``OSError`` with errno ELOOP on every Python (before 3.13 ``resolve`` raises RuntimeError).
    """
    try:
        try:
            return path.resolve(strict=True)
        except FileNotFoundError:
            return path.resolve()
    except RuntimeError:
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path)) from None


def os_problem(error: OSError | ValueError) -> str:
    """What an OS error met while following or reading a path means, as the end of a sentence about that path."""
    if isinstance(error, OSError) and error.errno == errno.ELOOP:
        return "is a symbolic link loop; remove the link or point it at a real file"
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return f"cannot be read ({reason}); check the path, the links on the way and their permissions"


def outside(root: Path, path: Path, place: str, remedy: str) -> str | None:
    """None when ``path`` stays inside ``root`` once every link is followed; else, as the end of a sentence about
    ``path``, how it leaves ``place`` (the root in words) and ``remedy``, or what stopped the walk (a link loop).
    Never raises."""
    try:
        real, real_root = real_path(path), real_path(root)
    except (OSError, ValueError) as error:  # ValueError: a NUL in a path some plugin code returned
        return os_problem(error)
    if real.is_relative_to(real_root):
        return None
    where = f"({real} is not under {real_root}); {remedy}"
    if not Path(os.path.abspath(path)).is_relative_to(os.path.abspath(root)):
        return f"lies outside {place} {where}"
    if path.is_symlink():
        return f"is a link to a {'folder' if real.is_dir() else 'file'} outside {place} {where}"
    return f"leads through a linked folder outside {place} {where}"


def source_place(source: LocalSource | HubSource) -> str:
    """The folder a source's ``path`` is read relative to, in words."""
    if isinstance(source, LocalSource):
        return f"the folder configured as source {source.key!r}"
    return f"the repository {source.repo_id}"


def source_path_escape(source: object) -> str | None:
    """Why the ``path`` of a local or Hub source leaves its folder, as a sentence with the fix, or None (URLs: None)."""
    if not isinstance(source, (LocalSource, HubSource)):
        return None
    reason = lexical_escape(source.path)
    if reason is None:
        return None
    return (f"path {source.path!r} {reason}: medsreg reads only files inside {source_place(source)}; name the file "
            "relative to it (e.g. 'sub/dir/task.json')")


def source_path_problems(items: Iterable) -> Iterator[Problem]:
    """Every instances_from / instructions_from path is relative and stays in its source folder (no absolute path, no '..')."""
    from medsreg.sources import alternatives

    for item in items:
        for key in ("instances_from", "instructions_from"):
            value = getattr(item.task, key)
            for index, source in enumerate(alternatives(value)):
                problem = source_path_escape(source)
                if problem is not None:
                    field = f"$.medsreg.{key}" + (f"[{index}]" if isinstance(value, list) else "") + ".path"
                    yield task_problem("source-paths", "error", item, field, problem)
