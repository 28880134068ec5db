"""The simulator as a whole: API listener, admin listener, sessions, faults and state."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ibsim.engine import Engine, EngineConfig
from ibsim.faults import Faults, error_text
from ibsim.pacing import DEFAULT_BURST, DEFAULT_RATE
from ibsim.session import Session
from ibsim.wire import DEFAULT_SERVER_VERSION

log = logging.getLogger("ibsim")
T = TypeVar("T")


@dataclass
class SimOptions:
    host: str = "127.0.0.1"
    port: int = 7497
    admin_port: int | None = 7498
    server_version: int = DEFAULT_SERVER_VERSION
    seed: int = 0
    state_file: Path | None = None
    realism: bool = False
    accounts: tuple[str, ...] = ("DU1234567",)
    starting_cash: float = 1_000_000.0
    pacing_rate: float = DEFAULT_RATE
    pacing_burst: float = DEFAULT_BURST
    pacing_disconnect: bool = False
    max_fill_qty: float | None = None


class IBSim:
    """``async with IBSim(port=0, admin_port=0) as sim:`` runs a simulated IB Gateway."""

    def __init__(self, clock: Callable[[], float] = time.time, **options: Any) -> None:
        self.options = SimOptions(**options)
        if isinstance(self.options.state_file, str):
            self.options.state_file = Path(self.options.state_file)
        self.clock = clock
        self.rng = random.Random(self.options.seed)  # noqa: S311 - simulation, not security
        self.engine = self._new_engine()
        self.faults = Faults()
        self.clients: dict[int, Session] = {}
        self.connections: set[Session] = set()
        self.port = self.options.port
        self.admin_port = self.options.admin_port or 0
        self._listener: asyncio.Server | None = None
        self._admin: asyncio.Server | None = None
        self._reopen: asyncio.TimerHandle | None = None
        self._save_pending = False

    def _new_engine(self) -> Engine:
        from ibsim.router import SessionRouter

        config = EngineConfig(
            accounts=self.options.accounts,
            starting_cash=self.options.starting_cash,
            seed=self.options.seed,
            max_fill_qty=self.options.max_fill_qty,
            realism=self.options.realism,
        )
        engine = Engine(config, self.clock)
        engine.listeners.append(SessionRouter(self))
        return engine

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> IBSim:
        from ibsim.admin import start_admin
        from ibsim.state import load_state

        if self.options.state_file is not None and self.options.state_file.exists():
            load_state(self.engine, self.options.state_file)
        await self._open_listener()
        if self.options.admin_port is not None:
            self._admin = await start_admin(self, self.options.admin_port)
            self.admin_port = self._admin.sockets[0].getsockname()[1]
        log.info(
            "ibsim listening on %s:%d (admin %s), server version %d",
            self.options.host,
            self.port,
            self.admin_port or "off",
            self.options.server_version,
        )
        return self

    async def _open_listener(self) -> None:
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            lambda: Session(self), self.options.host, self.port, reuse_address=True
        )
        self.port = self._listener.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
        for server in (self._listener, self._admin):
            if server is not None:
                server.close()
        self.drop_connections()
        self.save_now()
        for server in (self._listener, self._admin):
            if server is not None:
                await server.wait_closed()
        self._listener = self._admin = None

    async def __aenter__(self) -> IBSim:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @staticmethod
    def start_in_thread(**options: Any) -> SimThread:
        """Run a simulator on its own event loop thread, for synchronous tests and tools."""
        runner = SimThread(IBSim(**options))
        runner.start()
        return runner

    # --- faults ------------------------------------------------------------------------

    def drop_connections(self) -> int:
        """Close every API socket at once, as a Gateway restart does."""
        dropped = list(self.connections)
        for session in dropped:
            session.close(abort=True)
        return len(dropped)

    def refuse_connections(self, seconds: float) -> None:
        """Stop listening for ``seconds``: connects are refused, then the port reopens."""
        self.faults.refuse_until = time.monotonic() + seconds
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        loop = asyncio.get_running_loop()
        if self._reopen is not None:
            self._reopen.cancel()
        self._reopen = loop.call_later(seconds, lambda: loop.create_task(self._reopen_listener()))

    async def _reopen_listener(self) -> None:
        self._reopen = None
        if self._listener is None:
            await self._open_listener()
            log.info("accepting connections again on port %d", self.port)

    def broadcast_error(self, code: int, message: str = "") -> None:
        self.faults.connectivity_lost = code in (1100, 2110) or (
            self.faults.connectivity_lost and code not in (1101, 1102)
        )
        for session in list(self.clients.values()):
            session.error(-1, code, message or error_text(code))

    # --- in-process control (the admin API's actions, without HTTP) --------------------

    def set_price(self, symbol: str, price: float) -> None:
        from ibsim.admin_actions import set_prices

        status, reply = set_prices(self, {}, {"symbol": symbol, "price": price})
        if status != 200:
            raise ValueError(reply["error"])

    def fault(self, kind: str, **params: Any) -> dict[str, Any]:
        """Arm a fault exactly as ``POST /faults`` does, e.g. ``fault("refuse", seconds=3)``."""
        from ibsim.admin_actions import apply_fault

        status, reply = apply_fault(self, {}, {"kind": kind, **params})
        if status != 200:
            raise ValueError(reply["error"])
        return dict(reply)

    def state(self) -> dict[str, Any]:
        """What ``GET /state`` answers: orders, positions, executions, accounts, faults."""
        from ibsim.admin import state_view

        return state_view(self, {})

    # --- helpers -----------------------------------------------------------------------

    def connection_time_text(self) -> str:
        return dt.datetime.fromtimestamp(self.clock(), dt.UTC).strftime("%Y%m%d %H:%M:%S UTC")

    def schedule_save(self) -> None:
        if self.options.state_file is None or self._save_pending:
            return
        self._save_pending = True
        asyncio.get_running_loop().call_later(0.05, self.save_now)

    def save_now(self) -> None:
        from ibsim.state import save_state

        self._save_pending = False
        if self.options.state_file is not None:
            save_state(self.engine, self.options.state_file)

    def reset(self) -> None:
        """Forget all orders, fills and positions; keep connections and faults."""
        self.drop_connections()
        self.engine = self._new_engine()
        self.faults.clear()
        self.save_now()


class SimThread:
    """A simulator running on a background thread with its own event loop."""

    def __init__(self, sim: IBSim) -> None:
        self.sim = sim
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="ibsim", daemon=True)

    @property
    def port(self) -> int:
        return self.sim.port

    @property
    def admin_port(self) -> int:
        return self.sim.admin_port

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            await self.sim.start()
        except Exception as exc:  # noqa: BLE001 - re-raised in the starting thread
            self._error = exc
            self._started.set()
            return
        self._started.set()
        await self._stop.wait()
        await self.sim.close()

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the simulator's loop (engine state is not thread-safe)."""
        assert self._loop is not None  # noqa: S101 - only after start()
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(function())
            except Exception as exc:  # noqa: BLE001 - re-raised by future.result() below
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        return future.result(10)

    def set_price(self, symbol: str, price: float) -> None:
        self.call(lambda: self.sim.set_price(symbol, price))

    def fault(self, kind: str, **params: Any) -> dict[str, Any]:
        return self.call(lambda: self.sim.fault(kind, **params))

    def state(self) -> dict[str, Any]:
        return self.call(self.sim.state)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)
