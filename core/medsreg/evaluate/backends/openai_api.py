"""``--backend openai``: any OpenAI-compatible ``/chat/completions`` endpoint (OpenAI, a vLLM or TGI server, a proxy
for other API models), with the standard library only.

``--api-base`` is the URL up to and including ``/v1``; the key is read from the environment
variable ``--api-key-env`` (default OPENAI_API_KEY; no key: no Authorization header, as local
servers expect). Each conversation is one request ``{model, messages, max_tokens, temperature: 0}``;
a batch's requests are in flight together (``--batch-size``). A timeout (``--request-timeout``),
a connection error, HTTP 408, 409, 429 or 5xx is retried up to ``--max-retries`` times, waiting
``--retry-wait`` seconds, doubled each time (at most a minute); then the batch fails with a
sentence and the runner keeps what the batch did get. Other HTTP errors (a bad key, an unknown
model) stop at once.
"""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from typing import Any
from urllib.parse import urlparse

from medsreg.errors import MedsregError
from medsreg.evaluate.backends import Backend, Echo, GenerationError, GenerationOptions

RETRIED_STATUS = frozenset({408, 409, 429})
MAX_WAIT = 60.0


class _Retryable(Exception):
    """A failure worth another try; its text says what happened."""


class OpenAIBackend(Backend):
    name = "openai"

    def __init__(self, options: GenerationOptions, warn: Echo) -> None:
        super().__init__(options, warn)
        base = (options.api_base or "").strip()
        if not base:
            raise MedsregError("--backend openai needs --api-base, the endpoint's URL up to /v1 (e.g. "
                               "https://api.openai.com/v1, or http://127.0.0.1:8000/v1 for a local vLLM server)")
        parsed = urlparse(base)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise MedsregError(f"--api-base {base!r} is not an http(s) URL; give the endpoint up to /v1, e.g. "
                               "https://api.openai.com/v1")
        self.url = base.rstrip("/") + "/chat/completions"
        self.key = os.environ.get(options.api_key_env) or None
        if self.key is None and options.api_key_env != "OPENAI_API_KEY":
            raise MedsregError(f"--api-key-env {options.api_key_env} names an environment variable that is not set; set it "
                               "to the API key, or leave --api-key-env out for an endpoint without a key")
        if options.request_timeout <= 0 or options.max_retries < 0 or options.retry_wait < 0:
            raise MedsregError("--request-timeout must be positive, --max-retries and --retry-wait not negative")
        self.retries = 0
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"openai backend at {self.url}"

    def generate(self, batch: list[list[dict[str, str]]]) -> list[str]:
        if len(batch) == 1:
            results = [self._attempt(batch[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                results = list(pool.map(self._attempt, batch))
        failed = [(position, result) for position, result in enumerate(results) if isinstance(result, BaseException)]
        if not failed:
            return results  # type: ignore[return-value]
        done = {position: result for position, result in enumerate(results) if isinstance(result, str)}
        error = failed[0][1]
        if isinstance(error, MedsregError):
            raise GenerationError(str(error), done)
        attempts = self.options.max_retries + 1
        raise GenerationError(f"the API at {self.url} failed {attempts} time{'s' if attempts > 1 else ''} in a row ({error})",
                              done)

    def notes(self) -> list[str]:
        return [f"{self.retries} API requests were retried (timeouts, connection errors, HTTP 5xx / 429)"] if self.retries else []

    def _attempt(self, messages: list[dict[str, str]]) -> str | BaseException:
        """The answer to one conversation, retried; the exception instead when it finally fails."""
        wait = self.options.retry_wait
        for attempt in range(self.options.max_retries + 1):
            try:
                return self._request(messages)
            except _Retryable as error:
                last: BaseException = error
            except MedsregError as error:
                return error
            if attempt < self.options.max_retries:
                with self._lock:
                    self.retries += 1
                time.sleep(min(wait, MAX_WAIT))
                wait *= 2
        return last

    def _request(self, messages: list[dict[str, str]]) -> str:
        body = json.dumps({"model": self.options.model, "messages": messages, "max_tokens": self.options.max_new_tokens,
                           "temperature": 0}).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.options.request_timeout) as response:  # noqa: S310 - http(s) checked
                payload = response.read()
        except urllib.error.HTTPError as error:
            detail = _error_detail(error)
            if error.code in RETRIED_STATUS or error.code >= 500:
                raise _Retryable(f"last: HTTP {error.code}{detail}") from None
            raise MedsregError(f"the API at {self.url} refused the request with HTTP {error.code}{detail}; check --model "
                               f"(the name the endpoint serves), --api-base and the key in {self.options.api_key_env}") from None
        except (TimeoutError, urllib.error.URLError, HTTPException, ConnectionError, OSError) as error:
            reason = getattr(error, "reason", error)
            if isinstance(reason, TimeoutError) or isinstance(error, TimeoutError):
                raise _Retryable(f"last: no answer within {self.options.request_timeout:g} s (--request-timeout)") from None
            raise _Retryable(f"last: {type(reason).__name__}: {reason}") from None
        return _content(payload, self.url)


def _content(payload: bytes, url: str) -> str:
    try:
        answer = json.loads(payload)
        content = answer["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise MedsregError(f"the API at {url} answered without choices[0].message.content ({payload[:120]!r}); is it an "
                           "OpenAI-compatible /chat/completions endpoint?") from None
    return (content or "").strip()


def _error_detail(error: urllib.error.HTTPError) -> str:
    """': <the endpoint's error message>' when the body says one."""
    try:
        body: Any = json.loads(error.read() or b"{}")
        message = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else body.get("error")
    except (ValueError, AttributeError, OSError):
        message = None
    return f": {str(message)[:200]}" if message else ""
