"""What every benchmark shares: one keep-alive client, percentiles, the floor app."""

from __future__ import annotations

import http.client
import sys

from tests.support import Stack, wait_for

POLL_INTERVAL = 0.002


class Client:
    """One keep-alive HTTP connection: the same client for the real path and its floor."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        self.connection.request(method, path, body=body, headers=headers or {})
        response = self.connection.getresponse()
        return response.status, response.read()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def start_floor_app(floor: Stack) -> None:
    """Serve ``bench.floor_app`` with the web process's own server and settings."""
    floor.directory.mkdir(parents=True, exist_ok=True)
    floor._spawn("web", [sys.executable, "-m", "app.serve", "bench.floor_app:app"])
    wait_for(
        lambda: Client(floor.port).request("GET", "/floor/marker/x")[0] == 200,
        timeout=20,
        message="floor app",
    )
