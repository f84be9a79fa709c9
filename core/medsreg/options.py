"""Command-line options several commands share, kept apart so that ``cli`` and ``build.command`` both use them."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click


def _set_sources(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    from medsreg.sources import set_overrides

    overrides = {}
    for value in values:
        key, sep, path = value.partition("=")
        if not sep or not key.strip() or not path.strip():
            raise click.BadParameter(f"{value!r} is not KEY=PATH, e.g. meds-ins=/data/MedS-Ins", param_hint="--source")
        overrides[key.strip()] = path.strip()
    set_overrides(overrides)
    return values


def source_option(function: Callable) -> Callable:
    """``--source KEY=PATH`` (repeatable): configures sources for this command only.

    A KEY that no installed task or corpus reads is a typo or a plugin that is not installed: every command warns
    about it (with --strict, refuses it) before running, then forgets it, so that later checks do not repeat it.
    """
    @functools.wraps(function)
    def checked(*args, **kwargs):
        _check_source_keys(click.get_current_context(), kwargs)
        return function(*args, **kwargs)

    return click.option(
        "--source", "sources", multiple=True, callback=_set_sources, expose_value=False, metavar="KEY=PATH",
        help="Read source KEY (e.g. meds-ins, meds-bench, mednli) from PATH, a folder or hf://owner/name@commit; "
        "overrides MEDSREG_SOURCE_<KEY> and the config file. A KEY no installed task or corpus reads is warned about.",
    )(checked)


def _check_source_keys(ctx: click.Context, kwargs: dict) -> None:
    """Warn about the --source keys nothing installed reads (an error with --strict), and drop them."""
    from medsreg.errors import MedsregError
    from medsreg.sources import overrides, set_overrides

    given = overrides()
    if not given:
        return
    if "installed" in kwargs and not kwargs["installed"]:
        # validate PATH and registry read the files they are given, never a configured source
        click.echo(f"warning: --source {', '.join(given)} is not read: without --installed, 'medsreg {ctx.info_name}' checks only the "
                   "files it is given; add --installed to read configured sources, or drop --source", err=True)
        return
    from medsreg.catalog import load_installed, source_keys
    from medsreg.plugins import get_plugin_manager
    from medsreg.sources import unread_source

    used = source_keys(load_installed(get_plugin_manager(kwargs.get("plugins_dirs") or ())))
    unread = [unread_source(key, f"--source {key}=", used) for key in given if key not in used]
    if unread and kwargs.get("strict"):
        raise MedsregError("; ".join(unread) + " (--strict makes this an error)")
    for sentence in unread:
        click.echo(f"warning: configuration: {sentence}", err=True)
    set_overrides({key: value for key, value in given.items() if key in used})


def require_option(function: Callable) -> Callable:
    """``--require complete``: refuse a suite that misses a task instead of running its readable part (CI)."""
    return click.option(
        "--require", "require", type=click.Choice(["complete"]), default=None,
        help="complete: refuse a suite that misses a task (default: run its readable tasks and mark the "
        "categories that miss some as partial).",
    )(function)


def trust_remote_code_option(function: Callable) -> Callable:
    """``--trust-remote-code``: the one switch that lets a model or tokenizer folder's own Python code run
    (``medsreg.modelfolder`` refuses such a folder without it)."""
    from medsreg.modelfolder import TRUST_FLAG

    return click.option(
        TRUST_FLAG, "trust_remote_code", is_flag=True,
        help="Run the Python code a model or tokenizer folder ships (custom classes named by auto_map in its "
        "config.json / tokenizer_config.json); without it such a folder is refused. Only for folders you trust.",
    )(function)
