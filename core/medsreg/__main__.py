"""``python -m medsreg``: the same as the ``medsreg`` command."""

from medsreg.cli import main

main()
