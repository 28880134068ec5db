"""The connection supervisor: one task owns the IB socket.

Connect (back-off with jitter, the same client id every time), reconcile, then watch:
a dropped socket or a failed liveness probe (``reqCurrentTime`` with a deadline) means
reconnect. IB's own connectivity notices do not touch the socket: 1100 holds trading
(reconnecting only if it lasts too long), 1102 resumes, 1101 resynchronises. 326 (client id
in use, e.g. the previous session not yet freed) waits longer and retries with the same id.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ib_async import IB, Contract

from broker_gateway.codes import (
    CLIENT_ID_IN_USE,
    CONNECTIVITY_LOST,
    CONNECTIVITY_RESTORED_DATA_KEPT,
    CONNECTIVITY_RESTORED_DATA_LOST,
    PACING_VIOLATION,
)
from broker_gateway.pacing import Pacer
from broker_gateway.state import GatewayState
from config.settings import Settings

log = logging.getLogger(__name__)

CONNECT_ERRORS = (OSError, ConnectionError, TimeoutError, asyncio.TimeoutError)


class Supervisor:
    def __init__(
        self,
        ib: IB,
        state: GatewayState,
        pacer: Pacer,
        settings: Settings,
        reconcile: Callable[[], Awaitable[None]],
    ) -> None:
        self._ib = ib
        self._state = state
        self._pacer = pacer
        self._settings = settings
        self._reconcile = reconcile
        self._wake = asyncio.Event()
        self._wake_reason = ""
        self._client_id_in_use = False
        self._resync_task: asyncio.Task[None] | None = None
        # Handlers are registered once: a reconnect must not add a second copy.
        ib.errorEvent += self._on_error
        ib.disconnectedEvent += self._on_disconnected

    # --- IB callbacks (sync, on the loop) ---------------------------------------------

    def _on_disconnected(self) -> None:
        if self._state.connected:
            log.warning("IB socket closed")
        if self._resync_task is not None:
            # A resync belongs to the connection it started on; the reconnect reconciles anew.
            self._resync_task.cancel()
            self._resync_task = None
        self._state.mark_down("socket closed")
        self._wakeup("socket closed")

    def _on_error(self, req_id: int, code: int, message: str, contract: Contract | None) -> None:
        if code in CLIENT_ID_IN_USE:
            self._client_id_in_use = True
            log.error(
                "IB error 326: client id %d in use: %s", self._settings.ibkr_client_id, message
            )
        elif code in CONNECTIVITY_LOST:
            if self._state.connectivity_lost_since is None:
                self._state.connectivity_lost_since = time.monotonic()
            self._state.tradeable = False
            log.warning("IB 1100: %s; holding orders until it is restored", message)
        elif code in CONNECTIVITY_RESTORED_DATA_KEPT:
            self._state.connectivity_lost_since = None
            self._state.tradeable = True
            log.info("IB 1102: %s; trading resumed", message)
        elif code in CONNECTIVITY_RESTORED_DATA_LOST:
            self._state.connectivity_lost_since = None
            log.warning("IB 1101: %s; resynchronising before trading", message)
            self._resync_task = asyncio.ensure_future(self._resync())
        elif code in PACING_VIOLATION:
            log.error("IB pacing violation (100) despite our pacer: %s", message)

    async def _resync(self) -> None:
        # Not serving meanwhile: requests are answered "unavailable" (and retried) rather
        # than racing the resync's queries.
        self._state.tradeable = self._state.reconciled = False
        try:
            await self._ib.reqAccountUpdatesAsync(self._state.account)
            await self._reconcile()
            self._state.reconciled = True
            # A new 1100 during the resync keeps trading on hold.
            self._state.tradeable = self._state.connectivity_lost_since is None
        except (*CONNECT_ERRORS, Exception) as error:  # noqa: BLE001 - any failure: reconnect
            self._wakeup(f"resync after 1101 failed: {error}")

    def _wakeup(self, reason: str) -> None:
        self._wake_reason = self._wake_reason or reason
        self._wake.set()

    # --- the loop ---------------------------------------------------------------------

    async def run(self) -> None:
        failures = 0
        while True:
            if not await self._connect_and_reconcile():
                failures += 1
                await asyncio.sleep(self._backoff(failures))
                continue
            failures = 0
            reason = await self._watch()
            log.warning("reconnecting to IB: %s", reason)
            self._state.mark_down(reason)
            self._ib.disconnect()
            self._state.reconnects += 1
            # IB frees a client id asynchronously; an instant reconnect meets 326.
            await asyncio.sleep(self._settings.ibkr_reconnect_min_seconds * random.uniform(0.5, 1))  # noqa: S311

    def _backoff(self, failures: int) -> float:
        settings = self._settings
        wait = min(
            settings.ibkr_reconnect_max_seconds,
            settings.ibkr_reconnect_min_seconds * 2 ** min(failures - 1, 10),
        )
        if self._client_id_in_use:
            wait = max(wait, settings.ibkr_client_id_in_use_seconds)
            self._client_id_in_use = False
        return float(wait * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto

    async def _connect_and_reconcile(self) -> bool:
        settings = self._settings
        self._wake.clear()
        self._wake_reason = ""
        self._state.connectivity_lost_since = None
        try:
            await self._ib.connectAsync(
                settings.ibkr_host,
                settings.ibkr_port,
                clientId=settings.ibkr_client_id,
                timeout=settings.ibkr_connect_timeout_seconds,
                account=settings.ibkr_account_id,
                raiseSyncErrors=True,
            )
        except CONNECT_ERRORS as error:
            self._state.mark_down(f"connect failed: {type(error).__name__}: {error}")
            log.warning(
                "IB connect to %s:%s failed: %s", settings.ibkr_host, settings.ibkr_port, error
            )
            self._ib.disconnect()
            return False
        self._state.mark_connected(
            self._ib.client.serverVersion(), self._ib.managedAccounts(), settings.ibkr_account_id
        )
        log.info(
            "connected to IB %s:%s as client %d (server version %s, accounts %s)",
            settings.ibkr_host,
            settings.ibkr_port,
            settings.ibkr_client_id,
            self._state.server_version,
            ",".join(self._state.accounts),
        )
        try:
            await self._reconcile()
        except (*CONNECT_ERRORS, Exception) as error:  # noqa: BLE001 - any failure: start over
            log.warning("reconcile failed (%s); reconnecting", error)
            self._state.mark_down(f"reconcile failed: {error}")
            self._ib.disconnect()
            return False
        if not self._ib.isConnected():
            return False
        self._state.reconciled = True
        log.info("serving RPCs")
        return True

    async def _watch(self) -> str:
        """Return the reason to reconnect: socket closed, probe failed, 1100 for too long."""
        interval = self._settings.ibkr_probe_interval_seconds
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), interval)
                return self._wake_reason or "woken"
            except TimeoutError:
                pass
            lost_since = self._state.connectivity_lost_since
            hold = self._settings.ibkr_connectivity_hold_seconds
            if lost_since is not None and time.monotonic() - lost_since > hold:
                return f"IB connectivity lost (1100) for more than {hold:.0f}s"
            if not await self._probe():
                return "liveness probe unanswered"

    async def _probe(self) -> bool:
        started = time.perf_counter()
        try:
            await self._pacer.acquire()
            await asyncio.wait_for(
                self._ib.reqCurrentTimeAsync(), self._settings.ibkr_probe_timeout_seconds
            )
        except (*CONNECT_ERRORS, Exception) as error:  # noqa: BLE001 - any failure: reconnect
            log.warning("liveness probe failed: %s", error)
            return False
        self._state.probe_latency_ms = round((time.perf_counter() - started) * 1000, 2)
        self._state.last_probe_at = time.time()
        return True

    def info(self) -> dict[str, Any]:
        return {"client_id_in_use": self._client_id_in_use}
