"""medsreg-meds-ins: the 122 MedS-Ins tasks as a catalog of task cards.

The cards (catalog.json) carry what medsreg needs to list, filter and validate the tasks;
the instances come from the user's copy of the released task files (source ``meds-ins``)
and the instructions from ``RewriteDefinitions.json`` (source ``meds-ins-instructions``,
the ``meds-ins`` folder, or the MedS-Ins repository at a pinned commit when online). The
released files are in the MedS-Ins format, which core reads, so no reader is needed here.
"""

from pathlib import Path

from medsreg import hookimpl

CATALOG = Path(__file__).parent / "catalog.json"
MIXTURE = Path(__file__).parent / "mixture.json"


@hookimpl
def register_tasks():
    return [CATALOG]


@hookimpl
def register_mixtures():
    return [MIXTURE]
