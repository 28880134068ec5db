"""Latency and throughput on loopback: connect, a market order's fill, many paced clients.

Timing bounds belong to a quiet machine, so these run in ``make soak``, not ``make test``.
Run with ``-s`` to see the figures:
``.venv/bin/pytest tests/ibsim/test_performance.py -m soak -q -s -p no:cacheprovider``.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
from ib_async import IB, MarketOrder, Stock

from ibsim import IBSim
from tests.ibsim.conftest import HOST

pytestmark = pytest.mark.soak

AAPL = Stock("AAPL", "SMART", "USD", conId=265598)


def test_connect_and_fill_latency() -> None:
    async def scenario() -> tuple[list[float], list[float]]:
        async with IBSim(port=0, admin_port=None) as sim:
            connects = []
            for client_id in range(1, 21):
                ib = IB()
                started = time.perf_counter()
                await ib.connectAsync(HOST, sim.port, clientId=client_id, timeout=5)
                connects.append(time.perf_counter() - started)
                ib.disconnect()
            ib = IB()
            await ib.connectAsync(HOST, sim.port, clientId=99, timeout=5)
            fills = []
            for _ in range(30):  # stays under ib_async's own 45/s throttle
                done = asyncio.get_running_loop().create_future()
                started = time.perf_counter()
                trade = ib.placeOrder(AAPL, MarketOrder("BUY", 1))
                trade.filledEvent += lambda _t, done=done: done.set_result(time.perf_counter())
                fills.append(await asyncio.wait_for(done, 2) - started)
            ib.disconnect()
            return connects, fills

    connects, fills = asyncio.run(scenario())
    connect_ms = statistics.median(connects) * 1000
    fill_ms = statistics.median(fills) * 1000
    print(f"\nconnect median {connect_ms:.2f} ms, max {max(connects) * 1000:.2f} ms")
    print(f"MKT fill to client median {fill_ms:.2f} ms, max {max(fills) * 1000:.2f} ms")
    assert connect_ms < 50
    assert fill_ms < 5


def test_many_clients_at_the_pacing_limit() -> None:
    clients, per_client, rate = 20, 150, 50

    async def scenario() -> tuple[float, list[int], list[float]]:
        async with IBSim(port=0, admin_port=None) as sim:
            ibs = []
            errors: list[int] = []
            for client_id in range(1, clients + 1):
                ib = IB()
                ib.errorEvent += lambda r, code, m, c: errors.append(code)
                await ib.connectAsync(HOST, sim.port, clientId=client_id, timeout=5)
                ib.client.MaxRequests = rate  # exactly IB's limit, no client-side margin
                ibs.append(ib)
            await asyncio.sleep(1.1)  # let each client's throttle window empty
            baseline = [ib.client.connectionStats().numMsgRecv for ib in ibs]
            started = time.perf_counter()
            for ib in ibs:
                for _ in range(per_client):
                    ib.client.reqCurrentTime()
            finish: list[float] = []
            for ib, base in zip(ibs, baseline, strict=True):
                for _ in range(2000):  # 10 s at most
                    if ib.client.connectionStats().numMsgRecv >= base + per_client:
                        break
                    await asyncio.sleep(0.005)
                finish.append(time.perf_counter() - started)
            for ib in ibs:
                ib.disconnect()
            return time.perf_counter() - started, errors, finish

    elapsed, errors, finish = asyncio.run(scenario())
    total = clients * per_client
    print(f"\n{clients} clients x {per_client} requests at {rate}/s: {total} in {elapsed:.2f} s")
    assert 100 not in errors
    # Each client's own throttle needs just over one second for 100 requests at 50/s.
    assert max(finish) < per_client / rate + 0.5
