"""Where instances that are not in the repository come from: configured local folders and the Hub.

A ``LocalSource`` names a folder by key; the user sets it with ``MEDSREG_SOURCE_<KEY>``
or in the config file (``MEDSREG_CONFIG``, default ``~/.config/medsreg/config.toml``)::

    [sources]
    meds-ins = "/data/MedS-Ins"

A ``HubSource`` is a repository at a pinned commit; ``repo_id`` may also be a local folder
with the same layout (an offline mirror, or a test fixture).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from medsreg.errors import MedsregError, SourceNotConfiguredError
from medsreg.models import HubSource, LocalSource

PINNED_REVISION = re.compile(r"^[0-9a-f]{40}$")

ACCESS_ADVICE = {
    "credentialed": "It is credentialed data: obtain it under its data-use agreement (e.g. PhysioNet credentialing) and point medsreg at your copy",
    "private": "It is private data: ask its owner for access",
}


def config_path() -> Path:
    explicit = os.environ.get("MEDSREG_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "medsreg" / "config.toml"


def env_var(key: str) -> str:
    return "MEDSREG_SOURCE_" + re.sub(r"[^A-Z0-9]", "_", key.upper())


def configured_dir(key: str) -> Path | None:
    """The folder configured for ``key``, or None."""
    value = os.environ.get(env_var(key))
    if not value:
        path = config_path()
        if path.is_file():
            from medsreg.toml import TOMLDecodeError, load_toml

            try:
                value = load_toml(path).get("sources", {}).get(key)
            except (TOMLDecodeError, UnicodeDecodeError) as error:
                raise MedsregError(f"the medsreg config file {path} is not valid TOML ({error}); fix it or point MEDSREG_CONFIG elsewhere") from None
    return Path(value).expanduser() if value else None


def resolve(source: LocalSource | HubSource, task_name: str, access: str | None) -> Path:
    """The local file holding the instances, or a ``SourceNotConfiguredError`` saying how to get it."""
    advice = ACCESS_ADVICE.get(access or "", "")
    how = " ".join(part for part in (source.how_to_obtain, advice) if part)
    if isinstance(source, LocalSource):
        folder = configured_dir(source.key)
        if folder is None:
            raise SourceNotConfiguredError(
                f"{task_name}: not available: its instances are read from {source.path!r} in the folder "
                f"configured as source {source.key!r}; set {env_var(source.key)}=/path/to/folder or add "
                f"'{source.key} = \"/path/to/folder\"' under [sources] in {config_path()}. {how}".strip()
            )
        path = folder / source.path
        if not path.is_file():
            raise SourceNotConfiguredError(
                f"{task_name}: not available: {path} does not exist; source {source.key!r} points to {folder}, "
                f"which should hold {source.path!r}. {how}".strip()
            )
        return path
    local = Path(source.repo_id).expanduser()
    if local.is_dir():
        path = local / source.path
        if not path.is_file():
            raise SourceNotConfiguredError(f"{task_name}: not available: {path} does not exist in the local mirror {local}. {how}".strip())
        return path
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise SourceNotConfiguredError(
            f"{task_name}: not available: reading {source.repo_id} from the Hub needs huggingface_hub; "
            "run pip install 'medsreg[hub]'"
        ) from None
    try:
        return Path(hf_hub_download(source.repo_id, source.path, revision=source.revision, repo_type=source.repo_type))
    except Exception as error:  # the hub client raises many types (offline, 404, auth)
        raise SourceNotConfiguredError(
            f"{task_name}: not available: could not fetch {source.path} from {source.repo_id}@{source.revision[:12]} "
            f"({type(error).__name__}: {error}). Download it while online, or pass a local mirror folder as repo_id. {how}".strip()
        ) from None
