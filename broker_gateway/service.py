"""The RPC methods: what workers may ask the gateway. Plain dicts in, plain dicts out.

Every read answers from IB or raises: a query cut short by a disconnect is an error
(``OutcomeUnknown`` / ``Unavailable``), never an empty list.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from ib_async import IB, Contract
from ib_async.wrapper import RequestError

from broker_gateway.contracts import (
    ContractQuery,
    ContractRefused,
    ContractResolver,
    contract_symbol,
)
from broker_gateway.convert import number, trade_to_wire
from broker_gateway.errors import InvalidRequest, OutcomeUnknown, Rejected, RpcError, Unavailable
from broker_gateway.orders import OrderDesk, find_trade
from broker_gateway.pacing import Pacer
from broker_gateway.state import GatewayState
from trading.brokers import ibkr_protocol as wire
from trading.brokers import port
from trading.keys import is_our_reference, strip_broker_suffix

log = logging.getLogger(__name__)

SUMMARY_TAGS = (
    "TotalCashValue",
    "NetLiquidation",
    "BuyingPower",
    "GrossPositionValue",
    "UnrealizedPnL",
    "RealizedPnL",
)
Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class BrokerService:
    def __init__(
        self,
        ib: IB,
        state: GatewayState,
        pacer: Pacer,
        contracts: ContractResolver,
        desk: OrderDesk,
    ) -> None:
        self._ib = ib
        self._state = state
        self._pacer = pacer
        self._contracts = contracts
        self._desk = desk
        # ib_async keys positions and open-orders requests by name, not by request id: two
        # at once would share one slot and the first would never be answered. Concurrent
        # callers therefore share one in-flight query.
        self._in_flight: dict[str, asyncio.Future[Any]] = {}
        self.handlers: dict[str, Handler] = {
            "place_order": self.place_order,
            "cancel_order": self.cancel_order,
            "cancel_ours": self.cancel_ours,
            "order_status": self.order_status,
            "open_orders": self.open_orders,
            "executions": self.executions,
            "positions": self.positions,
            wire.POSITION_IN: self.position_in,
            "account_summary": self.account_summary,
            "resolve_contract": self.resolve_contract,
            "health": self.health,
        }

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        handler = self.handlers.get(method)
        if handler is None:
            raise InvalidRequest(f"unknown method {method!r}")
        if method != "health" and (reason := self._state.why_not_serving()):
            raise Unavailable(reason)
        try:
            return await handler(params)
        except RpcError:
            raise
        except ConnectionError as error:
            # The socket broke while we waited for IB's answer: unknown, not empty.
            raise OutcomeUnknown(f"IB connection lost during {method}: {error}") from error
        except RequestError as error:
            raise Rejected(f"IB error {error.code}: {error.message}", error.code) from error

    # --- orders -----------------------------------------------------------------------

    async def place_order(self, params: dict[str, Any]) -> Any:
        return await self._desk.place(params)

    async def cancel_order(self, params: dict[str, Any]) -> Any:
        return await self._desk.cancel(str(params.get("reference", "")))

    async def cancel_ours(self, params: dict[str, Any]) -> Any:
        return {"cancelled": await self._desk.cancel_ours()}

    async def order_status(self, params: dict[str, Any]) -> Any:
        trade = find_trade(self._ib, str(params.get("reference", "")))
        return None if trade is None else trade_to_wire(trade)

    async def open_orders(self, params: dict[str, Any]) -> Any:
        trades = await self._shared("open orders", self._ib.reqOpenOrdersAsync)
        self._still_connected("open orders")
        ours = [t for t in trades if is_our_reference(t.order.orderRef or "")]
        return [trade_to_wire(t) for t in ours]

    async def executions(self, params: dict[str, Any]) -> Any:
        await self._pacer.acquire()
        fills = await self._ib.reqExecutionsAsync()
        self._still_connected("executions")
        # Commission reports are attached to the session's own Fill objects, by execution id.
        known = {f.execution.execId: f for f in self._ib.fills()}
        fills = [known.get(f.execution.execId, f) for f in fills]
        return [
            {
                "exec_id": f.execution.execId,
                "reference": strip_broker_suffix(f.execution.orderRef or ""),
                "ours": is_our_reference(f.execution.orderRef or ""),
                "order_id": f.execution.orderId,
                "perm_id": f.execution.permId,
                "symbol": contract_symbol(f.contract),
                "side": "buy" if f.execution.side == "BOT" else "sell",
                "quantity": number(f.execution.shares),
                "price": number(f.execution.price),
                "at": f.execution.time.isoformat(),
                "commission": number(f.commissionReport.commission)
                if f.commissionReport.execId
                else None,
            }
            for f in fills
        ]

    # --- account ----------------------------------------------------------------------

    async def positions(self, params: dict[str, Any]) -> Any:
        positions = await self._shared("positions", self._ib.reqPositionsAsync)
        self._still_connected("positions")
        portfolio = {item.contract.conId: item for item in self._ib.portfolio()}
        result = []
        for position in positions:
            if self._state.account and position.account != self._state.account:
                continue
            if not position.position:
                continue
            contract = position.contract
            item = portfolio.get(contract.conId)
            multiplier = float(contract.multiplier or 1) or 1.0
            result.append(
                {
                    "symbol": contract_symbol(contract),
                    "quantity": number(position.position),
                    "avg_price": number(position.avgCost / multiplier),
                    "market_price": number(item.marketPrice) if item else None,
                    "unrealized_pnl": number(item.unrealizedPNL) if item else None,
                    "realized_pnl": number(item.realizedPNL) if item else None,
                    "extra": {
                        "sec_type": contract.secType,
                        "con_id": contract.conId,
                        "currency": contract.currency,
                        "account": position.account,
                        "market_value": _float(item.marketValue) if item else None,
                    },
                }
            )
        return result

    async def position_in(self, params: dict[str, Any]) -> wire.InstrumentPositionWire:
        """The account's position in one contract, matched by conId (never by symbol text),
        and our orders working on it.

        Positions come fresh from IB; the orders from ib_async's book, which IB keeps current
        while connected and which also holds orders just sent and not yet acknowledged. Both
        are checked against the connection afterwards: a read cut short raises."""
        instrument = wire.instrument_from_wire(params)
        query = ContractQuery(
            symbol=instrument.symbol,
            exchange=instrument.exchange,
            sec_type=instrument.sec_type,
            currency=instrument.currency,
        )
        # ``rejected`` is reserved for the instrument itself (see POSITION_IN).
        contract = await self._resolve(query)
        con_id = contract.conId
        try:
            positions = await self._shared("positions", self._ib.reqPositionsAsync)
        except RequestError as error:
            # Worth retrying, and not "rejected": that would read as a refused instrument.
            raise RpcError(f"IB refused the positions read: {error}") from error
        self._still_connected("positions")
        quantity = sum(
            (
                Decimal(number(p.position) or "0")
                for p in positions
                if p.contract.conId == con_id
                and (not self._state.account or p.account == self._state.account)
            ),
            Decimal(0),
        )
        working = []
        for trade in self._ib.openTrades():
            if trade.contract.conId != con_id or not is_our_reference(trade.order.orderRef or ""):
                continue
            order = trade_to_wire(trade)
            if order["status"] in port.ACTIVE_STATES:
                working.append(order)
        self._still_connected("open orders")
        increment = self._contracts.size_increment(con_id)
        return wire.InstrumentPositionWire(
            instrument_id=str(con_id),
            quantity=str(quantity),
            working=working,
            last_price=self._known_price(con_id),
            quantity_increment=None if increment is None else str(increment),
        )

    def _known_price(self, con_id: int) -> str | None:
        """A price the gateway already has (the portfolio IB streams for held positions);
        no market data is requested for it."""
        for item in self._ib.portfolio(self._state.account):
            if item.contract.conId == con_id and item.marketPrice > 0:
                return number(item.marketPrice)
        return None

    async def account_summary(self, params: dict[str, Any]) -> Any:
        values: dict[str, str] = {}
        currency = "USD"
        for value in self._ib.accountValues(self._state.account):
            if value.tag in SUMMARY_TAGS and value.currency not in ("", "BASE"):
                values[value.tag] = value.value
                currency = value.currency
        missing = [tag for tag in SUMMARY_TAGS if tag not in values]
        if missing:
            raise Unavailable(f"IB has not sent the account values yet: {', '.join(missing)}")
        positions = await self.positions(params)
        return {"summary": {**values, "Currency": currency}, "positions": positions}

    # --- contracts and health ---------------------------------------------------------

    async def resolve_contract(self, params: dict[str, Any]) -> Any:
        query = ContractQuery(
            symbol=str(params.get("symbol", "")),
            exchange=params.get("exchange"),
            sec_type=params.get("sec_type"),
            currency=params.get("currency"),
        )
        contract = await self._resolve(query)
        return {
            "con_id": contract.conId,
            "symbol": contract.symbol,
            "sec_type": contract.secType,
            "exchange": contract.exchange,
            "primary_exchange": contract.primaryExchange,
            "currency": contract.currency,
            "local_symbol": contract.localSymbol,
        }

    async def health(self, params: dict[str, Any]) -> Any:
        return self._state.health()

    async def _resolve(self, query: ContractQuery) -> Contract:
        try:
            return await self._contracts.resolve(query)
        except ContractRefused as error:
            raise Rejected(error.reason, error.code) from error

    async def _shared(self, name: str, request: Callable[[], Awaitable[Any]]) -> Any:
        running = self._in_flight.get(name)
        if running is None:

            async def paced() -> Any:
                await self._pacer.acquire()
                return await request()

            running = self._in_flight[name] = asyncio.ensure_future(paced())
            running.add_done_callback(lambda _: self._in_flight.pop(name, None))
        return await asyncio.shield(running)

    def _still_connected(self, what: str) -> None:
        # ib_async resets its caches on a disconnect; a reply read after that is not the truth.
        if not self._ib.isConnected() or not self._state.serving:
            raise OutcomeUnknown(f"IB connection lost during the {what} query")


def _float(value: float) -> float | None:
    text = number(value)
    return None if text is None else float(text)
