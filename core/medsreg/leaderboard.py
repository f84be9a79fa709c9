"""``medsreg leaderboard``: several models' results (``medsreg score --output``) as one table, a web page and a chart.

Columns are the categories' scores (one per category and metric, e.g. "Text summarization
bleu1"), rows the models, in the order given. Written to a folder: ``leaderboard.md``,
``leaderboard.csv``, ``leaderboard.png`` (a bar chart per category, a bar per model) and
``index.html`` (the table and the chart, no script, no external resource: it can be served as
is, e.g. as a lab's internal leaderboard). Every file is written beside and renamed into place.
matplotlib is imported only for the chart (``pip install 'medsreg[leaderboard]'``).
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from medsreg.errors import MedsregError
from medsreg.files import write_text_atomically
from medsreg.score import RESULTS_FORMAT


@dataclass
class Entry:
    """One model's category scores."""

    model: str
    source: Path
    scores: dict[tuple[str, str], float]
    """(category, metric) -> score."""
    compat: str


def read_results(paths: list[Path]) -> list[Entry]:
    entries: list[Entry] = []
    for path in paths:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MedsregError(f"{path} does not exist; give results files written by 'medsreg score --output'") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise MedsregError(f"{path} is not a JSON results file ({error}); write one with "
                               "'medsreg score PREDICTIONS --output results.json'") from None
        if not isinstance(document, dict) or document.get("format") != RESULTS_FORMAT:
            raise MedsregError(f"{path} is not a medsreg results file (its 'format' is not {RESULTS_FORMAT!r}); "
                               "write one with 'medsreg score PREDICTIONS --output results.json'")
        scores = {(row["category"], metric): float(value) for row in document.get("rows", [])
                  if row.get("kind") == "category" for metric, value in row.get("scores", {}).items()}
        entries.append(Entry(model=str(document.get("model") or path.stem), source=path, scores=scores,
                             compat=str(document.get("compat", "fixed"))))
    names = [entry.model for entry in entries]
    for entry in entries:  # the same model scored twice (e.g. two settings): tell them apart by file
        if names.count(entry.model) > 1:
            entry.model = f"{entry.model} ({entry.source.stem})"
    compat = {entry.compat for entry in entries}
    if len(compat) > 1:
        raise MedsregError(f"the results mix --compat modes ({', '.join(sorted(compat))}); score every model the same "
                           "way before comparing them")
    return entries


def columns(entries: list[Entry]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(key for entry in entries for key in entry.scores))


def _cell(value: float | None) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.2f}"


def render_markdown(entries: list[Entry]) -> str:
    keys = columns(entries)
    lines = ["| model | " + " | ".join(f"{category} ({metric})" for category, metric in keys) + " |",
             "|---|" + "---:|" * len(keys)]
    for entry in entries:
        lines.append(f"| {entry.model.replace('|', '/')} | " + " | ".join(_cell(entry.scores.get(key)) for key in keys) + " |")
    return "\n".join(lines) + "\n"


def render_csv(entries: list[Entry]) -> str:
    keys = columns(entries)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", *[f"{category} ({metric})" for category, metric in keys]])
    for entry in entries:
        writer.writerow([entry.model, *[_cell(entry.scores.get(key)) for key in keys]])
    return buffer.getvalue()


def render_html(entries: list[Entry], title: str, chart: str) -> str:
    keys = columns(entries)
    best = {key: max((entry.scores[key] for entry in entries if key in entry.scores), default=None) for key in keys}
    head = "".join(f"<th>{html.escape(category)}<br><small>{html.escape(metric)}</small></th>" for category, metric in keys)
    body = []
    for entry in entries:
        cells = []
        for key in keys:
            value = entry.scores.get(key)
            mark = ' class="best"' if value is not None and value == best[key] and len(entries) > 1 else ""
            cells.append(f"<td{mark}>{_cell(value)}</td>")
        body.append(f"<tr><th scope=\"row\">{html.escape(entry.model)}</th>{''.join(cells)}</tr>")
    compat = entries[0].compat if entries else "fixed"
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: right; }}
th[scope=row] {{ text-align: left; }}
td.best {{ font-weight: bold; background: #eef6ee; }}
img {{ max-width: 100%; margin-top: 1.5rem; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>Category scores (x100) from <code>medsreg score</code> (metrics: {html.escape(compat)}); the best of each column is in bold.</p>
<table>
<thead><tr><th scope="col">model</th>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<img src="{html.escape(chart)}" alt="Bar chart of each category's score per model">
</body>
</html>
"""


def render_chart(entries: list[Entry], path: Path, title: str) -> None:
    """One bar chart per (category, metric), a bar per model, saved as a PNG (written beside, renamed into place)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise MedsregError(f"the leaderboard chart needs matplotlib ({error}); install it with "
                           "pip install 'medsreg[leaderboard]'") from None
    keys = columns(entries)
    per_row = min(4, max(len(keys), 1))
    rows = max(1, math.ceil(len(keys) / per_row))
    figure, axes = plt.subplots(rows, per_row, figsize=(4 * per_row, 3.2 * rows), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    for index, axis in enumerate(axes.flat):
        if index >= len(keys):
            axis.set_visible(False)
            continue
        category, metric = keys[index]
        values = [entry.scores.get(keys[index], float("nan")) for entry in entries]
        bars = axis.bar(range(len(entries)), [0 if math.isnan(v) else v for v in values],
                        color=[colors[i % len(colors)] for i in range(len(entries))])
        for bar, value in zip(bars, values):
            axis.annotate(_cell(value), (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                          va="bottom", fontsize=8)
        axis.set_title(f"{category}\n{metric}", fontsize=9)
        axis.set_xticks(range(len(entries)), [entry.model for entry in entries], rotation=30, ha="right", fontsize=8)
        axis.set_ylim(0, max(100.0, *(v for v in values if not math.isnan(v))) * 1.08)
    figure.suptitle(title)
    figure.tight_layout()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(handle)
    try:
        figure.savefig(temporary, dpi=110)
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        Path(temporary).unlink(missing_ok=True)


def write_leaderboard(paths: list[Path], output: Path, title: str) -> list[Path]:
    """Write the four files into ``output``; returns their paths."""
    entries = read_results(paths)
    if not any(entry.scores for entry in entries):
        raise MedsregError("the results hold no category scores; score predictions with 'medsreg score ... --output'")
    output.mkdir(parents=True, exist_ok=True)
    chart = output / "leaderboard.png"
    render_chart(entries, chart, title)
    files = {"leaderboard.md": f"# {title}\n\n" + render_markdown(entries), "leaderboard.csv": render_csv(entries),
             "index.html": render_html(entries, title, chart.name)}
    for name, text in files.items():
        write_text_atomically(output / name, text)
    return [output / name for name in files] + [chart]
