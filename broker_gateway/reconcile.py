"""Reconcile before serving: after every (re)connect, bring our view in line with IB's.

``connectAsync`` has already fetched this client's open orders, completed orders, today's
executions and the positions (ib_async rebuilds its trades from them, binding fills to
orders by permId). Here we add every open order of the account (to see manual TWS orders,
which we flag and never touch), raise the order id counter above every id we ever used,
publish the state of each of our orders (fills that happened while we were away reach the
ledger this way), flag references we placed that IB no longer knows, and wait until the
ledger consumer has recorded all of it. Only then does the RPC server execute requests.
"""

from __future__ import annotations

import logging

from ib_async import IB

from broker_gateway.events import EventPublisher
from broker_gateway.orders import OrderDesk, OrderIds, find_trade
from broker_gateway.pacing import Pacer
from broker_gateway.state import GatewayState
from trading.keys import is_our_reference, strip_broker_suffix

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(
        self,
        ib: IB,
        state: GatewayState,
        pacer: Pacer,
        ids: OrderIds,
        desk: OrderDesk,
        events: EventPublisher,
        *,
        ledger_wait: float,
    ) -> None:
        self._ib = ib
        self._state = state
        self._pacer = pacer
        self._ids = ids
        self._desk = desk
        self._events = events
        self._ledger_wait = ledger_wait

    async def reconcile(self) -> None:
        """Raises ConnectionError (or a timeout) if the connection breaks meanwhile."""
        await self._pacer.acquire()
        everyone_open = await self._ib.reqAllOpenOrdersAsync()
        await self._ids.enforce()
        foreign = [t for t in everyone_open if not is_our_reference(t.order.orderRef or "")]
        for trade in foreign:
            log.warning(
                "open order not placed by tvbridge (permId %s, %s %s %s, ref %r): left alone",
                trade.order.permId,
                trade.order.action,
                trade.order.totalQuantity,
                trade.contract.symbol,
                trade.order.orderRef,
            )
        self._state.foreign_open_orders = len(foreign)
        ours = [t for t in self._ib.trades() if is_our_reference(t.order.orderRef or "")]
        for trade in ours:
            self._events.publish(trade, "reconcile")
        known = {strip_broker_suffix(t.order.orderRef) for t in ours}
        missing = sorted(r for r in self._desk.placed_references if r not in known)
        for reference in missing:
            if find_trade(self._ib, reference) is None:
                log.error("order %s was placed in this session but IB does not know it", reference)
                self._events.publish_raw("missing_at_broker", {"reference": reference})
        self._state.missing_at_broker = missing
        # The ledger consumer flags its open orders that are not in this list.
        self._events.publish_raw("reconciled", {"references": sorted(known)})
        await self._events.wait_recorded(self._ledger_wait)
        log.info(
            "reconciled: %d of our orders, %d fills, %d positions, %d foreign open orders",
            len(ours),
            len(self._ib.fills()),
            len(self._ib.positions()),
            len(foreign),
        )
