"""The HTTP side of the OANDA stand-in: a threaded ``http.server`` on loopback with HTTP/1.1
keep-alive that records every request, counts TCP connections, and can be told to fail
(``fail``), to answer late (``delay``), or to carry a request out and then lose the answer
(``delay`` with ``after_apply=True``, or ``drop``). What a request does is the subclass's
``handle``.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Recorded:
    method: str
    path: str
    body: dict[str, Any] | None
    authorization: str | None
    connection: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    times: int
    status: int = 0
    body: dict[str, Any] | None = None
    delay: float = 0.0
    after_apply: bool = False
    drop: bool = False


@dataclass
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)


class RecordingServer:
    """Serves ``handle`` on a free loopback port; keeps the request log and the faults."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.connections = 0
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    def handle(
        self, method: str, path: str, body: dict[str, Any] | None, auth: str | None
    ) -> Answer:
        raise NotImplementedError

    # --- control ----------------------------------------------------------------------

    def start(self, port: int = 0) -> Self:
        standin = self

        class Handler(_Handler):
            pass

        Handler.standin = standin
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(
        self,
        method: str,
        pattern: str,
        status: int,
        body: dict[str, Any] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (nothing carried out)."""
        default = {"errorMessage": f"stand-in fault {status}"}
        self._add(Fault(method, re.compile(pattern), times, status, body or default))

    def delay(
        self,
        method: str,
        pattern: str,
        seconds: float,
        *,
        after_apply: bool = False,
        times: int = 1,
    ) -> None:
        """Answer late; with ``after_apply`` the request is carried out first (accept, then
        the answer arrives after the client stopped waiting)."""
        self._add(Fault(method, re.compile(pattern), times, delay=seconds, after_apply=after_apply))

    def drop(self, method: str, pattern: str, times: int = 1) -> None:
        """Carry the request out, then close the connection without answering."""
        self._add(Fault(method, re.compile(pattern), times, after_apply=True, drop=True))

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def requests_to(self, method: str, pattern: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and re.search(pattern, r.path)]

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.connections = 0

    # --- dispatch ---------------------------------------------------------------------

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.pattern.search(path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    standin: RecordingServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm and the
        # client's delayed ACK add about 40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.standin._lock:
            self.standin.connections += 1
            self.connection_number = self.standin.connections

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        auth = self.headers.get("Authorization")
        standin = self.standin
        with standin._lock:
            standin.requests.append(
                Recorded(method, self.path, body, auth, self.connection_number, dict(self.headers))
            )
        fault = standin.take_fault(method, self.path)
        if fault is not None and fault.status:
            self._answer(Answer(fault.status, fault.body or {}))
            return
        if fault is not None and not fault.after_apply:
            time.sleep(fault.delay)
        answer = standin.handle(method, self.path, body, auth)
        if fault is not None and fault.drop:
            # The request was carried out; the answer is lost with the connection.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.after_apply:
            time.sleep(fault.delay)
        self._answer(answer)

    def _answer(self, answer: Answer) -> None:
        payload = json.dumps(answer.body).encode()
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a delayed answer): nothing to do.
            self.close_connection = True
