"""The kill switch as the IB gateway sees it: a Redis key, declared once.

The ledger holds the halt (it survives restarts); the web publishes it here when it
changes and the sweeper publishes it again on every sweep, so a Redis that lost it has
it back within seconds. The gateway reads it before placing anything that is not a
reduction, so a stale worker cannot trade past a halt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

HALT_KEY = "tvbridge:halt"
# Longer than a few sweeps: if nothing republishes it, the gateway falls back to
# refusing (a missing key while the ledger says halted is caught by the next sweep).
HALT_TTL_SECONDS = 300


@dataclass(frozen=True)
class HaltFlag:
    halted: bool
    reason: str | None = None

    def encode(self) -> str:
        return json.dumps({"halted": self.halted, "reason": self.reason})

    @classmethod
    def decode(cls, raw: bytes | str | None) -> HaltFlag | None:
        """None when the key is absent: the gateway does not know yet."""
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return cls(bool(data.get("halted")), data.get("reason"))


def publish_halt(client: Any, flag: HaltFlag) -> None:
    """Write the flag with a plain (synchronous) redis client."""
    client.set(HALT_KEY, flag.encode(), ex=HALT_TTL_SECONDS)
