"""The OANDA broker: OANDA's v20 REST API behind the broker port, called from the workers.

Every order carries the tvbridge order reference as its ``clientExtensions.id`` (and its
trade's), so an order whose reply was lost can be found with
``GET /v3/accounts/{id}/orders/@{reference}``. Placing is never retried here: an unanswered
placement raises BrokerStateUnknown and the processor looks the order up by reference before
anything is sent again. Reads are retried with back-off on 429, 5xx and timeouts.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from trading.brokers import port
from trading.brokers.oanda_instruments import Instrument, InstrumentCatalog
from trading.brokers.oanda_orders import (
    OandaOrderType,
    decimal_or_none,
    order_body,
    order_from_reply,
    order_from_state,
    position_from_oanda,
    summary_from_oanda,
)
from trading.brokers.oanda_wire import OandaHttp, OandaRejected, Purpose
from trading.errors import (
    BrokerUnavailable,
    NotCancellable,
    OrderNotFound,
    OrderRejected,
    RequestRefused,
    TemporaryError,
    TvbridgeError,
)
from trading.keys import is_our_reference
from trading.retry import retrier

HEALTH_TIMEOUT_SECONDS = 1.0


class OandaBroker:
    name = "oanda"
    capabilities = port.Capabilities(
        order_types=frozenset({"market", "limit", "stop"}),
        # Per instrument: each one's tradeUnitsPrecision is checked before sending.
        fractional_quantities=True,
        short_selling=True,
        asset_classes=frozenset({"CASH", "CFD", "CRYPTO"}),
        # REST only: fills of resting orders are found by looking them up.
        pushes_order_updates=False,
        # takeProfitOnFill / stopLossOnFill / trailingStopLossOnFill ride on the entry.
        attached_exits=True,
    )

    def __init__(
        self,
        *,
        url: str,
        token: str,
        account_id: str,
        environment: str = "practice",
        read_timeout: float = 5.0,
        place_timeout: float = 10.0,
        health_timeout: float = HEALTH_TIMEOUT_SECONDS,
    ) -> None:
        self.environment = environment
        self._http = OandaHttp(
            url, token, account_id, read_timeout=read_timeout, place_timeout=place_timeout
        )
        self._health_timeout = health_timeout
        self._catalog = InstrumentCatalog(self._fetch_instruments)

    # --- orders -----------------------------------------------------------------------

    @retrier(0)
    def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
        refusal = unsupported(request)
        if refusal is not None:
            raise OrderRejected(f"{request.reference}: {refusal}")
        if request.order_type == "limit":
            return self._place(request, "LIMIT", request.limit_price)
        if request.order_type == "stop":
            return self._place(request, "STOP", request.stop_price)
        return self._place(request, "MARKET", None)

    @retrier(0)
    def submit_stop(self, request: port.OrderRequest, stop_price: Decimal) -> port.BrokerOrder:
        """A stop entry order: a market order once the price trades through ``stop_price``."""
        return self._place(request, "STOP", stop_price)

    @retrier(0)
    def close_position(self, symbol: str, reference: str | None = None) -> list[port.BrokerOrder]:
        """Close the whole position in ``symbol`` (both sides on a hedging account).

        Returns the closing orders, or [] when OANDA says the position is already flat.
        """
        instrument = self.instrument(symbol)
        try:
            raw = self._get(self._http.account_path("positions", instrument.name), "position")
        except TemporaryError as error:
            raise BrokerUnavailable(f"position of {instrument.name} unknown: {error}") from error
        sides = {
            "long": Decimal(str((raw.get("long") or {}).get("units", "0"))),
            "short": Decimal(str((raw.get("short") or {}).get("units", "0"))),
        }
        open_sides = [side for side, units in sides.items() if units != 0]
        body: dict[str, Any] = {}
        for side in open_sides:
            body[f"{side}Units"] = "ALL"
            if reference is not None:
                tail = f".{side}" if len(open_sides) > 1 else ""
                body[f"{side}ClientExtensions"] = {"id": reference + tail, "tag": "tvbridge"}
        if not body:
            return []
        reply = self._http.request(
            "PUT",
            self._http.account_path("positions", instrument.name, "close"),
            Purpose.PLACE,
            body=body,
        )
        return [
            order_from_reply(
                reply,
                reference=str(body[f"{side}ClientExtensions"]["id"]) if reference else "",
                instrument=instrument.name,
                side="sell" if side == "long" else "buy",
                quantity=abs(sides[side]),
                prefix=f"{side}Order",
            )
            for side in open_sides
        ]

    @retrier(3)
    def cancel(self, reference: str) -> port.BrokerOrder:
        try:
            self._http.request(
                "PUT", self._http.account_path("orders", "@" + reference, "cancel"), Purpose.CANCEL
            )
        except OrderNotFound as error:
            # OANDA answers 404 both for no such order and for one no longer pending.
            seen = self.order_by_reference(reference)
            if seen is None:
                raise OrderNotFound(f"OANDA has no order with client id {reference}") from error
            if seen.status in port.DONE_STATES:
                raise NotCancellable(f"order {reference} is already {seen.status}") from error
            raise RequestRefused(f"OANDA would not cancel order {reference}: {error}") from error
        seen = self.order_by_reference(reference)
        if seen is None:
            raise TemporaryError(f"order {reference} was cancelled but OANDA does not show it")
        return seen

    @retrier(3)
    def order_by_reference(self, reference: str) -> port.BrokerOrder | None:
        try:
            reply = self._http.request(
                "GET", self._http.account_path("orders", "@" + reference), Purpose.LOOKUP
            )
        except OrderNotFound:
            return None
        order = _field(reply, "order")
        fill = self._transaction(order.get("fillingTransactionID"))
        cancel = self._transaction(order.get("cancellingTransactionID"))
        return order_from_state(order, fill, cancel)

    @retrier(3)
    def open_orders(self) -> list[port.BrokerOrder]:
        """Pending entry orders. Exits attached to trades (take profit, stop loss) name no
        instrument or units of their own; they show with the trade's position instead."""
        orders = self._get(self._http.account_path("pendingOrders"), "orders")
        return [
            order_from_state(order, None, None)
            for order in orders
            if "instrument" in order and "units" in order
        ]

    # --- account ----------------------------------------------------------------------

    @retrier(3)
    def positions(self) -> list[port.Position]:
        raw = self._get(self._http.account_path("openPositions"), "positions")
        return sorted((position_from_oanda(item) for item in raw), key=lambda p: p.symbol)

    @retrier(3)
    def position_in(self, instrument: port.Instrument) -> port.InstrumentPosition:
        """The net position (long units plus the negative short units) in the OANDA
        instrument the symbol names, and our pending entry orders on it.

        Read from the account's open positions, a complete list: an instrument missing from
        it is flat. A read that fails raises; it never reads as flat. Exits attached to a
        trade (take profit, stop loss) name no instrument or units of their own and are not
        listed: they close the position rather than add to it."""
        # An instrument the account does not offer is OrderRejected: nothing can be placed.
        resolved = self.instrument(instrument.symbol)
        raw_positions = self._get(self._http.account_path("openPositions"), "positions")
        held = [
            position_from_oanda(item)
            for item in raw_positions
            if str(item.get("instrument")) == resolved.name
        ]
        raw_orders = self._get(self._http.account_path("pendingOrders"), "orders")
        working = tuple(
            order_from_state(order, None, None)
            for order in raw_orders
            if order.get("instrument") == resolved.name
            and "units" in order
            and is_our_reference(str((order.get("clientExtensions") or {}).get("id", "")))
        )
        return port.InstrumentPosition(
            instrument_id=resolved.name,
            quantity=sum((p.quantity for p in held), Decimal(0)),
            working=working,
            quantity_increment=resolved.quantity_increment,
        )

    @retrier(3)
    def account_summary(self) -> port.AccountSummary:
        return summary_from_oanda(self._account())

    def health(self) -> port.BrokerHealth:
        """One cheap read (the account summary) with a short timeout; never raises."""
        detail: dict[str, Any] = {"broker": "oanda", "environment": self.environment}
        started = time.monotonic()
        try:
            account = self._account(timeout=self._health_timeout)
        except TvbridgeError as error:
            return port.BrokerHealth(False, False, detail={**detail, "error": str(error)})
        latency = (time.monotonic() - started) * 1000
        closeout = decimal_or_none(account.get("marginCloseoutPercent")) or Decimal(0)
        detail.update(
            currency=account.get("currency"),
            open_positions=account.get("openPositionCount"),
            pending_orders=account.get("pendingOrderCount"),
            margin_closeout_percent=str(closeout),
        )
        # At 100 % OANDA is closing the account's positions out: nothing new should be sent.
        return port.BrokerHealth(True, closeout < 1, latency_ms=round(latency, 3), detail=detail)

    # --- instruments ------------------------------------------------------------------

    def instrument(self, symbol: str) -> Instrument:
        """The account's instrument for ``symbol``; OrderRejected when there is none. Raised
        before anything is sent, so a failed instrument read is BrokerUnavailable."""
        try:
            return self._catalog.resolve(symbol)
        except TemporaryError as error:
            raise BrokerUnavailable(f"instrument list unavailable: {error}") from error

    def instruments(self) -> list[Instrument]:
        return self._catalog.instruments()

    def close(self) -> None:
        self._http.close()

    # --- internals --------------------------------------------------------------------

    def _place(
        self, request: port.OrderRequest, order_type: OandaOrderType, price: Decimal | None
    ) -> port.BrokerOrder:
        if request.not_after is not None and datetime.now(UTC) >= request.not_after:
            raise BrokerUnavailable(
                f"{request.reference}: the alert reached its maximum age; nothing sent"
            )
        instrument = self.instrument(request.symbol)
        body = order_body(request, instrument, order_type, price)
        try:
            reply = self._http.request(
                "POST", self._http.account_path("orders"), Purpose.PLACE, body={"order": body}
            )
        except OandaRejected as error:
            if error.reject_reason == "CLIENT_ORDER_ID_ALREADY_EXISTS":
                existing = self.order_by_reference(request.reference)
                if existing is not None:
                    return existing
            raise
        return order_from_reply(
            reply,
            reference=request.reference,
            instrument=instrument.name,
            side=request.side,
            quantity=request.quantity,
            limit_price=price if order_type == "LIMIT" else None,
            stop_price=price if order_type == "STOP" else None,
        )

    def _account(self, timeout: float | None = None) -> dict[str, Any]:
        reply = self._http.request(
            "GET", self._http.account_path("summary"), Purpose.READ, timeout=timeout
        )
        account = _field(reply, "account")
        for name in ("balance", "NAV"):
            if name not in account:
                raise TemporaryError(f"OANDA's account summary lacks {name}")
        return account

    def _transaction(self, transaction_id: object) -> dict[str, Any] | None:
        if not transaction_id:
            return None
        try:
            reply = self._http.request(
                "GET",
                self._http.account_path("transactions", str(transaction_id)),
                Purpose.LOOKUP,
            )
        except OrderNotFound as error:
            raise TemporaryError(f"OANDA does not show transaction {transaction_id} yet") from error
        return _field(reply, "transaction")

    def _fetch_instruments(self) -> list[dict[str, Any]]:
        return list(self._get(self._http.account_path("instruments"), "instruments"))

    def _get(self, url_path: str, key: str) -> Any:
        return _field(self._http.request("GET", url_path, Purpose.READ), key)


