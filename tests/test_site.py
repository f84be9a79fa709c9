"""The results site (``medsreg.site``, written by ``medsreg leaderboard``): ``medsreg score --per-sample`` records each
instance's score, and the leaderboard writes a page per task (prompts, references, each model's output and score)
with its rows in a ``<script src>`` data file. Real runs: ``medsreg eval`` of two models against a stub OpenAI
endpoint whose answers are right for some questions and not others (and differ by model)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from medsreg.cli import cli
from test_eval_openai import Handler, plugins, server  # noqa: F401  (the demo/bench plugin folder, the stub endpoint)


class Answers(Handler):
    """Model 'good' answers right where the prompt's length is even, 'bad' where it is a multiple of 3."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        user = body["messages"][-1]["content"]
        right = len(user) % 2 == 0 if body["model"] == "good" else len(user) % 3 == 0
        mcqa = "Question" in user or "?" in user
        content = ("The right answer is A." if right else "The right answer is B.") if mcqa else \
            ("aspirin." if right else "ibuprofen.")
        self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}]})


def build_site(runner, plugins: Path | None, server, tmp_path: Path, suite: str = "demo/bench",  # noqa: F811
               answers: type = Answers) -> dict:
    """Two models' eval runs on ``suite`` (of the ``plugins`` folder, or installed) against the stub endpoint answering
    as ``answers`` does, scored with --per-sample, and their leaderboard: the paths and documents."""
    server.RequestHandlerClass = answers
    folder = ["--plugins-dir", str(plugins)] if plugins is not None else []
    found: dict = {"results": {}, "predictions": {}}
    for model in ("good", "bad"):
        run = tmp_path / f"run-{model}"
        result = runner.invoke(cli, ["eval", "--backend", "openai", "--model", model, "--api-base", server.url,
                                     "--suite", suite, *folder, "--output", str(run),
                                     "--request-timeout", "5", "--retry-wait", "0.01", "--quiet"])
        assert result.exit_code == 0, result.output
        results = tmp_path / f"{model}.results.json"
        result = runner.invoke(cli, ["score", str(run / "predictions.jsonl"), *folder,
                                     "--per-sample", "--output", str(results), "--format", "json"])
        assert result.exit_code == 0, result.output
        found["results"][model] = json.loads(results.read_text(encoding="utf-8"))
        found["predictions"][model] = [json.loads(line) for line in
                                       (run / "predictions.jsonl").read_text(encoding="utf-8").splitlines()]
        found.setdefault("paths", []).append(results)
    board = tmp_path / "board"
    result = runner.invoke(cli, ["leaderboard", *map(str, found["paths"]), "--output", str(board)])
    assert result.exit_code == 0, result.output
    found["board"] = board
    return found


def samples(document: dict, task: str) -> dict[str, dict[str, float]]:
    row = next(row for row in document["rows"] if row["kind"] == "task" and row["name"] == task)
    return {sample["id"]: sample["scores"] for sample in row["samples"]}


