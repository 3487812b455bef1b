"""A fake SMS gateway: a real local HTTP server that records requests and answers from a script.

    with FakeSmsGateway() as gateway:
        gateway.respond("ok", ("429", 30), "500", ("timeout", 2), "invalid_number")
        ...HttpSmsProvider(gateway.url, ...).send(...)
        gateway.requests[0].json["text"]

Each request takes the next scripted answer; when the script is empty the answer is "ok".
"""
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from motcua.webhooks import sign

Answer = str | tuple[str, float]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    json: Any


class FakeSmsGateway:
    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key  # when set, a wrong Bearer key gets 401
        self.requests: list[RecordedRequest] = []
        self.references: dict[str, str] = {}  # message id -> the sender's reference, for receipts
        self._script: deque[Answer] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start the gateway first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/sms"

    def respond(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

    def start(self) -> "FakeSmsGateway":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping through a "timeout" answer
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> "FakeSmsGateway":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def deliver_receipt(self, callback_url: str, secret: bytes, message_id: str, status: str,
                        timestamp: int | None = None) -> requests.Response:
        """POST a signed delivery receipt {"id", "status", "reference"} as the real gateway would."""
        body = json.dumps({"id": message_id, "status": status,
                           "reference": self.references.get(message_id)}).encode()
        stamp = int(time.time()) if timestamp is None else timestamp
        return requests.post(callback_url, data=body, timeout=5, headers={
            "Content-Type": "application/json", "X-Signature": sign(secret, body, stamp)})

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._script.popleft() if self._script else "ok"

    def _handle(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], dict[str, Any]]:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        with self._lock:
            self.requests.append(RecordedRequest(handler.path, dict(handler.headers.items()), payload))
        if self.api_key is not None and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {}, {"error": "unauthorized"}
        answer = self._next_answer()
        kind, seconds = answer if isinstance(answer, tuple) else (answer, 0.0)
        if kind == "timeout":
            self._stopping.wait(seconds)  # past the client's timeout; then accept, like a slow gateway
            kind = "ok"
        if kind == "ok":
            message_id = f"fake-{next(self._ids)}"
            if isinstance(payload, dict) and payload.get("reference"):
                self.references[message_id] = payload["reference"]
            return 200, {}, {"id": message_id}
        if kind == "429":
            return 429, {"Retry-After": str(int(seconds))}, {"error": "rate_limited"}
        if kind == "500":
            return 500, {}, {"error": "internal"}
        if kind == "invalid_number":
            return 400, {}, {"error": "invalid_number"}
        raise ValueError(f"unknown scripted answer {answer!r}")

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                status, headers, body = gateway._handle(self)
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    for name, value in {**headers, "Content-Type": "application/json",
                                        "Content-Length": str(len(data))}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a "timeout" answer): nothing to tell it

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output quiet

        return Handler
