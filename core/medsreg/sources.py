"""Where data that is not in the repository comes from: configured folders, the Hub, pinned URLs.

A ``LocalSource`` names a folder by key; the user sets it, in this order of precedence, with
``--source key=PATH`` on the command line, ``MEDSREG_SOURCE_<KEY>``, or the config file
(``MEDSREG_CONFIG``, default ``~/.config/medsreg/config.toml``)::

    [sources]
    meds-ins = "/data/MedS-Ins"
    meds-bench = "hf://Henrychur/MedS-Bench@<40-hex commit>"   # fetched from the Hub when online

Its ``path`` may hold shell wildcards (``task125_*``) that must match exactly one file, and must stay
inside the folder: an absolute path, a ``..`` or a link leading out is refused, never read (``medsreg.paths``).
A ``HubSource`` is a repository at a pinned commit; ``repo_id`` may also be a local folder
with the same layout (an offline mirror, or a test fixture). A ``UrlSource`` is one file
fetched once into the cache and checked against its sha256. Where a task lists several
sources, the first available one is used.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path

from medsreg.errors import ConfigError, MedsregError, SourceNotConfiguredError
from medsreg.files import create_beside
from medsreg.models import HubSource, LocalSource, UrlSource
from medsreg.paths import (
    PathEscapeError,
    os_problem,
    outside,
    source_path_escape,
    source_place,
)

PINNED_REVISION = re.compile(r"^[0-9a-f]{40}$")
HUB_VALUE = re.compile(r"^hf://(?P<repo>[\w.-]+/[\w.-]+)@(?P<revision>[0-9a-f]{40})$")
Source = LocalSource | HubSource | UrlSource

_OVERRIDES: dict[str, str] = {}


def set_overrides(values: dict[str, str]) -> None:
    """Configure sources for this command (the ``--source key=PATH`` options); earlier ones are forgotten."""
    _OVERRIDES.clear()
    _OVERRIDES.update(values)


def overrides() -> dict[str, str]:
    """The sources ``--source`` configures for this command (a copy)."""
    return dict(_OVERRIDES)


def cache_dir() -> Path:
    base = os.environ.get("MEDSREG_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "medsreg"
    return Path(base)


def package_cache_file(package: str, files: tuple[str, ...], name: str, key: bytes = b"") -> Path | None:
    """A file of the cache (``cache_dir()/package/name-HASH.json``) for what was taken from an installed ``package``,
    named by its version, the bytes of its ``files`` (paths inside it) and ``key``; None when the package is not
    installed. The package is found, not imported."""
    import importlib.metadata
    import importlib.util

    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        return None
    try:
        version = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        version = ""
    digest = hashlib.sha256(version.encode() + b"\0" + key)
    root = Path(next(iter(found.submodule_search_locations)))
    for source in files:
        try:
            digest.update(b"\0" + (root / source).read_bytes())
        except OSError:
            digest.update(b"\0missing")
    return cache_dir() / package / f"{name}-{digest.hexdigest()[:32]}.json"

ACCESS_ADVICE = {
    "credentialed": "It is credentialed data: obtain it under its data-use agreement (e.g. PhysioNet credentialing) and point medsreg at your copy.",
    "private": "It is private data: ask its owner for access.",
}


def config_path() -> Path:
    explicit = os.environ.get("MEDSREG_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "medsreg" / "config.toml"


def env_var(key: str) -> str:
    return "MEDSREG_SOURCE_" + re.sub(r"[^A-Z0-9]", "_", key.upper())


def configured_value(key: str) -> str | None:
    """What ``key`` is configured as (a folder, or ``hf://repo@commit``), or None."""
    value = _OVERRIDES.get(key) or os.environ.get(env_var(key)) or config_sources().get(key)
    return str(value) if value else None


def config_sources() -> dict[str, str]:
    """The ``[sources]`` table of the config file ({} without one); a malformed file is a ``ConfigError``."""
    path = config_path()
    if not path.is_file():
        return {}
    stat = path.stat()
    return _read_config(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=2)
def _read_config(path: Path, mtime_ns: int, size: int) -> dict[str, str]:
    """Parsed once per version of the file: every task of every plugin asks for its sources."""
    from medsreg.toml import TOMLDecodeError, load_toml

    try:
        table = load_toml(path).get("sources", {})
    except (TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"the medsreg config file {path} is not valid TOML ({error}); fix it or point MEDSREG_CONFIG elsewhere") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: 'sources' must be a table ([sources] with lines key = \"/path\"), not {type(table).__name__}")
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(f"{path}: [sources] {key} must be a string (a folder or hf://owner/name@commit), "
                              f"not {type(value).__name__}")
    return table


def alternatives(sources: Source | list[Source] | None) -> list[Source]:
    if sources is None:
        return []
    return list(sources) if isinstance(sources, list) else [sources]


def resolve_first(sources: Source | list[Source], task_name: str, access: str | None,
                  field: str = "instances_from") -> Path:
    """The file of the first available source; if none is, the error of the first (the one to configure).

    ``field`` is the task-file key the sources come from, named when a path is refused.
    """
    first_error = None
    for source in alternatives(sources):
        try:
            return resolve(source, task_name, access, field)
        except SourceNotConfiguredError as error:
            first_error = first_error or error
    raise first_error  # type: ignore[misc]


def availability(sources: Source | list[Source] | None, access: str | None) -> str:
    """'available', 'not configured' or 'credentialed' (not configured, and needs an agreement); reads no data."""
    for source in alternatives(sources):
        if source_path_escape(source) is not None:
            continue  # refused when read, with the sentence
        try:
            if isinstance(source, LocalSource):
                value = configured_value(source.key)
                if value and (HUB_VALUE.match(value) or _matches(Path(value).expanduser(), source.path, source_place(source))):
                    return "available"
            elif isinstance(source, HubSource):
                local = Path(source.repo_id).expanduser()
                if local.is_dir() and _matches(local, source.path, source_place(source)):
                    return "available"
            elif url_target(source).is_file():
                return "available"
        except MedsregError:  # a file that leads out of its folder is not available; reading it says why
            continue
    return "credentialed" if access == "credentialed" else "not configured"


def _matches(folder: Path, pattern: str, place: str, root: Path | None = None) -> list[Path]:
    """The file ``pattern`` names in ``folder`` (with wildcards, every .json/.jsonl file it matches).

    Each must stay inside ``root`` (``folder`` unless given) once links are followed, else it is a
    ``PathEscapeError`` naming ``place`` (the folder in words), and nothing is read.
    """
    root = folder if root is None else root
    if not any(char in pattern for char in "*?["):
        candidate = folder / pattern
        found = [candidate] if candidate.is_file() else []
    else:
        parent = folder / Path(pattern).parent
        _confined(parent, root, place)  # before listing it: a linked folder's names are none of ours
        name = Path(pattern).name
        if not parent.is_dir():
            return []
        try:
            found = sorted(p for p in parent.iterdir() if fnmatch.fnmatchcase(p.name, name) and p.is_file()
                           and p.suffix in (".json", ".jsonl"))
        except OSError as error:
            raise MedsregError(f"{parent} {os_problem(error)}") from None
    for path in found:
        _confined(path, root, place)
    return found


def _confined(path: Path, root: Path, place: str) -> None:
    why = outside(root, path, place, "medsreg reads only files inside it: copy the file in, or point the source at the "
                                     "folder that holds it")
    if why is not None:
        raise PathEscapeError(f"{path} {why}", lexical=False)


def resolve(source: Source, task_name: str, access: str | None, field: str = "instances_from") -> Path:
    """The local file the source names, or a ``SourceNotConfiguredError`` saying how to get it.

    A path that leads outside its source's folder (absolute, ``..``, a link out) is a ``PathEscapeError`` naming
    ``field``, and the file is not read.
    """
    escape = source_path_escape(source)
    if escape is not None:
        raise PathEscapeError(f"{task_name}: medsreg.{field} {escape}", lexical=True)
    advice = ACCESS_ADVICE.get(access or "", "")
    if "agreement" in source.how_to_obtain.lower():
        advice = ""  # the source already says which agreement it needs
    how = " ".join(part for part in (source.how_to_obtain, advice) if part)
    try:
        if isinstance(source, LocalSource):
            return _resolve_local(source, task_name, how)
        if isinstance(source, UrlSource):
            return _resolve_url(source, task_name, how)
        return _resolve_hub(source, task_name, how)
    except PathEscapeError as error:  # the helpers know the file; the task and its field are named here
        raise PathEscapeError(f"{task_name}: medsreg.{field}: {error}", lexical=False) from None


def _resolve_local(source: LocalSource, task_name: str, how: str) -> Path:
    value = configured_value(source.key)
    if value is None:
        raise SourceNotConfiguredError(
            f"{task_name}: not available: it is read from {source.path!r} in the folder configured as source "
            f"{source.key!r}; set {env_var(source.key)}=/path/to/folder, pass --source {source.key}=/path/to/folder, or add "
            f"'{source.key} = \"/path/to/folder\"' under [sources] in {config_path()}. {how}".strip()
        )
    hub = HUB_VALUE.match(value)
    if value.startswith("hf://") and not hub:
        raise MedsregError(
            f"source {source.key!r} is configured as {value!r}; a Hub source is 'hf://owner/name@<commit>' with the full "
            "40-character commit sha (branches and tags move, so they are not accepted)"
        )
    if hub:
        return _resolve_hub(HubSource(repo_id=hub["repo"], revision=hub["revision"], path=source.path), task_name, how)
    folder = Path(value).expanduser()
    problem = folder_problem(source.key)
    if problem:  # reported once per key by configuration_problems(); here only the task's note
        raise SourceNotConfiguredError(f"{task_name}: not available: {problem}; {change_advice(source.key, source.path)}")
    found = _matches(folder, source.path, source_place(source))
    if len(found) == 1:
        return found[0]
    if found:
        names = ", ".join(p.name for p in found[:5])
        raise MedsregError(
            f"{task_name}: {folder} holds {len(found)} files matching {source.path!r} ({names}); keep one per task "
            "(the files may come from two releases)"
        )
    raise SourceNotConfiguredError(
        f"{task_name}: not available: no file matching {source.path!r} in {folder} (source {source.key!r}). {how}".strip()
    )


_FAILED_URLS: dict[str, str] = {}
"""URLs that could not be fetched in this process: 122 tasks sharing one file try it once."""


def _offline() -> bool:
    return any(os.environ.get(name, "") not in ("", "0") for name in ("MEDSREG_OFFLINE", "HF_HUB_OFFLINE"))


def _resolve_url(source: UrlSource, task_name: str, how: str) -> Path:
    target = url_target(source)
    if target.is_file():
        return target
    if source.url.startswith("https://") and _offline():
        reason = "offline (MEDSREG_OFFLINE or HF_HUB_OFFLINE is set)"
    else:
        reason = _FAILED_URLS.get(source.url) or _download(source, target)
    if reason:
        raise SourceNotConfiguredError(f"{task_name}: not available: could not fetch {source.url}: {reason}. {how}".strip())
    return target


def url_target(source: UrlSource) -> Path:
    """Where a pinned URL's file is cached: by its hash, under its own name (the release checks read the name)."""
    return cache_dir() / "url" / source.sha256 / (source.url.rstrip("/").rsplit("/", 1)[-1] or "file")


def _download(source: UrlSource, target: Path) -> str | None:
    """Fetch ``source`` into ``target``, checked against its pin; the reason it failed, or None."""
    import urllib.request

    try:
        with urllib.request.urlopen(source.url, timeout=20) as response:
            data = response.read()
    except Exception as error:  # offline, 404, DNS: all mean "not available here"
        _FAILED_URLS[source.url] = f"{type(error).__name__}: {error}"
        return _FAILED_URLS[source.url]
    digest = hashlib.sha256(data).hexdigest()
    if digest != source.sha256:
        raise MedsregError(
            f"{source.url} has sha256 {digest[:12]}..., not the pinned {source.sha256[:12]}...; the file "
            "changed upstream: check it and update the pin in the plugin"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = create_beside(target, suffix=".download")  # the cache's files get the umask's mode, not 0600
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return None


def _resolve_hub(source: HubSource, task_name: str, how: str, root: Path | None = None) -> Path:
    """The file of a Hub source: from a local mirror folder (whose files stay inside ``root``, default the folder), or
    downloaded at the pinned revision."""
    local = Path(source.repo_id).expanduser()
    if local.is_dir():
        found = _matches(local, source.path, source_place(source), root)
        if len(found) != 1:
            raise SourceNotConfiguredError(
                f"{task_name}: not available: {len(found)} files match {source.path!r} in the local mirror {local}. {how}".strip()
            )
        return found[0]
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise SourceNotConfiguredError(
            f"{task_name}: not available: reading {source.repo_id} from the Hub needs huggingface_hub; "
            "run pip install 'medsreg[hub]'"
        ) from None
    wildcard = any(char in source.path for char in "*?[")
    try:
        if not wildcard:
            return Path(hf_hub_download(source.repo_id, source.path, revision=source.revision, repo_type=source.repo_type))
        from huggingface_hub import snapshot_download

        snapshot = Path(snapshot_download(source.repo_id, revision=source.revision, repo_type=source.repo_type,
                                          allow_patterns=[source.path]))
    except Exception as error:  # the hub client raises many types (offline, 404, auth)
        raise SourceNotConfiguredError(
            f"{task_name}: not available: could not fetch {source.path} from {source.repo_id}@{source.revision[:12]} "
            f"({type(error).__name__}: {error}). Download it while online, or pass a local mirror folder as repo_id. {how}".strip()
        ) from None
    # the Hub cache links a snapshot's files to ../../blobs: the repository's cache folder holds them
    return _resolve_hub(source.model_copy(update={"repo_id": str(snapshot)}), task_name, how, snapshot.parent.parent)


def configuration_problems(used_keys: set[str]) -> list[tuple[str, str]]:
    """(severity, sentence) per configured source that is wrong: a folder that does not exist (error), or a key
    no installed task or corpus reads (warning: it may belong to a plugin that is not installed)."""
    from medsreg.vocabulary import did_you_mean

    problems = []
    configured = set(_OVERRIDES) | set(config_sources())
    by_variable = {env_var(key): key for key in used_keys}
    for variable in sorted(name for name in os.environ if name.startswith("MEDSREG_SOURCE_")):
        key = by_variable.get(variable)
        if key is None:
            hint = did_you_mean(variable, sorted(by_variable))
            problems.append(("warning", (f"{variable} is set but no installed task or corpus reads a source of that "
                                         f"name.{hint} Fix the name, or install the plugin that reads it")))
        else:
            configured.add(key)
    for key in sorted(configured):
        if key not in used_keys:
            problems.append(("warning", unread_source(key, configured_origin(key) or "", used_keys)))
            continue
        problem = folder_problem(key)
        if problem:
            problems.append(("error", f"{problem}; {change_advice(key)}"))
    return problems


def configured_origin(key: str) -> str | None:
    """Where the value ``configured_value(key)`` gives was set, as the user wrote it: '--source KEY=',
    'MEDSREG_SOURCE_KEY', or '[sources] in CONFIG'; None when it is not configured."""
    if _OVERRIDES.get(key):
        return f"--source {key}="
    if os.environ.get(env_var(key)):
        return env_var(key)
    if config_sources().get(key):
        return f"[sources] in {config_path()}"
    return None


def folder_problem(key: str) -> str | None:
    """'source KEY (ORIGIN) is PATH, which does not exist' (or 'is not a folder') when ``key`` is configured as a local
    path that is no folder; None when it is a folder, a Hub value, or not configured."""
    value = configured_value(key)
    if not value or value.startswith("hf://"):
        return None
    folder = Path(value).expanduser()
    if folder.is_dir():
        return None
    what = "is not a folder" if folder.exists() else "does not exist"
    return f"source {key!r} ({configured_origin(key)}) is {value}, which {what}"


def change_advice(key: str, holding: str | None = None) -> str:
    """How to point ``key`` elsewhere, where its value was set (the command line, the environment, the config file)."""
    target = f"the folder holding {holding!r}" if holding else "the folder that holds the files"
    origin = configured_origin(key)
    if origin is None or origin.startswith("--source"):
        return f"give --source {key}= {target}"
    if origin == env_var(key):
        return f"set {origin} in your environment to {target}"
    return f"change the line '{key} = ...' under [sources] in {config_path()} to {target}"


def unread_source(key: str, origin: str, used_keys: set[str]) -> str:
    """The sentence for a configured source ``key`` (set by ``origin``) that no installed task or corpus reads."""
    from medsreg.vocabulary import did_you_mean

    return (f"source {key!r} ({origin}) is configured but no installed task or corpus reads it."
            f"{did_you_mean(key, sorted(used_keys))} Fix the key, or install the plugin that reads it")
