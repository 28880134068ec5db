"""What the gateway knows about its connection, shared by the supervisor, RPC and health."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

_ANNOUNCED = frozenset({"connected", "reconciled", "tradeable"})


@dataclass
class GatewayState:
    """``serving`` = connected and reconciled: only then are RPCs executed.
    ``tradeable`` additionally means IB is connected to its own servers (no 1100 pending)."""

    connected: bool = False
    reconciled: bool = False
    tradeable: bool = False
    server_version: int | None = None
    accounts: list[str] = field(default_factory=list)
    account: str = ""  # the account orders go to: IBKR_ACCOUNT_ID, else the only one
    probe_latency_ms: float | None = None
    last_probe_at: float | None = None
    connectivity_lost_since: float | None = None
    down_reason: str | None = "starting"
    connected_since: float | None = None
    reconnects: int = 0
    foreign_open_orders: int = 0
    missing_at_broker: list[str] = field(default_factory=list)
    # Set whenever the connection is lost, so waiters (a place awaiting IB's ack) stop.
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    # Set when connected/reconciled/tradeable change, so health is published at once.
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        if name in _ANNOUNCED and "changed" in self.__dict__:
            self.changed.set()

    @property
    def serving(self) -> bool:
        return self.connected and self.reconciled

    def why_not_serving(self, *, need_tradeable: bool = False) -> str | None:
        if not self.connected:
            return f"IB not connected: {self.down_reason or 'connecting'}"
        if not self.reconciled:
            return "IB connected, reconciling orders and positions"
        if need_tradeable and not self.tradeable:
            return "IB is not tradeable (error 1100: IB lost its connection to its servers)"
        return None

    def mark_down(self, reason: str) -> None:
        self.connected = self.reconciled = self.tradeable = False
        self.down_reason = reason
        self.connected_since = None
        self.lost.set()

    def mark_connected(self, server_version: int, accounts: list[str], account: str) -> None:
        self.connected, self.reconciled = True, False
        # A 1100 may already have arrived during the handshake (IB repeats it to new sessions).
        self.tradeable = self.connectivity_lost_since is None
        self.server_version, self.accounts = server_version, accounts
        self.account = account or (accounts[0] if accounts else "")
        self.down_reason = None
        self.connected_since = time.time()
        self.lost = asyncio.Event()

    def health(self) -> dict[str, Any]:
        return {
            "connected": self.connected,
            "reconciled": self.reconciled,
            "serving": self.serving,
            "tradeable": self.serving and self.tradeable,
            "latency_ms": self.probe_latency_ms,
            "last_probe_at": self.last_probe_at,
            "server_version": self.server_version,
            "accounts": self.accounts,
            "reason": self.why_not_serving(need_tradeable=True),
            "connected_since": self.connected_since,
            "reconnects": self.reconnects,
            "foreign_open_orders": self.foreign_open_orders,
            "missing_at_broker": self.missing_at_broker[-20:],
            "published_at": time.time(),
        }
