"""The leaderboard's static results site: a page per task listing every instance, beside ``index.html``.

``medsreg leaderboard`` calls ``write_site`` with its entries (one results file each). For each section (suite and
metric mode, as the overview keeps them apart) and each task any of its results scored, it writes

* ``tasks/<suite>--<task>.html`` (``--official`` added for a section scored ``--compat official``): a small static
  page, no network, no external resource, that works from ``file://``;
* ``tasks/data/<same name>.js``: the task's instances as ``window.MEDSREG_TASK = {...}``, loaded by a
  ``<script src>`` (a ``fetch()`` of a local JSON file fails under ``file://``). Each row is
  ``[instance id, prompt, [references], [each model's output], [each model's score or null]]``; the page renders one
  page of rows at a time (``PAGE_SIZE``), so 30,000 instances x 5 models stay responsive.

Where the rows come from: each results file records the predictions file it scored (``"predictions"``, written by
``medsreg score``), so the leaderboard's command line stays as it is (results files only) and each results file names
exactly what it scored. References and outputs are read from that file (``predictions.jsonl``), the prompts from the
eval run's ``submission/*.csv`` beside it (the predictions lines record only the prompt's sha256; a line that has a
``prompt`` is used as is); the per-sample scores from the results (``medsreg score --per-sample``). A
results file without either still gets its column: outputs without scores, or scores without texts.

A model's score on a row is the value of the task's first metric (x100); a row is *wrong* when a model's score is below
100 (for accuracies: not correct; for BLEU / ROUGE nearly every row), and the models *disagree* on it when their scores
differ. The page filters on both ("wrong only", "models disagree") and on a search box (prompt, references, outputs,
id; case-insensitive).
"""

from __future__ import annotations

import csv
import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsreg.files import write_text_atomically

PAGE_SIZE = 50
"""Rows rendered at a time on a task page."""


