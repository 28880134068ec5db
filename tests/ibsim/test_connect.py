"""Connecting with the unmodified ib_async client: handshake, notices, client ids."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import pytest
from ib_async import IB

from ibsim import IBSim
from tests.ibsim.conftest import HOST, Clients, wait_until


def test_blocking_connect_reports_accounts_and_notices(clients: Clients) -> None:
    ib = clients.connect(7)
    assert ib.isConnected()
    assert ib.managedAccounts() == ["DU1234567"]
    assert ib.client.serverVersion() == 157
    codes = wait_until(lambda: {code for _, code, _ in clients.errors[7]}, ib=ib)
    assert {2104, 2106, 2158} <= codes


def test_async_connect_and_current_time() -> None:
    async def scenario() -> None:
        async with IBSim(port=0, admin_port=None) as sim:
            ib = IB()
            await ib.connectAsync(HOST, sim.port, clientId=3, timeout=5)
            try:
                now = await ib.reqCurrentTimeAsync()
                assert abs(now.timestamp() - time.time()) < 5
                assert ib.client.getReqId() >= 1
            finally:
                ib.disconnect()

    asyncio.run(scenario())


@pytest.mark.parametrize("version", [157, 163, 170, 178])
def test_every_supported_server_version_connects(version: int) -> None:
    runner = IBSim.start_in_thread(port=0, admin_port=None, server_version=version)
    ib = IB()
    try:
        ib.connect(HOST, runner.port, clientId=1, timeout=5)
        assert ib.client.serverVersion() == version
        assert ib.reqContractDetails(ib.qualifyContracts(_aapl())[0])
    finally:
        ib.disconnect()
        runner.stop()


def _aapl() -> object:
    from ib_async import Stock

    return Stock("AAPL", "SMART", "USD")


def test_handshake_bytes_and_version_choice(sim: object) -> None:
    from ibsim import SimThread

    assert isinstance(sim, SimThread)
    with socket.create_connection((HOST, sim.port), timeout=5) as conn:
        greeting = b"v100..157"
        conn.sendall(b"API\0" + struct.pack(">I", len(greeting)) + greeting)
        size = struct.unpack(">I", _read_exact(conn, 4))[0]
        fields = _read_exact(conn, size).split(b"\0")[:-1]
    assert fields[0] == b"157"
    assert len(fields) == 2


def test_client_range_above_ours_is_answered_inside_it() -> None:
    runner = IBSim.start_in_thread(port=0, admin_port=None, server_version=178)
    try:
        with socket.create_connection((HOST, runner.port), timeout=5) as conn:
            greeting = b"v157..170"
            conn.sendall(b"API\0" + struct.pack(">I", len(greeting)) + greeting)
            size = struct.unpack(">I", _read_exact(conn, 4))[0]
            fields = _read_exact(conn, size).split(b"\0")[:-1]
        assert fields[0] == b"170"
    finally:
        runner.stop()


def _read_exact(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        assert chunk, "connection closed early"
        data += chunk
    return data


def test_duplicate_client_id_gets_326_and_is_closed(clients: Clients) -> None:
    first = clients.connect(5)
    second = IB()
    errors: list[int] = []
    second.errorEvent += lambda req_id, code, text, contract: errors.append(code)
    with pytest.raises((TimeoutError, ConnectionError)):
        second.connect(HOST, clients.sim.port, clientId=5, timeout=1)
    assert 326 in errors
    assert first.isConnected()
    assert first.reqCurrentTime()


@pytest.mark.soak
def test_connect_is_fast(clients: Clients) -> None:
    clients.connect(1)  # warm up imports and the loop
    best = min(_timed_connect(clients, client_id) for client_id in range(10, 15))
    assert best < 0.05, f"connect took {best * 1000:.1f} ms"


def _timed_connect(clients: Clients, client_id: int) -> float:
    started = time.perf_counter()
    clients.connect(client_id)
    return time.perf_counter() - started


def test_garbage_is_ignored_and_the_connection_survives(sim: object) -> None:
    from ibsim import SimThread

    assert isinstance(sim, SimThread)
    with socket.create_connection((HOST, sim.port), timeout=5) as conn:
        greeting = b"v157..178"
        conn.sendall(b"API\0" + struct.pack(">I", len(greeting)) + greeting)
        _read_frame(conn)
        for payload in (
            b"71\x002\x0042\x00\x00",
            b"abc\x00",
            b"\x00",
            b"999\x001\x00",
            b"49\x001\x00",
        ):
            conn.sendall(struct.pack(">I", len(payload)) + payload)
        seen = []
        while b"49" not in seen:
            seen.append(_read_frame(conn).split(b"\0")[0])
    assert b"15" in seen and b"9" in seen


def _read_frame(conn: socket.socket) -> bytes:
    size = struct.unpack(">I", _read_exact(conn, 4))[0]
    return _read_exact(conn, size)