def test_per_sample_scores_are_recorded_and_average_to_the_accuracy(runner, plugins, server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    found = build_site(runner, plugins, server, tmp_path)
    for model, document in found["results"].items():
        assert document["per_sample"] is True
        assert Path(document["predictions"]) == (tmp_path / f"run-{model}" / "predictions.jsonl").resolve()
        tasks = [row for row in document["rows"] if row["kind"] == "task"]
        assert {row["name"] for row in tasks} == {"demo/mcqa_test", "demo/ner_test"}
        for row in tasks:
            ids = [r["instance_id"] for r in found["predictions"][model] if r["task"] == row["name"]]
            assert [sample["id"] for sample in row["samples"]] == ids
        mcqa = next(row for row in tasks if row["name"] == "demo/mcqa_test")
        values = [sample["scores"]["mcqa_accuracy"] for sample in mcqa["samples"]]
        assert set(values) <= {0.0, 100.0}
        assert sum(values) / len(values) == pytest.approx(mcqa["scores"]["mcqa_accuracy"], abs=1e-3)
    good, bad = (samples(found["results"][m], "demo/mcqa_test") for m in ("good", "bad"))
    assert any(v["mcqa_accuracy"] == 100 for v in good.values()) and any(v["mcqa_accuracy"] == 0 for v in good.values())
    assert good != bad  # the models disagree somewhere
    # without the flag: no samples
    result = runner.invoke(cli, ["score", str(tmp_path / "run-good" / "predictions.jsonl"), "--plugins-dir", str(plugins),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    assert not any("samples" in row for row in json.loads(result.stdout)["rows"])


def test_the_leaderboard_writes_a_page_and_a_data_file_per_task(runner, plugins, server, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    found = build_site(runner, plugins, server, tmp_path)
    board = found["board"]
    index = (board / "index.html").read_text(encoding="utf-8")
    for task in ("demo_mcqa_test", "demo_ner_test"):
        page = board / "tasks" / f"demo_bench--{task}.html"
        assert f'href="tasks/{page.name}"' in index
        text = page.read_text(encoding="utf-8")
        assert f'<script src="data/{page.stem}.js"></script>' in text
        assert "http://" not in text and "https://" not in text  # nothing from the network
        data = (board / "tasks" / "data" / f"{page.stem}.js").read_text(encoding="utf-8")
        assert data.startswith("window.MEDSREG_TASK = ") and data.rstrip().endswith(";")
        document = json.loads(data.strip()[len("window.MEDSREG_TASK = "):-1])
        assert document["models"] == ["good", "bad"]
        name = "demo/" + task.removeprefix("demo_")
        records = {m: {r["instance_id"]: r for r in found["predictions"][m] if r["task"] == name} for m in ("good", "bad")}
        assert [row[0] for row in document["rows"]] == list(records["good"])
        for instance, prompt, references, outputs, scores in document["rows"]:
            # the prompt: from the run's submission CSVs (the predictions lines hold its hash)
            assert hashlib.sha256(prompt.encode()).hexdigest() == records["good"][instance]["prompt_sha256"]
            assert references == records["good"][instance]["references"]
            assert outputs == [records[m][instance]["output"] for m in ("good", "bad")]
            metric = document["metric"]
            assert scores == [samples(found["results"][m], name)[instance][metric] for m in ("good", "bad")]


def test_the_leaderboard_writes_a_page_per_category(runner, plugins, server, tmp_path, monkeypatch):  # noqa: F811
    """Real runs: a category page per category of the section, its chart a bar per model at its score, its tasks
    linked to their pages, each linked from the overview."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    found = build_site(runner, plugins, server, tmp_path)
    board = found["board"]
    index = (board / "index.html").read_text(encoding="utf-8")
    categories = {row["name"]: row for row in found["results"]["good"]["rows"] if row["kind"] == "category"}
    assert categories
    for category, row in categories.items():
        page = board / "categories" / f"demo_bench--{category.replace(' ', '_')}.html"
        assert f'href="categories/{page.name}"' in index
        text = page.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "<script" not in text
        assert 'href="../index.html"' in text
        for metric in row["scores"]:
            bars = Bars.of(text, metric)
            assert [bar["data-model"] for bar in bars] == ["good", "bad"]
            expected = [next(r for r in found["results"][m]["rows"] if r["kind"] == "category" and r["name"] == category)
                        ["scores"][metric] for m in ("good", "bad")]
            assert [float(bar["data-value"]) for bar in bars] == pytest.approx(expected)
            assert all(f"{value:.2f}" in text for value in expected)  # the value labels
        assert "partial" not in Bars.classes(text)  # complete: nothing marked
        tasks = [r["name"] for r in found["results"]["good"]["rows"] if r["kind"] == "task" and r["category"] == category]
        links = Bars.links(text)
        assert tasks and all(any(task in label for label in links.values()) for task in tasks)
        for href in links:
            assert (page.parent / href).resolve().is_file(), href


class Bars:
    """Parse a category page: the bars of the chart of one metric, the classes of every bar, the task links."""

    @staticmethod
    def _parse(text: str):
        from html.parser import HTMLParser

        found = {"charts": [], "links": {}, "classes": []}

        class Parser(HTMLParser):
            caption = None
            link = None

            def handle_starttag(self, tag, attrs):
                attrs = dict(attrs)
                if tag == "figcaption":
                    self.caption = ""
                elif tag == "svg":
                    found["charts"].append((self.caption_text, []))
                elif tag == "rect":
                    found["charts"][-1][1].append(attrs)
                    found["classes"].append(attrs.get("class", ""))
                elif tag == "a" and attrs.get("href", "").startswith("../tasks/"):
                    self.link = attrs["href"]
                    found["links"][self.link] = ""

            def handle_data(self, data):
                if self.caption is not None:
                    self.caption += data
                if self.link is not None:
                    found["links"][self.link] += data

            def handle_endtag(self, tag):
                if tag == "figcaption":
                    self.caption_text, self.caption = self.caption, None
                elif tag == "a":
                    self.link = None

        Parser().feed(text)
        return found

    @classmethod
    def of(cls, text: str, metric: str) -> list[dict]:
        charts = [bars for caption, bars in cls._parse(text)["charts"] if caption.endswith(f"({metric})")]
        assert len(charts) == 1, charts
        return charts[0]

    @classmethod
    def classes(cls, text: str) -> str:
        return " ".join(cls._parse(text)["classes"])

    @classmethod
    def links(cls, text: str) -> dict[str, str]:
        return cls._parse(text)["links"]


def results_document(model: str, categories: dict, tasks: list, suite: str = "lab/suite") -> dict:
    """A results file written by hand: ``categories`` {name: (scores, partial lacks or None)}, ``tasks`` [(category,
    task, scores)]."""
    rows = []
    for name, (scores, missing) in categories.items():
        rows.append({"kind": "category", "category": name, "name": name, "count": 1, "scores": scores,
                     **({"partial": True, "missing": missing, "tasks": 1, "of": 1 + len(missing)} if missing else
                        {"partial": False})})
    rows += [{"kind": "task", "category": category, "name": task, "count": 3, "scores": scores}
             for category, task, scores in tasks]
    return {"format": "medsreg-results/1", "model": model, "suite": suite, "compat": "fixed", "run": {},
            "complete": False, "rows": rows, "missing": [], "notes": []}


def test_category_pages_mark_partial_bars_and_escape_the_results(runner, tmp_path):
    hostile = "Cat <b>&\"x\""
    documents = {
        "alpha": results_document("alpha", {"Reading": ({"acc": 80.0}, None), hostile: ({"bleu1": 10.0}, None)},
                                  [("Reading", "lab/read_a", {"acc": 70.0}), ("Reading", "lab/read_b", {"acc": 90.0}),
                                   (hostile, "lab/<script>alert(1)</script>", {"bleu1": 10.0})]),
        "beta<i>": results_document("beta<i>", {"Reading": ({"acc": 55.5}, ["lab/read_b"]),
                                                hostile: ({"bleu1": 20.0}, None)},
                                    [("Reading", "lab/read_a", {"acc": 55.5}),
                                     (hostile, "lab/<script>alert(1)</script>", {"bleu1": 20.0})]),
    }
    paths = []
    for document in documents.values():
        path = tmp_path / f"{len(paths)}.results.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    board = tmp_path / "board"
    result = runner.invoke(cli, ["leaderboard", *map(str, paths), "--output", str(board)])
    assert result.exit_code == 0, result.output
    index = (board / "index.html").read_text(encoding="utf-8")
    pages = sorted(path.name for path in (board / "categories").glob("*.html"))
    assert pages == sorted(["lab_suite--Reading.html", "lab_suite--Cat_b_x.html"])
    assert all(f'href="categories/{name}"' in index for name in pages)
    assert index.count("<section>") == 1  # the links are no section of their own
    from medsreg.score import PARTIAL_MARK

    reading = (board / "categories" / "lab_suite--Reading.html").read_text(encoding="utf-8")
    bars = Bars.of(reading, "acc")
    assert [(bar["data-model"], float(bar["data-value"])) for bar in bars] == [("alpha", 80.0), ("beta<i>", 55.5)]
    assert [bar["class"] for bar in bars] == ["bar", "bar partial"]
    assert f"55.50{PARTIAL_MARK}" in reading and f"80.00{PARTIAL_MARK}" not in reading
    assert 'fill="url(#hatch-0)"' in reading and "missing lab/read_b" in reading
    assert "beta&lt;i&gt;" in reading and "beta<i>" not in reading
    links = Bars.links(reading)
    assert sorted(links.values()) == ["lab/read_a", "lab/read_b"]
    assert all((board / "categories" / href).resolve().is_file() for href in links)
    other = (board / "categories" / "lab_suite--Cat_b_x.html").read_text(encoding="utf-8")
    assert "<b>" not in other and "<script>" not in other and "Cat &lt;b&gt;&amp;&quot;x&quot;" in other
    assert [float(bar["data-value"]) for bar in Bars.of(other, "bleu1")] == [10.0, 20.0]
    assert "partial" not in Bars.classes(other)
