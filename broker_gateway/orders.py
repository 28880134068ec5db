"""Placing and cancelling our orders at IB: one order per reference, ids never backwards.

The reference (``orderRef``) is the idempotency key: before placing, the trades IB reported
(open, completed, and the ones placed in this session) are searched for it, under a lock per
reference so two concurrent requests for one reference never both place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from decimal import Decimal
from typing import Any

import redis.asyncio as aioredis
from ib_async import IB, LimitOrder, MarketOrder, Order, Trade
from ib_async.order import OrderStatus
from redis.exceptions import RedisError

from broker_gateway.codes import CANCEL_ORDER_DONE, CANCEL_UNKNOWN_ORDER
from broker_gateway.contracts import ContractQuery, ContractRefused, ContractResolver
from broker_gateway.convert import last_error, order_status, trade_to_wire
from broker_gateway.errors import (
    InvalidRequest,
    NotCancellable,
    NotFound,
    OutcomeUnknown,
    Rejected,
    Unavailable,
)
from broker_gateway.pacing import Pacer
from broker_gateway.state import GatewayState
from trading.brokers import port
from trading.brokers.ibkr_protocol import ORDER_ID_FLOOR_KEY
from trading.keys import is_our_reference, strip_broker_suffix

log = logging.getLogger(__name__)
_WAITING = frozenset({OrderStatus.PendingSubmit, OrderStatus.ApiPending, ""})


def find_trade(ib: IB, reference: str) -> Trade | None:
    """The trade carrying ``reference`` (IB may have appended ``:<n>``); a live one first."""
    matches = [t for t in ib.trades() if strip_broker_suffix(t.order.orderRef or "") == reference]
    if not matches:
        return None
    live = [t for t in matches if not t.isDone()]
    return (live or matches)[-1]


class OrderIds:
    """Order ids only grow, even when IB hands out a lower ``nextValidId`` after a restart
    (placing with a reused id is error 103, or worse, a modification of an old order)."""

    def __init__(self, ib: IB, client: aioredis.Redis) -> None:
        self._ib = ib
        self._redis = client
        self.highest = 0

    async def enforce(self) -> None:
        """After a (re)connect: raise ib_async's counter above every id we ever used."""
        try:
            stored = await self._redis.get(ORDER_ID_FLOOR_KEY)
        except RedisError as error:
            log.warning("order id floor not read from Redis: %s", error)
            stored = None
        seen = [t.order.orderId for t in self._ib.trades() if t.order.clientId == self._client_id]
        self.highest = max([self.highest, int(stored or 0), *seen])
        before = self._ib.client._reqIdSeq
        self._ib.client.updateReqId(self.highest + 1)
        if self._ib.client._reqIdSeq != before:
            log.warning(
                "IB offered next order id %d, below ids already used; continuing from %d",
                before,
                self._ib.client._reqIdSeq,
            )

    @property
    def _client_id(self) -> int:
        return int(self._ib.client.clientId)

    async def used(self, order_id: int) -> None:
        if order_id <= self.highest:
            return
        self.highest = order_id
        try:
            await self._redis.set(ORDER_ID_FLOOR_KEY, order_id)
        except RedisError as error:
            log.warning("order id floor not saved to Redis: %s", error)


