"""Turning a validation report into text, JSON, or GitHub Actions annotations."""

from __future__ import annotations

import json

from medsreg.validate.runner import Report


def summary(report: Report, strict: bool) -> str:
    errors, warnings, notes = (report.count(s) for s in ("error", "warning", "note"))
    verdict = "FAILED" if report.failed(strict) else "OK"
    return (
        f"{verdict}: {report.tasks} tasks from {report.plugins} plugins checked; "
        f"{errors} errors, {warnings} warnings, {notes} notes" + (" (--strict: warnings fail)" if strict and warnings else "")
    )


def as_text(report: Report, strict: bool) -> str:
    return "\n".join([*(str(problem) for problem in report.problems), summary(report, strict)])


def as_json(report: Report, strict: bool) -> str:
    return json.dumps(
        {
            "ok": not report.failed(strict),
            "tasks": report.tasks,
            "plugins": report.plugins,
            "counts": {s: report.count(s) for s in ("error", "warning", "note")},
            "problems": [
                {"check": p.check, "severity": p.severity, "file": p.file, "path": p.path, "message": p.message}
                for p in report.problems
            ],
        },
        indent=2,
        ensure_ascii=False,
    )


def _escape(text: str) -> str:
    # GitHub workflow commands: data must escape %, CR and LF; properties also ',' and ':'
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(",", "%2C").replace(":", "%3A")


def as_github(report: Report, strict: bool) -> str:
    level = {"error": "error", "warning": "warning", "note": "notice"}
    lines = []
    for p in report.problems:
        severity = "error" if strict and p.severity == "warning" else level[p.severity]
        title = _escape_property(f"medsreg {p.check}" + (f" at {p.path}" if p.path else ""))
        lines.append(f"::{severity} file={_escape_property(p.file)},title={title}::{_escape(p.message)}")
    lines.append(summary(report, strict))
    return "\n".join(lines)


FORMATS = {"text": as_text, "json": as_json, "github": as_github}
