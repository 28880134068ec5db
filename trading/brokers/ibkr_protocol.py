"""The wire contract between the IBKR broker client (workers, web) and the gateway process.

Plain JSON over Redis, so the workers never import ib_async:

- requests: a Redis stream (``REQUESTS_STREAM``) read by the gateway's consumer group; each
  entry carries ``id``, ``method``, ``params`` (JSON), ``idem`` (idempotency key), ``deadline``
  (epoch seconds; an entry taken after it is dropped, not executed) and ``reply`` (a key);
- replies: one JSON document pushed on the request's reply key, which expires after
  ``REPLY_TTL_SECONDS``: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error": {...}}``;
- order events: a second stream (``EVENTS_STREAM``) that the ledger consumer records;
- health: a JSON document under ``HEALTH_KEY`` that the gateway refreshes every second with a
  short TTL, so a dead gateway reads as "not connected" without waiting on it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any, TypedDict

from trading.brokers import port

PREFIX = "tvbridge:ib:"
REQUESTS_STREAM = PREFIX + "requests"
REQUESTS_GROUP = "gateway"
REQUESTS_MAXLEN = 10_000
EVENTS_STREAM = PREFIX + "events"
EVENTS_GROUP = "ledger"
EVENTS_MAXLEN = 100_000
HEALTH_KEY = PREFIX + "health"
HEALTH_TTL_SECONDS = 3
REPLY_PREFIX = PREFIX + "reply:"
REPLY_TTL_SECONDS = 120
DONE_PREFIX = PREFIX + "done:"
DONE_TTL_SECONDS = 3600
ORDER_ID_FLOOR_KEY = PREFIX + "next-order-id"

# Error kinds in a reply, each mapped to one project exception by the client (a table in
# trading/brokers/ibkr.py). ``rejected`` is IB refusing a request: for a placement that is
# an order rejection; for a read or a cancel it is a refusal of that request.
UNAVAILABLE = "unavailable"  # not executed: gateway not connected, not reconciled or not tradeable
EXPIRED = "expired"  # not executed: taken after its deadline
REJECTED = "rejected"  # IB refused the order (terminal)
NOT_FOUND = "not_found"
NOT_CANCELLABLE = "not_cancellable"
UNKNOWN = "unknown"  # may have been executed: the connection broke mid-request
INVALID = "invalid"  # the request itself is wrong (unknown method, bad params)
TEMPORARY = "temporary"  # anything else worth retrying
ERROR_KINDS = frozenset(
    {UNAVAILABLE, EXPIRED, REJECTED, NOT_FOUND, NOT_CANCELLABLE, UNKNOWN, INVALID, TEMPORARY}
)

# The position in one instrument and our working orders on it. The request names the
# instrument as an alert does (``InstrumentWire``); the gateway resolves it to an IB
# contract and answers ``InstrumentPositionWire``, or an error (never a zero position when
# it could not tell). Its only ``rejected`` answer is IB having no single contract for the
# instrument (unknown, ambiguous, or not a kind we trade): no order can ever be placed for
# it, so the client raises OrderRejected, not RequestRefused.
POSITION_IN = "position_in"


class InstrumentWire(TypedDict):
    symbol: str
    exchange: str | None
    sec_type: str | None
    currency: str | None


class InstrumentPositionWire(TypedDict):
    instrument_id: str  # IB's conId, as text
    quantity: str  # signed decimal text; "0" when the account holds none
    # Our open orders on that conId, each as ``order_from_wire`` reads it.
    working: list[dict[str, Any]]
    last_price: str | None
    quantity_increment: str | None


def dumps(value: Any) -> str:
    return json.dumps(value, default=_default, separators=(",", ":"))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def order_to_wire(order: port.BrokerOrder) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(dumps(asdict(order)))
    return data


def order_from_wire(data: dict[str, Any]) -> port.BrokerOrder:
    fills = tuple(
        port.Fill(
            fill_id=f["fill_id"],
            quantity=Decimal(f["quantity"]),
            price=Decimal(f["price"]),
            at=datetime.fromisoformat(f["at"]),
            commission=_decimal(f.get("commission")),
        )
        for f in data.get("fills", ())
    )
    return port.BrokerOrder(
        reference=data["reference"],
        broker_order_id=str(data["broker_order_id"]),
        symbol=data["symbol"],
        side=data["side"],
        quantity=Decimal(data["quantity"]),
        order_type=data["order_type"],
        status=data["status"],
        filled_quantity=Decimal(data.get("filled_quantity") or 0),
        avg_fill_price=_decimal(data.get("avg_fill_price")),
        limit_price=_decimal(data.get("limit_price")),
        reason=data.get("reason"),
        perm_id=data.get("perm_id"),
        fills=fills,
        stop_price=_decimal(data.get("stop_price")),
    )


def instrument_to_wire(instrument: port.Instrument) -> InstrumentWire:
    return InstrumentWire(
        symbol=instrument.symbol,
        exchange=instrument.exchange,
        sec_type=instrument.sec_type,
        currency=instrument.currency,
    )


def instrument_from_wire(data: dict[str, Any]) -> port.Instrument:
    def text(key: str) -> str | None:
        value = data.get(key)
        return None if value in (None, "") else str(value)

    return port.Instrument(
        symbol=str(data.get("symbol") or ""),
        exchange=text("exchange"),
        sec_type=text("sec_type"),
        currency=text("currency"),
    )


def instrument_position_from_wire(data: dict[str, Any]) -> port.InstrumentPosition:
    return port.InstrumentPosition(
        instrument_id=str(data["instrument_id"]),
        quantity=Decimal(str(data["quantity"])),
        working=tuple(order_from_wire(item) for item in data["working"]),
        last_price=_decimal(data.get("last_price")),
        quantity_increment=_decimal(data.get("quantity_increment")),
    )


def position_from_wire(data: dict[str, Any]) -> port.Position:
    return port.Position(
        symbol=data["symbol"],
        quantity=Decimal(data["quantity"]),
        avg_price=Decimal(data["avg_price"]),
        market_price=_decimal(data.get("market_price")),
        unrealized_pnl=_decimal(data.get("unrealized_pnl")),
        realized_pnl=_decimal(data.get("realized_pnl")),
        extra=dict(data.get("extra") or {}),
    )


def summary_from_wire(data: dict[str, Any]) -> port.AccountSummary:
    return port.AccountSummary(
        total_cash_value=Decimal(data["TotalCashValue"]),
        net_liquidation=Decimal(data["NetLiquidation"]),
        buying_power=Decimal(data["BuyingPower"]),
        gross_position_value=Decimal(data["GrossPositionValue"]),
        unrealized_pnl=Decimal(data["UnrealizedPnL"]),
        realized_pnl=Decimal(data["RealizedPnL"]),
        currency=data.get("Currency", "USD"),
    )
