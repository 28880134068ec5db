"""The validated alert: what a worker plans from.

An alert says one of five things (its ``intent``):

- ``add``: buy or sell a quantity (given, or the configured default size);
- ``target``: the position should now be ``target_position`` (signed), whatever it is;
- ``close``: the position should be flat;
- ``reverse``: the position should be the same size on the other side;
- ``cancel``: our working orders on the instrument should be cancelled;
- ``protect``: the position's take-profit and stop-loss should now be these (Pine's
  ``strategy.exit`` moved them).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

Action = Literal["buy", "sell", "close", "reverse", "cancel", "protect"]
Intent = Literal["add", "target", "close", "reverse", "cancel", "protect"]
Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop", "stop_limit", "trailing_stop"]
TimeInForce = Literal["day", "gtc", "ioc", "fok"]
QuantityType = Literal["units", "cash", "percent_of_equity", "risk", "risk_percent"]
StopKind = Literal["stop", "stop_limit", "trailing_stop"]


@dataclass(frozen=True)
class PriceSpec:
    """A price given as exactly one of: an absolute price, a distance from the entry
    price (always positive; the side decides the direction), or a percent of it."""

    price: Decimal | None = None
    offset: Decimal | None = None
    percent: Decimal | None = None

    def to_json(self) -> dict[str, str]:
        return {k: str(v) for k, v in _items(self) if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PriceSpec:
        return cls(**{k: Decimal(v) for k, v in data.items() if v is not None})


@dataclass(frozen=True)
class StopLoss:
    """The protective stop of a bracket.

    ``stop``: a stop order at ``trigger``. ``stop_limit``: a stop at ``trigger`` that
    becomes a limit order at ``limit``. ``trailing_stop``: follows the best price by
    ``trail_amount`` (a price distance) or ``trail_percent``; ``trigger`` is then unused.
    """

    kind: StopKind = "stop"
    trigger: PriceSpec | None = None
    limit: PriceSpec | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.trigger is not None:
            data["trigger"] = self.trigger.to_json()
        if self.limit is not None:
            data["limit"] = self.limit.to_json()
        for name in ("trail_amount", "trail_percent"):
            value = getattr(self, name)
            if value is not None:
                data[name] = str(value)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StopLoss:
        return cls(
            kind=data.get("kind", "stop"),
            trigger=PriceSpec.from_json(data["trigger"]) if data.get("trigger") else None,
            limit=PriceSpec.from_json(data["limit"]) if data.get("limit") else None,
            trail_amount=_decimal(data.get("trail_amount")),
            trail_percent=_decimal(data.get("trail_percent")),
        )


@dataclass(frozen=True)
class Alert:
    """One TradingView alert after validation. Quantities and prices are exact decimals.

    ``action`` is the word the alert used, resolved to one of ours; a strategy alert that
    also carries its position (``position_size``, "New strategy position is N") is a
    target, whatever its action says.
    """

    symbol: str
    action: Action
    quantity: Decimal | None = None
    price: Decimal | None = None
    order_type: OrderType = "market"
    limit_price: Decimal | None = None
    alert_id: str | None = None
    timestamp: datetime | None = None
    exchange: str | None = None
    sec_type: str | None = None
    currency: str | None = None
    # The strategy's position after this alert (signed): the plan is the difference.
    target_position: Decimal | None = None
    # "Be on this side with ``quantity`` (or the default size)": TradersPost's buy with
    # sentiment long, TBOT's entrylong. A target whose size is settled when planning.
    target_side: Side | None = None
    quantity_type: QuantityType = "units"
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    time_in_force: TimeInForce | None = None
    outside_rth: bool = False
    take_profit: PriceSpec | None = None
    stop_loss: StopLoss | None = None
    # Keeps a virtual position per strategy and instrument (targets apply to it).
    strategy: str | None = None
    # What the sender's format said, kept for the record: "traderspost", "3commas", ...
    source_format: str | None = None

    @property
    def intent(self) -> Intent:
        if self.target_position is not None or self.target_side is not None:
            return "target"
        if self.action in ("close", "reverse", "cancel", "protect"):
            return self.action
        return "add"

    @property
    def side(self) -> Side | None:
        if self.action == "buy" or self.action == "sell":
            return self.action
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (decimals as strings, time as ISO-8601) for the ledger."""
        data: dict[str, Any] = {}
        for name, value in _items(self):
            if value is None or (name == "outside_rth" and value is False):
                continue
            if isinstance(value, Decimal):
                data[name] = str(value)
            elif isinstance(value, datetime):
                data[name] = value.isoformat()
            elif isinstance(value, PriceSpec | StopLoss):
                data[name] = value.to_json()
            else:
                data[name] = value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        values = dict(data)
        # Alerts recorded before targets had their own name.
        if "position_after" in values:
            values.setdefault("target_position", values.pop("position_after"))
        for name in _DECIMALS:
            if values.get(name) is not None:
                values[name] = Decimal(values[name])
        if values.get("timestamp"):
            values["timestamp"] = datetime.fromisoformat(values["timestamp"])
        if values.get("take_profit"):
            values["take_profit"] = PriceSpec.from_json(values["take_profit"])
        if values.get("stop_loss"):
            values["stop_loss"] = StopLoss.from_json(values["stop_loss"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


_DECIMALS = (
    "quantity",
    "price",
    "limit_price",
    "target_position",
    "stop_price",
    "trail_amount",
    "trail_percent",
)


def _items(instance: Any) -> list[tuple[str, Any]]:
    return [(f.name, getattr(instance, f.name)) for f in fields(instance)]


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
