"""``medsreg leaderboard``: several runs' results (``medsreg score --output``) as tables, a web page and a chart.

A results file is a row: one model's run on one suite, scored one way. Rows are grouped in
sections, one per suite and metric mode (``compat``), in the order first given: scores of two
suites (two "Multilingual MCQA" categories) or of the two modes (``official`` reproduces the
published figures, bugs included; ``fixed`` corrects them) are not comparable, so each section
is a table of its own and nothing (a column, a best, a bar chart panel) spans two. Mixed modes are
shown side by side rather than refused: both figures are legitimate, and a board may want both.

In a section, columns are the categories' scores (one per category and metric, e.g. "Text
summarization (bleu1)"), rows the runs. A row is labelled by its model, and by its model and run
(the eval run folder, else the config hash, the date or the results file) only where two rows of
the section share a model. Written to a folder: ``leaderboard.md`` (a heading and a table per
section, each row's run below it), ``leaderboard.csv`` (one table: the suite and mode of each
row, its columns named after their section where there are several, and each row's run, config
hash and date), ``leaderboard.png`` (a bar chart per section, category and metric, a bar per row)
and ``index.html`` (the sections and the chart, no script, no external resource: it can be served
as is, e.g. as a lab's internal leaderboard), with links to a page per task (``tasks/``, written by
``medsreg.site``: every instance's prompt, references, each model's output and per-sample score). Every file is written beside and renamed into place.
matplotlib is imported only for the chart (``pip install 'medsreg[leaderboard]'``).

A row's partial category (``medsreg score`` marked it: a partial suite missed some of its tasks)
shows ``PARTIAL_MARK`` in its cell (and bar label), with a footnote naming the missing tasks; in
the web page a column's best is chosen among the complete cells when there are any, so a partial
average is never bolded over a complete one.

Where the results carry 95% bootstrap intervals (``medsreg score --ci``: ``ci95`` on the category rows), a cell whose
interval overlaps the interval of its column's best (in its section) is marked ``NOT_SEPARABLE``: that model cannot be
told apart from the best at 95% on these instances. The best itself stays bold (web page) and unmarked; a footnote
explains the mark. Cells without an interval (results scored without ``--ci``) are never marked.

Where the results carry an instruction spread (``medsreg eval --instructions K``, then ``score``: ``instructions`` on
the category rows), a cell shows the spread beside the score, ``62.10 ±3.20``: the category's mean standard deviation
of its tasks' scores over their K + 1 instructions; the web page's cell tip gives the worst-instruction and
best-instruction scores, and a footnote says what ``±`` is.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from medsreg.errors import MedsregError
from medsreg.files import create_beside, write_text_atomically
from medsreg.score import PARTIAL_MARK, RESULTS_FORMAT

NOT_SEPARABLE = "≈"
"""Follows a cell whose 95% interval overlaps its column's best's: not separable from the best."""
UNKNOWN_SUITE = "suite not recorded"
"""The section of results files that name no suite (written by hand, or before the suite was recorded)."""


@dataclass
class Entry:
    """One results file: a model's run on a suite, its category scores."""

    model: str
    source: Path
    scores: dict[tuple[str, str], float]
    """(category, metric) -> score."""
    compat: str
    partial: dict[str, str] = field(default_factory=dict)
    """Category -> what it lacks ('2 of 5 tasks; missing a, b'), for this model's partial categories."""
    suite: str = UNKNOWN_SUITE
    run: str = ""
    """The run's name (``run.name`` of the results: the eval run folder), '' where the results do not say."""
    config_sha256: str = ""
    date: str = ""
    label: str = ""
    """The row's label: the model, with what tells its run apart where the section holds the model twice."""
    ci: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    """(category, metric) -> its 95% bootstrap interval, where the results carry one (``score --ci``)."""
    close: set[tuple[str, str]] = field(default_factory=set)
    """The columns where this row is not separable from the best (intervals overlap); the best's own never."""
    spread: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    """(category, metric) -> its spread over instructions ({"mean", "std", "min", "max"}), where the results carry it."""

    def __post_init__(self) -> None:
        self.label = self.label or self.model

    def marked(self, key: tuple[str, str]) -> bool:
        return key[0] in self.partial and key in self.scores

    def describe(self) -> str:
        """'run eval-a, config 1a2b3c4d5e6f, 2025-01-02 (from results/a.json)': where the row comes from."""
        found = [f"run {self.run}" if self.run else "", f"config {self.config_sha256[:12]}" if self.config_sha256 else "",
                 self.date]
        return ", ".join(filter(None, found)) + f" (from {self.source})"


