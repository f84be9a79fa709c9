"""What the ``utils.py`` of a ``medsreg export lm-eval`` folder runs inside lm-evaluation-harness: medsreg's scoring.

* ``Scoring.process_results(doc, results)``: the document's item for each medsreg metric of its task (lm-eval keeps
  it per sample and logs it with ``--log_samples``): the output as the tasks' filter left it (stripped), the
  references, the task's output language and MedS-Ins id, the task and instance id;
* ``Scoring.aggregate(metric, items)``: the medsreg metric's ``compute`` over every item of a task at once, as
  ``medsreg score`` calls it (``--compat fixed``): the value lm-eval reports for the task. The metrics come from the
  plugins installed where lm-eval runs, plus the ``--plugins-dir`` folders the export recorded, found as
  ``medsreg score`` finds them.

With the ``chat`` prompt, a warning goes to stderr once when the process is an ``lm_eval`` command line without
``--apply_chat_template`` (the tasks then reach the model without its chat template, unlike ``medsreg eval``).
Nothing here imports lm-eval.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from medsreg.errors import MedsregError

ITEM_KEYS = ("task", "instance_id", "output", "references", "language", "legacy_id")


class Scoring:
    """The scoring of one export folder (its manifest and metrics read once, when first needed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._manifest: dict[str, Any] | None = None
        self._metrics: dict[str, Any] | None = None
        self._warned = False

    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            from medsreg.export.lmeval import FORMAT, MANIFEST

            path = self.folder / MANIFEST
            try:
                manifest = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise MedsregError(f"{path} cannot be read ({error}); export the suite again with 'medsreg export "
                                   "lm-eval'") from None
            if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
                raise MedsregError(f"{path} is not a {FORMAT} manifest; export the suite again with this medsreg")
            self._manifest = manifest
            self._check_command_line(manifest)
        return self._manifest

    def metrics(self) -> dict[str, Any]:
        """{name: medsreg Metric}, as 'medsreg score' collects them."""
        if self._metrics is None:
            from medsreg.catalog import load_installed
            from medsreg.plugins import get_plugin_manager

            folders = tuple(Path(folder) for folder in self.manifest().get("plugins_dirs", []))
            catalog = load_installed(get_plugin_manager(folders))
            self._metrics = {metric.name: metric for _, metric in catalog.metrics}
        return self._metrics

    def process_results(self, doc: dict[str, Any], results: list[Any]) -> dict[str, dict[str, Any]]:
        """{metric: the document's item} for every metric of its task."""
        self.manifest()
        output = results[0] if results else ""
        item = {"task": doc["task"], "instance_id": str(doc["instance_id"]),
                "output": output if isinstance(output, str) else str(output),
                "references": [str(reference) for reference in doc["references"]],
                "language": doc.get("language") or "en", "legacy_id": doc.get("legacy_id")}
        return {metric: item for metric in doc["metrics"]}

    def aggregate(self, metric: str, items: list[dict[str, Any]]) -> float:
        """The metric's value (x100) over ``items``, computed at once as 'medsreg score' does."""
        values = compute(self.metrics(), metric, items)
        if metric not in values:
            raise MedsregError(f"metric {metric} returned {', '.join(values) or 'nothing'} but not {metric}; lm-eval "
                               "reports one value per metric: a metric for this export reports under its own name")
        extra = [key for key in values if key != metric]
        if extra and not self._warned:
            print(f"warning: medsreg metric {metric} also returned {', '.join(extra)}, which lm-eval cannot report "
                  "(one value per metric); 'medsreg score' shows them", file=sys.stderr)
            self._warned = True
        return float(values[metric])

    @staticmethod
    def _check_command_line(manifest: dict[str, Any], argv: list[str] | None = None) -> bool:
        """Warn once (True) when an lm_eval command line runs chat-prompt tasks without --apply_chat_template."""
        argv = sys.argv if argv is None else argv
        if manifest.get("prompt") != "chat" or not argv or not _is_lm_eval(argv[0]):
            return False
        if any(argument == "--apply_chat_template" or argument.startswith("--apply_chat_template=")
               for argument in argv[1:]):
            return False
        print(f"warning: the medsreg tasks of {manifest.get('suite')} are run without --apply_chat_template: lm-eval then "
              "joins their system and user messages with nothing between them and no chat template, unlike 'medsreg "
              "eval'; add --apply_chat_template (or export with --prompt plain)", file=sys.stderr)
        return True


def _is_lm_eval(program: str) -> bool:
    path = Path(program)
    return path.name in ("lm_eval", "lm-eval") or (path.name == "__main__.py" and path.parent.name == "lm_eval")


def compute(metrics: dict[str, Any], metric: str, items: list[dict[str, Any]]) -> dict[str, float]:
    """``metrics[metric].compute`` over ``items`` with the context 'medsreg score' gives (fixed mode)."""
    from medsreg.models import MetricContext
    from medsreg.predictions import PLUGINS_DIR_HINT

    if metric not in metrics:
        raise MedsregError(f"no installed plugin provides the metric {metric} where lm-eval runs; install the plugin "
                           f"that provides it ({PLUGINS_DIR_HINT} when exporting)")
    context = MetricContext(languages=[item["language"] for item in items], official=False,
                            legacy_ids=[item["legacy_id"] for item in items],
                            missing_outputs=[False] * len(items), missing_references=[False] * len(items))
    return metrics[metric].compute([item["output"] for item in items], [item["references"] for item in items], context)
