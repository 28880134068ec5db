"""``python -m bench``: webhook accept latency and throughput, alert → paper fill latency,
a sustained burst with its CPU cost, the same on PostgreSQL, and alert → ``placeOrder`` at
ibsim, each beside a floor measured in the same run with the same client, concurrency and
observation. Results: bench/results/latest.json and latest.md (see bench/README.md)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import start_floor_app
from bench.ib import measure_ib
from bench.paper import alert_body, measure_accept, measure_paper_fill
from bench.postgres import measure_postgres
from bench.processes import rss_by_process
from bench.report import markdown
from bench.sustained import measure_sustained
from tests.support import RedisServer, Stack, migrate, sqlite_url

RESULTS = Path(__file__).resolve().parent / "results"
ENV = {"LOG_LEVEL": "WARNING", "PAPER_STARTING_CASH": "1000000000000"}


def _roots(stack: Stack, redis_server: RedisServer) -> dict[str, int]:
    roots = {name: process.pid for name, process in stack.processes.items()}
    if redis_server.process is not None:
        roots["redis"] = redis_server.process.pid
    return roots


def measure_sqlite(directory: Path, redis_server: RedisServer) -> dict[str, Any]:
    url = sqlite_url(directory)
    migrate(url)
    stack = Stack(directory, redis_server.url, url, **ENV)
    floor = Stack(directory / "floor", redis_server.url, url, **ENV)
    results: dict[str, Any] = {}
    try:
        stack.start_web()
        stack.start_worker("worker", concurrency=2)
        start_floor_app(floor)
        results["rss_at_rest_mb"] = rss_by_process(_roots(stack, redis_server))
        results.update(measure_accept(stack, floor))
        results.update(measure_paper_fill(stack, floor))
        redis_pid = redis_server.process.pid if redis_server.process else 0
        results.update(measure_sustained(stack, floor, redis_pid, alert_body))
        results["rss_after_mb"] = rss_by_process(_roots(stack, redis_server))
    finally:
        floor.stop_all()
        stack.stop_all()
    return results


def main() -> int:
    directory = Path(tempfile.mkdtemp(prefix="tvbridge-bench-"))
    redis_server = RedisServer(directory / "redis", appendonly=True).start()
    results: dict[str, Any] = {}
    try:
        results.update(measure_sqlite(directory, redis_server))
        results.update(measure_postgres(directory, redis_server, ENV))
        ib_url = sqlite_url(directory / "ib-ledger")
        (directory / "ib-ledger").mkdir()
        migrate(ib_url)
        results.update(measure_ib(directory, redis_server.url, ib_url))
    finally:
        redis_server.stop()
    results["accept_p50_ratio"] = round(
        results["accept_p50_ms"] / results["floor_accept_p50_ms"], 2
    )
    results["e2e_p50_ratio"] = round(results["e2e_p50_ms"] / results["floor_e2e_p50_ms"], 2)
    results["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "latest.md").write_text(markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