@dataclass
class Section:
    """The rows of one suite scored one way: a table of their own, compared with no other."""

    suite: str
    compat: str
    entries: list[Entry]
    name: str = ""
    """What qualifies the section's CSV columns where the board has several ('' for a board of one section)."""

    @property
    def title(self) -> str:
        return f"{self.suite} (metrics: {self.compat})"


def read_results(paths: list[Path]) -> list[Entry]:
    entries: list[Entry] = []
    given: dict[Path, Path] = {}
    for path in paths:
        if path.resolve() in given:
            raise MedsregError(f"{path} is given twice (as {given[path.resolve()]} first); give each results file once")
        given[path.resolve()] = path
        entries.append(_read_entry(path))
    for section in sections(entries):
        _label(section.entries)
        _mark_not_separable(section.entries)
    return entries


def _mark_not_separable(entries: list[Entry]) -> None:
    """Fill each row's ``close``: the columns where its interval overlaps the interval of the column's best."""
    best = best_values(entries)
    for key, value in best.items():
        leader = next((entry for entry in entries if entry.scores.get(key) == value and key in entry.ci), None)
        if value is None or leader is None:
            continue
        low, high = leader.ci[key]
        for entry in entries:
            if entry is leader or key not in entry.ci or entry.scores.get(key) == value:
                continue
            other_low, other_high = entry.ci[key]
            if other_low <= high and low <= other_high:
                entry.close.add(key)


def _read_entry(path: Path) -> Entry:
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
    ci = {(row["category"], metric): (float(pair[0]), float(pair[1])) for row in document.get("rows", [])
          if row.get("kind") == "category" for metric, pair in (row.get("ci95") or {}).items()}
    spread = {(row["category"], metric): {key: float(found[key]) for key in ("mean", "std", "min", "max")}
              for row in document.get("rows", []) if row.get("kind") == "category"
              for metric, found in (row.get("instructions") or {}).items()}
    run = document.get("run") if isinstance(document.get("run"), dict) else {}  # results written before runs were recorded have none
    return Entry(model=str(document.get("model") or path.stem), source=path, scores=scores,
                 compat=str(document.get("compat", "fixed")), partial=partial,
                 suite=str(document.get("suite") or UNKNOWN_SUITE), run=str(run.get("name") or ""),
                 config_sha256=str(run.get("config_sha256") or ""), date=str(run.get("date") or ""), ci=ci,
                 spread=spread)


_TELLERS: list[Callable[[Entry], str]] = [lambda entry: entry.run, lambda entry: entry.config_sha256[:12],
                                          lambda entry: entry.date, lambda entry: entry.source.stem,
                                          lambda entry: str(entry.source)]
"""What may tell two rows of one model apart, in order of preference: the first that differs for every such row."""


def _label(entries: list[Entry]) -> None:
    """Label a section's rows by model, adding the run only to the models it holds more than once."""
    by_model: dict[str, list[Entry]] = {}
    for entry in entries:
        by_model.setdefault(entry.model, []).append(entry)
    for same in by_model.values():
        if len(same) < 2:
            continue
        # the same file is refused twice, so the paths at least differ
        tell = next(tell for tell in _TELLERS if all(map(tell, same)) and len({tell(entry) for entry in same}) == len(same))
        for entry in same:
            entry.label = f"{entry.model} ({tell(entry)})"


def sections(entries: list[Entry]) -> list[Section]:
    """The rows grouped by suite and metric mode, in the order first given; each section named after what varies."""
    grouped: dict[tuple[str, str], list[Entry]] = {}
    for entry in entries:
        grouped.setdefault((entry.suite, entry.compat), []).append(entry)
    several_suites = len({suite for suite, _ in grouped}) > 1
    several_modes = len({compat for _, compat in grouped}) > 1
    return [Section(suite, compat, found, ", ".join(filter(None, [suite if several_suites else "",
                                                                  f"{compat} metrics" if several_modes else ""])))
            for (suite, compat), found in grouped.items()]


def _lacks(row: dict) -> str:
    """What a partial category row of a results file lacks: '2 of 5 tasks; missing a, b'."""
    missing = [str(name) for name in row.get("missing") or []]
    count = f"{row['tasks']} of {row['of']} tasks" if row.get("tasks") is not None and row.get("of") else "some tasks"
    return f"{count}; missing {', '.join(missing)}" if missing else count


def columns(entries: list[Entry]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(key for entry in entries for key in entry.scores))


