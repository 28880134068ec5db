"""Failed webhook authentications are limited per source address.

TradingView sends every user's alerts from the same four addresses, so limiting those
would let a stranger with a TradingView account throttle our own alerts: they (and any
allow-listed or loopback address, e.g. a local reverse proxy) are never limited. Counters
live in Redis; if Redis does not answer, nothing is limited (authentication still holds).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence
from functools import lru_cache
from typing import cast

import redis

from config.settings import TRADINGVIEW_ADDRESSES

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
_PREFIX = "tvbridge:authfail:"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.2, socket_connect_timeout=0.2)


class FailedAuthLimiter:
    def __init__(self, redis_url: str, per_minute: int, allowed: Sequence[Network]) -> None:
        self._redis = _client(redis_url)
        self._limit = per_minute
        self._exempt = [*allowed, *(ipaddress.ip_network(a) for a in TRADINGVIEW_ADDRESSES)]

    def exempt(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return ip.is_loopback or any(ip in network for network in self._exempt)

    def blocked(self, address: str) -> bool:
        if self.exempt(address):
            return False
        try:
            count = cast("bytes | None", self._redis.get(_PREFIX + address))
        except redis.RedisError as error:
            log.debug("auth limiter unavailable: %s", error)
            return False
        return count is not None and int(count) >= self._limit

    def record_failure(self, address: str) -> bool:
        """Count a failure; True when this one reached the limit."""
        if self.exempt(address):
            return False
        try:
            pipe = self._redis.pipeline()
            pipe.incr(_PREFIX + address)
            pipe.expire(_PREFIX + address, WINDOW_SECONDS, nx=True)
            count, _ = pipe.execute()
        except redis.RedisError as error:
            log.debug("auth limiter unavailable: %s", error)
            return False
        return int(count) == self._limit
