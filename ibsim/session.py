"""One API connection: handshake, pacing, delayed output and per-client subscriptions."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ibsim import encode
from ibsim.faults import error_text
from ibsim.pacing import TokenBucket
from ibsim.requests import dispatch
from ibsim.wire import Field, FrameReader, ProtocolError, choose_server_version, encode_message

if TYPE_CHECKING:
    from ibsim.server import IBSim

log = logging.getLogger("ibsim.session")

START_API = 71
# A client that has not sent a whole v100+ greeting by then is closed: an old-protocol client
# would otherwise wait on an answer that never comes (IB's Gateway drops such clients too).
HANDSHAKE_TIMEOUT = 3.0
CONNECT_NOTICES = (2104, 2106, 2158)


@dataclass
class Subscriptions:
    positions: bool = False
    account_updates: str | None = None
    account_summaries: dict[int, tuple[str, list[str]]] = field(default_factory=dict)
    account_multi: dict[int, str] = field(default_factory=dict)
    positions_multi: dict[int, str] = field(default_factory=dict)
    pnl: dict[int, str] = field(default_factory=dict)
    pnl_single: dict[int, tuple[str, int]] = field(default_factory=dict)
    market_data: dict[int, int] = field(default_factory=dict)


class Session(asyncio.Protocol):
    def __init__(self, sim: IBSim) -> None:
        self.sim = sim
        self.reader = FrameReader()
        self.transport: asyncio.Transport | None = None
        self.server_version = 0
        self.client_id: int | None = None
        self.peer = ""
        self.subs = Subscriptions()
        self.pacing = TokenBucket(sim.options.pacing_rate, sim.options.pacing_burst)
        # Once set, nothing more is written: the socket is about to be dropped.
        self.muted = False
        self.reported_perm_ids: set[int] = set()
        self.market_data_type = 1
        self.pending_account_pushes: dict[str, set[int]] = {}
        self.account_push_handle: asyncio.TimerHandle | None = None
        # (stream, account, key, currency) -> the value last sent, so pushes carry changes only.
        self.sent_account_rows: dict[tuple[str, str, str, str], str] = {}
        self._outbox: deque[tuple[float, bytes]] = deque()
        self._drain_handle: asyncio.TimerHandle | None = None
        self._handshake_handle: asyncio.TimerHandle | None = None

    # --- connection lifecycle ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # noqa: S101 - TCP server only
        self.transport = transport
        self.peer = str(transport.get_extra_info("peername"))
        self.sim.connections.add(self)
        log.info("connection from %s", self.peer)
        loop = asyncio.get_running_loop()
        self._handshake_handle = loop.call_later(HANDSHAKE_TIMEOUT, self._handshake_overdue)

    def _handshake_overdue(self) -> None:
        if not self.reader.greeted:
            log.warning("no API greeting from %s within %.0f s", self.peer, HANDSHAKE_TIMEOUT)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.sim.connections.discard(self)
        if self.client_id is not None and self.sim.clients.get(self.client_id) is self:
            del self.sim.clients[self.client_id]
        for handle in (self._drain_handle, self.account_push_handle, self._handshake_handle):
            if handle is not None:
                handle.cancel()
        log.info("client %s (%s) disconnected", self.client_id, self.peer)

    def close(self, abort: bool = False) -> None:
        self.muted = self.muted or abort
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        try:
            if not self.reader.greeted and not self._greet():
                return
            while not self.muted and (fields := self.reader.read_message()) is not None:
                self._on_message(fields)
        except ProtocolError as exc:
            log.warning("protocol error from %s: %s", self.peer, exc)
            # Before the handshake a plain close (FIN) tells the client at once that it was
            # refused; later, garbage framing means the stream cannot be trusted: reset it.
            self.close(abort=self.reader.greeted)

    def _greet(self) -> bool:
        greeting = self.reader.read_greeting()
        if greeting is None:
            return False
        version = choose_server_version(self.sim.options.server_version, greeting)
        log.debug(
            "<<< API v%d..%d %s", greeting.min_version, greeting.max_version, greeting.options
        )
        if version is None:
            log.warning("no common version with client range %s", greeting)
            self.close()
            return False
        self.server_version = version
        self.send([version, self.sim.connection_time_text()])
        return True

    # --- input -------------------------------------------------------------------------

    def _on_message(self, fields: list[str]) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("<<< [%s] %s", self.client_id, ",".join(fields))
        if not fields or not fields[0].isdigit():
            log.warning("ignoring a message without a message id from %s: %s", self.peer, fields)
            return
        message_id = int(fields[0])
        if self.client_id is None:
            if message_id == START_API:
                self._start_api(fields)
            return
        if not self.pacing.allow():
            self._paced(message_id)
            return
        try:
            dispatch(self, message_id, fields)
        except Exception:
            # A simulator bug must not look like a dropped Gateway connection.
            log.exception("failed to handle message %s from client %s", fields, self.client_id)

    def _paced(self, message_id: int) -> None:
        log.info("client %s over the pacing limit (message %d dropped)", self.client_id, message_id)
        rate = int(self.sim.options.pacing_rate)
        self.error(-1, 100, f"Max rate of messages per second has been exceeded:max={rate}")
        if self.sim.options.pacing_disconnect:
            self.close()

    def _start_api(self, fields: list[str]) -> None:
        client_id = int(fields[2]) if len(fields) > 2 and fields[2].lstrip("-").isdigit() else 0
        other = self.sim.clients.get(client_id)
        if other is not None and other.transport is not None and not other.transport.is_closing():
            self.error(
                -1,
                326,
                f"Unable to connect as the client id {client_id} is already in use. "
                "Retry with a unique client id.",
            )
            self.close()
            return
        self.client_id = client_id
        self.sim.clients[client_id] = self
        engine = self.sim.engine
        next_id = max(engine.next_valid_id(client_id) - self.sim.faults.take_rollback(), 1)
        self.send(encode.managed_accounts(engine.account_names))
        self.send(encode.next_valid_id(next_id))
        for code in CONNECT_NOTICES:
            self.error(-1, code, error_text(code))
        if self.sim.faults.connectivity_lost:
            self.error(-1, 1100, error_text(1100))

    @property
    def bound_client_id(self) -> int:
        """The client id; requests are only dispatched once startApi has set it."""
        if self.client_id is None:
            raise ProtocolError("request before startApi")
        return self.client_id

    # --- output ------------------------------------------------------------------------

    def send(self, fields: Sequence[Field]) -> None:
        if self.muted or self.transport is None or self.transport.is_closing():
            return
        data = encode_message(fields)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(">>> [%s] %s", self.client_id, data[4:-1].replace(b"\0", b",").decode())
        delay = self.sim.faults.delay_seconds
        if delay <= 0 and not self._outbox:
            self.transport.write(data)
            return
        loop = asyncio.get_running_loop()
        self._outbox.append((loop.time() + max(delay, 0.0), data))
        if self._drain_handle is None:
            self._drain_handle = loop.call_at(self._outbox[0][0], self._drain)

    def send_later(self, delay: float, fields: Sequence[Field]) -> None:
        asyncio.get_running_loop().call_later(delay, self.send, list(fields))

    def _drain(self) -> None:
        self._drain_handle = None
        loop = asyncio.get_running_loop()
        while self._outbox and self._outbox[0][0] <= loop.time():
            _, data = self._outbox.popleft()
            if self.transport is not None and not self.transport.is_closing() and not self.muted:
                self.transport.write(data)
        if self._outbox:
            self._drain_handle = loop.call_at(self._outbox[0][0], self._drain)

    def error(self, req_id: int, code: int, message: str) -> None:
        self.send(encode.error(self.server_version, req_id, code, message))
