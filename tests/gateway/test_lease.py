"""The gateway lease against a real (private) Redis."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, cast

import redis.asyncio as aioredis

from broker_gateway.lease import LEASE_KEY, Lease
from tests.support import RedisServer

TTL = 0.5


class Looks:
    """A standby's Redis client that counts how often the standby looked at the lease, so
    a test waits for "it has looked" instead of for a guessed time."""

    def __init__(self, inner: aioredis.Redis) -> None:
        self.inner = inner
        self.count = 0

    async def get(self, key: str) -> Any:
        value = await self.inner.get(key)
        self.count += 1
        return value

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _until(check: Callable[[], bool], what: str, patience: float = 10.0) -> None:
    deadline = time.monotonic() + patience
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def _looked(looks: Looks, times: int) -> None:
    target = looks.count + times
    await _until(lambda: looks.count >= target, f"the standby to look {times} more times")


def test_a_standby_does_not_grab_a_lease_that_vanished_for_a_moment(
    redis_server: RedisServer,
) -> None:
    """Redis restarted empty: the standby sees the key free once, but the live primary
    renews it before the standby looks again, so the standby stays a standby."""

    async def scenario() -> tuple[bool, str | None]:
        client = aioredis.Redis.from_url(redis_server.url)
        await client.delete(LEASE_KEY)
        looks = Looks(client)
        primary = Lease(client, "primary", TTL)
        standby = Lease(cast(aioredis.Redis, looks), "standby", TTL)
        await primary.acquire()
        renewing = asyncio.ensure_future(primary.keep())
        waiting = asyncio.ensure_future(standby.acquire())
        await _looked(looks, 1)  # the standby has seen the primary
        renewing.cancel()  # Redis goes away: nobody can renew...
        await client.delete(LEASE_KEY)  # ...and it comes back empty
        await _looked(looks, 1)  # the standby has seen it free once
        await primary._renew()  # the primary's next renewal
        renewing = asyncio.ensure_future(primary.keep())
        await _looked(looks, 3)  # three more looks, each finding the primary
        took_over = waiting.done()
        waiting.cancel()
        renewing.cancel()
        holder = await client.get(LEASE_KEY)
        await client.aclose()
        return took_over, holder.decode() if holder else None

    assert asyncio.run(scenario()) == (False, "primary")


def test_a_standby_takes_over_a_lease_that_stays_free(redis_server: RedisServer) -> None:
    async def scenario() -> str | None:
        client = aioredis.Redis.from_url(redis_server.url)
        await client.delete(LEASE_KEY)
        looks = Looks(client)
        primary = Lease(client, "primary", TTL)
        standby = Lease(cast(aioredis.Redis, looks), "standby", TTL)
        await primary.acquire()
        renewing = asyncio.ensure_future(primary.keep())
        waiting = asyncio.ensure_future(standby.acquire())
        await _looked(looks, 1)  # the standby has seen the primary
        renewing.cancel()  # the primary died; its lease lapses
        await asyncio.wait_for(waiting, TTL * 6)
        holder = await client.get(LEASE_KEY)
        await client.aclose()
        return holder.decode() if holder else None

    assert asyncio.run(scenario()) == "standby"


def test_a_fresh_gateway_takes_a_free_lease_at_once(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        client = aioredis.Redis.from_url(redis_server.url)
        await client.delete(LEASE_KEY)
        await asyncio.wait_for(Lease(client, "first", TTL).acquire(), TTL / 2)
        await client.aclose()

    asyncio.run(scenario())
