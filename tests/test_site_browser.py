"""The results site in a real browser (Debian's chromium through playwright, from file://), built from two models'
results on the bundled samples suite: the overview links to a task page, "wrong only" shows exactly the rows a model
got wrong (per the per-sample scores), the overview links to a category page whose SVG chart renders a bar per model and
links back to the task page, and no console error.

Not skipped when the browser is missing: the site is a core path. Install with ``apt-get install -y chromium`` and
``pip install 'medsreg[test]'`` (playwright; no ``playwright install``: the system chromium is used)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_eval_openai import server  # noqa: F401  (the stub endpoint)
from test_site import Answers, build_site, samples

CHROMIUM = Path("/usr/bin/chromium")


def chromium() -> str:
    found = str(CHROMIUM) if CHROMIUM.is_file() else shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("the browser test needs Debian's chromium at /usr/bin/chromium: apt-get install -y chromium",
                    pytrace=False)
    return found


SAMPLES_TASK = Path(__file__).resolve().parents[1] / "plugins" / "samples" / "medsreg_samples" / "tasks" / \
    "mcqa_drug_choice_test.json"


class SampleAnswers(Answers):
    """The samples suite's MCQA: model 'good' gives the reference's letter but where the prompt's length is a multiple
    of 5, 'bad' only where it is even, another letter elsewhere (each question's stem finds its reference in the task
    file)."""

    KEYS = {instance["input"].splitlines()[0]: instance["output"][0][0]
            for instance in json.loads(SAMPLES_TASK.read_text(encoding="utf-8"))["Instances"]}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        user = body["messages"][-1]["content"]
        key = next((letter for stem, letter in self.KEYS.items() if stem in user), None)
        right = len(user) % 5 != 0 if body["model"] == "good" else len(user) % 2 == 0
        letter = key if right else next(other for other in "ABCD" if other != key)
        content = f"{letter}." if key else "aspirin."
        self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}]})


def test_task_page_filters_the_wrong_rows_in_chromium(runner, no_sources, bundled_plugins_only, server, tmp_path,  # noqa: F811
                                                      monkeypatch):
    """The bundled samples suite, evaluated by two models (the stub endpoint answers some questions right)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs the playwright package: pip install 'medsreg[test]' (or pip install "
                    "playwright; the system chromium is used, no 'playwright install')", pytrace=False)
    executable = chromium()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("MEDSREG_OFFLINE", "1")
    found = build_site(runner, None, server, tmp_path, suite="samples/samples", answers=SampleAnswers)
    task = "samples/mcqa_drug_choice_test"
    scores = {model: samples(found["results"][model], task) for model in ("good", "bad")}
    ids = list(scores["good"])
    wrong = [i for i in ids if any(scores[m][i]["mcqa_accuracy"] < 100 for m in scores)]
    disagree = [i for i in ids if scores["good"][i]["mcqa_accuracy"] != scores["bad"][i]["mcqa_accuracy"]]
    assert 0 < len(wrong) < len(ids) and disagree  # the filters have something to do
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: errors.append(f"network request: {request.url}")
                    if not request.url.startswith("file://") else None)
            page.goto((found["board"] / "index.html").as_uri())
            page.click(f"text={task}")
            page.wait_for_selector("#rows tbody tr")
            shown = lambda: page.eval_on_selector_all("#rows tbody tr", "rows => rows.map(r => r.dataset.id)")
            assert shown() == ids
            page.check("#wrong")
            assert shown() == wrong
            page.uncheck("#wrong")
            page.check("#disagree")
            assert shown() == disagree
            page.uncheck("#disagree")
            instances = json.loads(SAMPLES_TASK.read_text(encoding="utf-8"))["Instances"]
            page.fill("#search", instances[3]["input"].splitlines()[0])  # one question's stem: that row alone
            page.wait_for_function("document.querySelectorAll('#rows tbody tr').length === 1")
            assert shown() == [instances[3]["id"]]
            page.fill("#search", "")
            page.check("#wrong")
            page.wait_for_function(f"document.querySelectorAll('#rows tbody tr').length === {len(wrong)}")
            # each shown row holds both models' outputs and scores, as the predictions and results say
            cells = page.eval_on_selector_all("#rows tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
            outputs = {m: {r["instance_id"]: r["output"] for r in found["predictions"][m] if r["task"] == task}
                       for m in scores}
            for row in cells:
                instance = row[0]
                assert row[3] == outputs["good"][instance] and row[5] == outputs["bad"][instance]
                assert [float(row[4]), float(row[6])] == [scores[m][instance]["mcqa_accuracy"] for m in ("good", "bad")]
            page.screenshot(path=str(tmp_path / "task.png"), full_page=True)
            assert (tmp_path / "task.png").read_bytes().startswith(b"\x89PNG")
            # the task's category page, from the overview: its charts drawn (a bar per model and metric), its task linked
            category = next(row for row in found["results"]["good"]["rows"]
                            if row["kind"] == "task" and row["name"] == task)["category"]
            metrics = next(row for row in found["results"]["good"]["rows"]
                           if row["kind"] == "category" and row["name"] == category)["scores"]
            page.goto((found["board"] / "index.html").as_uri())
            page.click(f'nav.tasks ul.categories a:text-is("{category}")')
            page.wait_for_selector("svg rect.bar")
            assert page.locator("svg rect").count() == 2 * len(metrics)
            assert page.locator("svg rect.bar").first.bounding_box()["height"] > 0
            values = page.eval_on_selector_all("svg rect.bar", "bars => bars.map(b => [b.dataset.model, b.dataset.value])")
            assert [model for model, _ in values] == ["good", "bad"] * len(metrics)
            page.click(f"a.task:text-is('{task}')")
            page.wait_for_selector("#rows tbody tr")
        finally:
            browser.close()
    assert not errors, json.dumps(errors, indent=2)
