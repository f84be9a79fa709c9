"""The results site at scale: 30,000 predictions x 5 models on one task, through ``medsreg leaderboard``.

Reports the task page's weight (bytes of its HTML and its data file) and its time to first render in Debian's chromium
(playwright; from navigation to the first page of rows drawn, and to "wrong only" applied), and saves a screenshot
(``--screenshot docs/site.png``). Synthetic data: no model, no eval; the results files are written as
``medsreg score --per-sample --output`` writes them.

    .venv/bin/python bench/site.py [--rows 30000] [--models 5] [--screenshot docs/site.png]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from medsreg.leaderboard import write_leaderboard
from medsreg.score import RESULTS_FORMAT

TASK, SUITE, CATEGORY = "demo/mcqa_large", "demo/bench", "Multilingual MCQA"


def synthesize(root: Path, rows: int, models: int) -> list[Path]:
    rng = random.Random(14)
    prompts = [f"Question {i}: a patient of {rng.randint(18, 90)} has fever and cough for {rng.randint(1, 30)} days"
               + " and chest pain" * rng.randint(0, 12) + "?\nA. pneumonia\nB. cardiac\nC. asthma\nD. reflux"
               for i in range(rows)]
    answers = [rng.choice("ABCD") for _ in range(rows)]
    paths = []
    for m in range(models):
        skill = 0.5 + 0.1 * m
        outputs = [f"The right answer is {a if rng.random() < skill else rng.choice('ABCD')}." for a in answers]
        predictions = root / f"model-{m}" / "predictions.jsonl"
        predictions.parent.mkdir(parents=True)
        with predictions.open("w", encoding="utf-8") as handle:
            for i, (prompt, answer, output) in enumerate(zip(prompts, answers, outputs)):
                handle.write(json.dumps({"suite": SUITE, "task": TASK, "category": CATEGORY, "instance_id": f"i{i}",
                                         "prompt": prompt, "references": [answer], "output": output,
                                         "model": f"model-{m}", "metrics": ["mcqa_accuracy"]}) + "\n")
        samples = [{"id": f"i{i}", "scores": {"mcqa_accuracy": 100.0 if o == f"The right answer is {a}." else 0.0}}
                   for i, (a, o) in enumerate(zip(answers, outputs))]
        accuracy = sum(s["scores"]["mcqa_accuracy"] for s in samples) / rows
        document = {"format": RESULTS_FORMAT, "model": f"model-{m}", "suite": SUITE, "compat": "fixed",
                    "run": {"name": f"model-{m}", "config_sha256": None, "date": "2026-01-01", "evaluated": None,
                            "scored": "2026-01-01"}, "complete": True, "per_sample": True,
                    "predictions": str(predictions.resolve()),
                    "rows": [{"kind": "category", "category": CATEGORY, "name": CATEGORY, "count": rows,
                              "scores": {"mcqa_accuracy": accuracy}, "partial": False},
                             {"kind": "task", "category": CATEGORY, "name": TASK, "count": rows,
                              "scores": {"mcqa_accuracy": accuracy}, "samples": samples}],
                    "missing": [], "notes": []}
        path = root / f"model-{m}.results.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--screenshot", type=Path, help="save the task page (wrong only) as this PNG")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        results = synthesize(root, args.rows, args.models)
        start = time.perf_counter()
        write_leaderboard(results, root / "board", "medsreg results site benchmark")
        built = time.perf_counter() - start
        page = next((root / "board" / "tasks").glob("*.html"))
        data = root / "board" / "tasks" / "data" / f"{page.stem}.js"
        weight = page.stat().st_size + data.stat().st_size
        print(f"{args.rows:,} predictions x {args.models} models: leaderboard + site written in {built:.1f} s")
        print(f"task page: {page.stat().st_size:,} bytes HTML + {data.stat().st_size:,} bytes data = {weight:,} bytes")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            view = browser.new_page(viewport={"width": 1400, "height": 900})
            start = time.perf_counter()
            view.goto(page.as_uri())
            view.wait_for_selector("#rows tbody tr")
            first = time.perf_counter() - start
            start = time.perf_counter()
            view.check("#wrong")
            view.wait_for_function("document.getElementById('count').textContent.indexOf(' of ') > 0")
            wrong = time.perf_counter() - start
            start = time.perf_counter()
            view.fill("#search", "chest pain and chest pain and chest pain and chest pain and chest pain")
            view.wait_for_timeout(200)  # the search box waits 150 ms for typing to stop
            view.wait_for_function("true")
            searched = time.perf_counter() - start - 0.2
            view.fill("#search", "")
            view.wait_for_timeout(200)
            print(f"time to first render: {first * 1000:.0f} ms (navigation to the first {50} rows drawn)")
            print(f"'wrong only': {wrong * 1000:.0f} ms; search (after its 150 ms debounce): {max(searched, 0) * 1000:.0f} ms;"
                  f" {view.text_content('#count')}")
            if args.screenshot:
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                view.screenshot(path=str(args.screenshot))
                print(f"screenshot: {args.screenshot}")
            browser.close()


if __name__ == "__main__":
    main()
