"""The web server in front of the webhook: idle and trickling connections never starve
webhooks, framing errors are 4xx, and no body is ever cut short and processed.

All through the real web process (``python -m app.serve``) over raw sockets."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support import SECRET, RedisServer, Stack, migrate, sqlite_url, wait_for

IDLE_CONNECTIONS = 200
TRADINGVIEW_GIVES_UP_AFTER = 3.0


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("web")
    url = sqlite_url(directory)
    migrate(url)
    stack = Stack(directory, redis_server.url, url, WEB_IDLE_TIMEOUT_SECONDS="4")
    stack.start_web()
    yield stack
    stack.stop_all()


def _open_partial(port: int) -> socket.socket:
    """A connection that sent its headers and the start of a body, then went quiet."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        b"POST /webhook/tradingview HTTP/1.1\r\nHost: bridge\r\n"
        b"Content-Type: application/json\r\nContent-Length: 400\r\n\r\n"
        b'{"symbol": "AAPL", '
    )
    return sock


def _still_open_without_answer(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""  # data here would be an answer to a half-sent request
    except BlockingIOError:
        return True  # nothing to read and not closed: the server is still waiting
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def _raw(port: int, request: bytes) -> bytes:
    """Send ``request`` and read the answer; a server that answers before the whole body
    arrived may reset the connection, which ends the answer rather than failing."""
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(request)
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    return answer


def _chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def _alert(alert_id: str) -> dict[str, object]:
    return {"secret": SECRET, "symbol": "AAPL", "action": "buy", "quantity": 1,
            "alert_id": alert_id}  # fmt: skip


def test_webhooks_answer_while_200_connections_sit_idle_or_trickle(web: Stack) -> None:
    idle = [_open_partial(web.port) for _ in range(IDLE_CONNECTIONS)]
    stop = threading.Event()

    def trickle() -> None:
        # A quarter of them keep sending a byte now and then, which defeats idle timeouts.
        while not stop.is_set():
            for sock in idle[: IDLE_CONNECTIONS // 4]:
                sock.sendall(b" ")
            stop.wait(0.2)

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        for number in range(20):
            answer = requests.post(
                f"{web.url}/webhook/tradingview",
                json=_alert(f"beside-idle-{number}"),
                timeout=TRADINGVIEW_GIVES_UP_AFTER,
            )
            assert answer.status_code == 202, answer.text
        # The load was real: every one of those connections is still open, unanswered.
        assert all(_still_open_without_answer(sock) for sock in idle)
    finally:
        stop.set()
        trickler.join()
        for sock in idle:
            sock.close()


def test_an_idle_connection_is_closed_after_the_idle_timeout(web: Stack) -> None:
    sock = _open_partial(web.port)
    try:
        started = time.monotonic()
        wait_for(lambda: not _still_open_without_answer(sock), timeout=20, message="close")
        assert time.monotonic() - started >= 2  # closed for idling, not at once
    finally:
        sock.close()


def test_malformed_chunked_framing_is_400_not_500(web: Stack) -> None:
    answer = _raw(
        web.port,
        b"POST /webhook/tradingview HTTP/1.1\r\nHost: bridge\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


def test_chunked_body_over_the_limit_is_413_not_cut_short(web: Stack) -> None:
    body = json.dumps({**_alert("chunked-big"), "note": "x" * 70_000}).encode()
    answer = _raw(
        web.port,
        b"POST /webhook/tradingview HTTP/1.1\r\nHost: bridge\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n\r\n" + _chunked(body),
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert web.api("/api/alerts/chunked-big").status_code == 404


def test_huge_chunked_body_is_413_from_the_server_itself(web: Stack) -> None:
    body = b"x" * (2 * 1024 * 1024)
    answer = _raw(
        web.port,
        b"POST /webhook/tradingview HTTP/1.1\r\nHost: bridge\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n" + _chunked(body),
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_content_length_body_over_the_limit_is_413(web: Stack) -> None:
    body = json.dumps({**_alert("length-big"), "note": "x" * 70_000}).encode()
    answer = requests.post(f"{web.url}/webhook/tradingview", data=body, timeout=10)
    assert answer.status_code == 413
    assert web.api("/api/alerts/length-big").status_code == 404


def test_chunked_body_under_the_limit_is_accepted(web: Stack) -> None:
    body = json.dumps(_alert("chunked-small")).encode()
    answer = _raw(
        web.port,
        b"POST /webhook/tradingview HTTP/1.1\r\nHost: bridge\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n\r\n" + _chunked(body),
    )
    assert answer.startswith(b"HTTP/1.1 202"), answer[:300]


def test_sigterm_stops_the_web_process(tmp_path: Path, redis_server: RedisServer) -> None:
    url = sqlite_url(tmp_path)
    migrate(url)
    stack = Stack(tmp_path, redis_server.url, url)
    stack.start_web()
    process = stack.processes["web"]
    process.terminate()
    assert process.wait(timeout=15) is not None
    assert "web stopped" in stack.log("web")