@dataclass
class TaskPage:
    suite: str
    compat: str
    task: str
    category: str = ""
    models: list[str] = field(default_factory=list)
    metric: str = ""
    task_scores: list[float | None] = field(default_factory=list)
    rows: dict[str, list[Any]] = field(default_factory=dict)
    """instance id -> [id, prompt, references, outputs per model, scores per model]."""
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        base = f"{_slug(self.suite)}--{_slug(self.task)}"
        return base if self.compat == "fixed" else f"{base}--{_slug(self.compat)}"

    def data(self) -> dict[str, Any]:
        return {"suite": self.suite, "compat": self.compat, "task": self.task, "category": self.category,
                "metric": self.metric, "models": self.models, "task_scores": self.task_scores,
                "notes": self.notes, "rows": list(self.rows.values())}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def _read_document(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _read_records(path: Path) -> list[dict[str, Any]] | None:
    """The predictions' records ({task, instance_id, prompt, references, output}), None where unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix.lower() in {".csv", ".tsv"}:
        try:
            reader = csv.DictReader(text.splitlines(), delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            return [{"task": None, "instance_id": str(index), "prompt": row.get("input", ""),
                     "references": [row.get("GT", "")], "output": row.get("output", "")}
                    for index, row in enumerate(reader)]
        except csv.Error:
            return None
    records: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "task" in record:
            records.append(record)
    if any("prompt" not in record and record.get("prompt_sha256") for record in records):
        prompts = _submission_prompts(path.parent / "submission")
        for record in records:
            if "prompt" not in record:
                record["prompt"] = prompts.get(str(record.get("prompt_sha256")), "")
    return records


def _submission_prompts(folder: Path) -> dict[str, str]:
    """sha256 of each prompt -> the prompt, from an eval run's ``submission/*.csv`` (``input``: the exact prompt; the
    predictions lines record only its hash)."""
    import hashlib

    from medsreg.predictions import _long_fields

    prompts: dict[str, str] = {}
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        try:
            with _long_fields(), path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    prompt = row.get("input") or ""
                    prompts[hashlib.sha256(prompt.encode("utf-8")).hexdigest()] = prompt
        except (OSError, UnicodeDecodeError, csv.Error):
            continue
    return prompts


def _predictions_path(document: dict[str, Any], results: Path) -> Path | None:
    recorded = document.get("predictions")
    if not isinstance(recorded, str) or not recorded:
        return None
    path = Path(recorded)
    if not path.is_absolute():
        path = results.parent / path
    return path


def collect(entries: list[Any], sections: list[Any]) -> list[TaskPage]:
    """Every task page of the board: per section, each task any of its results scored, its instances and models."""
    pages: list[TaskPage] = []
    for section in sections:
        by_task: dict[str, TaskPage] = {}
        models = [entry.label for entry in section.entries]
        for position, entry in enumerate(section.entries):
            document = _read_document(entry.source)
            task_rows = [row for row in document.get("rows", []) if isinstance(row, dict) and row.get("kind") == "task"]
            predictions = _predictions_path(document, entry.source)
            records = _read_records(predictions) if predictions is not None else None
            by_instance: dict[tuple[str, str], dict[str, Any]] = {}
            for record in records or []:
                by_instance[(str(record.get("task")), str(record.get("instance_id")))] = record
            for row in task_rows:
                task = str(row.get("name"))
                page = by_task.get(task)
                if page is None:
                    page = by_task[task] = TaskPage(section.suite, section.compat, task, str(row.get("category", "")),
                                                    list(models), task_scores=[None] * len(models))
                metrics = list(row.get("scores", {}))
                page.metric = page.metric or (metrics[0] if metrics else "")
                if page.metric in row.get("scores", {}):
                    page.task_scores[position] = row["scores"][page.metric]
                samples = row.get("samples")
                if samples is None:
                    page.notes.append(f"{entry.label}: no per-sample scores (score with 'medsreg score --per-sample')")
                if records is None:
                    page.notes.append(f"{entry.label}: predictions file not readable "
                                      f"({predictions if predictions is not None else 'not recorded in the results'})")
                ids = [str(sample.get("id")) for sample in samples or []]
                scores = {str(sample.get("id")): (sample.get("scores") or {}).get(page.metric) for sample in samples or []}
                if not ids:
                    ids = [str(record.get("instance_id")) for record in records or [] if record.get("task") == task]
                for instance in ids:
                    line = page.rows.get(instance)
                    record = by_instance.get((task, instance))
                    if line is None:
                        references = record.get("references") if record else []
                        line = page.rows[instance] = [instance, str(record.get("prompt") or "") if record else "",
                                                      [str(r) for r in references] if isinstance(references, list)
                                                      else [str(references)],
                                                      [None] * len(models), [None] * len(models)]
                    if record is not None:
                        line[3][position] = str(record.get("output") or "")
                        if not line[1]:
                            line[1] = str(record.get("prompt") or "")
                    line[4][position] = scores.get(instance)
        pages.extend(by_task.values())
    return pages


def write_site(entries: list[Any], sections: list[Any], output: Path, title: str) -> tuple[list[Path], str]:
    """Write the task pages and their data files under ``output/tasks``; returns (the files, the overview's HTML list
    of links to them, '' where there is none)."""
    pages = collect(entries, sections)
    written: list[Path] = []
    links: dict[tuple[str, str], list[str]] = {}
    for page in pages:
        data = "window.MEDSREG_TASK = " + json.dumps(page.data(), ensure_ascii=False, separators=(",", ":")) \
            .replace("</", "<\\/") + ";\n"
        data_path = output / "tasks" / "data" / f"{page.name}.js"
        page_path = output / "tasks" / f"{page.name}.html"
        data_path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(data_path, data)
        write_text_atomically(page_path, render_task_page(page, title))
        written += [page_path, data_path]
        scores = ", ".join(f"{model} {score:.2f}" for model, score in zip(page.models, page.task_scores)
                           if score is not None)
        links.setdefault((page.suite, page.compat), []).append(
            f'<li><a href="tasks/{html.escape(page.name)}.html">{html.escape(page.task)}</a> '
            f'<small>({html.escape(page.category)}; {len(page.rows):,} instances'
            f'{"; " + html.escape(page.metric) + ": " + html.escape(scores) if scores else ""})</small></li>')
    overview = "".join(f'<nav class="tasks">\n<h2>Tasks: {html.escape(suite)} (metrics: {html.escape(compat)})</h2>\n'
                       f'<ul>\n{chr(10).join(items)}\n</ul>\n</nav>\n' for (suite, compat), items in links.items())
    return written, overview


def render_task_page(page: TaskPage, title: str) -> str:
    heading = f"{page.task} ({page.suite}, metrics: {page.compat})"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(heading)} - {html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; }}
th, td {{ border: 1px solid #ccc; padding: .3rem .5rem; vertical-align: top; text-align: left; }}
td {{ white-space: pre-wrap; word-break: break-word; font-size: .85rem; }}
td.score {{ text-align: right; white-space: nowrap; }}
td.wrong {{ background: #fbeaea; }}
td.right {{ background: #eef6ee; }}
.controls {{ margin: 1rem 0; display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }}
.notes {{ color: #8a5a00; font-size: .9rem; }}
th.id {{ width: 5rem; }} th.score {{ width: 4.5rem; }} th.prompt {{ width: 28%; }}
th {{ word-break: break-word; font-size: .85rem; }}
td.prompt div {{ max-height: 12rem; overflow: auto; }}
</style>
</head>
<body>
<p><a href="../index.html">&larr; {html.escape(title)}</a></p>
<h1>{html.escape(heading)}</h1>
<p id="summary"></p>
<ul class="notes" id="notes"></ul>
<div class="controls">
<label><input type="checkbox" id="wrong"> wrong only</label>
<label><input type="checkbox" id="disagree"> models disagree</label>
<label>search <input type="search" id="search" placeholder="prompt, reference, output, id"></label>
<span id="count"></span>
<button id="prev">&larr; previous</button> <span id="page"></span> <button id="next">next &rarr;</button>
</div>
<table id="rows"><thead></thead><tbody></tbody></table>
<script src="data/{html.escape(page.name)}.js"></script>
<script>
{_SCRIPT.replace("__PAGE_SIZE__", str(PAGE_SIZE))}
</script>
</body>
</html>
"""


