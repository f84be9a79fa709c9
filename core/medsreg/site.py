"""The leaderboard's static results site: a page per task listing every instance, beside ``index.html``.

``medsreg leaderboard`` calls ``write_site`` with its entries (one results file each). For each section (suite and
metric mode, as the overview keeps them apart) and each task any of its results scored, it writes

* ``tasks/<suite>--<task>.html`` (``--official`` added for a section scored ``--compat official``): a small static
  page, no network, no external resource, that works from ``file://``;
* ``tasks/data/<same name>.js``: the task's instances as ``window.MEDSREG_TASK = {...}``, loaded by a
  ``<script src>`` (a ``fetch()`` of a local JSON file fails under ``file://``). Each row is
  ``[instance id, prompt, [references], [each model's output], [each model's score or null]]``; the page renders one
  page of rows at a time (``PAGE_SIZE``), so 30,000 instances x 5 models stay responsive.
* ``categories/<suite>--<category>.html`` (``--official`` likewise): each model's score on the category (a partial
  one marked with ``PARTIAL_MARK``), a bar chart per metric drawn as inline SVG (a bar per model, its value as label; a
  partial category's bar hatched and lighter), its tasks' scores per model, and links to their task pages;

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
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medsreg.files import write_text_atomically
from medsreg.score import PARTIAL_MARK

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
        # the suite's own prompts: the lines of other option orders or instructions are what score measured apart
        if isinstance(record, dict) and "task" in record and not record.get("permutation") \
                and not record.get("instruction_index"):
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
    """Write the task pages and their data files under ``output/tasks`` and the category pages under
    ``output/categories``; returns (the files, the overview's HTML lists of links to them, '' where there is none)."""
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
    category_links: dict[tuple[str, str], list[str]] = {}
    for category_page in collect_categories(sections, pages):
        path = output / "categories" / f"{category_page.name}.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(path, render_category_page(category_page, title))
        written.append(path)
        partial = any(category_page.partial.values())
        category_links.setdefault((category_page.suite, category_page.compat), []).append(
            f'<li><a href="categories/{html.escape(category_page.name)}.html">{html.escape(category_page.category)}</a>'
            f' <small>({len(category_page.tasks)} task{"" if len(category_page.tasks) == 1 else "s"}'
            f'{"; " + html.escape(PARTIAL_MARK) + " partial for some models" if partial else ""})</small></li>')
    overview = []
    for section in sections:
        key = (section.suite, section.compat)
        if key not in links and key not in category_links:
            continue
        heading = f"{html.escape(section.suite)} (metrics: {html.escape(section.compat)})"
        parts = ['<nav class="tasks">\n']
        if key in category_links:
            parts.append(f'<h2>Categories: {heading}</h2>\n<ul class="categories">\n'
                         f'{chr(10).join(category_links[key])}\n</ul>\n')
        if key in links:
            parts.append(f'<h2>Tasks: {heading}</h2>\n<ul>\n{chr(10).join(links[key])}\n</ul>\n')
        parts.append("</nav>\n")
        overview.append("".join(parts))
    return written, "".join(overview)


@dataclass
class CategoryPage:
    """One category of one section: each model's category scores, its tasks' scores and their task pages."""

    suite: str
    compat: str
    category: str
    models: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    scores: dict[str, list[float | None]] = field(default_factory=dict)
    """metric -> each model's category score (None where the model has none)."""
    partial: dict[str, str] = field(default_factory=dict)
    """model -> what its category lacks, for the models whose category is partial."""
    tasks: list[str] = field(default_factory=list)
    task_scores: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)
    """task -> metric -> each model's task score."""
    task_pages: dict[str, str] = field(default_factory=dict)
    """task -> its task page's name (``tasks/<name>.html``)."""

    @property
    def name(self) -> str:
        base = f"{_slug(self.suite)}--{_slug(self.category)}"
        return base if self.compat == "fixed" else f"{base}--{_slug(self.compat)}"


