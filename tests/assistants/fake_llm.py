"""A local server speaking the OpenAI chat-completions protocol, with deterministic answers.

It answers ``echo: <last user message>``; markers in that message steer it: ``[slow]`` takes
``SLOW_S`` and then waits while ``slow_released`` is cleared (a test that must see a run in
progress holds it there), ``[stall]`` ``STALL_S`` (past a timeout test's client), ``[error500]`` always fails,
``[flaky]`` fails with 503 on the first try of each message, ``[json]`` answers a JSON object,
``[redirect]`` redirects to the cloud metadata address, ``[garbage]`` answers non-JSON. A system
prompt starting with "You judge" makes it a judge: PASS unless the judged output contains "bad".
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SLOW_S = 1.5
STALL_S = 6.0


class FakeLLM(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[dict] = []
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.slow_released = threading.Event()  # cleared: "[slow]" answers wait until it is set again
        self.slow_released.set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


def answer_for(messages: list[dict]) -> str:
    system = next((m["content"] for m in messages if m["role"] == "system"), "")
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    if system.startswith("You judge"):
        return "FAIL: it says bad" if "bad" in last.split("<output>")[-1] else "PASS"
    if "[json]" in last:
        return json.dumps({"ok": True, "echo": last})
    return f"echo: {last}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeLLM

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.requests.append(
                {
                    "body": body,
                    "authorization": self.headers.get("Authorization"),
                    "host": self.headers.get("Host"),
                }
            )
        last = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
        if self.path != "/v1/chat/completions":
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        if "[redirect]" in last:
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if "[error500]" in last:
            return self._json(500, {"error": {"message": "the model crashed"}})
        if "[flaky]" in last:
            with self.server.lock:
                first = last not in self.server.seen
                self.server.seen.add(last)
            if first:
                return self._json(503, {"error": {"message": "warming up"}})
        if "[slow]" in last:
            time.sleep(SLOW_S)
            self.server.slow_released.wait(60)
        if "[stall]" in last:
            time.sleep(STALL_S)
        if "[garbage]" in last:
            return self._raw(200, b"<html>not json</html>", "text/html")
        text = answer_for(body["messages"])
        usage = {
            "prompt_tokens": sum(len(m["content"].split()) for m in body["messages"]),
            "completion_tokens": len(text.split()),
        }
        if body.get("stream"):
            return self._stream(text, usage)
        return self._json(
            200,
            {
                "id": "cmpl-1",
                "object": "chat.completion",
                "model": body["model"],
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": usage,
            },
        )

    def _json(self, status: int, payload: dict) -> None:
        self._raw(status, json.dumps(payload).encode(), "application/json")

    def _raw(self, status: int, data: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stream(self, text: str, usage: dict) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        words = text.split(" ")
        for i, word in enumerate(words):
            delta = word if i == 0 else " " + word
            chunk = {"choices": [{"index": 0, "delta": {"content": delta}}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()
        self.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True


def start() -> FakeLLM:
    server = FakeLLM()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(name="fake_llm")
def fake_llm_fixture() -> Iterator[FakeLLM]:
    server = start()
    yield server
    server.shutdown()
    server.server_close()
