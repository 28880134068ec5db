"""One active gateway per IB login: a Redis lease, a second gateway waits on standby.

The lease only decides who *starts*. A primary never drops IB because of the lease: if
the key vanished (Redis restarted empty) it simply takes it again, and if another gateway
took it meanwhile, IB itself fences the newcomer (same client id → error 326) while the
primary keeps trading and logs the conflict.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from trading.brokers.ibkr_protocol import PREFIX

log = logging.getLogger(__name__)
LEASE_KEY = PREFIX + "lease"

# Take the lease if it is free or already ours; answer who holds it.
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return holder
"""


class Lease:
    def __init__(self, client: aioredis.Redis, owner: str, ttl: float) -> None:
        self._redis = client
        self.owner = owner
        self._ttl_ms = int(ttl * 1000)
        self._ttl = ttl

    async def _renew(self) -> str | None:
        # redis-py types eval for sync and async clients alike; this client is async.
        holder = await cast(
            "Awaitable[Any]", self._redis.eval(_RENEW, 1, LEASE_KEY, self.owner, str(self._ttl_ms))
        )
        return holder.decode() if isinstance(holder, bytes) else holder

    async def acquire(self) -> None:
        """Wait (on standby) until this gateway holds the lease.

        A gateway that has seen another one active takes the lease only after finding it
        free twice, a lease period apart: a key that vanished in a Redis restart is renewed
        by a live primary within a quarter period, so the standby stays a standby.
        """
        announced = False
        seen_other = free_before = False
        while True:
            try:
                current = await cast("Awaitable[Any]", self._redis.get(LEASE_KEY))
                holder = current.decode() if isinstance(current, bytes) else current
                if holder is None and (free_before or not seen_other):
                    holder = await self._renew()
            except RedisError as error:
                log.warning("lease not checked (%s); retrying", error)
                holder = None
            if holder == self.owner:
                log.info("holding the gateway lease as %s", self.owner)
                return
            free_before = holder is None
            if holder:
                seen_other = True
            if not announced and holder:
                log.info("standby: gateway %s is active; waiting for its lease to lapse", holder)
                announced = True
            # Slower than the primary's renewal, so a live primary keeps winning the race
            # for a key lost in a Redis restart.
            await asyncio.sleep(self._ttl)

    async def keep(self) -> None:
        """Renew for as long as the process runs; a conflict is logged, never acted on."""
        while True:
            await asyncio.sleep(self._ttl / 4)
            try:
                holder = await self._renew()
            except RedisError as error:
                log.warning("lease not renewed (%s); keeping IB", error)
                continue
            if holder != self.owner:
                log.error(
                    "gateway %s took the lease; keeping IB (IB fences it by client id)", holder
                )

    async def release(self) -> None:
        release = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end"
        with contextlib.suppress(RedisError):
            await cast("Awaitable[Any]", self._redis.eval(release, 1, LEASE_KEY, self.owner))