def _cell(value: float | None, partial: bool = False, close: bool = False) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.2f}{PARTIAL_MARK if partial else ''}{NOT_SEPARABLE if close else ''}"


def _entry_cell(entry: Entry, key: tuple[str, str]) -> str:
    cell = _cell(entry.scores.get(key), entry.marked(key), key in entry.close)
    return f"{cell} ±{entry.spread[key]['std']:.2f}" if cell and key in entry.spread else cell


def footnotes(entries: list[Entry]) -> list[str]:
    """One line per row and partial category: what the marked cells lack."""
    found = [f"{PARTIAL_MARK} {entry.label}, {category}: partial, {lacks} (the average is over the tasks it has)"
             for entry in entries for category, lacks in entry.partial.items()]
    if any(entry.close for entry in entries):
        found.append(f"{NOT_SEPARABLE} not separable from the column's best: their 95% bootstrap intervals overlap")
    if any(entry.spread for entry in entries):
        found.append("± instruction sensitivity: the standard deviation of the category's task scores over the "
                     "instructions each instance was evaluated under (medsreg eval --instructions), averaged over its tasks")
    return found


def best_values(entries: list[Entry]) -> dict[tuple[str, str], float | None]:
    """Each column's best among ``entries`` (one section's: a best is never chosen across suites or modes): among the
    complete cells when the column has any (a partial average is not comparable with a complete one), else among the
    partial ones (still marked)."""
    best: dict[tuple[str, str], float | None] = {}
    for key in columns(entries):
        complete = [entry.scores[key] for entry in entries if key in entry.scores and not entry.marked(key)]
        every = [entry.scores[key] for entry in entries if key in entry.scores]
        best[key] = max(complete or every, default=None)
    return best


def render_markdown(entries: list[Entry]) -> str:
    """A heading and a table per section, its rows' runs and its footnotes below it."""
    parts = []
    for section in sections(entries):
        keys = columns(section.entries)
        lines = [f"## {_md(section.title)}", "",
                 "| model | " + " | ".join(_md(f"{category} ({metric})") for category, metric in keys) + " |",
                 "|---|" + "---:|" * len(keys)]
        lines += [f"| {_md(entry.label)} | " + " | ".join(_entry_cell(entry, key) for key in keys) + " |"
                  for entry in section.entries]
        lines += [""] + [f"- {_md(entry.label)}: {_md(entry.describe())}" for entry in section.entries]
        notes = footnotes(section.entries)
        lines += [""] + [f"{_md(line)}  " for line in notes] if notes else []
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def _md(text: str) -> str:
    """``text`` as one Markdown table cell or line: a '|' would end the cell."""
    return text.replace("|", "/")


