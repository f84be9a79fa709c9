"""``medsreg leaderboard``: several models' results (``medsreg score --output``) as one table, a web page and a chart.

Columns are the categories' scores (one per category and metric, e.g. "Text summarization
bleu1"), rows the models, in the order given. Written to a folder: ``leaderboard.md``,
``leaderboard.csv``, ``leaderboard.png`` (a bar chart per category, a bar per model) and
``index.html`` (the table and the chart, no script, no external resource: it can be served as
is, e.g. as a lab's internal leaderboard). Every file is written beside and renamed into place.
matplotlib is imported only for the chart (``pip install 'medsreg[leaderboard]'``).

A model's partial category (``medsreg score`` marked it: a partial suite missed some of its tasks)
shows ``PARTIAL_MARK`` in its cell (and bar label), with a footnote naming the missing tasks; in
the web page a column's best is chosen among the complete cells when there are any, so a partial
average is never bolded over a complete one.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from medsreg.errors import MedsregError
from medsreg.files import create_beside, write_text_atomically
from medsreg.score import PARTIAL_MARK, RESULTS_FORMAT


@dataclass
class Entry:
    """One model's category scores."""

    model: str
    source: Path
    scores: dict[tuple[str, str], float]
    """(category, metric) -> score."""
    compat: str
    partial: dict[str, str] = field(default_factory=dict)
    """Category -> what it lacks ('2 of 5 tasks; missing a, b'), for this model's partial categories."""

    def marked(self, key: tuple[str, str]) -> bool:
        return key[0] in self.partial and key in self.scores


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
        partial = {row["category"]: _lacks(row) for row in document.get("rows", [])
                   if row.get("kind") == "category" and (row.get("partial") or row.get("missing"))}
        entries.append(Entry(model=str(document.get("model") or path.stem), source=path, scores=scores,
                             compat=str(document.get("compat", "fixed")), partial=partial))
    names = [entry.model for entry in entries]
    for entry in entries:  # the same model scored twice (e.g. two settings): tell them apart by file
        if names.count(entry.model) > 1:
            entry.model = f"{entry.model} ({entry.source.stem})"
    compat = {entry.compat for entry in entries}
    if len(compat) > 1:
        raise MedsregError(f"the results mix --compat modes ({', '.join(sorted(compat))}); score every model the same "
                           "way before comparing them")
    return entries


def _lacks(row: dict) -> str:
    """What a partial category row of a results file lacks: '2 of 5 tasks; missing a, b'."""
    missing = [str(name) for name in row.get("missing") or []]
    count = f"{row['tasks']} of {row['of']} tasks" if row.get("tasks") is not None and row.get("of") else "some tasks"
    return f"{count}; missing {', '.join(missing)}" if missing else count


def columns(entries: list[Entry]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(key for entry in entries for key in entry.scores))


def _cell(value: float | None, partial: bool = False) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.2f}{PARTIAL_MARK if partial else ''}"


def _entry_cell(entry: Entry, key: tuple[str, str]) -> str:
    return _cell(entry.scores.get(key), entry.marked(key))


def footnotes(entries: list[Entry]) -> list[str]:
    """One line per model and partial category: what the marked cells lack."""
    return [f"{PARTIAL_MARK} {entry.model}, {category}: partial, {lacks} (the average is over the tasks it has)"
            for entry in entries for category, lacks in entry.partial.items()]


def best_values(entries: list[Entry]) -> dict[tuple[str, str], float | None]:
    """Each column's best: among the complete cells when the column has any (a partial average is not comparable with
    a complete one), else among the partial ones (still marked)."""
    best: dict[tuple[str, str], float | None] = {}
    for key in columns(entries):
        complete = [entry.scores[key] for entry in entries if key in entry.scores and not entry.marked(key)]
        every = [entry.scores[key] for entry in entries if key in entry.scores]
        best[key] = max(complete or every, default=None)
    return best


def render_markdown(entries: list[Entry]) -> str:
    keys = columns(entries)
    lines = ["| model | " + " | ".join(f"{category} ({metric})" for category, metric in keys) + " |",
             "|---|" + "---:|" * len(keys)]
    for entry in entries:
        lines.append(f"| {entry.model.replace('|', '/')} | " + " | ".join(_entry_cell(entry, key) for key in keys) + " |")
    notes = footnotes(entries)
    return "\n".join(lines + ([""] + [f"{line}  " for line in notes] if notes else [])) + "\n"


