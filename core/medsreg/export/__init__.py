"""``medsreg export``: an installed suite written out for another evaluation tool, its prompts and scoring kept.

* ``lmeval``: the writer of ``medsreg export lm-eval`` (EleutherAI's lm-evaluation-harness task folders);
* ``lmeval_runtime``: what such a folder's ``utils.py`` calls inside lm-eval (medsreg's own metrics);
* ``command``: the click group ``export`` and its subcommands.

Nothing here imports the other tool: an export needs only medsreg, running it needs the tool.
"""