def collect_categories(sections: list[Any], pages: list[TaskPage] | None = None) -> list[CategoryPage]:
    """Every category page of the board: per section, each category any of its results scored."""
    found: list[CategoryPage] = []
    for section in sections:
        models = [entry.label for entry in section.entries]
        by_category: dict[str, CategoryPage] = {}

        def get(category: str, section: Any = section, models: list[str] = models,
                by_category: dict[str, CategoryPage] = by_category) -> CategoryPage:
            if category not in by_category:
                by_category[category] = CategoryPage(section.suite, section.compat, category, list(models))
            return by_category[category]

        for position, entry in enumerate(section.entries):
            for (category, metric), value in entry.scores.items():
                page = get(str(category))
                if metric not in page.scores:
                    page.metrics.append(str(metric))
                    page.scores[metric] = [None] * len(models)
                page.scores[metric][position] = value
            for category, lacks in entry.partial.items():
                get(str(category)).partial[entry.label] = str(lacks)
        for position, entry in enumerate(section.entries):
            document = _read_document(entry.source)
            for row in document.get("rows", []):
                if not isinstance(row, dict) or row.get("kind") != "task":
                    continue
                page = get(str(row.get("category", "")))
                task = str(row.get("name"))
                if task not in page.task_scores:
                    page.tasks.append(task)
                    page.task_scores[task] = {}
                scores = row.get("scores") if isinstance(row.get("scores"), dict) else {}
                for metric, value in scores.items():
                    values = page.task_scores[task].setdefault(str(metric), [None] * len(models))
                    values[position] = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        for task_page in pages or []:
            if (task_page.suite, task_page.compat) == (section.suite, section.compat) and \
                    task_page.category in by_category:
                by_category[task_page.category].task_pages[task_page.task] = task_page.name
        found.extend(by_category.values())
    return found


def _number(value: float | None, partial: bool = False) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.2f}{PARTIAL_MARK if partial else ''}"