def render_csv(entries: list[Entry]) -> str:
    keys = columns(entries)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # a leaderboard table for people: a partial cell carries the mark, and the last column says what it lacks
    marked = any(entry.partial for entry in entries)
    writer.writerow(["model", *[f"{category} ({metric})" for category, metric in keys], *(["partial"] if marked else [])])
    for entry in entries:
        lacks = "; ".join(f"{PARTIAL_MARK} {category}: {what}" for category, what in entry.partial.items())
        writer.writerow([entry.model, *[_entry_cell(entry, key) for key in keys], *([lacks] if marked else [])])
    return buffer.getvalue()


def render_html(entries: list[Entry], title: str, chart: str) -> str:
    keys = columns(entries)
    best = best_values(entries)
    head = "".join(f"<th>{html.escape(category)}<br><small>{html.escape(metric)}</small></th>" for category, metric in keys)
    body = []
    for entry in entries:
        cells = []
        for key in keys:
            value = entry.scores.get(key)
            classes = ["best"] if value is not None and value == best[key] and len(entries) > 1 else []
            if entry.marked(key):
                classes.append("partial")
            mark = f' class="{" ".join(classes)}"' if classes else ""
            tip = f' title="partial: {html.escape(entry.partial[key[0]])}"' if entry.marked(key) else ""
            cells.append(f"<td{mark}{tip}>{html.escape(_entry_cell(entry, key))}</td>")
        body.append(f"<tr><th scope=\"row\">{html.escape(entry.model)}</th>{''.join(cells)}</tr>")
    notes = "".join(f"<li>{html.escape(line)}</li>" for line in footnotes(entries))
    notes = f'<ul class="footnotes">\n{notes}\n</ul>\n' if notes else ""
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
td.partial {{ color: #8a5a00; }}
ul.footnotes {{ font-size: .9rem; color: #555; }}
img {{ max-width: 100%; margin-top: 1.5rem; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>Category scores (x100) from <code>medsreg score</code> (metrics: {html.escape(compat)}); the best of each column is in bold{html.escape(_partial_sentence(entries))}.</p>
<table>
<thead><tr><th scope="col">model</th>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
{notes}<img src="{html.escape(chart)}" alt="Bar chart of each category's score per model">
</body>
</html>
"""


def _partial_sentence(entries: list[Entry]) -> str:
    if not any(entry.partial for entry in entries):
        return ""
    return (f"; {PARTIAL_MARK} marks a partial category (some of its tasks were not evaluated: see below), whose "
            "average is not compared with complete ones")


def chart_labels(entries: list[Entry], key: tuple[str, str]) -> tuple[str, list[str]]:
    """(the panel's title, each bar's label): the partial cells and the panel holding one carry the mark."""
    category, metric = key
    partial = [entry.model for entry in entries if entry.marked(key)]
    title = f"{category}\n{metric}" + (f" ({PARTIAL_MARK} partial: {', '.join(partial)})" if partial else "")
    return title, [_entry_cell(entry, key) for entry in entries]


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
        values = [entry.scores.get(keys[index], float("nan")) for entry in entries]
        bars = axis.bar(range(len(entries)), [0 if math.isnan(v) else v for v in values],
                        color=[colors[i % len(colors)] for i in range(len(entries))])
        panel, labels = chart_labels(entries, keys[index])
        for bar, label, entry in zip(bars, labels, entries):
            if entry.marked(keys[index]):
                bar.set_hatch("//")  # a partial average: hatched, besides the mark on its label
                bar.set_alpha(0.6)
            axis.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                          va="bottom", fontsize=8)
        axis.set_title(panel, fontsize=9)
        axis.set_xticks(range(len(entries)), [entry.model for entry in entries], rotation=30, ha="right", fontsize=8)
        axis.set_ylim(0, max(100.0, *(v for v in values if not math.isnan(v))) * 1.08)
    figure.suptitle(title + (f" ({PARTIAL_MARK}: partial category, some tasks not evaluated)"
                             if any(entry.partial for entry in entries) else ""))
    figure.tight_layout()
    handle, temporary = create_beside(path, suffix=".png")
    os.close(handle)  # matplotlib opens it by name: the file keeps the mode it was created with
    try:
        figure.savefig(temporary, dpi=110)
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        temporary.unlink(missing_ok=True)


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