def render_csv(entries: list[Entry]) -> str:
    """One table: each row's suite and mode, its section's columns (named after the section where there are several:
    a column never holds two suites' scores), what its partial cells lack, and its run."""
    groups = [(section, columns(section.entries)) for section in sections(entries)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # a leaderboard table for people: a partial cell carries the mark, and the partial column says what it lacks
    marked = any(entry.partial for entry in entries)
    writer.writerow(["model", "suite", "compat",
                     *[f"{section.name}: {category} ({metric})" if section.name else f"{category} ({metric})"
                       for section, keys in groups for category, metric in keys],
                     *(["partial"] if marked else []), "run", "config", "date"])
    for section, _ in groups:
        for entry in section.entries:
            lacks = "; ".join(f"{PARTIAL_MARK} {category}: {what}" for category, what in entry.partial.items())
            cells = [_entry_cell(entry, key) if other is section else "" for other, keys in groups for key in keys]
            writer.writerow([entry.label, entry.suite, entry.compat, *cells, *([lacks] if marked else []), entry.run,
                             entry.config_sha256[:12], entry.date])
    return buffer.getvalue()


def render_html(entries: list[Entry], title: str, chart: str, tasks: str = "") -> str:
    every = sections(entries)
    tables = "\n".join(_html_section(section) for section in every)
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
ul.runs, ul.footnotes {{ font-size: .9rem; color: #555; }}
img {{ max-width: 100%; margin-top: 1.5rem; }}
</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>Category scores (x100) from <code>medsreg score</code>, a table per suite and metric mode (scores of different suites \
or modes are not compared); the best of each column is in bold{html.escape(_partial_sentence(entries))}.</p>
{tables}
<img src="{html.escape(chart)}" alt="Bar chart of each category's score per model, a panel per suite and category">
{tasks}</body>
</html>
"""


def _html_section(section: Section) -> str:
    keys = columns(section.entries)
    best = best_values(section.entries)
    head = "".join(f"<th>{html.escape(category)}<br><small>{html.escape(metric)}</small></th>" for category, metric in keys)
    body = []
    for entry in section.entries:
        cells = []
        for key in keys:
            value = entry.scores.get(key)
            classes = ["best"] if value is not None and value == best[key] and len(section.entries) > 1 else []
            if entry.marked(key):
                classes.append("partial")
            mark = f' class="{" ".join(classes)}"' if classes else ""
            tips = [f"partial: {entry.partial[key[0]]}" if entry.marked(key) else "",
                    "over instructions: worst {min:.2f}, mean {mean:.2f}, best {max:.2f}".format(**entry.spread[key])
                    if key in entry.spread else ""]
            tip = f' title="{html.escape("; ".join(filter(None, tips)))}"' if any(tips) else ""
            cells.append(f"<td{mark}{tip}>{html.escape(_entry_cell(entry, key))}</td>")
        body.append(f"<tr><th scope=\"row\">{html.escape(entry.label)}</th>{''.join(cells)}</tr>")
    runs = "".join(f"<li>{html.escape(entry.label)}: {html.escape(entry.describe())}</li>" for entry in section.entries)
    notes = "".join(f"<li>{html.escape(line)}</li>" for line in footnotes(section.entries))
    notes = f'<ul class="footnotes">\n{notes}\n</ul>\n' if notes else ""
    return f"""<section>
<h2>{html.escape(section.title)}</h2>
<table>
<thead><tr><th scope="col">model</th>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
<ul class="runs">{runs}</ul>
{notes}</section>"""


def _partial_sentence(entries: list[Entry]) -> str:
    if not any(entry.partial for entry in entries):
        return ""
    return (f"; {PARTIAL_MARK} marks a partial category (some of its tasks were not evaluated: see below), whose "
            "average is not compared with complete ones")


def chart_labels(entries: list[Entry], key: tuple[str, str]) -> tuple[str, list[str]]:
    """(the panel's title, each bar's label) for one section's ``entries``: the partial cells and the panel holding one
    carry the mark."""
    category, metric = key
    partial = [entry.label for entry in entries if entry.marked(key)]
    title = f"{category}\n{metric}" + (f" ({PARTIAL_MARK} partial: {', '.join(partial)})" if partial else "")
    return title, [_entry_cell(entry, key) for entry in entries]


def render_chart(entries: list[Entry], path: Path, title: str) -> None:
    """One bar chart per section and (category, metric), a bar per row of the section, saved as a PNG (written beside,
    renamed into place); where the board has several sections each panel's title starts with its section."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise MedsregError(f"the leaderboard chart needs matplotlib ({error}); install it with "
                           "pip install 'medsreg[leaderboard]'") from None
    panels = [(section, key) for section in sections(entries) for key in columns(section.entries)]
    per_row = min(4, max(len(panels), 1))
    rows = max(1, math.ceil(len(panels) / per_row))
    figure, axes = plt.subplots(rows, per_row, figsize=(4 * per_row, 3.2 * rows), squeeze=False)
    colors = plt.get_cmap("tab10").colors
    for index, axis in enumerate(axes.flat):
        if index >= len(panels):
            axis.set_visible(False)
            continue
        section, key = panels[index]
        shown = section.entries
        values = [entry.scores.get(key, float("nan")) for entry in shown]
        bars = axis.bar(range(len(shown)), [0 if math.isnan(v) else v for v in values],
                        color=[colors[i % len(colors)] for i in range(len(shown))])
        panel, labels = chart_labels(shown, key)
        for bar, label, entry in zip(bars, labels, shown):
            if entry.marked(key):
                bar.set_hatch("//")  # a partial average: hatched, besides the mark on its label
                bar.set_alpha(0.6)
            axis.annotate(label, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center",
                          va="bottom", fontsize=8)
        axis.set_title(f"{section.name}\n{panel}" if section.name else panel, fontsize=9)
        axis.set_xticks(range(len(shown)), [entry.label for entry in shown], rotation=30, ha="right", fontsize=8)
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
    from medsreg.site import write_site

    pages, tasks = write_site(entries, sections(entries), output, title)
    files = {"leaderboard.md": f"# {title}\n\n" + render_markdown(entries), "leaderboard.csv": render_csv(entries),
             "index.html": render_html(entries, title, chart.name, tasks)}
    for name, text in files.items():
        write_text_atomically(output / name, text)
    return [output / name for name in files] + [chart] + pages
