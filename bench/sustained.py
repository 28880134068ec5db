"""A burst of alerts processed end to end on paper: how many per second the whole stack
sustains, and the CPU milliseconds each one costs summed over every process of the stack
(the web, the worker and its pool, Redis), beside the same burst through the floor (the
floor app publishing a no-op task that the same worker runs)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence

import redis
from sqlalchemy import func, select

from bench.common import Client
from bench.processes import cpu_seconds
from tests.support import Stack, wait_for
from trading.ledger.db import get_database
from trading.ledger.models import AlertRecord, AlertStatus

BURST = 400
CLIENTS = 8


def _fire(port: int, requests: Sequence[tuple[str, bytes | None]]) -> None:
    """Send every (path, body) POST over ``CLIENTS`` keep-alive connections."""
    errors: list[str] = []

    def work(share: Sequence[tuple[str, bytes | None]]) -> None:
        client = Client(port)
        for path, body in share:
            status, text = client.request("POST", path, body)
            if status != 202:
                errors.append(f"{status} {text[:200]!r}")

    threads = [threading.Thread(target=work, args=(requests[i::CLIENTS],)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} refused during the burst, e.g. {errors[0]}")


def _timed(
    pids: list[int], fire: Callable[[], None], done: Callable[[], bool]
) -> tuple[float, float]:
    """Seconds from the first send to the last completion, and CPU seconds spent meanwhile."""
    cpu_before, started = cpu_seconds(pids), time.perf_counter()
    fire()
    wait_for(done, timeout=300, interval=0.02, message="the burst to be processed")
    return time.perf_counter() - started, cpu_seconds(pids) - cpu_before


def measure_sustained(
    stack: Stack, floor: Stack, redis_pid: int, alert_body: Callable[[str], bytes]
) -> dict[str, float]:
    run = uuid.uuid4().hex[:8]
    ledger = get_database(stack.env["DATABASE_URL"])
    worker = stack.processes["worker"].pid

    def all_done() -> bool:
        with ledger.read() as session:
            finished = session.scalar(
                select(func.count())
                .select_from(AlertRecord)
                .where(
                    AlertRecord.alert_id.like(f"sus-{run}-%"),
                    AlertRecord.status.in_(AlertStatus.FINAL),
                )
            )
        return finished == BURST

    alerts = [("/webhook/tradingview", alert_body(f"sus-{run}-{n}")) for n in range(BURST)]
    seconds, cpu = _timed(
        [stack.processes["web"].pid, worker, redis_pid],
        lambda: _fire(stack.port, alerts),
        all_done,
    )

    markers = [f"sus-floor-{run}-{n}" for n in range(BURST)]
    client = redis.Redis.from_url(stack.env["REDIS_URL"])
    floor_seconds, floor_cpu = _timed(
        [floor.processes["web"].pid, worker, redis_pid],
        lambda: _fire(floor.port, [(f"/floor/task?marker={m}", None) for m in markers]),
        lambda: client.exists(*markers) == BURST,
    )
    return {
        "sustained_alerts_per_s": round(BURST / seconds, 1),
        "floor_sustained_per_s": round(BURST / floor_seconds, 1),
        "cpu_ms_per_alert": round(cpu * 1000 / BURST, 2),
        "floor_cpu_ms_per_alert": round(floor_cpu * 1000 / BURST, 2),
    }
