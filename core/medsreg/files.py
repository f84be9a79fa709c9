"""Writing small files so that a reader never sees half of one: a temporary file beside it, renamed over it.

The temporary file is created with the mode ``open()`` gives a new file (0666 less the umask), not
``tempfile.mkstemp``'s 0600: renamed into place, it is the file users and their group read.
"""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

_NAME_TRIES = 100


def create_beside(path: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """A new, empty file next to ``path`` (a hidden name that no other writer takes), open for writing:
    ``(descriptor, its path)``. Its mode is 0666 less the umask, as for any file a program creates."""
    for _ in range(_NAME_TRIES):
        temporary = path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"
        try:
            return os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside {path.name} after {_NAME_TRIES} tries",
                          str(path.parent))


def write_text_atomically(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8, '\\n' line ends) to ``path``; on any failure the previous file is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = create_beside(path)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())  # on disk before the rename: a crash leaves the old file or the new, never an empty one
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
