"""Load generator: many ib_async clients against ibsim, each at a fixed message rate.

    python -m tests.ibsim.loadgen --clients 20 --rate 50 --seconds 3 --mode requests
    python -m tests.ibsim.loadgen --port 7497 --clients 10 --rate 45 --mode orders

Without ``--port`` it starts a simulator in a child process, so the clients' own decoding
does not share a CPU with the server's work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ib_async import IB, MarketOrder, Stock

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[2]
AAPL = Stock("AAPL", "SMART", "USD", conId=265598)


async def run_client(ib: IB, args: argparse.Namespace, latencies: list[float]) -> None:
    count = int(args.rate * args.seconds)
    start = time.perf_counter()
    for index in range(count):
        await asyncio.sleep(max(0.0, start + index / args.rate - time.perf_counter()))
        sent = time.perf_counter()
        if args.mode == "orders":
            trade = ib.placeOrder(AAPL, MarketOrder("BUY" if index % 2 == 0 else "SELL", 1))
            trade.filledEvent += lambda _t, sent=sent: latencies.append(time.perf_counter() - sent)
        else:
            await ib.reqCurrentTimeAsync()
            latencies.append(time.perf_counter() - sent)


async def main(args: argparse.Namespace, port: int) -> None:
    clients = []
    errors: list[int] = []
    for client_id in range(1, args.clients + 1):
        ib = IB()
        ib.errorEvent += lambda r, code, m, c: errors.append(code)
        await ib.connectAsync(HOST, port, clientId=client_id, timeout=10)
        ib.client.MaxRequests = int(args.rate)
        clients.append(ib)
    await asyncio.sleep(1.1)
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.gather(*(run_client(ib, args, latencies) for ib in clients))
    expected = args.clients * int(args.rate * args.seconds)
    for _ in range(2000):
        if len(latencies) >= expected:
            break
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    latencies.sort()
    print(
        f"{args.clients} clients x {args.rate:g}/s x {args.seconds:g} s ({args.mode}): "
        f"{len(latencies)}/{expected} answered in {elapsed:.2f} s; "
        f"median {statistics.median(latencies) * 1000:.2f} ms, "
        f"p99 {latencies[int(len(latencies) * 0.99) - 1] * 1000:.2f} ms, "
        f"error 100 seen {errors.count(100)} times"
    )
    for ib in clients:
        ib.disconnect()


def start_server() -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "ibsim", "--port", "0", "--admin-port", "0"]
    command += ["--log-level", "WARNING"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    match = re.search(r"api port (\d+)", process.stdout.readline())
    assert match, "ibsim did not start"
    return process, int(match[1])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, help="an ibsim already running (else one is started)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second per client")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--mode", choices=("requests", "orders"), default="requests")
    arguments = parser.parse_args()
    server = None
    if arguments.port is None:
        server, port = start_server()
    else:
        port = arguments.port
    try:
        asyncio.run(main(arguments, port))
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
