"""The error types library code raises (only the CLI turns them into exit codes), and the pieces of sentence
several readers share: quoting untrusted text, and saying what a file that is not UTF-8 is and how to convert it.

Every message is a sentence that says what is wrong, where, and how to fix it.
"""

from __future__ import annotations

import codecs
import shlex


class MedsregError(Exception):
    """Base class: a problem a user can fix, reported as a sentence (exit code 1)."""


class UnknownNameError(MedsregError):
    """A task, suite, plugin or check name that is not registered."""


class SourceNotConfiguredError(MedsregError):
    """Instances live in a source the user has not configured (or may not redistribute)."""


class ConfigError(MedsregError):
    """The medsreg config file itself is broken: every command that reads sources stops."""


class NotUtf8Error(MedsregError):
    """File content that is not UTF-8; the message (without the file name) says what it seems to be and how to convert it."""


QUOTED_CHARS = 60
"""How much of an untrusted value a message quotes: a value may be megabytes long."""


def quoted(value: object, limit: int = QUOTED_CHARS) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters with the full length said when it is longer."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(value)
    shown = repr(text[:limit]) if isinstance(value, str) else text[:limit]
    return f"{shown}... ({len(text):,} characters)"


_BOMS = ((codecs.BOM_UTF32_LE, "UTF-32LE", "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32BE", "UTF-32"),
         (codecs.BOM_UTF16_LE, "UTF-16LE", "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16BE", "UTF-16"))
"""(byte-order mark, Python codec, iconv name); UTF-32 first: its little-endian mark starts with UTF-16's."""


def decode_text(data: bytes, path: object, *, utf16: bool = False) -> str:
    """``data`` as text: UTF-8 (a leading byte-order mark dropped) or, with ``utf16``, UTF-16/32 that starts with
    its byte-order mark (unambiguous, as Excel's 'Unicode text' writes it); else ``NotUtf8Error``.

    The error locates the first byte that is not UTF-8, names the encoding the file seems to be in, and gives the
    iconv command that converts ``path`` in place: never a guess of 'latin1' for a UTF-16 file.
    """
    for bom, codec, iconv in _BOMS:
        if data.startswith(bom):
            if utf16:
                try:
                    return data[len(bom):].decode(codec)
                except UnicodeDecodeError as error:
                    raise NotUtf8Error(f"starts with a {iconv} byte-order mark but is not {iconv} from byte "
                                       f"{error.start + len(bom)} on; save it again as UTF-8") from None
            raise NotUtf8Error(f"is {iconv} (it starts with a {iconv} byte-order mark, as Windows programs save "
                               f"'Unicode' text), not UTF-8; convert it: {_iconv(iconv, path)}")
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        position = error.start + len(data) - len(body)
        line = data.count(b"\n", 0, position) + 1
        column = position - (data.rfind(b"\n", 0, position) + 1) + 1
        found = f"is not UTF-8 (byte 0x{data[position]:02x} at line {line} column {column})"
    else:
        # ASCII saved as UTF-16 without a byte-order mark is valid UTF-8, one NUL in every other byte
        if "\x00" not in text[:4096] or _utf16(data) is None:
            return text
        found = "is not UTF-8 (it holds NUL bytes)"
    guess = _guess(data)
    if guess is None:
        advice = " and not in an encoding medsreg recognizes; open it in an editor and save it as UTF-8"
    else:
        advice = (f"; it looks like {guess[0]}: convert it with {_iconv(guess[1], path)}, or save it as UTF-8 from "
                  "the program that wrote it")
    raise NotUtf8Error(f"{found}{advice}")


def _utf16(data: bytes) -> str | None:
    """'UTF-16LE' or 'UTF-16BE' when ``data`` looks like UTF-16 without a byte-order mark (NULs in every other byte)."""
    sample = data[:4096]
    if sample.count(0) * 4 <= len(sample):
        return None
    return "UTF-16LE" if sample[1::2].count(0) > sample[0::2].count(0) else "UTF-16BE"


def _guess(data: bytes) -> tuple[str, str] | None:
    """(description, iconv name) of a likely encoding of bytes that are not UTF-8, or None."""
    utf16 = _utf16(data)
    if utf16 is not None:
        return "UTF-16 without a byte-order mark", utf16
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return None
    return "Windows-1252 (what Excel and Notepad save on Western-language Windows)", "WINDOWS-1252"


def _iconv(encoding: str, path: object) -> str:
    source = shlex.quote(str(path))
    converted = shlex.quote(f"{path}.utf8")
    return f"iconv -f {encoding} -t UTF-8 {source} > {converted} && mv {converted} {source}"
