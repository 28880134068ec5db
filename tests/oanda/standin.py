"""A local stand-in of the OANDA v20 REST endpoints tvbridge uses, over real HTTP.

A small netting account (one position per instrument) with orders, trades, transactions and
instruments; the HTTP side (request log, connection count, faults) is ``standin_http``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tests.oanda.standin_http import Answer, Recorded, RecordingServer

ACCOUNT_PATH = re.compile(r"^/v3/accounts/(?P<account>[^/]+)(?P<rest>/.*)?$")
_FIELDS = (
    "name", "type", "displayName", "tradeUnitsPrecision", "minimumTradeSize",
    "displayPrecision", "price",
)  # fmt: skip
INSTRUMENTS: list[dict[str, Any]] = [
    dict(zip(_FIELDS, row, strict=True))
    for row in (
        ("EUR_USD", "CURRENCY", "EUR/USD", 0, "1", 5, "1.10000"),
        ("GBP_USD", "CURRENCY", "GBP/USD", 0, "1", 5, "1.27000"),
        ("USD_JPY", "CURRENCY", "USD/JPY", 0, "1", 3, "150.000"),
        ("SPX500_USD", "CFD", "US SPX 500", 1, "0.1", 1, "5000.0"),
        ("XAU_USD", "METAL", "Gold", 0, "1", 3, "2300.000"),
        ("BTC_USD", "CFD", "Bitcoin", 2, "0.01", 1, "60000.0"),
    )
]


@dataclass
class Position:
    units: Decimal = Decimal(0)
    average: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _error(status: int, message: str, code: str | None = None, **extra: Any) -> Answer:
    body: dict[str, Any] = {"errorMessage": message, **extra}
    if code:
        body["errorCode"] = code
    return Answer(status, body)


class OandaStandIn(RecordingServer):
    """The account's state and the request log; ``start()`` serves it on a free port."""

    def __init__(
        self, token: str, account_id: str, *, balance: str = "100000", margin_rate: str = "0.02"
    ) -> None:
        self.token, self.account_id = token, account_id
        self.balance = Decimal(balance)
        self.margin_rate = Decimal(margin_rate)
        self.instruments = {spec["name"]: dict(spec) for spec in INSTRUMENTS}
        self.prices = {name: Decimal(spec["price"]) for name, spec in self.instruments.items()}
        self.orders: dict[str, dict[str, Any]] = {}
        self.transactions: dict[str, dict[str, Any]] = {}
        self.positions: dict[str, Position] = {}
        self._next_id = 1000
        super().__init__()

    def order_posts(self) -> list[Recorded]:
        return self.requests_to("POST", r"/orders$")

    def fill_resting(self, client_id: str, price: str) -> None:
        """The market reaches a resting order: it fills at ``price``, as OANDA would."""
        order = self._find("@" + client_id)
        assert order is not None and order["state"] == "PENDING", order
        self.prices[order["instrument"]] = Decimal(price)
        self._execute(order, Decimal(price), "orderFillTransaction", "orderCancelTransaction")

    def handle(
        self, method: str, path: str, body: dict[str, Any] | None, auth: str | None
    ) -> Answer:
        if auth != f"Bearer {self.token}":
            return _error(401, "Insufficient authorization to perform request.")
        match = ACCOUNT_PATH.match(path)
        if match is None:
            return _error(404, f"no such endpoint {path}")
        if match["account"] != self.account_id:
            return _error(403, "The provided request was forbidden.")
        rest = match["rest"] or ""
        with self._lock:
            return self._route(method, rest, body or {})

    def _route(self, method: str, rest: str, body: dict[str, Any]) -> Answer:
        parts = [p for p in rest.split("/") if p]
        if method == "GET" and parts == ["summary"]:
            return Answer(200, {"account": self._summary(), "lastTransactionID": self._last()})
        if method == "GET" and parts == ["instruments"]:
            listed = [
                {k: v for k, v in i.items() if k != "price"} for i in self.instruments.values()
            ]
            return Answer(200, {"instruments": listed, "lastTransactionID": self._last()})
        if method == "POST" and parts == ["orders"]:
            return self._create(body.get("order") or {})
        if method == "GET" and len(parts) == 2 and parts[0] == "orders":
            order = self._find(parts[1])
            if order is None:
                return _error(404, "The Order specified does not exist", "ORDER_DOESNT_EXIST")
            return Answer(200, {"order": order, "lastTransactionID": self._last()})
        if method == "PUT" and len(parts) == 3 and parts[0] == "orders" and parts[2] == "cancel":
            return self._cancel(parts[1])
        if method == "GET" and parts == ["pendingOrders"]:
            pending = [o for o in self.orders.values() if o["state"] == "PENDING"]
            return Answer(200, {"orders": pending, "lastTransactionID": self._last()})
        if method == "GET" and parts == ["openPositions"]:
            open_ = [self._position(n) for n, p in self.positions.items() if p.units != 0]
            return Answer(200, {"positions": open_, "lastTransactionID": self._last()})
        if method == "GET" and len(parts) == 2 and parts[0] == "positions":
            if parts[1] not in self.instruments:
                return _error(400, "Invalid value specified for 'instrument'", "INVALID_INSTRUMENT")
            return Answer(200, {"position": self._position(parts[1])})
        if method == "PUT" and len(parts) == 3 and parts[0] == "positions" and parts[2] == "close":
            return self._close(parts[1], body)
        if method == "GET" and len(parts) == 2 and parts[0] == "transactions":
            found = self.transactions.get(parts[1])
            if found is None:
                return _error(404, "The transaction specified does not exist")
            return Answer(200, {"transaction": found, "lastTransactionID": self._last()})
        return _error(405, f"the stand-in does not serve {method} {rest}")

    # --- orders -----------------------------------------------------------------------

    def _create(self, order: dict[str, Any]) -> Answer:
        rejected = self._validate(order)
        if rejected is not None:
            reason, message = rejected
            tx = self._transaction("MARKET_ORDER_REJECT", rejectReason=reason)
            return _error(400, message, reason, orderRejectTransaction=tx)
        created = self._transaction(
            f"{order['type']}_ORDER", **{k: v for k, v in order.items() if k != "type"}
        )
        record = {
            **order,
            "id": created["id"],
            "state": "PENDING",
            "createTime": created["time"],
        }
        self.orders[record["id"]] = record
        reply: dict[str, Any] = {"orderCreateTransaction": created}
        price = self.prices[order["instrument"]]
        units = Decimal(order["units"])
        trigger = Decimal(order.get("price", "0"))
        if order["type"] == "MARKET":
            marketable = True
        elif order["type"] == "LIMIT":
            marketable = price <= trigger if units > 0 else price >= trigger
        else:
            marketable = price >= trigger if units > 0 else price <= trigger
        if marketable:
            reply.update(
                self._execute(record, price, "orderFillTransaction", "orderCancelTransaction")
            )
        reply["relatedTransactionIDs"] = [created["id"]]
        reply["lastTransactionID"] = self._last()
        return Answer(201, reply)

    def _validate(self, order: dict[str, Any]) -> tuple[str, str] | None:
        instrument = self.instruments.get(str(order.get("instrument")))
        if instrument is None:
            return "INSTRUMENT_UNKNOWN", "The instrument specified is unknown"
        units = Decimal(str(order.get("units", "0")))
        if units == 0:
            return "UNITS_INVALID", "The units specified is invalid"
        if -units.normalize().as_tuple().exponent > instrument["tradeUnitsPrecision"]:  # type: ignore[operator]
            return "UNITS_PRECISION_EXCEEDED", "The units specified has more precision than allowed"
        allowed = {"MARKET": ("FOK", "IOC")}.get(order.get("type", ""), ("GTC", "GFD", "GTD"))
        if order.get("timeInForce") not in allowed:
            return "TIME_IN_FORCE_INVALID", "The time in force specified is invalid"
        if order.get("type") not in ("MARKET", "LIMIT", "STOP"):
            return "INVALID_ORDER_TYPE", "The order type specified is invalid"
        client_id = (order.get("clientExtensions") or {}).get("id")
        if client_id and any(
            (o.get("clientExtensions") or {}).get("id") == client_id and o["state"] == "PENDING"
            for o in self.orders.values()
        ):
            return (
                "CLIENT_ORDER_ID_ALREADY_EXISTS",
                "The client Order ID specified is already assigned to another pending Order",
            )
        return None

    def _execute(
        self, order: dict[str, Any], price: Decimal, fill_key: str, cancel_key: str
    ) -> dict[str, Any]:
        units = Decimal(order["units"])
        position = self.positions.setdefault(order["instrument"], Position())
        grows = position.units == 0 or (position.units > 0) == (units > 0)
        after = abs(position.units + units)
        if grows and after * price * self.margin_rate > self._margin_available():
            return {cancel_key: self._cancel_order(order, "INSUFFICIENT_MARGIN")}
        realized = self._apply_fill(position, units, price)
        self.balance += realized
        fill = self._transaction(
            "ORDER_FILL",
            orderID=order["id"],
            instrument=order["instrument"],
            units=_text(units),
            price=_text(price),
            fullVWAP=_text(price),
            pl=_text(realized),
            financing="0",
            commission="0",
            accountBalance=_text(self.balance),
            reason=f"{order['type']}_ORDER",
            clientOrderID=(order.get("clientExtensions") or {}).get("id"),
            tradeOpened={"tradeID": None, "units": _text(units), "price": _text(price)},
        )
        fill["tradeOpened"]["tradeID"] = fill["id"]
        order.update(state="FILLED", fillingTransactionID=fill["id"], filledTime=fill["time"])
        order["tradeOpenedID"] = fill["id"]
        for kind, exit_type in (
            ("takeProfitOnFill", "TAKE_PROFIT"),
            ("stopLossOnFill", "STOP_LOSS"),
            ("trailingStopLossOnFill", "TRAILING_STOP_LOSS"),
        ):
            if kind in order:
                self._exit_order(exit_type, fill["id"], order[kind])
        return {fill_key: fill}

    def _exit_order(self, exit_type: str, trade_id: str, spec: dict[str, Any]) -> None:
        created = self._transaction(f"{exit_type}_ORDER", tradeID=trade_id, **spec)
        self.orders[created["id"]] = {
            **spec,
            "id": created["id"],
            "type": exit_type,
            "tradeID": trade_id,
            "state": "PENDING",
            "createTime": created["time"],
        }

    @staticmethod
    def _apply_fill(position: Position, units: Decimal, price: Decimal) -> Decimal:
        """Netting: a fill first reduces an opposite position (realizing PnL), then opens."""
        if position.units == 0 or (position.units > 0) == (units > 0):
            total = position.units + units
            position.average = (position.average * position.units + price * units) / total
            position.units = total
            return Decimal(0)
        closing = -position.units if abs(units) >= abs(position.units) else units
        realized = (price - position.average) * -closing
        position.realized += realized
        remainder = units - closing
        position.units += closing
        if remainder:
            position.units, position.average = remainder, price
        elif position.units == 0:
            position.average = Decimal(0)
        return realized

    def _cancel(self, specifier: str) -> Answer:
        order = self._find(specifier)
        if order is None or order["state"] != "PENDING":
            reason = "ORDER_DOESNT_EXIST" if order is None else "ORDER_NOT_PENDING"
            tx = self._transaction("ORDER_CANCEL_REJECT", rejectReason=reason)
            return _error(
                404,
                "The Order specified does not exist or is not pending",
                reason,
                orderCancelRejectTransaction=tx,
            )
        cancelled = self._cancel_order(order, "CLIENT_REQUEST")
        return Answer(200, {"orderCancelTransaction": cancelled, "lastTransactionID": self._last()})

    def _cancel_order(self, order: dict[str, Any], reason: str) -> dict[str, Any]:
        tx = self._transaction(
            "ORDER_CANCEL",
            orderID=order["id"],
            reason=reason,
            clientOrderID=(order.get("clientExtensions") or {}).get("id"),
        )
        order.update(state="CANCELLED", cancellingTransactionID=tx["id"], cancelledTime=tx["time"])
        return tx

    def _close(self, instrument: str, body: dict[str, Any]) -> Answer:
        if instrument not in self.instruments:
            return _error(400, "Invalid value specified for 'instrument'", "INVALID_INSTRUMENT")
        position = self.positions.get(instrument, Position())
        reply: dict[str, Any] = {}
        for side, wanted in (("long", position.units > 0), ("short", position.units < 0)):
            if f"{side}Units" not in body:
                continue
            if not wanted:
                return _error(
                    400,
                    "The Position requested to be closed out does not exist",
                    "CLOSEOUT_POSITION_DOESNT_EXIST",
                )
            order = {
                "type": "MARKET",
                "instrument": instrument,
                "units": _text(-position.units),
                "timeInForce": "FOK",
                "positionFill": "REDUCE_ONLY",
                "clientExtensions": body.get(f"{side}ClientExtensions") or {},
            }
            created = self._transaction("MARKET_ORDER", reason="POSITION_CLOSEOUT", **order)
            record = {
                **order,
                "id": created["id"],
                "state": "PENDING",
                "createTime": created["time"],
            }
            self.orders[record["id"]] = record
            reply[f"{side}OrderCreateTransaction"] = created
            reply.update(
                self._execute(
                    record,
                    self.prices[instrument],
                    f"{side}OrderFillTransaction",
                    f"{side}OrderCancelTransaction",
                )
            )
        if not reply:
            return _error(400, "No units specified to close", "UNITS_INVALID")
        reply["lastTransactionID"] = self._last()
        return Answer(200, reply)

    # --- account ----------------------------------------------------------------------

    def _find(self, specifier: str) -> dict[str, Any] | None:
        if specifier.startswith("@"):
            wanted = specifier[1:]
            matches = [
                o
                for o in self.orders.values()
                if (o.get("clientExtensions") or {}).get("id") == wanted
            ]
            return matches[-1] if matches else None
        return self.orders.get(specifier)

    def _unrealized(self, name: str) -> Decimal:
        position = self.positions.get(name, Position())
        return (self.prices[name] - position.average) * position.units

    def _position(self, name: str) -> dict[str, Any]:
        position = self.positions.get(name, Position())
        unrealized = self._unrealized(name)
        empty = {"units": "0", "pl": "0", "unrealizedPL": "0"}
        long_side, short_side = dict(empty), dict(empty)
        open_side = long_side if position.units > 0 else short_side
        if position.units:
            open_side.update(
                units=_text(position.units),
                averagePrice=_text(position.average),
                unrealizedPL=_text(unrealized),
            )
        return {
            "instrument": name,
            "long": long_side,
            "short": short_side,
            "pl": _text(position.realized),
            "unrealizedPL": _text(unrealized),
            "marginUsed": _text(abs(position.units) * self.prices[name] * self.margin_rate),
            "financing": "0",
        }

    def _margin_used(self) -> Decimal:
        return sum(
            (abs(p.units) * self.prices[n] * self.margin_rate for n, p in self.positions.items()),
            Decimal(0),
        )

    def _margin_available(self) -> Decimal:
        unrealized = sum((self._unrealized(n) for n in self.positions), Decimal(0))
        return self.balance + unrealized - self._margin_used()

    def _summary(self) -> dict[str, Any]:
        unrealized = sum((self._unrealized(n) for n in self.positions), Decimal(0))
        value = sum((abs(p.units) * self.prices[n] for n, p in self.positions.items()), Decimal(0))
        realized = sum((p.realized for p in self.positions.values()), Decimal(0))
        return {
            "id": self.account_id,
            "currency": "USD",
            "balance": _text(self.balance),
            "NAV": _text(self.balance + unrealized),
            "unrealizedPL": _text(unrealized),
            "pl": _text(realized),
            "marginUsed": _text(self._margin_used()),
            "marginAvailable": _text(self._margin_available()),
            "positionValue": _text(value),
            "marginRate": _text(self.margin_rate),
            "marginCloseoutPercent": "0",
            "openPositionCount": sum(1 for p in self.positions.values() if p.units),
            "pendingOrderCount": sum(1 for o in self.orders.values() if o["state"] == "PENDING"),
        }

    def _transaction(self, kind: str, **fields: Any) -> dict[str, Any]:
        self._next_id += 1
        tx = {"id": str(self._next_id), "type": kind, "time": _now(), **fields}
        self.transactions[tx["id"]] = tx
        return tx

    def _last(self) -> str:
        return str(self._next_id)
