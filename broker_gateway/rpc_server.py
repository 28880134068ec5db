"""The RPC server: requests from a Redis stream (consumer group), replies on per-request keys.

A request taken after its deadline is dropped (answered ``expired``), never executed. A
request held by a gateway that died is reclaimed (``XAUTOCLAIM``) once it has been idle for
``reclaim_idle`` seconds and executed here, but only while we serve (connected and
reconciled), because the dead gateway may already have sent it to IB: an order is then found
by its reference instead of being placed again. Each request id is answered at most once (a
``done`` marker outlives the reply). The consumer group is recreated when Redis lost it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from broker_gateway.errors import RpcError
from broker_gateway.service import BrokerService
from broker_gateway.state import GatewayState
from trading.brokers import ibkr_protocol as wire

log = logging.getLogger(__name__)
READ_BLOCK_MS = 1000
BATCH = 32


class RpcServer:
    def __init__(
        self,
        client: aioredis.Redis,
        service: BrokerService,
        state: GatewayState,
        *,
        consumer: str,
        reclaim_idle: float,
    ) -> None:
        self._redis = client
        self._service = service
        self._state = state
        self._consumer = consumer
        self._reclaim_idle_ms = int(reclaim_idle * 1000)
        self._tasks: set[asyncio.Task[None]] = set()
        # Entries this process is executing: XAUTOCLAIM also returns our own slow requests,
        # which must not run a second time.
        self._in_flight: set[str] = set()
        self._limit = asyncio.Semaphore(256)

    async def run(self) -> None:
        await asyncio.gather(self._read_loop(), self._reclaim_loop())

    async def _ensure_group(self) -> None:
        try:
            # From the start of the stream: requests sent while the group was missing (after
            # a Redis restart) are still seen; the expired ones are dropped by their deadline.
            await self._redis.xgroup_create(
                wire.REQUESTS_STREAM, wire.REQUESTS_GROUP, "0", mkstream=True
            )
            log.info("created consumer group %s", wire.REQUESTS_GROUP)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _read_loop(self) -> None:
        group_ready = False
        while True:
            try:
                if not group_ready:
                    await self._ensure_group()
                    group_ready = True
                entries: Any = await self._redis.xreadgroup(
                    wire.REQUESTS_GROUP,
                    self._consumer,
                    {wire.REQUESTS_STREAM: ">"},
                    count=BATCH,
                    block=READ_BLOCK_MS,
                )
            except ResponseError as error:
                if "NOGROUP" in str(error):
                    log.warning("request group missing (Redis restarted?); recreating it")
                else:
                    log.error("reading requests failed: %s; retrying", error)
                    await asyncio.sleep(0.5)
                group_ready = False
                continue
            except (RedisError, OSError) as error:
                log.warning("reading requests failed: %s; retrying", error)
                group_ready = False
                await asyncio.sleep(0.5)
                continue
            for _stream, messages in entries or []:
                for entry_id, fields in messages:
                    self._spawn(entry_id, fields, reclaimed=False)

    async def _reclaim_loop(self) -> None:
        interval = max(0.2, self._reclaim_idle_ms / 4000)
        while True:
            await asyncio.sleep(interval)
            if not self._state.serving:
                continue
            try:
                result: Any = await self._redis.xautoclaim(
                    wire.REQUESTS_STREAM,
                    wire.REQUESTS_GROUP,
                    self._consumer,
                    min_idle_time=self._reclaim_idle_ms,
                    start_id="0-0",
                    count=BATCH,
                )
            except (RedisError, OSError) as error:
                log.debug("reclaim skipped: %s", error)
                continue
            for entry_id, fields in result[1]:
                if _text(entry_id) in self._in_flight:
                    continue
                if fields:  # None for an entry trimmed away meanwhile
                    log.warning(
                        "reclaimed request %s held by a gateway that stopped", _text(entry_id)
                    )
                    self._spawn(entry_id, fields, reclaimed=True)

    def _spawn(self, entry_id: Any, fields: dict[Any, Any], *, reclaimed: bool) -> None:
        entry = _text(entry_id)
        self._in_flight.add(entry)
        task = asyncio.ensure_future(self._handle(entry, fields, reclaimed=reclaimed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._in_flight.discard(entry))

    async def _handle(self, entry_id: str, fields: dict[Any, Any], *, reclaimed: bool) -> None:
        async with self._limit:
            request = {_text(k): _text(v) for k, v in fields.items()}
            request_id = request.get("id", entry_id)
            reply_key = request.get("reply") or wire.REPLY_PREFIX + request_id
            method = request.get("method", "")
            try:
                if reclaimed and await self._redis.exists(wire.DONE_PREFIX + request_id):
                    await self._redis.xack(wire.REQUESTS_STREAM, wire.REQUESTS_GROUP, entry_id)
                    return  # answered already (by us or by the gateway that died)
                reply = await self._execute(request, method, reclaimed=reclaimed)
                await self._answer(entry_id, request_id, reply_key, reply)
            except (RedisError, OSError) as error:
                # Left pending: reclaimed and answered once Redis is back.
                log.warning("request %s (%s) not answered: %s", request_id, method, error)

    async def _execute(
        self, request: dict[str, str], method: str, *, reclaimed: bool
    ) -> dict[str, Any]:
        deadline = float(request.get("deadline") or 0)
        if time.time() > deadline and reclaimed:
            # The gateway that died holding it may have sent it to IB: not "not executed".
            return _error(wire.UNKNOWN, "request reclaimed after its deadline; outcome unknown")
        if time.time() > deadline:
            log.warning(
                "request %s (%s) expired before it was taken: dropped", request.get("id"), method
            )
            return _error(wire.EXPIRED, "request expired before the gateway took it")
        if not reclaimed and (reason := self._state.why_not_serving()) and method != "health":
            return _error(wire.UNAVAILABLE, reason)
        try:
            params = json.loads(request.get("params") or "{}")
            remaining = deadline - time.time()
            result = await asyncio.wait_for(
                self._service.call(method, params), max(remaining, 0.05)
            )
            return {"ok": True, "result": result}
        except RpcError as error:
            if reclaimed and error.kind == wire.UNAVAILABLE:
                # The gateway that took it first may have executed it: not "not executed".
                return _error(wire.UNKNOWN, error.message)
            return _error(error.kind, error.message, error.code)
        except TimeoutError:
            return _error(wire.UNKNOWN, f"{method} did not finish before its deadline")
        except (ValueError, KeyError, TypeError) as error:
            return _error(wire.INVALID, f"bad request: {error}")
        except Exception as error:
            log.exception("request %s (%s) failed", request.get("id"), method)
            return _error(wire.UNKNOWN, f"{method} failed in the gateway: {error}")

    async def _answer(
        self, entry_id: str, request_id: str, reply_key: str, reply: dict[str, Any]
    ) -> None:
        body = wire.dumps(reply)
        pipe = self._redis.pipeline(transaction=False)
        pipe.rpush(reply_key, body)
        pipe.expire(reply_key, wire.REPLY_TTL_SECONDS)
        pipe.set(wire.DONE_PREFIX + request_id, "1", ex=wire.DONE_TTL_SECONDS)
        pipe.xack(wire.REQUESTS_STREAM, wire.REQUESTS_GROUP, entry_id)
        await pipe.execute()


def _error(kind: str, message: str, code: int | None = None) -> dict[str, Any]:
    return {"ok": False, "error": {"kind": kind, "message": message, "code": code}}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
