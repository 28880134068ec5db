"""Alert → ``placeOrder`` received by ibsim, over the whole IBKR path, beside its floor.

``measure_ib(directory, redis_url, database_url)`` starts ibsim, the gateway, the order-events
consumer, a Celery worker and the web process, and returns:

- ``ib_e2e_p50_ms`` / ``ib_e2e_p99_ms``: POST of an alert to the webhook → the order is at
  ibsim, observed by polling ibsim's admin ``/orders?orderRef=`` every 2 ms (the same polling
  the paper floor uses);
- ``floor_ib_e2e_p50_ms``: the sum of three floors measured in the same run: webhook → a no-op
  Celery task marking Redis (observed the same way), a direct ib_async ``placeOrder`` to ibsim
  (until ibsim's ``createdAt``), and a bare Redis stream request/reply;
- each floor part, ``ib_e2e_created_p50_ms`` (the same alerts timed by ibsim's own ``createdAt``,
  no polling) and ``gateway_rss_mb``.

It uses database 3 of ``redis_url`` so its Celery queue never meets a paper stack's workers.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from bench.common import POLL_INTERVAL, Client, percentile, start_floor_app
from bench.processes import rss_by_process, rss_mb
from tests.gateway.support import IbSim, IbStack
from tests.support import SECRET, Stack

ROUNDS = 100
WARMUP = 10


def _round_trips(
    count: int, send: Callable[[str], None], is_done: Callable[[str], bool]
) -> tuple[list[float], dict[str, float]]:
    times, started_at = [], {}
    for _ in range(count):
        marker = f"bib-{uuid.uuid4().hex[:20]}"
        started_at[marker] = time.time()
        started = time.perf_counter()
        send(marker)
        while not is_done(marker):
            time.sleep(POLL_INTERVAL)
        times.append((time.perf_counter() - started) * 1000)
    return times, started_at


def _other_db(url: str, db: int) -> str:
    base, _, last = url.rpartition("/")
    return f"{base}/{db}" if last.isdigit() else f"{url.rstrip('/')}/{db}"


def _direct_place_ms(sim: IbSim, rounds: int) -> list[float]:
    """ib_async straight to ibsim: placeOrder → ibsim's createdAt (ms)."""
    from ib_async import IB, MarketOrder, Stock

    async def run() -> list[float]:
        ib = IB()
        await ib.connectAsync("127.0.0.1", sim.port, clientId=91, timeout=10)
        contract = Stock("AAPL", "SMART", "USD")
        await ib.qualifyContractsAsync(contract)  # fills conId in place
        sent: dict[str, float] = {}
        for i in range(rounds):
            reference = f"floor-{uuid.uuid4().hex[:12]}-{i}"
            sent[reference] = time.time()
            ib.placeOrder(contract, MarketOrder("BUY", 1, orderRef=reference, tif="DAY"))
            await asyncio.sleep(0.005)
        ib.disconnect()
        orders = {o["orderRef"]: o["createdAt"] for o in sim.get("/orders", clientId=91)}
        return [(orders[r] - t) * 1000 for r, t in sent.items() if r in orders]

    return asyncio.run(run())


def _bare_redis_ms(url: str, rounds: int) -> list[float]:
    """A request on a stream, taken by a consumer group, answered on a reply list."""
    client = redis.Redis.from_url(url)
    stream, group = "bench:ib:floor", "floor"
    client.delete(stream)
    client.xgroup_create(stream, group, "0", mkstream=True)
    stop = threading.Event()

    def responder() -> None:
        server = redis.Redis.from_url(url)
        while not stop.is_set():
            entries: Any = server.xreadgroup(group, "r", {stream: ">"}, count=10, block=200)
            for _stream, messages in entries or []:
                for entry_id, fields in messages:
                    pipe = server.pipeline(transaction=False)
                    pipe.rpush(fields[b"reply"], b'{"ok":true}')
                    pipe.expire(fields[b"reply"], 60)
                    pipe.xack(stream, group, entry_id)
                    pipe.execute()

    thread = threading.Thread(target=responder, daemon=True)
    thread.start()
    times = []
    for _ in range(rounds):
        reply = f"bench:ib:reply:{uuid.uuid4().hex}"
        started = time.perf_counter()
        client.xadd(stream, {"reply": reply, "params": "{}"}, maxlen=1000, approximate=True)
        client.blpop([reply], timeout=5)
        times.append((time.perf_counter() - started) * 1000)
    stop.set()
    thread.join(timeout=2)
    client.delete(stream)
    return times


