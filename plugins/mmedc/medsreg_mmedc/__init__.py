"""medsreg-mmedc: MMedC's parts as ``medsreg.Corpus`` objects, and the keyword lists of its web filter.

``corpora.json`` describes one corpus per language and source type (SEEDS.md §5); the same file is
listed under ``[tool.medsreg] corpora`` in pyproject.toml. The filtered-web corpora name their
language's keyword list in ``keywords/`` (one keyword a line), which ``medsreg corpus run`` filters with:
MMedLM's own lists (https://github.com/MAGIC-AI4Med/MMedLM, ``data_collection/filtering/keywords.py``,
CC BY-SA; each file's header gives the commit and the attribution).
"""

import json
from pathlib import Path

from medsreg import hookimpl
from medsreg.models import Corpus

HERE = Path(__file__).parent
CORPORA = HERE / "corpora.json"
KEYWORDS = HERE / "keywords"


@hookimpl
def register_corpora():
    corpora = []
    for entry in json.loads(CORPORA.read_text(encoding="utf-8"))["corpora"]:
        if entry.get("keywords"):
            entry = {**entry, "keywords": str(HERE / entry["keywords"])}
        corpora.append(Corpus.model_validate(entry))
    return corpora
