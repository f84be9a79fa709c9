"""``medsreg eval --backend openai`` against a small OpenAI-compatible server on 127.0.0.1 started here: normal
answers, an HTTP 500 and a request too slow for --request-timeout (both retried), retries exhausted (a sentence, the
predictions made so far kept, a rerun completing them without duplicates), and a refused key (no retry)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_eval_rows import MCQA_ROWS, NER_ROWS, demo_plugins, one_error, predictions_of

from medsreg.cli import cli

ROWS = MCQA_ROWS + NER_ROWS


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self.fail_once: dict[str, str] = {}
        """marker in the user message -> 'error' (HTTP 500) or 'slow' (answers after SLOW seconds), the first time only."""
        self.fail_always: set[str] = set()
        self.status_always: int | None = None
        self.slow = 1.5

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request, client_address) -> None:  # a client that timed out and left: not a test failure
        pass


class Handler(BaseHTTPRequestHandler):
    server: Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        server = self.server
        user = body["messages"][-1]["content"]
        with server.lock:
            server.requests.append(body)
            server.headers.append(dict(self.headers))
            behaviour = next((what for marker, what in server.fail_once.items() if marker in user), None)
            if behaviour is not None:
                server.fail_once = {m: w for m, w in server.fail_once.items() if m not in user}
            if any(marker in user for marker in server.fail_always):
                behaviour = "error"
        if server.status_always is not None:
            return self._send(server.status_always, {"error": {"message": "Incorrect API key provided"}})
        if self.path != "/v1/chat/completions":
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        if behaviour == "error":
            return self._send(500, {"error": {"message": "the model is overloaded"}})
        if behaviour == "slow":
            time.sleep(server.slow)
        self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": f" answer to {user[-40:]!r} "}}]})

    def _send(self, status: int, document: dict) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    server = Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def plugins(tmp_path, isolated_plugins, no_sources) -> Path:
    return demo_plugins(tmp_path / "plugins")


def evaluate(runner, plugins: Path, server: Server, output: Path, *args: str):
    return runner.invoke(cli, ["eval", "--backend", "openai", "--model", "gpt-test", "--api-base", server.url,
                               "--suite", "demo/bench", "--plugins-dir", str(plugins), "--output", str(output),
                               "--request-timeout", "0.5", "--retry-wait", "0.01", *args])


def test_answers_a_500_and_a_timeout_are_retried(runner, plugins, server, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    server.fail_once = {"Question 3:": "error", "Sentence 5 ": "slow"}
    output = tmp_path / "api"
    result = evaluate(runner, plugins, server, output, "--batch-size", "4")
    assert result.exit_code == 0, result.output
    records = predictions_of(output)
    assert len(records) == ROWS and len({(r["task"], r["instance_id"]) for r in records}) == ROWS
    assert all(r["output"].startswith("answer to ") and r["model"] == "gpt-test" for r in records)  # stripped
    assert len(server.requests) == ROWS + 2  # two retries
    assert "note: 2 API requests were retried" in result.stderr
    first = server.requests[0]
    assert first["model"] == "gpt-test" and first["max_tokens"] == 12 and first["temperature"] == 0
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert {h.get("Authorization") for h in server.headers} == {"Bearer sk-test"}
    config = json.loads((output / "config.json").read_text())
    assert config["config"] == {"backend": "openai", "decoding": "greedy", "max_new_tokens": 12}
    assert (output / "submission" / "Multilingual_MCQA.csv").is_file()


def test_retries_exhausted_keep_the_progress_and_a_rerun_completes_it(runner, plugins, server, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server.fail_always = {"Sentence 4 "}  # row n4: the 13th row, in the fifth batch of 3
    output = tmp_path / "api"
    result = evaluate(runner, plugins, server, output, "--batch-size", "3", "--max-retries", "2")
    message = one_error(result)
    assert f"the API at {server.url}/chat/completions failed 3 times in a row (last: HTTP 500: the model is overloaded)" \
        in message
    assert "the 14 predictions made so far are kept in" in message and "run the same command again" in message
    records = predictions_of(output)
    assert len(records) == 14 and "n4" not in {r["instance_id"] for r in records}  # its batch-mates n5, n6 are kept
    assert {h.get("Authorization") for h in server.headers} == {None}  # no key: no header

    server.fail_always = set()
    again = evaluate(runner, plugins, server, output, "--batch-size", "3", "--max-retries", "2")
    assert again.exit_code == 0, again.output
    records = predictions_of(output)
    keys = [(r["task"], r["instance_id"]) for r in records]
    assert len(keys) == ROWS and len(set(keys)) == ROWS


def test_a_timeout_every_time_is_a_sentence(runner, plugins, server, tmp_path):
    server.fail_once = {"Question 1:": "slow"}
    server.slow = 0.8
    result = evaluate(runner, plugins, server, tmp_path / "api", "--batch-size", "1", "--max-retries", "0",
                      "--request-timeout", "0.3")
    assert "failed 1 time in a row (last: no answer within 0.3 s (--request-timeout))" in one_error(result)
    assert len(predictions_of(tmp_path / "api")) == 1  # q0 was answered before


@pytest.mark.parametrize("case", ["refused key", "no api base", "bad url", "unset key variable"])
def test_bad_api_input_is_one_sentence_without_retries(runner, plugins, server, tmp_path, case, monkeypatch):
    args: list[str] = []
    if case == "refused key":
        server.status_always = 401
        expected = "refused the request with HTTP 401: Incorrect API key provided; check --model"
    elif case == "no api base":
        result = runner.invoke(cli, ["eval", "--backend", "openai", "--model", "gpt-test", "--suite", "demo/bench",
                                     "--plugins-dir", str(plugins), "--output", str(tmp_path / "api")])
        assert "--backend openai needs --api-base" in one_error(result)
        return
    elif case == "bad url":
        result = runner.invoke(cli, ["eval", "--backend", "openai", "--model", "gpt-test", "--api-base", "localhost:8000",
                                     "--suite", "demo/bench", "--plugins-dir", str(plugins)])
        assert "--api-base 'localhost:8000' is not an http(s) URL" in one_error(result)
        return
    else:
        monkeypatch.delenv("MY_KEY", raising=False)
        args = ["--api-key-env", "MY_KEY"]
        expected = "--api-key-env MY_KEY names an environment variable that is not set"
    result = evaluate(runner, plugins, server, tmp_path / "api", *args)
    assert expected in one_error(result)
    assert len(server.requests) <= (8 if case == "refused key" else 0)  # the first batch's requests at most, none retried
