"""Command-line options several commands share, kept apart so that ``cli`` and ``build.command`` both use them."""

from __future__ import annotations

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
    """``--source KEY=PATH`` (repeatable): configures sources for this command only."""
    return click.option(
        "--source", "sources", multiple=True, callback=_set_sources, expose_value=False, metavar="KEY=PATH",
        help="Read source KEY (e.g. meds-ins, meds-bench, mednli) from PATH, a folder or hf://owner/name@commit; "
        "overrides MEDSREG_SOURCE_<KEY> and the config file.",
    )(function)


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
