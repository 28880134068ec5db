"""Wiring: one asyncio loop running the supervisor, the RPC server, the event writer and
the health publisher. Nothing here blocks the loop (Redis through redis.asyncio, no
database: the ledger is the events consumer's job)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from ib_async import IB
from redis.exceptions import RedisError

from broker_gateway.contracts import ContractResolver
from broker_gateway.events import EventPublisher
from broker_gateway.lease import Lease
from broker_gateway.orders import OrderDesk, OrderIds
from broker_gateway.pacing import Pacer
from broker_gateway.reconcile import Reconciler
from broker_gateway.rpc_server import RpcServer
from broker_gateway.service import BrokerService
from broker_gateway.state import GatewayState
from broker_gateway.supervisor import Supervisor
from config.halt import HALT_KEY, HaltFlag
from config.settings import Settings
from trading.brokers import ibkr_protocol as wire

log = logging.getLogger(__name__)
HEALTH_EVERY_SECONDS = 1.0


async def publish_health(client: aioredis.Redis, state: GatewayState) -> None:
    while True:
        try:
            await client.set(
                wire.HEALTH_KEY, wire.dumps(state.health()), ex=wire.HEALTH_TTL_SECONDS
            )
        except RedisError as error:
            log.warning("health not published: %s", error)
        # Every second, and at once when connected/reconciled/tradeable changes, so workers
        # stop sending to a gateway that just went down.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.changed.wait(), HEALTH_EVERY_SECONDS)
        state.changed.clear()


async def forever(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    """Run one of the gateway's loops; a bug in one is logged and the loop restarted, since
    exiting would stop every process under honcho."""
    while True:
        try:
            await loop()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s loop failed; restarting it in 1 s", name)
        await asyncio.sleep(1.0)


async def run_gateway(settings: Settings) -> None:
    ib = IB()
    # A request IB refuses raises (instead of returning an empty result that reads as "none").
    ib.RaiseRequestErrors = True
    # Our Pacer replaces ib_async's throttle, whose queue is dropped on disconnect.
    ib.client.MaxRequests = 0
    client = aioredis.Redis.from_url(
        settings.redis_url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=10
    )
    state = GatewayState()
    pacer = Pacer(settings.ibkr_pacing_per_second)
    contracts = ContractResolver(ib, pacer)
    ids = OrderIds(ib, client)

    async def halt_flag() -> HaltFlag | None:
        return HaltFlag.decode(await client.get(HALT_KEY))

    desk = OrderDesk(
        ib,
        state,
        pacer,
        contracts,
        ids,
        ack_timeout=min(5.0, settings.ibkr_place_timeout_seconds / 2),
        halt=halt_flag,
    )
    events = EventPublisher(client)
    ib.orderStatusEvent += events.order_changed
    ib.execDetailsEvent += events.fill_arrived
    ib.commissionReportEvent += events.fill_arrived
    reconciler = Reconciler(
        ib, state, pacer, ids, desk, events, ledger_wait=settings.ibkr_ledger_sync_wait_seconds
    )
    supervisor = Supervisor(ib, state, pacer, settings, reconciler.reconcile)
    service = BrokerService(ib, state, pacer, contracts, desk)
    name = f"gateway-{socket.gethostname()}-{os.getpid()}"
    server = RpcServer(
        client, service, state, consumer=name, reclaim_idle=settings.ibkr_rpc_reclaim_idle_seconds
    )
    lease = Lease(client, name, settings.ibkr_gateway_lease_seconds)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stopper = asyncio.ensure_future(stop.wait())
    waiting = asyncio.ensure_future(lease.acquire())
    await asyncio.wait([waiting, stopper], return_when=asyncio.FIRST_COMPLETED)
    if not waiting.done():
        waiting.cancel()
        await client.aclose()
        return
    tasks = [
        asyncio.ensure_future(forever("lease", lease.keep)),
        asyncio.ensure_future(forever("supervisor", supervisor.run)),
        asyncio.ensure_future(forever("rpc server", server.run)),
        asyncio.ensure_future(forever("event writer", events.run)),
        asyncio.ensure_future(forever("health", lambda: publish_health(client, state))),
    ]
    await stopper
    log.info("gateway stopping")
    writer = tasks.pop(3)
    for task in tasks:
        task.cancel()
    state.mark_down("stopped")
    ib.disconnect()
    await events.drained(2.0)  # what IB told us last still reaches the ledger
    writer.cancel()
    with contextlib.suppress(RedisError):
        await client.set(wire.HEALTH_KEY, wire.dumps(state.health()), ex=wire.HEALTH_TTL_SECONDS)
    await lease.release()
    await client.aclose()
