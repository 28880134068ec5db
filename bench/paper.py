"""The paper path's measures: webhook accept latency and throughput (also beside 200 idle
connections) and alert → paper fill, each beside the floor app measured the same way."""

from __future__ import annotations

import json
import socket
import statistics
import threading
import time
import uuid
from collections.abc import Callable

from bench.common import POLL_INTERVAL, Client, percentile
from tests.support import SECRET, TOKEN, Stack, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}
IDLE_CONNECTIONS = 200


def alert_body(marker: str | None = None, symbol: str = "AAPL", price: int = 150) -> bytes:
    alert_id = marker or f"bench-{uuid.uuid4().hex}"
    return json.dumps(
        {
            "secret": SECRET,
            "symbol": symbol,
            "action": "buy",
            "quantity": 1,
            "price": price,
            "alert_id": alert_id,
        }
    ).encode()


def run_clients(port: int, path: str, clients: int, per_client: int) -> tuple[list[float], float]:
    """Latencies in ms and requests/s for ``clients`` concurrent keep-alive connections."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work() -> None:
        client, mine = Client(port), []
        for _ in range(per_client):
            started = time.perf_counter()
            status, text = client.request("POST", path, alert_body())
            mine.append((time.perf_counter() - started) * 1000)
            if status != 202:
                errors.append(f"{status} {text[:200]!r}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} unexpected answers, e.g. {errors[0]}")
    return latencies, len(latencies) / elapsed


def round_trips(
    count: int,
    send: Callable[[Client, str], None],
    is_done: Callable[[Client, str], bool],
    port: int,
) -> list[float]:
    """Send one item, poll until it is observed done; ``count`` times, in ms each."""
    client, times = Client(port), []
    for _ in range(count):
        marker = f"bench-{uuid.uuid4().hex}"
        started = time.perf_counter()
        send(client, marker)
        while not is_done(client, marker):
            time.sleep(POLL_INTERVAL)
        times.append((time.perf_counter() - started) * 1000)
    return times


def measure_accept(stack: Stack, floor: Stack, *, beside_idle: bool = True) -> dict[str, float]:
    run_clients(stack.port, "/webhook/tradingview", 4, 50)  # warm-up: imports, pools, pages
    run_clients(floor.port, "/floor", 4, 50)
    results: dict[str, float] = {}
    for clients, per_client in ((1, 600), (16, 125)):
        real, real_rps = run_clients(stack.port, "/webhook/tradingview", clients, per_client)
        base, base_rps = run_clients(floor.port, "/floor", clients, per_client)
        # Latency keys without a suffix are one client; throughput without one is 16.
        latency = "" if clients == 1 else f"_c{clients}"
        rate = "" if clients == 16 else f"_c{clients}"
        results[f"accept_p50_ms{latency}"] = round(percentile(real, 0.5), 3)
        results[f"accept_p99_ms{latency}"] = round(percentile(real, 0.99), 3)
        results[f"accept_rps{rate}"] = round(real_rps, 1)
        results[f"floor_accept_p50_ms{latency}"] = round(percentile(base, 0.5), 3)
        results[f"floor_accept_p99_ms{latency}"] = round(percentile(base, 0.99), 3)
        results[f"floor_accept_rps{rate}"] = round(base_rps, 1)
    if beside_idle:
        results.update(measure_accept_beside_idle(stack))
    return results


def measure_accept_beside_idle(stack: Stack) -> dict[str, float]:
    """Accept latency, 1 client, while 200 other connections sent headers and part of a
    body and then went quiet (a slow or hostile client holds them open)."""
    idle = []
    for _ in range(IDLE_CONNECTIONS):
        sock = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
        sock.sendall(
            b"POST /webhook/tradingview HTTP/1.1\r\nHost: bench\r\nContent-Length: 500\r\n\r\n{"
        )
        idle.append(sock)
    try:
        latencies, _ = run_clients(stack.port, "/webhook/tradingview", 1, 300)
    finally:
        for sock in idle:
            sock.close()
    return {
        "accept_p50_ms_idle": round(percentile(latencies, 0.5), 3),
        "accept_p99_ms_idle": round(percentile(latencies, 0.99), 3),
    }


def measure_paper_fill(stack: Stack, floor: Stack) -> dict[str, float]:
    # Let the workers drain the accept flood before timing single round trips.
    wait_for(
        lambda: stack.api("/api/orders?status=submitting").json()["orders"] == [],
        timeout=120,
        message="workers to drain",
    )

    def send_alert(client: Client, marker: str) -> None:
        client.request("POST", "/webhook/tradingview", alert_body(marker, "MSFT", 400))

    def alert_done(client: Client, marker: str) -> bool:
        status, text = client.request("GET", f"/api/alerts/{marker}", headers=AUTH)
        if status == 200 and b'"status":"rejected"' in text:
            raise RuntimeError(f"benchmark alert rejected: {text[:300]!r}")
        return status == 200 and b'"status":"done"' in text

    def send_noop(client: Client, marker: str) -> None:
        client.request("POST", f"/floor/task?marker={marker}")

    def noop_done(client: Client, marker: str) -> bool:
        return b'"done"' in client.request("GET", f"/floor/marker/{marker}")[1]

    round_trips(10, send_alert, alert_done, stack.port)
    round_trips(10, send_noop, noop_done, floor.port)
    e2e = round_trips(150, send_alert, alert_done, stack.port)
    e2e_floor = round_trips(150, send_noop, noop_done, floor.port)
    return {
        "e2e_p50_ms": round(percentile(e2e, 0.5), 3),
        "e2e_p99_ms": round(percentile(e2e, 0.99), 3),
        "e2e_mean_ms": round(statistics.mean(e2e), 3),
        "floor_e2e_p50_ms": round(percentile(e2e_floor, 0.5), 3),
        "floor_e2e_p99_ms": round(percentile(e2e_floor, 0.99), 3),
    }
