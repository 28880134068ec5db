"""R3: a Redis that would lose queued alerts (evicting keys, or persisting nothing) is
warned about when the web and the workers start, and shown in /health, with private
redis-servers started with exactly those settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from config.redis_durability import durability_warnings
from tests.support import RedisServer, Stack, migrate, sqlite_url

EVICTS = "maxmemory-policy"
VOLATILE = "persists nothing"


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[RedisServer]:
    appendonly, extra = request.param
    started = RedisServer(tmp_path / "redis", appendonly=appendonly, extra=extra).start()
    yield started
    started.stop()


def _warnings(server: RedisServer) -> list[str]:
    client = redis.Redis.from_url(server.url)
    try:
        return durability_warnings(client)
    finally:
        client.close()


@pytest.mark.parametrize("server", [(True, ("--maxmemory-policy", "noeviction"))], indirect=True)
def test_a_durable_redis_gets_no_warning(server: RedisServer) -> None:
    assert _warnings(server) == []


@pytest.mark.parametrize("server", [(False, ("--save", "3600 1"))], indirect=True)
def test_snapshots_alone_are_warned_about(server: RedisServer) -> None:
    [warning] = _warnings(server)
    assert "only by snapshots" in warning


@pytest.mark.parametrize("server", [(False, ("--maxmemory-policy", "allkeys-lru"))], indirect=True)
def test_web_and_worker_warn_at_start_and_health_shows_it(
    server: RedisServer, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path)
    migrate(url)
    stack = Stack(tmp_path, server.url, url)
    try:
        stack.start_web()
        stack.start_worker(concurrency=1)
        for name in ("web", "worker"):
            lines = [line for line in stack.log(name).splitlines() if "WARNING" in line]
            assert any(EVICTS in line and "allkeys-lru" in line for line in lines), name
            assert any(VOLATILE in line for line in lines), name
        health = stack.session.get(stack.url + "/health", timeout=5).json()
        assert any(EVICTS in warning for warning in health["warnings"]), health
        assert any(VOLATILE in warning for warning in health["warnings"]), health
    finally:
        stack.stop_all()