_SCRIPT = r"""
(function () {
  "use strict";
  var data = window.MEDSREG_TASK, pageSize = __PAGE_SIZE__, page = 0, shown = [], haystack = null;
  var $ = function (id) { return document.getElementById(id); };
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function wrong(row) { return row[4].some(function (s) { return s !== null && s < 100; }); }
  function disagree(row) {
    var known = row[4].filter(function (s) { return s !== null; });
    return known.some(function (s) { return s !== known[0]; });
  }
  function text(row) {
    if (haystack === null) haystack = data.rows.map(function (r) {
      return [r[0], r[1], r[2].join("\n"), r[3].join("\n")].join("\n").toLowerCase();
    });
    return haystack;
  }
  function filter() {
    var onlyWrong = $("wrong").checked, onlyDisagree = $("disagree").checked;
    var query = $("search").value.trim().toLowerCase();
    var hay = query ? text() : null;
    shown = [];
    for (var i = 0; i < data.rows.length; i++) {
      var row = data.rows[i];
      if (onlyWrong && !wrong(row)) continue;
      if (onlyDisagree && !disagree(row)) continue;
      if (query && hay[i].indexOf(query) < 0) continue;
      shown.push(i);
    }
    page = 0;
    render();
  }
  function render() {
    var body = $("rows").tBodies[0], pages = Math.max(1, Math.ceil(shown.length / pageSize));
    page = Math.min(page, pages - 1);
    var fragment = document.createDocumentFragment();
    shown.slice(page * pageSize, (page + 1) * pageSize).forEach(function (index) {
      var row = data.rows[index], tr = el("tr");
      tr.dataset.id = row[0];
      tr.appendChild(el("td", row[0], "id"));
      var prompt = el("td", null, "prompt"); prompt.appendChild(el("div", row[1])); tr.appendChild(prompt);
      tr.appendChild(el("td", row[2].join("\n---\n"), "references"));
      data.models.forEach(function (model, m) {
        var score = row[4][m];
        tr.appendChild(el("td", row[3][m] === null ? "(no prediction)" : row[3][m], "output"));
        tr.appendChild(el("td", score === null ? "" : score.toFixed(2),
                          "score" + (score === null ? "" : score < 100 ? " wrong" : " right")));
      });
      fragment.appendChild(tr);
    });
    body.replaceChildren(fragment);
    $("count").textContent = shown.length + " of " + data.rows.length + " rows";
    $("page").textContent = "page " + (page + 1) + " of " + pages;
    $("prev").disabled = page === 0;
    $("next").disabled = page >= pages - 1;
  }
  var head = el("tr");
  [["id", "id"], ["prompt", "prompt"], ["reference(s)", "references"]].forEach(function (h) {
    head.appendChild(el("th", h[0], h[1]));
  });
  data.models.forEach(function (model) {
    head.appendChild(el("th", model + ": output", "output"));
    var score = el("th", "score", "score");
    score.title = model + ": per-sample " + (data.metric || "score");
    head.appendChild(score);
  });
  $("rows").tHead.appendChild(head);
  $("summary").textContent = data.category + "; " + data.rows.length + " instances; " +
    data.models.map(function (m, i) {
      var s = data.task_scores[i];
      return m + (s === null ? "" : " " + (data.metric || "score") + " " + s.toFixed(2));
    }).join(", ") + " (a row is wrong where a model's per-sample " + (data.metric || "score") + " is below 100)";
  data.notes.forEach(function (note) { $("notes").appendChild(el("li", note)); });
  $("wrong").addEventListener("change", filter);
  $("disagree").addEventListener("change", filter);
  var timer = null;
  $("search").addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(filter, 150); });
  $("prev").addEventListener("click", function () { page--; render(); });
  $("next").addEventListener("click", function () { page++; render(); });
  filter();
})();
"""
