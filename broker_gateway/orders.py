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
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import redis.asyncio as aioredis
from ib_async import IB, Contract, Order, Trade
from ib_async.order import OrderStatus
from redis.exceptions import RedisError

from broker_gateway.codes import CANCEL_ORDER_DONE, CANCEL_UNKNOWN_ORDER
from broker_gateway.contracts import ContractQuery, ContractRefused, ContractResolver
from broker_gateway.convert import IB_ORDER_TYPES, last_error, order_status, trade_to_wire
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
from config.halt import HaltFlag
from trading.brokers import port
from trading.brokers.ibkr_protocol import ORDER_ID_FLOOR_KEY
from trading.keys import is_our_reference, strip_broker_suffix

log = logging.getLogger(__name__)
_WAITING = frozenset({OrderStatus.PendingSubmit, OrderStatus.ApiPending, ""})
TIME_IN_FORCE = {"day": "DAY", "gtc": "GTC", "ioc": "IOC", "fok": "FOK"}
# IB lets only these trade outside regular hours through the API.
OUTSIDE_RTH_TYPES = frozenset({"limit", "stop_limit"})
# ocaType 1: the first fill cancels every other order of the group (with block).
OCA_CANCEL_OTHERS = 1


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
        halt: Callable[[], Awaitable[HaltFlag | None]] | None = None,
    ) -> None:
        self._ib = ib
        self._state = state
        self._pacer = pacer
        self._contracts = contracts
        self._ids = ids
        self._ack_timeout = ack_timeout
        self._halt = halt
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
            if not params.get("reduces_only"):
                await self._refuse_if_halted(reference)
            trade = await self._place_new(reference, params)
        return await self._acknowledged(trade)

    async def _refuse_if_halted(self, reference: str) -> None:
        """The kill switch, checked here too so that a worker that missed the halt cannot
        add to a position. No flag published yet (a fresh Redis) reads as not halted: the
        workers' own check against the ledger still holds."""
        if self._halt is None:
            return
        try:
            flag = await self._halt()
        except RedisError as error:
            raise Unavailable(f"cannot read the halt flag: {error}") from error
        if flag is not None and flag.halted:
            log.warning("refused %s: trading is halted (%s)", reference, flag.reason)
            raise Rejected(
                f"trading is halted ({flag.reason}); only closes and exits are sent until "
                "POST /api/resume"
            )

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
        self._attach_to_parent(order, params, contract)
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
        """The IB order for a request: every field IB needs is set, and a field that does not
        belong to the order type is refused rather than dropped."""
        order_type = str(params.get("order_type") or "market")
        ib_type = IB_ORDER_TYPES.get(order_type)
        if ib_type is None:
            raise Rejected(f"order type {order_type!r} is not one IB is sent from here")
        tif = TIME_IN_FORCE.get(str(params.get("time_in_force") or "day"))
        if tif is None:
            raise Rejected(f"time in force {params.get('time_in_force')!r} is not day|gtc|ioc|fok")
        outside_rth = bool(params.get("outside_rth"))
        if outside_rth and order_type not in OUTSIDE_RTH_TYPES:
            raise Rejected(
                f"outside_rth is for limit and stop-limit orders; not sent for a {order_type} order"
            )
        # tif is always explicit: an empty one makes newer TWS send 10349, which ib_async
        # reads as a cancellation.
        order = Order(
            action="BUY" if params["side"] == "buy" else "SELL",
            totalQuantity=float(quantity),
            orderType=ib_type,
            orderRef=reference,
            tif=tif,
            account=self._state.account,
            outsideRth=outside_rth,
            transmit=True,
        )
        _set_prices(order, order_type, params)
        oca_group = str(params.get("oca_group") or "")
        if oca_group:
            order.ocaGroup, order.ocaType = oca_group, OCA_CANCEL_OTHERS
        return order

    def _attach_to_parent(self, order: Order, params: dict[str, Any], contract: Contract) -> None:
        """A bracket's exit placed after its entry: ``parentId`` is the entry's IB order id,
        so IB holds the exit until the entry fills and cancels it with the entry.

        The exits also share an OCA group (the request's, else the parent's reference): an
        entry that has filled already has no use for ``parentId`` (IB holds a child only
        until its parent fills), and the exits must still cancel each other then."""
        parent_reference = str(params.get("parent_reference") or "")
        if not parent_reference:
            return
        if not is_our_reference(parent_reference) or ":" in parent_reference:
            raise InvalidRequest(f"parent {parent_reference!r} is not a tvbridge order reference")
        parent = find_trade(self._ib, parent_reference)
        if parent is None:
            raise Rejected(f"IB has no parent order {parent_reference}; its exit is not placed")
        if parent.contract.conId and parent.contract.conId != contract.conId:
            raise Rejected(
                f"parent order {parent_reference} is on another contract "
                f"(conId {parent.contract.conId}, not {contract.conId})"
            )
        if not order.ocaGroup:
            order.ocaGroup, order.ocaType = parent_reference, OCA_CANCEL_OTHERS
        status = trade_to_wire(parent)["status"]
        if status == port.FILLED:
            log.info("parent %s has filled: %s works at once", parent_reference, order.orderRef)
            return
        if status not in port.ACTIVE_STATES:
            raise Rejected(f"parent order {parent_reference} is {status}; its exit is not placed")
        if parent.order.orderId <= 0:
            raise Rejected(f"parent order {parent_reference} has no IB order id of this client")
        order.parentId = parent.order.orderId

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


def _price(params: dict[str, Any], key: str) -> Decimal | None:
    value = params.get(key)
    if value is None:
        return None
    price = Decimal(str(value))
    if not price.is_finite() or price <= 0:
        raise Rejected(f"{key} must be a positive number, got {value}")
    return price


def _set_prices(order: Order, order_type: str, params: dict[str, Any]) -> None:
    limit = _price(params, "limit_price")
    stop = _price(params, "stop_price")
    trail_amount = _price(params, "trail_amount")
    trail_percent = _price(params, "trail_percent")
    what = order_type.replace("_", "-")
    if order_type in ("limit", "stop_limit"):
        if limit is None:
            raise Rejected(f"a {what} order needs limit_price")
        order.lmtPrice = float(limit)
    elif limit is not None:
        raise Rejected(f"a {what} order takes no limit_price (limit and stop-limit orders do)")
    if order_type in ("stop", "stop_limit"):
        if stop is None:
            raise Rejected(f"a {what} order needs stop_price")
        order.auxPrice = float(stop)
    elif order_type == "trailing_stop":
        _trail(order, trail_amount, trail_percent, stop)
    elif stop is not None:
        raise Rejected(f"stop_price does not belong to a {what} order")
    if order_type != "trailing_stop" and (trail_amount is not None or trail_percent is not None):
        raise Rejected(f"trail_amount and trail_percent do not belong to a {what} order")


def _trail(
    order: Order, amount: Decimal | None, percent: Decimal | None, initial_stop: Decimal | None
) -> None:
    """A TRAIL order follows the market by a price distance (``auxPrice``) or a percentage
    (``trailingPercent``), exactly one of them; ``stop_price`` is its initial stop level."""
    if (amount is None) == (percent is None):
        raise Rejected("a trailing stop needs exactly one of trail_amount and trail_percent")
    if amount is not None:
        order.auxPrice = float(amount)
    if percent is not None:
        order.trailingPercent = float(percent)
    if initial_stop is not None:
        order.trailStopPrice = float(initial_stop)
