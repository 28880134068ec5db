"""The validated alert: what a worker plans from."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

Action = Literal["buy", "sell", "close"]
OrderType = Literal["market", "limit"]


@dataclass(frozen=True)
class Alert:
    """One TradingView alert after validation. Quantities and prices are exact decimals."""

    symbol: str
    action: Action
    quantity: Decimal | None
    price: Decimal | None = None
    order_type: OrderType = "market"
    limit_price: Decimal | None = None
    alert_id: str | None = None
    timestamp: datetime | None = None
    exchange: str | None = None
    sec_type: str | None = None
    currency: str | None = None
    position_after: Decimal | None = None

    def to_json(self) -> dict[str, Any]:
        """A JSON-safe dict (decimals as strings, time as ISO-8601) for the ledger."""
        data = asdict(self)
        for name, value in data.items():
            if isinstance(value, Decimal):
                data[name] = str(value)
            elif isinstance(value, datetime):
                data[name] = value.isoformat()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        values = dict(data)
        for name in ("quantity", "price", "limit_price", "position_after"):
            if values.get(name) is not None:
                values[name] = Decimal(values[name])
        if values.get("timestamp"):
            values["timestamp"] = datetime.fromisoformat(values["timestamp"])
        return cls(**values)
