"""Fixtures: a simulator on free loopback ports and real ib_async clients against it."""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ibsim import IBSim, SimThread

if TYPE_CHECKING:
    # Imported lazily elsewhere so that the reference-client conformance test can run in an
    # environment that has IB's ibapi but not ib_async.
    from ib_async import IB

HOST = "127.0.0.1"


class Admin:
    """A tiny client for the simulator's admin HTTP API."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
        try:
            data = None if body is None else json.dumps(body)
            connection.request(method, path, data, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = json.loads(response.read())
        finally:
            connection.close()
        assert response.status == expect, (response.status, payload)
        return payload

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, body if body is not None else {})


class Clients:
    """Connects ib_async clients and records the errors each one receives."""

    def __init__(self, sim: SimThread) -> None:
        self.sim = sim
        self.connected: list[IB] = []
        self.errors: dict[int, list[tuple[int, int, str]]] = {}

    def connect(self, client_id: int = 1, timeout: float = 5, **kwargs: Any) -> IB:
        from ib_async import IB

        ib = IB()
        ib.RaiseRequestErrors = False
        log = self.errors.setdefault(client_id, [])
        ib.errorEvent += lambda req_id, code, text, contract: log.append((req_id, code, text))
        ib.connect(HOST, self.sim.port, clientId=client_id, timeout=timeout, **kwargs)
        self.connected.append(ib)
        return ib

    def close(self) -> None:
        for ib in self.connected:
            ib.disconnect()


WORKING = ("PreSubmitted", "Submitted")


def wait_until(
    condition: Callable[[], Any], timeout: float = 3.0, ib: IB | None = None, what: str = ""
) -> Any:
    """Poll ``condition`` (letting ib_async's loop run) until truthy or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        if ib is not None:
            try:
                ib.sleep(0.005)
            except ConnectionError:
                # ib_async raises out of sleep() when its socket drops; keep polling.
                time.sleep(0.005)
        else:
            time.sleep(0.005)


# ib_async logs (rather than raises) what it cannot decode or match; any of these means the
# simulator sent something a real client would mishandle.
PROTOCOL_TROUBLE = (
    "Error handling fields",
    "Error for ",
    "No order found",
    "Unknown reqId",
    "unhandled value",
    "malformed value",
)


class _TroubleLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if any(marker in message for marker in PROTOCOL_TROUBLE):
            self.found.append(message)


@pytest.fixture(autouse=True)
def no_protocol_trouble() -> Iterator[None]:
    handler = _TroubleLog()
    logger = logging.getLogger("ib_async")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert not handler.found, handler.found


@pytest.fixture
def sim_options() -> dict[str, Any]:
    return {}


@pytest.fixture(params=[False, True], ids=["plain", "realism"])
def realism(request: pytest.FixtureRequest) -> bool:
    """Every test on the shared simulator fixture runs in both modes."""
    return bool(request.param)


@pytest.fixture
def sim(sim_options: dict[str, Any], realism: bool) -> Iterator[SimThread]:
    options = {"realism": realism, **sim_options}
    runner = IBSim.start_in_thread(port=0, admin_port=0, **options)
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture
def admin(sim: SimThread) -> Admin:
    return Admin(sim.admin_port)


@pytest.fixture
def clients(sim: SimThread) -> Iterator[Clients]:
    pool = Clients(sim)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def ib(clients: Clients) -> IB:
    return clients.connect(1)
