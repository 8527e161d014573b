"""A local model server speaking OpenAI's chat completions and Anthropic's messages API,
answering from a script.

Tests start it on loopback and point the platform at it (``UAB_LLM_BASE_URL``), so our
real client code (pydantic-ai over the OpenAI SDK) makes real HTTP requests. Each request
takes the next scripted answer: a tool call with arguments (how pydantic-ai receives
structured output), plain text, an HTTP error (with headers such as Retry-After), a body
that is not JSON, or a pause. Every request body is kept for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    """One scripted answer; exactly one of ``tool_args``, ``text``, ``status``, ``raw``."""

    tool_args: dict[str, Any] | None = None
    text: str | None = None
    status: int | None = None
    raw: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    #: the answer waits until this is set (or the server stops), as a model thinking
    hold: threading.Event | None = None
    input_tokens: int = 120
    output_tokens: int = 30


def tool(args: dict[str, Any], **usage: int) -> Answer:
    return Answer(tool_args=args, **usage)


def text(words: str, **usage: int) -> Answer:
    return Answer(text=words, **usage)


def error(status: int, **headers: str) -> Answer:
    return Answer(status=status, headers=headers)


class FakeLLM:
    """The server's state: the script still to answer and the requests seen."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.root = url
        self.script: list[Answer] = []
        self.requests: list[dict[str, Any]] = []
        #: each request's headers (lower-cased names), to check what credentials were sent
        self.headers: list[dict[str, str]] = []
        #: each request's client address, to tell which requests shared a connection
        self.peers: list[tuple[str, int]] = []
        self.lock = threading.Lock()
        #: set when the server stops: a pausing answer ends its pause early
        self.stopped = threading.Event()

    def answer(self, *answers: Answer) -> None:
        with self.lock:
            self.script.extend(answers)

    def next(self, body: dict[str, Any]) -> Answer:
        with self.lock:
            self.requests.append(body)
            if not self.script:
                return Answer(status=500, raw='{"error": {"message": "script is empty"}}')
            return self.script.pop(0)


def _completion(body: dict[str, Any], answer: Answer, n: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.text}
    finish = "stop"
    if answer.tool_args is not None and "tools" not in body:  # a JSON-schema response format
        message["content"] = json.dumps(answer.tool_args)
    elif answer.tool_args is not None:
        name = body["tools"][0]["function"]["name"]
        arguments = json.dumps(answer.tool_args)
        message["tool_calls"] = [
            {
                "id": f"call_{n}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        ]
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "finish_reason": finish, "message": message}],
        "usage": {
            "prompt_tokens": answer.input_tokens,
            "completion_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
        },
    }


def _message(body: dict[str, Any], answer: Answer, n: int) -> dict[str, Any]:
    """Anthropic's messages API: a tool_use block for structured output, or text (also for
    structured output when the request asks for a JSON schema instead of offering tools)."""
    if answer.tool_args is not None and "tools" not in body:
        content, stop = [{"type": "text", "text": json.dumps(answer.tool_args)}], "end_turn"
    elif answer.tool_args is not None:
        name = body["tools"][0]["name"]
        content = [
            {"type": "tool_use", "id": f"toolu_{n}", "name": name, "input": answer.tool_args}
        ]
        stop = "tool_use"
    else:
        content, stop = [{"type": "text", "text": answer.text or ""}], "end_turn"
    return {
        "id": f"msg_{n}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "fake"),
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
    }


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK add 40 ms to every answer
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            fake.headers.append({k.lower(): v for k, v in self.headers.items()})
            fake.peers.append(self.client_address[:2])
            answer = fake.next(body)
            if answer.delay:
                fake.stopped.wait(answer.delay)
            while answer.hold is not None and not answer.hold.wait(0.05):
                if fake.stopped.is_set():
                    break
            if answer.status is not None:
                data = (answer.raw or json.dumps({"error": {"message": "scripted"}})).encode()
                self._send(answer.status, data, answer.headers)
            elif answer.raw is not None:
                self._send(200, answer.raw.encode(), answer.headers)
            else:
                shape = _message if self.path.endswith("/messages") else _completion
                data = json.dumps(shape(body, answer, len(fake.requests))).encode()
                self._send(200, data, answer.headers)

        def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_args: object) -> None:
            pass

    return Handler


@contextmanager
def fake_llm() -> Iterator[FakeLLM]:
    """A running server on a free loopback port; ``url`` ends in ``/v1`` (OpenAI's SDK
    takes it so), ``root`` is the same server for Anthropic's (which adds ``/v1`` itself)."""
    fake = FakeLLM("")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.root = f"http://127.0.0.1:{server.server_address[1]}"
    fake.url = f"{fake.root}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.stopped.set()
        server.shutdown()
        server.server_close()
