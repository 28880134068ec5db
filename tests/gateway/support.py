"""The IB side of the test helpers: ibsim as a subprocess with its admin API, and the
stack with the gateway and the order-events consumer. Used by tests and bench/ib.py."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import redis
import requests

from tests.support import ROOT, RedisServer, Stack, wait_for
from trading.brokers import ibkr_protocol as wire
from trading.brokers.ibkr import PLACEMENT, IbkrBroker

READY = re.compile(rb"ibsim ready: api port (\d+), admin port (\d+)")

# Short intervals so reconnects and reclaims happen within a test's patience.
FAST_GATEWAY = {
    "IBKR_RECONNECT_MIN_SECONDS": "0.2",
    "IBKR_RECONNECT_MAX_SECONDS": "1",
    "IBKR_CLIENT_ID_IN_USE_SECONDS": "0.5",
    "IBKR_PROBE_INTERVAL_SECONDS": "1",
    "IBKR_PROBE_TIMEOUT_SECONDS": "1",
    "IBKR_CONNECTIVITY_HOLD_SECONDS": "60",
    "IBKR_RPC_RECLAIM_IDLE_SECONDS": "1",
    "IBKR_RPC_TIMEOUT_SECONDS": "3",
    "IBKR_PLACE_TIMEOUT_SECONDS": "8",
    "IBKR_LEDGER_SYNC_WAIT_SECONDS": "5",
    "IBKR_GATEWAY_LEASE_SECONDS": "1",
    "ALERT_MAX_AGE_SECONDS": "60",
}


class IbSim:
    """``python -m ibsim`` on free ports, with its admin API."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None
        self.port = self.admin_port = 0
        self.http = requests.Session()

    def start(self) -> IbSim:
        log = open(self.directory / "ibsim.log", "ab")  # noqa: SIM115 - lives with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ibsim", "--port", "0", "--admin-port", "0"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = READY.search(line)
        assert match, line
        self.port, self.admin_port = int(match[1]), int(match[2])
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)

    def get(self, path: str, **params: Any) -> Any:
        url = f"http://127.0.0.1:{self.admin_port}{path}"
        response = self.http.get(url, params=params, timeout=5)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"http://127.0.0.1:{self.admin_port}{path}"
        response = self.http.post(url, json=body or {}, timeout=5)
        response.raise_for_status()
        return response.json()

    def fault(self, kind: str, **body: Any) -> Any:
        return self.post("/faults", {"kind": kind, **body})

    def orders(self, reference: str) -> list[dict[str, Any]]:
        """ibsim's orders carrying ``reference`` (with or without IB's ``:<n>`` suffix)."""
        return [
            o
            for o in self.get("/orders")
            if (o.get("orderRef") or "").split(":", 1)[0] == reference
        ]


class IbStack(Stack):
    """The stack plus the gateway and the order-events consumer."""

    sim: IbSim
    redis: RedisServer

    def start_gateway(self, name: str = "gateway") -> subprocess.Popen[bytes]:
        return self._spawn(name, [sys.executable, "-m", "broker_gateway"])

    def start_events(self) -> subprocess.Popen[bytes]:
        return self._spawn("events", [sys.executable, "-m", "tasks.order_events"])

    def broker(self, **kwargs: float) -> IbkrBroker:
        return IbkrBroker(self.env["REDIS_URL"], **kwargs)

    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self.broker().health().__dict__
        return result

    def wait_serving(self, timeout: float = 20) -> None:
        def serving() -> bool:
            health = self.broker().health()
            return health.connected and health.tradeable

        wait_for(serving, timeout=timeout, message="the gateway to serve")

    def placements(self, reference: str) -> int:
        """``place_order`` requests the workers sent for ``reference``: the request stream
        keeps every one (up to its MAXLEN), so a resubmission the gateway answers from its
        own book still counts here."""
        client = redis.Redis.from_url(self.env["REDIS_URL"])
        try:
            entries: Any = client.xrange(wire.REQUESTS_STREAM)
        finally:
            client.close()
        count = 0
        for _entry_id, fields in entries:
            if fields.get(b"method") == PLACEMENT.encode():
                params = json.loads(fields.get(b"params") or b"{}")
                count += params.get("reference") == reference
        return count

    def gateway_reconnects(self) -> int:
        return int(self.broker().health().detail.get("reconnects") or 0)
