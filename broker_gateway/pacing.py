"""Our own pacing in front of ib_async.

IB allows about 50 messages a second per connection and answers error 100 (or drops the
session) beyond that. ib_async has a throttle too, but its queue is emptied on disconnect,
so a queued ``placeOrder`` would vanish silently. We switch that off and pace here instead:
callers wait their turn (a burst queues), nothing is dropped.
"""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """A token bucket: ``rate`` messages per second, at most ``rate`` in a burst."""

    def __init__(self, rate: int) -> None:
        self._rate = float(rate)
        self._tokens = float(rate)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self, messages: int = 1) -> None:
        """Wait until ``messages`` may be sent now. Fair: callers are served in order."""
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self._rate, self._tokens + (now - self._updated) * self._rate)
                self._updated = now
                if self._tokens >= messages:
                    self._tokens -= messages
                    return
                await asyncio.sleep((messages - self._tokens) / self._rate)
