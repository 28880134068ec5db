"""Order events out of the gateway: a Redis stream the ledger consumer records.

ib_async calls our handlers synchronously on the event loop, so they only queue the
trade's snapshot; one task writes the queue to Redis in batches. A Redis outage delays
events (they stay queued and are retried), it never drops them or blocks IB's messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import redis.asyncio as aioredis
from ib_async import Fill, Trade
from redis.exceptions import RedisError, ResponseError

from broker_gateway.convert import trade_to_wire
from trading.brokers.ibkr_protocol import EVENTS_GROUP, EVENTS_MAXLEN, EVENTS_STREAM, dumps
from trading.keys import is_our_reference

log = logging.getLogger(__name__)


class EventPublisher:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._last_id: str | None = None
        self._idle = asyncio.Event()  # set when everything queued is in the stream
        self._idle.set()

    # --- ib_async handlers (sync, on the loop) ----------------------------------------

    def order_changed(self, trade: Trade, *_: Any) -> None:
        self.publish(trade, "status")

    def fill_arrived(self, trade: Trade, fill: Fill, *_: Any) -> None:
        self.publish(trade, "fill")

    def publish(self, trade: Trade, kind: str) -> None:
        if not is_our_reference(trade.order.orderRef or ""):
            return  # manual TWS orders and other tools' orders are not ours to record
        self._idle.clear()
        self._queue.put_nowait({"kind": kind, "order": trade_to_wire(trade), "at": time.time()})

    def publish_raw(self, kind: str, detail: dict[str, Any]) -> None:
        self._idle.clear()
        self._queue.put_nowait({"kind": kind, **detail, "at": time.time()})

    # --- the writer -------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < 200:
                batch.append(self._queue.get_nowait())
            await self._write(batch)
            if self._queue.empty():
                self._idle.set()

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        delay = 0.1
        while True:
            try:
                pipe = self._redis.pipeline(transaction=False)
                for event in batch:
                    pipe.xadd(
                        EVENTS_STREAM,
                        {"event": dumps(event)},
                        maxlen=EVENTS_MAXLEN,
                        approximate=True,
                    )
                ids = await pipe.execute()
                self._last_id = _text(ids[-1])
                return
            except RedisError as error:
                log.warning("order events not written yet (%s); retrying in %.1fs", error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def drained(self, patience: float) -> bool:
        """Wait (at most ``patience`` seconds) until everything queued is in the stream."""
        try:
            await asyncio.wait_for(self._idle.wait(), patience)
        except TimeoutError:
            return False
        return True

    async def wait_recorded(self, patience: float) -> bool:
        """Wait until the ledger consumer has taken and acknowledged every event written so
        far (reconcile-before-serving: the ledger shows what IB said before RPCs flow)."""
        await self.drained(patience)
        if self._last_id is None:
            return True
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            try:
                groups = await self._redis.xinfo_groups(EVENTS_STREAM)
            except (ResponseError, RedisError):
                groups = []
            for group in groups:
                if _text(group.get("name")) != EVENTS_GROUP:
                    continue
                delivered = _text(group.get("last-delivered-id")) or "0-0"
                if _stream_id(delivered) >= _stream_id(self._last_id) and not group.get("pending"):
                    return True
            await asyncio.sleep(0.02)
        log.warning("the ledger consumer has not recorded the reconciled orders yet; serving")
        return False


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _stream_id(value: str) -> tuple[int, int]:
    millis, _, seq = value.partition("-")
    return int(millis), int(seq or 0)
