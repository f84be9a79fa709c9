"""medsreg-samples: six small synthetic tasks in the MedS-Ins format (marked ``synthetic``).

They exist so that every medsreg command does something real on a fresh clone; they are
made up and must never be mistaken for clinical data.
"""

from pathlib import Path

from medsreg import hookimpl

TASKS = Path(__file__).parent / "tasks"


@hookimpl
def register_tasks():
    return [TASKS]