def _alert(stack: Stack, client: Client, marker: str) -> None:
    body = {"secret": SECRET, "symbol": "AAPL", "action": "buy", "quantity": 1, "alert_id": marker}
    status, text = client.request("POST", "/webhook/tradingview", json.dumps(body).encode())
    if status != 202:
        raise RuntimeError(f"benchmark alert refused: {status} {text[:200]!r}")


def measure_ib(directory: Path, redis_url: str, database_url: str) -> dict[str, Any]:
    directory = directory / "ib"
    directory.mkdir(parents=True, exist_ok=True)
    url = _other_db(redis_url, 3)
    redis.Redis.from_url(url).flushdb()
    sim = IbSim(directory).start()
    stack = IbStack(
        directory,
        url,
        database_url,
        BROKER="ibkr",
        IBKR_PORT=str(sim.port),
        LOG_LEVEL="WARNING",
    )
    stack.sim = sim
    results: dict[str, Any] = {}
    try:
        stack.start_events()
        gateway = stack.start_gateway()
        stack.start_web()
        stack.start_worker("worker", concurrency=2)
        stack.wait_serving(timeout=30)
        web, admin = Client(stack.port), Client(sim.admin_port)

        def at_ibsim(marker: str) -> bool:
            status, text = admin.request("GET", f"/orders?orderRef=tvb.{marker}.entry")
            return status == 200 and text.strip() != b"[]"

        _round_trips(WARMUP, lambda m: _alert(stack, web, m), at_ibsim)
        e2e, started_at = _round_trips(ROUNDS, lambda m: _alert(stack, web, m), at_ibsim)
        created = {
            o["orderRef"].split(".")[1]: o["createdAt"] for o in sim.get("/orders", clientId=1)
        }
        by_created = [(created[m] - t) * 1000 for m, t in started_at.items() if m in created]
        floor_paper = _paper_floor(stack, url)
        direct = _direct_place_ms(sim, ROUNDS)
        bare = _bare_redis_ms(url, ROUNDS)
        results["ib_e2e_p50_ms"] = round(percentile(e2e, 0.5), 3)
        results["ib_e2e_p99_ms"] = round(percentile(e2e, 0.99), 3)
        results["ib_e2e_created_p50_ms"] = round(percentile(by_created, 0.5), 3)
        results["floor_ib_paper_part_p50_ms"] = round(percentile(floor_paper, 0.5), 3)
        results["floor_ib_direct_place_p50_ms"] = round(percentile(direct, 0.5), 3)
        results["floor_ib_redis_rpc_p50_ms"] = round(percentile(bare, 0.5), 3)
        results["floor_ib_e2e_p50_ms"] = round(
            results["floor_ib_paper_part_p50_ms"]
            + results["floor_ib_direct_place_p50_ms"]
            + results["floor_ib_redis_rpc_p50_ms"],
            3,
        )
        results["ib_e2e_p50_ratio"] = round(
            results["ib_e2e_p50_ms"] / results["floor_ib_e2e_p50_ms"], 2
        )
        results["gateway_rss_mb"] = rss_mb(gateway.pid)
        roots = {name: process.pid for name, process in stack.processes.items()}
        if sim.process is not None:
            roots["ibsim"] = sim.process.pid
        results["ib_rss_after_mb"] = rss_by_process(roots)
    finally:
        stack.stop_all()
        sim.stop()
    return results


def _paper_floor(stack: Stack, url: str) -> list[float]:
    """Webhook-shaped floor: the bench floor app's ``/floor/task`` (a no-op Celery task that
    marks Redis), polled the same way, served like the real web process."""
    floor = Stack(stack.directory / "floor", url, stack.env["DATABASE_URL"], LOG_LEVEL="WARNING")
    floor.env["BROKER"] = "paper"
    try:
        start_floor_app(floor)
        client = Client(floor.port)

        def send(marker: str) -> None:
            client.request("POST", f"/floor/task?marker={marker}")

        def done(marker: str) -> bool:
            return b'"done"' in client.request("GET", f"/floor/marker/{marker}")[1]

        _round_trips(WARMUP, send, done)
        return _round_trips(ROUNDS, send, done)[0]
    finally:
        floor.stop_all()


if __name__ == "__main__":
    import tempfile

    from tests.support import RedisServer, migrate, sqlite_url

    where = Path(tempfile.mkdtemp(prefix="tvbridge-bench-ib-"))
    server = RedisServer(where / "redis", appendonly=True).start()
    try:
        ledger = sqlite_url(where)
        migrate(ledger)
        print(json.dumps(measure_ib(where, server.url, ledger), indent=2))
    finally:
        server.stop()