class OrderDesk:
    def __init__(
        self,
        ib: IB,
        state: GatewayState,
        pacer: Pacer,
        contracts: ContractResolver,
        ids: OrderIds,
        ack_timeout: float,
    ) -> None:
        self._ib = ib
        self._state = state
        self._pacer = pacer
        self._contracts = contracts
        self._ids = ids
        self._ack_timeout = ack_timeout
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.placed_references: set[str] = set()

    async def place(self, params: dict[str, Any]) -> dict[str, Any]:
        reference = str(params.get("reference") or "")
        if not is_our_reference(reference) or ":" in reference:
            raise InvalidRequest(f"{reference!r} is not a tvbridge order reference")
        self._prune_locks()
        async with self._locks[reference]:
            existing = find_trade(self._ib, reference)
            if existing is not None:
                log.info("order %s already at IB (permId %s)", reference, existing.order.permId)
                return trade_to_wire(existing)
            trade = await self._place_new(reference, params)
        return await self._acknowledged(trade)

    def _prune_locks(self) -> None:
        if len(self._locks) > 10_000:
            for reference in [r for r, lock in self._locks.items() if not lock.locked()]:
                del self._locks[reference]

    async def _place_new(self, reference: str, params: dict[str, Any]) -> Trade:
        query = ContractQuery(
            symbol=str(params["symbol"]),
            exchange=params.get("exchange"),
            sec_type=params.get("sec_type"),
            currency=params.get("currency"),
        )
        try:
            contract = await self._contracts.resolve(query)
        except ContractRefused as error:
            raise Rejected(error.reason, error.code) from error
        except ConnectionError as error:
            raise Unavailable(f"IB connection lost while resolving {query.symbol}") from error
        quantity = Decimal(str(params["quantity"]))
        if contract.secType == "STK" and quantity != quantity.to_integral_value():
            raise Rejected(
                f"quantity {quantity} is fractional; IB does not accept fractional shares "
                "through the API (never rounded silently)"
            )
        order = self._order(reference, params, quantity)
        await self._pacer.acquire()
        # Checked after the pacer's wait, right before the order is written.
        if reason := self._state.why_not_serving(need_tradeable=True):
            raise Unavailable(reason)
        try:
            trade = self._ib.placeOrder(contract, order)
        except ConnectionError as error:
            # getReqId() refuses before anything is written: provably not sent.
            raise Unavailable(f"IB not connected: {error}") from error
        self.placed_references.add(reference)
        await self._ids.used(trade.order.orderId)
        log.info("placed %s as order %d", reference, trade.order.orderId)
        return trade

    def _order(self, reference: str, params: dict[str, Any], quantity: Decimal) -> Order:
        action = "BUY" if params["side"] == "buy" else "SELL"
        tif = "GTC" if params.get("time_in_force") == "gtc" else "DAY"
        # tif is always explicit: an empty one makes newer TWS send 10349, which ib_async
        # reads as a cancellation.
        common = {"orderRef": reference, "tif": tif, "account": self._state.account}
        if params.get("order_type") == "limit":
            if params.get("limit_price") is None:
                raise Rejected("a limit order needs limit_price")
            return LimitOrder(action, float(quantity), float(params["limit_price"]), **common)
        return MarketOrder(action, float(quantity), **common)

    async def _acknowledged(self, trade: Trade) -> dict[str, Any]:
        """Wait for IB's first answer about a new order; a rejection raises ``Rejected``."""
        answered = asyncio.Event()

        def on_status(changed: Trade) -> None:
            if changed.orderStatus.status not in _WAITING:
                answered.set()

        lost = self._state.lost
        trade.statusEvent += on_status
        try:
            if trade.orderStatus.status in _WAITING:
                waits = [asyncio.ensure_future(answered.wait()), asyncio.ensure_future(lost.wait())]
                try:
                    await asyncio.wait(
                        waits, timeout=self._ack_timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    for waiter in waits:
                        waiter.cancel()
        finally:
            trade.statusEvent -= on_status
        if lost.is_set() and not answered.is_set():
            raise OutcomeUnknown(
                f"IB connection lost after placing {trade.order.orderRef}; "
                "look it up by reference after the reconnect"
            )
        snapshot = trade_to_wire(trade)
        if snapshot["status"] == port.REJECTED:
            code_and_message = last_error(trade)
            raise Rejected(
                snapshot["reason"] or "IB rejected the order",
                code_and_message[0] if code_and_message else None,
            )
        return snapshot

    async def cancel(self, reference: str) -> dict[str, Any]:
        if not is_our_reference(reference):
            raise InvalidRequest(f"{reference!r} is not ours; manual orders are never touched")
        trade = find_trade(self._ib, reference)
        if trade is None:
            raise NotFound(f"IB has no order {reference}")
        if trade.isDone():
            raise NotCancellable(f"order {reference} is already {order_status(trade, 0)}")
        done = asyncio.Event()

        def on_status(changed: Trade) -> None:
            if changed.isDone():
                done.set()

        trade.statusEvent += on_status
        try:
            await self._pacer.acquire()
            try:
                self._ib.cancelOrder(trade.order)
            except ConnectionError as error:
                raise Unavailable(f"IB not connected: {error}") from error
            # If IB confirms later, the events stream records it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self._ack_timeout)
        finally:
            trade.statusEvent -= on_status
        problem = last_error(trade)
        if problem and problem[0] in CANCEL_ORDER_DONE and trade.fills:
            raise NotCancellable(f"order {reference} could not be cancelled: {problem[1]}")
        if problem and problem[0] in CANCEL_UNKNOWN_ORDER:
            raise NotFound(f"IB does not know order {reference}: {problem[1]}")
        return trade_to_wire(trade)

    async def cancel_ours(self) -> list[str]:
        """Cancel every open order carrying one of our references; never anyone else's,
        and never reqGlobalCancel (that would cancel the user's manual orders too)."""
        cancelled = []
        for trade in list(self._ib.openTrades()):
            reference = strip_broker_suffix(trade.order.orderRef or "")
            if not is_our_reference(reference):
                continue
            try:
                await self.cancel(reference)
            except (NotCancellable, NotFound):
                continue
            cancelled.append(reference)
        return cancelled
