"""The paper measures again with the ledger on PostgreSQL (the production setting for
workers on several hosts), each beside the floor measured in the same phase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import start_floor_app
from bench.paper import measure_accept, measure_paper_fill
from tests.support import RedisServer, Stack, migrate, postgres_database

PG_KEYS = (
    "accept_p50_ms",
    "accept_p99_ms",
    "accept_rps",
    "e2e_p50_ms",
    "e2e_p99_ms",
)


def measure_postgres(
    directory: Path, redis_server: RedisServer, env: dict[str, str]
) -> dict[str, Any]:
    """``pg_*`` and ``floor_pg_*``; ``pg_skipped`` with the reason when none answers."""
    with postgres_database() as url:
        if url is None:
            return {"pg_skipped": "no PostgreSQL answers on 127.0.0.1:5432"}
        migrate(url)
        (directory / "pg").mkdir(parents=True, exist_ok=True)
        stack = Stack(directory / "pg", redis_server.url, url, **env)
        floor = Stack(directory / "pg" / "floor", redis_server.url, url, **env)
        try:
            stack.start_web()
            stack.start_worker("worker", concurrency=2)
            start_floor_app(floor)
            measured = {
                **measure_accept(stack, floor, beside_idle=False),
                **measure_paper_fill(stack, floor),
            }
        finally:
            floor.stop_all()
            stack.stop_all()
    results: dict[str, Any] = {}
    for key in PG_KEYS:
        results[f"pg_{key}"] = measured[key]
        if f"floor_{key}" in measured:
            results[f"floor_pg_{key}"] = measured[f"floor_{key}"]
    return results
