"""The connection supervisor on its own, in-process against ibsim (no Redis, no stack):
1100 longer than the hold reconnects; 326 backs off and retries with the same client id."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import pytest
import requests
from ib_async import IB

from broker_gateway.pacing import Pacer
from broker_gateway.state import GatewayState
from broker_gateway.supervisor import Supervisor
from config.settings import Settings, load_settings
from ibsim import IBSim


def _settings(port: int, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "broker": "ibkr",
        "ibkr_port": port,
        "ibkr_reconnect_min_seconds": 0.1,
        "ibkr_reconnect_max_seconds": 0.3,
        "ibkr_client_id_in_use_seconds": 0.3,
        "ibkr_probe_interval_seconds": 0.2,
        "ibkr_probe_timeout_seconds": 1,
        "ibkr_connect_timeout_seconds": 5,
    }
    values.update(overrides)
    return load_settings(**values)


async def _until(check: Callable[[], bool], patience: float, what: str) -> None:
    deadline = time.monotonic() + patience
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _fault(sim: IBSim, body: dict[str, object]) -> None:
    url = f"http://127.0.0.1:{sim.admin_port}/faults"
    response = await asyncio.to_thread(requests.post, url, json=body, timeout=5)
    response.raise_for_status()


async def _noop() -> None:
    return None


def test_1100_longer_than_the_hold_reconnects() -> None:
    async def scenario() -> None:
        async with IBSim(port=0, admin_port=0) as sim:
            state = GatewayState()
            ib = IB()
            settings = _settings(sim.port, ibkr_connectivity_hold_seconds=0.6)
            supervisor = Supervisor(ib, state, Pacer(45), settings, _noop)
            task = asyncio.ensure_future(supervisor.run())
            try:
                await _until(lambda: state.serving, 5, "serving")
                await _fault(sim, {"kind": "connectivity", "code": 1100})
                await _until(lambda: not state.tradeable, 2, "not tradeable")
                assert state.connected and state.reconnects == 0
                await _until(lambda: state.reconnects >= 1, 5, "a reconnect after the hold")
                await _fault(sim, {"kind": "connectivity", "code": 1102})
                await _until(lambda: state.serving and state.tradeable, 5, "tradeable again")
            finally:
                task.cancel()
                ib.disconnect()

    asyncio.run(scenario())


def test_client_id_in_use_backs_off_and_retries_the_same_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        async with IBSim(port=0, admin_port=0) as sim:
            holder = IB()
            await holder.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=5)
            state = GatewayState()
            ib = IB()
            supervisor = Supervisor(ib, state, Pacer(45), _settings(sim.port), _noop)
            task = asyncio.ensure_future(supervisor.run())
            try:
                await _until(lambda: "326" in caplog.text, 5, "error 326")
                assert not state.connected
                holder.disconnect()
                await _until(lambda: state.serving, 10, "connected with the same id")
                assert ib.client.clientId == 1
            finally:
                task.cancel()
                ib.disconnect()
                holder.disconnect()

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
