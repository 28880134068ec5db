"""IB's request pacing: 50 messages a second per client, enforced as a token bucket."""

from __future__ import annotations

import time
from collections.abc import Callable

DEFAULT_RATE = 50.0
# ib_async throttles itself to 45 (at most 50) messages in any one-second window and sends
# each window's messages back to back. A bucket of one second's worth plus a little slack
# accepts such a client even when network and scheduling jitter bunch its windows together,
# and still refuses one that sustains more than 50 a second.
DEFAULT_BURST = 60.0


class TokenBucket:
    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        burst: float = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()
        self.rejected = 0

    def allow(self) -> bool:
        if self.rate <= 0:
            return True
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.rejected += 1
        return False