def unsupported(request: port.OrderRequest) -> str | None:
    """Why OANDA cannot take ``request`` as asked, or None. Said before anything is sent,
    so nothing the request asks for is silently left out."""
    if request.order_type == "stop_limit":
        return (
            "OANDA has no stop-limit order: its STOP order trades at market once triggered "
            "(a priceBound cancels a fill beyond it, it never rests as a limit)"
        )
    if request.order_type == "trailing_stop":
        return (
            "OANDA trails a stop only as an exit attached to a trade "
            "(trailing_stop_distance on the entry), never as an entry order"
        )
    if request.parent_reference is not None or request.oca_group is not None:
        return (
            "OANDA attaches a bracket's exits to the entry (take_profit_price, "
            "stop_loss_price, trailing_stop_distance); it has no child or OCA orders "
            "(parent_reference, oca_group)"
        )
    if request.trail_amount is not None or request.trail_percent is not None:
        return "trail_amount and trail_percent belong to a trailing stop, which OANDA has not"
    if request.stop_price is not None and request.order_type != "stop":
        return f"stop_price does not belong to a {request.order_type} order"
    if request.limit_price is not None and request.order_type != "limit":
        return f"limit_price does not belong to a {request.order_type} order"
    # outside_rth asks for nothing here: OANDA has no separate regular session, its
    # instruments trade whenever their market is open.
    return None


def _field(reply: dict[str, Any], key: str) -> Any:
    """A field OANDA's answer must carry; its absence is an unknown, never an empty answer."""
    if key not in reply:
        raise TemporaryError(f"OANDA's answer lacks {key!r}")
    return reply[key]
