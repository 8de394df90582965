"""The ``chat`` executor: OpenAI-style chat completions, forwarded to the inference
server the miner's operator runs (any OpenAI-compatible server: vLLM, Ollama,
llama.cpp's server).

The server is named by ``AITBC_CHAT_BASE_URL`` (e.g. ``http://127.0.0.1:8080``; an
``AITBC_CHAT_API_KEY`` is sent as a Bearer token when set). Its ``/v1/models`` are the
models this executor serves, so the miner registers (and offers) exactly those.

Payload: ``model``, ``messages``, ``max_tokens``, ``temperature``, ``stop``, ``stream``.
With ``stream`` every text delta is emitted as a chunk ``{"delta": "..."}`` the moment
the server sends it. The result is ``{"model", "message", "finish_reason", "usage"}``;
the units are the completion tokens (what a per-token offer charges).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from http.client import HTTPException, HTTPResponse
from typing import Any, Literal

from pydantic import Field

from ...errors import ConfigurationError
from ..errors import ExecutorError, InvalidPayloadError
from .base import Execution, Executor, JobContext, PayloadModel, check_cancel, parse_payload

ENV_BASE_URL = "AITBC_CHAT_BASE_URL"
ENV_API_KEY = "AITBC_CHAT_API_KEY"
#: Seconds to wait for the server's next byte before the job fails.
READ_TIMEOUT = 120.0
MAX_TOKENS_LIMIT = 1_000_000


class Message(PayloadModel):
    role: Literal["system", "user", "assistant", "tool"]
    content: str = Field(max_length=1_000_000)


class ChatPayload(PayloadModel):
    model: str = Field(min_length=1, max_length=200)
    messages: list[Message] = Field(min_length=1, max_length=1000)
    max_tokens: int = Field(ge=1, le=MAX_TOKENS_LIMIT)
    temperature: float | None = Field(default=None, ge=0, le=2)
    stop: str | list[str] | None = None
    stream: bool = False


class InferenceServer:
    """A blocking client of one OpenAI-compatible server (used from worker threads)."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = READ_TIMEOUT):
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"inference server URL must be http(s), got {base_url!r}")
        self.base_url = base_url.rstrip("/").removesuffix("/v1")
        self.api_key = api_key
        self.timeout = timeout

    def _open(self, path: str, body: Mapping[str, Any] | None = None) -> HTTPResponse:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers)
        response: HTTPResponse = urllib.request.urlopen(request, timeout=self.timeout)
        return response

    def models(self) -> list[str]:
        """The ids the server lists at ``/v1/models``; ConfigurationError when it cannot
        be reached or answers something else."""
        try:
            with self._open("/v1/models") as response:
                listing = json.load(response)
            return [str(entry["id"]) for entry in listing["data"]]
        except (OSError, HTTPException, ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(
                f"cannot list models at {self.base_url}/v1/models: {exc}"
            ) from exc

    def complete(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """One non-streamed chat completion."""
        with self._open("/v1/chat/completions", body) as response:
            answer: dict[str, Any] = json.load(response)
        return answer

    def stream(self, body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """The chunks of a streamed chat completion (SSE ``data:`` lines until [DONE])."""
        with self._open("/v1/chat/completions", {**body, "stream": True}) as response:
            for raw in response:
                line = raw.decode("utf-8").strip()
                if not line.startswith("data:"):
                    continue
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    return
                yield json.loads(data)
        raise ExecutorError("the inference server ended the stream without [DONE]")


class ChatExecutor(Executor):
    """Job type ``chat``; ``server`` defaults to ``AITBC_CHAT_BASE_URL``."""

    def __init__(self, server: InferenceServer | None = None) -> None:
        if server is None:
            base_url = os.environ.get(ENV_BASE_URL)
            if not base_url:
                raise ConfigurationError(
                    f"the chat executor needs {ENV_BASE_URL} (an OpenAI-compatible server)"
                )
            server = InferenceServer(base_url, os.environ.get(ENV_API_KEY))
        self.server = server
        self.models = tuple(server.models())

    def run(self, payload: Mapping[str, Any], cancel: threading.Event) -> Execution:
        """A chat completion without streamed chunks (``stream`` is ignored)."""
        return self._complete(parse_payload(ChatPayload, payload), cancel)

    def execute(
        self, payload: Mapping[str, Any], cancel: threading.Event, context: JobContext
    ) -> Execution:
        """A chat completion; with ``stream`` each delta is emitted as it arrives."""
        job = parse_payload(ChatPayload, payload)
        if not job.stream:
            return self._complete(job, cancel)
        return self._stream(job, cancel, context)

    def _request(self, job: ChatPayload) -> dict[str, Any]:
        if job.model not in self.models:
            self.models = tuple(self.server.models())  # the operator may have added one
            if job.model not in self.models:
                raise InvalidPayloadError(
                    f"unknown model {job.model!r}; this miner serves {', '.join(self.models)}"
                )
        body = job.model_dump(exclude_none=True, exclude={"stream"})
        body["messages"] = [m.model_dump() for m in job.messages]
        return body

    def _complete(self, job: ChatPayload, cancel: threading.Event) -> Execution:
        body = self._request(job)
        check_cancel(cancel)
        try:
            answer = self.server.complete(body)
            choice = answer["choices"][0]
            message = {"role": "assistant", "content": str(choice["message"]["content"] or "")}
            usage = answer.get("usage") or {}
            completion = int(usage.get("completion_tokens", 0))
            prompt = int(usage.get("prompt_tokens", 0))
            finish = choice.get("finish_reason")
        except (OSError, HTTPException, ValueError, KeyError, TypeError, IndexError) as exc:
            raise ExecutorError(f"inference server failed: {_describe(exc)}") from exc
        return _execution(job, message["content"], finish, prompt, completion)

    def _stream(self, job: ChatPayload, cancel: threading.Event, context: JobContext) -> Execution:
        body = self._request(job)
        parts: list[str] = []
        tokens = prompt = 0
        finish: str | None = None
        try:
            for chunk in self.server.stream(body):
                check_cancel(cancel)
                usage = chunk.get("usage") or {}
                prompt = int(usage.get("prompt_tokens", prompt))
                for choice in chunk.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        parts.append(delta)
                        tokens += 1  # OpenAI-compatible servers send one token per delta
                        context.emit({"delta": delta})
                    if choice.get("finish_reason") and not finish:
                        context.flush()  # the answer is complete: post it before [DONE]
                    finish = choice.get("finish_reason") or finish
                if usage.get("completion_tokens") is not None:
                    tokens = int(usage["completion_tokens"])
        except (OSError, HTTPException, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ExecutorError(
                f"inference server failed mid-stream after {tokens} tokens: {_describe(exc)}"
            ) from exc
        return _execution(job, "".join(parts), finish, prompt, tokens)


def _execution(
    job: ChatPayload, content: str, finish: str | None, prompt: int, completion: int
) -> Execution:
    # Never more units than the job paid for, never fewer than one.
    units = max(1, min(completion, job.max_tokens))
    result = {
        "model": job.model,
        "message": {"role": "assistant", "content": content},
        "finish_reason": finish,
        "usage": {"prompt_tokens": prompt, "completion_tokens": units},
    }
    return Execution(result=result, units=units)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
