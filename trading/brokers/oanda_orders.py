"""OANDA v20 order bodies out, and OANDA's orders, transactions, positions and account in,
as the broker port's plain data.

OANDA's vocabulary is kept where we mirror it (``orderFillTransaction``, ``rejectReason``);
only the mapping decisions are ours, and each is written beside the code that makes it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, cast

from trading.brokers import port
from trading.brokers.oanda_instruments import Instrument
from trading.errors import OrderRejected

OandaOrderType = Literal["MARKET", "LIMIT", "STOP"]
# Market orders must be FOK or IOC at OANDA. FOK: the whole order or nothing, so a market
# order never ends half-filled with its remainder silently dropped; IOC only when asked for.
MARKET_TIME_IN_FORCE = "FOK"
MARKET_TIME_IN_FORCE_ASKED = {"ioc": "IOC", "fok": "FOK"}
RESTING_TIME_IN_FORCE = {"day": "GFD", "gtc": "GTC"}
# Exits attached to a trade live until the trade closes.
BRACKET_TIME_IN_FORCE = "GTC"
CLIENT_TAG = "tvbridge"
_PORT_ORDER_TYPES = {"MARKET": "market", "LIMIT": "limit", "STOP": "stop"}
_RFC3339 = re.compile(
    r"^(?P<head>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d+))?(?P<zone>Z|z|[+-]\d\d:\d\d)$"
)
_STATES = {
    "PENDING": port.SUBMITTED,
    "TRIGGERED": port.SUBMITTED,
    "FILLED": port.FILLED,
    "CANCELLED": port.CANCELLED,
}


def order_body(
    request: port.OrderRequest,
    instrument: Instrument,
    order_type: OandaOrderType,
    price: Decimal | None,
) -> dict[str, Any]:
    """The ``order`` of ``POST /v3/accounts/{id}/orders`` for ``request``."""
    extensions = {"id": request.reference, "tag": CLIENT_TAG}
    body: dict[str, Any] = {
        "type": order_type,
        "instrument": instrument.name,
        "units": instrument.signed_units(request.side, request.quantity),
        "positionFill": "DEFAULT",
        "clientExtensions": extensions,
        # The trade the fill opens carries the same id, so it can be found by reference too.
        "tradeClientExtensions": extensions,
    }
    if order_type == "MARKET":
        body["timeInForce"] = MARKET_TIME_IN_FORCE_ASKED.get(
            request.time_in_force, MARKET_TIME_IN_FORCE
        )
    else:
        if price is None or price <= 0:
            what = "limit_price" if order_type == "LIMIT" else "stop_price"
            raise OrderRejected(f"a {order_type.lower()} order needs a positive {what}")
        tif = RESTING_TIME_IN_FORCE.get(request.time_in_force)
        if tif is None:
            raise OrderRejected(
                f"a {order_type.lower()} order is sent to OANDA good for the day or good till "
                f"cancelled (time_in_force day or gtc), not {request.time_in_force}"
            )
        body["price"] = _text(price)
        body["timeInForce"] = tif
        body["triggerCondition"] = "DEFAULT"
    body.update(_bracket(request))
    return body


def _bracket(request: port.OrderRequest) -> dict[str, Any]:
    """takeProfitOnFill / stopLossOnFill / trailingStopLossOnFill, each with its own client
    id (the order's reference plus .tp, .sl or .ts) so the exits can be found by reference."""
    exits: dict[str, Any] = {}
    wanted = (
        ("takeProfitOnFill", "price", request.take_profit_price, "tp"),
        ("stopLossOnFill", "price", request.stop_loss_price, "sl"),
        ("trailingStopLossOnFill", "distance", request.trailing_stop_distance, "ts"),
    )
    for field, key, value, suffix in wanted:
        if value is None:
            continue
        if value <= 0:
            raise OrderRejected(f"{field} {key} must be positive, got {value}")
        exits[field] = {
            key: _text(value),
            "timeInForce": BRACKET_TIME_IN_FORCE,
            "clientExtensions": {"id": f"{request.reference}.{suffix}", "tag": CLIENT_TAG},
        }
    return exits


def order_from_reply(
    reply: dict[str, Any],
    *,
    reference: str,
    instrument: str,
    side: port.Side,
    quantity: Decimal,
    limit_price: Decimal | None = None,
    stop_price: Decimal | None = None,
    prefix: str = "order",
) -> port.BrokerOrder:
    """The order a create (or close-position) reply describes.

    ``prefix`` is ``order`` for ``POST .../orders`` and ``longOrder`` / ``shortOrder`` for a
    position close, whose reply carries one set of transactions per side.
    """
    created = reply.get(f"{prefix}CreateTransaction") or {}
    fill = reply.get(f"{prefix}FillTransaction")
    cancel = reply.get(f"{prefix}CancelTransaction")
    # A create transaction's type is the order's plus _ORDER (MARKET_ORDER, LIMIT_ORDER).
    order_type = str(created.get("type", "MARKET_ORDER")).removesuffix("_ORDER")
    return _order(
        reference=reference,
        broker_order_id=str(created.get("id", "")),
        instrument=instrument,
        side=side,
        quantity=quantity,
        order_type=order_type,
        limit_price=limit_price,
        stop_price=stop_price,
        state="FILLED" if fill else "CANCELLED" if cancel else "PENDING",
        fill=fill,
        cancel=cancel,
    )


def order_from_state(
    order: dict[str, Any], fill: dict[str, Any] | None, cancel: dict[str, Any] | None
) -> port.BrokerOrder:
    """An order read back (``GET .../orders/@{clientID}``), with the transactions that
    filled or cancelled it when it has them."""
    units = _amount(order.get("units"))
    order_type = str(order.get("type", "MARKET"))
    return _order(
        reference=str((order.get("clientExtensions") or {}).get("id", "")),
        broker_order_id=str(order.get("id", "")),
        instrument=str(order.get("instrument", "")),
        side="sell" if units < 0 else "buy",
        quantity=abs(units),
        order_type=order_type,
        limit_price=decimal_or_none(order.get("price")) if order_type == "LIMIT" else None,
        stop_price=decimal_or_none(order.get("price")) if order_type == "STOP" else None,
        state=str(order.get("state", "PENDING")),
        fill=fill,
        cancel=cancel,
    )


def _order(
    *,
    reference: str,
    broker_order_id: str,
    instrument: str,
    side: port.Side,
    quantity: Decimal,
    order_type: str,
    limit_price: Decimal | None,
    state: str,
    fill: dict[str, Any] | None,
    cancel: dict[str, Any] | None,
    stop_price: Decimal | None = None,
) -> port.BrokerOrder:
    fills = (_fill(fill),) if fill else ()
    filled = sum((f.quantity for f in fills), Decimal(0))
    status = _STATES.get(state, port.SUBMITTED)
    reason = None
    if cancel is not None:
        reason = f"OANDA cancelled the order: {cancel.get('reason', 'no reason given')}"
        # A market order cancelled by OANDA (FOK not filled, insufficient margin, market
        # halted) never traded: for the trader that is a rejection, not a cancel they asked for.
        if order_type == "MARKET" and not fills:
            status = port.REJECTED
    if fills and filled < quantity and status == port.FILLED:
        status = port.CANCELLED if cancel is not None else port.PARTIALLY_FILLED
    return port.BrokerOrder(
        reference=reference,
        broker_order_id=broker_order_id,
        symbol=instrument,
        side=side,
        quantity=quantity,
        order_type=cast(port.OrderType, _PORT_ORDER_TYPES.get(order_type, order_type.lower())),
        status=status,
        filled_quantity=filled,
        avg_fill_price=fills[0].price if fills else None,
        limit_price=limit_price,
        reason=reason,
        fills=fills,
        stop_price=stop_price,
    )


def _fill(transaction: dict[str, Any]) -> port.Fill:
    price = transaction.get("fullVWAP") or transaction.get("price")
    return port.Fill(
        fill_id=str(transaction["id"]),
        quantity=abs(_amount(transaction.get("units"))),
        price=_amount(price),
        at=parse_time(transaction.get("time")),
        commission=decimal_or_none(transaction.get("commission")),
    )


def position_from_oanda(raw: dict[str, Any]) -> port.Position:
    """Net units = long + short (short units are negative); the average price is that of
    the side that is open (on a hedging account with both open, of the larger side)."""
    long_side, short_side = raw.get("long") or {}, raw.get("short") or {}
    long_units = _amount(long_side.get("units"))
    short_units = _amount(short_side.get("units"))
    net = long_units + short_units
    open_side = long_side if long_units >= abs(short_units) else short_side
    return port.Position(
        symbol=str(raw["instrument"]),
        quantity=net,
        avg_price=_amount(open_side.get("averagePrice")),
        unrealized_pnl=decimal_or_none(raw.get("unrealizedPL")),
        realized_pnl=decimal_or_none(raw.get("pl")),
        extra={
            "long_units": long_units,
            "short_units": short_units,
            "margin_used": decimal_or_none(raw.get("marginUsed")),
            "financing": decimal_or_none(raw.get("financing")),
        },
    )


def summary_from_oanda(account: dict[str, Any]) -> port.AccountSummary:
    """The six figures from ``GET .../summary``.

    BuyingPower is the notional the free margin could still open at the account's margin
    rate: marginAvailable / marginRate, that is marginAvailable times the leverage, as IB's
    BuyingPower is a notional. Instruments with a higher margin rate than the account's
    allow less.
    """
    margin_available = _amount(account.get("marginAvailable"))
    margin_rate = _amount(account.get("marginRate"))
    buying_power = margin_available / margin_rate if margin_rate > 0 else margin_available
    return port.AccountSummary(
        total_cash_value=_amount(account.get("balance")),
        net_liquidation=_amount(account.get("NAV")),
        buying_power=buying_power.quantize(Decimal("0.01")),
        gross_position_value=_amount(account.get("positionValue")),
        unrealized_pnl=_amount(account.get("unrealizedPL")),
        realized_pnl=_amount(account.get("pl")),
        currency=str(account.get("currency", "USD")),
    )


def parse_time(value: object) -> datetime:
    """RFC3339 with up to nanoseconds (OANDA's format) → an aware datetime."""
    if not isinstance(value, str) or not value:
        return datetime.now(UTC)
    match = _RFC3339.match(value)
    if match is None:
        return datetime.fromisoformat(value)
    fraction = f".{match['fraction'][:6]}" if match["fraction"] else ""
    zone = "+00:00" if match["zone"] in ("Z", "z") else match["zone"]
    return datetime.fromisoformat(f"{match['head']}{fraction}{zone}")


def decimal_or_none(value: object) -> Decimal | None:
    """OANDA sends numbers as strings; absent or malformed is None, never zero."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _amount(value: object) -> Decimal:
    number = decimal_or_none(value)
    return Decimal(0) if number is None else number


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")