_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def render_bar_chart(page: CategoryPage, metric: str, index: int) -> str:
    """An inline SVG bar chart of the category's ``metric``: a bar per model (``rect.bar``, its value in
    ``data-value``) with its value as a label; a partial category's bar is hatched and lighter, its label marked."""
    values = page.scores.get(metric, [None] * len(page.models))
    known = [v for v in values if v is not None and not math.isnan(v)]
    top = max([100.0, *known]) * 1.08
    step, bar, left, height, bottom = 90, 56, 40, 200, 70
    width = left + step * max(len(page.models), 1) + 20
    hatch = f"hatch-{index}"
    parts = [(f'<svg class="chart" role="img" width="{width}" '
              f'height="{height + bottom + 30}" viewBox="0 0 {width} {height + bottom + 30}" '
              f'aria-label="{html.escape(page.category)} ({html.escape(metric)}): a bar per model">'),
             f'<title>{html.escape(page.category)} ({html.escape(metric)})</title>',
             (f'<defs><pattern id="{hatch}" patternUnits="userSpaceOnUse" width="6" height="6" '
              'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#000" stroke-width="2" '
              'stroke-opacity="0.5"/></pattern></defs>')]
    base = 30 + height
    parts.append(f'<line x1="{left - 5}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#444"/>')
    for tick in (0, 25, 50, 75, 100):
        y = base - tick / top * height
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end" font-size="10" fill="#666">{tick}</text>'
                     f'<line x1="{left - 5}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#eee"/>')
    for position, (model, value) in enumerate(zip(page.models, values)):
        partial = model in page.partial and value is not None
        x = left + position * step + (step - bar) / 2
        size = 0.0 if value is None or math.isnan(value) else max(value, 0) / top * height
        color = _COLORS[position % len(_COLORS)]
        label = _number(value, partial) or "n/a"
        tip = f"{model}: {label}" + (f" (partial: {page.partial[model]})" if partial else "")
        classes = "bar partial" if partial else "bar"
        lighter = ' fill-opacity="0.45"'
        parts.append(f'<rect class="{classes}" data-model="{html.escape(model)}" '
                     f'data-value="{"" if value is None else html.escape(repr(float(value)))}" x="{x:.1f}" '
                     f'y="{base - size:.1f}" width="{bar}" height="{size:.1f}" fill="{color}"'
                     f'{lighter if partial else ""}><title>{html.escape(tip)}</title></rect>')
        if partial:
            parts.append(f'<path class="hatch" d="M{x:.1f} {base - size:.1f}h{bar}v{size:.1f}h-{bar}z" '
                         f'fill="url(#{hatch})"/>')
        parts.append(f'<text class="value" x="{x + bar / 2:.1f}" y="{base - size - 4:.1f}" text-anchor="middle" '
                     f'font-size="11">{html.escape(label)}</text>')
        parts.append(f'<text class="model" x="{x + bar / 2:.1f}" y="{base + 14}" text-anchor="end" font-size="11" '
                     f'transform="rotate(-30 {x + bar / 2:.1f} {base + 14})">{html.escape(model)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_category_page(page: CategoryPage, title: str) -> str:
    heading = f"{page.category} ({page.suite}, metrics: {page.compat})"
    head = "".join(f"<th scope=\"col\">{html.escape(metric)}</th>" for metric in page.metrics)
    body = []
    for position, model in enumerate(page.models):
        cells = []
        for metric in page.metrics:
            value = page.scores[metric][position]
            partial = model in page.partial and value is not None
            tip = f' title="partial: {html.escape(page.partial[model])}"' if partial else ""
            cells.append(f'<td class="score{" partial" if partial else ""}"{tip}>'
                         f'{html.escape(_number(value, partial))}</td>')
        body.append(f'<tr><th scope="row">{html.escape(model)}</th>{"".join(cells)}</tr>')
    notes = "".join(f"<li>{html.escape(PARTIAL_MARK)} {html.escape(model)}: partial, {html.escape(lacks)} "
                    "(the average is over the tasks it has)</li>" for model, lacks in page.partial.items())
    notes = f'<ul class="footnotes">\n{notes}\n</ul>\n' if notes else ""
    charts = "\n".join(f'<figure><figcaption>{html.escape(page.category)} ({html.escape(metric)})</figcaption>\n'
                        f'{render_bar_chart(page, metric, index)}</figure>' for index, metric in enumerate(page.metrics))
    models = "".join(f"<th scope=\"col\">{html.escape(model)}</th>" for model in page.models)
    task_rows = []
    for task in page.tasks:
        metrics = page.task_scores[task] or {"": [None] * len(page.models)}
        name = page.task_pages.get(task)
        link = f'<a class="task" href="../tasks/{html.escape(name)}.html">{html.escape(task)}</a>' if name else \
            html.escape(task)
        for number, (metric, values) in enumerate(metrics.items()):
            first = f'<th scope="row" rowspan="{len(metrics)}">{link}</th>' if number == 0 else ""
            cells = "".join(f'<td class="score">{html.escape(_number(value))}</td>' for value in values)
            task_rows.append(f"<tr>{first}<td>{html.escape(metric)}</td>{cells}</tr>")
    tasks = (f'<table class="tasks">\n<thead><tr><th scope="col">task</th><th scope="col">metric</th>{models}</tr>'
             f'</thead>\n<tbody>\n{chr(10).join(task_rows)}\n</tbody>\n</table>\n') if task_rows else \
        "<p>No task scores recorded.</p>\n"
    return _head(heading, title) + f"""table {{ border-collapse: collapse; margin: .5rem 0 1rem; }}
th, td {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; }}
td.score {{ text-align: right; white-space: nowrap; }}
td.partial {{ color: #8a5a00; }}
figure {{ display: inline-block; margin: 0 1.5rem 1rem 0; }}
figcaption {{ font-weight: bold; font-size: .9rem; }}
ul.footnotes {{ font-size: .9rem; color: #8a5a00; }}
</style>
</head>
<body>
<p><a href="../index.html">&larr; {html.escape(title)}</a></p>
<h1>{html.escape(heading)}</h1>
<h2>Category scores</h2>
<table class="scores">
<thead><tr><th scope="col">model</th>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
{notes}<h2>Charts</h2>
{charts}
<h2>Tasks</h2>
{tasks}</body>
</html>
"""


def _head(heading: str, title: str) -> str:
    """A site page's start, up to its own style rules: doctype, title, and the rules every page shares."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(heading)} - {html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }}
"""


def render_task_page(page: TaskPage, title: str) -> str:
    heading = f"{page.task} ({page.suite}, metrics: {page.compat})"
    return _head(heading, title) + f"""table {{ border-collapse: collapse; width: 100%; table-layout: fixed; }}
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
