"""The broker port: what every broker adapter implements, in plain data.

Reads return what the broker said or raise; they never return an empty list for
"I could not tell" (a positions query cut short is BrokerStateUnknown, not flat).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit"]

# Broker order states, mapped by each adapter from the broker's own vocabulary.
SUBMITTED = "submitted"
PARTIALLY_FILLED = "partially_filled"
FILLED = "filled"
CANCELLED = "cancelled"
REJECTED = "rejected"
ACTIVE_STATES = frozenset({SUBMITTED, PARTIALLY_FILLED})
DONE_STATES = frozenset({FILLED, CANCELLED, REJECTED})


@dataclass(frozen=True)
class OrderRequest:
    """One order to place. ``reference`` is the idempotency key at the broker."""

    reference: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType = "market"
    limit_price: Decimal | None = None
    # The alert's price: the paper broker fills market orders at it.
    reference_price: Decimal | None = None
    exchange: str | None = None
    sec_type: str | None = None
    currency: str | None = None
    time_in_force: Literal["day", "gtc"] = "day"
    # The alert's expiry: no broker call may place the order after it (one age clock).
    not_after: datetime | None = None
    # Exits attached to the entry, placed by the broker when the entry fills (a bracket).
    take_profit_price: Decimal | None = None
    stop_loss_price: Decimal | None = None
    trailing_stop_distance: Decimal | None = None


@dataclass(frozen=True)
class Fill:
    fill_id: str
    quantity: Decimal
    price: Decimal
    at: datetime
    commission: Decimal | None = None


@dataclass(frozen=True)
class BrokerOrder:
    """An order as the broker sees it now."""

    reference: str
    broker_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    order_type: OrderType
    status: str
    filled_quantity: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    limit_price: Decimal | None = None
    reason: str | None = None
    perm_id: str | None = None
    fills: tuple[Fill, ...] = ()


@dataclass(frozen=True)
class Position:
    symbol: str
    quantity: Decimal
    avg_price: Decimal
    market_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    realized_pnl: Decimal | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountSummary:
    """The six figures of the original system, in the account's currency."""

    total_cash_value: Decimal
    net_liquidation: Decimal
    buying_power: Decimal
    gross_position_value: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    currency: str = "USD"

    def as_contract(self) -> dict[str, Decimal | str]:
        return {
            "TotalCashValue": self.total_cash_value,
            "NetLiquidation": self.net_liquidation,
            "BuyingPower": self.buying_power,
            "GrossPositionValue": self.gross_position_value,
            "UnrealizedPnL": self.unrealized_pnl,
            "RealizedPnL": self.realized_pnl,
            "Currency": self.currency,
        }


@dataclass(frozen=True)
class BrokerHealth:
    connected: bool
    tradeable: bool
    latency_ms: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    """What differs between brokers, so planning never asks for what one cannot do."""

    order_types: frozenset[str]
    fractional_quantities: bool
    short_selling: bool
    asset_classes: frozenset[str]
    # False where nothing tells us when a resting order fills later: it is then looked up
    # on a schedule (trading.order_sync).
    pushes_order_updates: bool = True


class Broker(Protocol):
    name: str
    capabilities: Capabilities

    def submit(self, request: OrderRequest) -> BrokerOrder:
        """Place an order. Never retried blindly; an existing reference returns that order."""
        ...

    def cancel(self, reference: str) -> BrokerOrder: ...

    def order_by_reference(self, reference: str) -> BrokerOrder | None:
        """The order carrying ``reference``; None only when the broker confirms it has none."""
        ...

    def open_orders(self) -> list[BrokerOrder]: ...

    def positions(self) -> list[Position]: ...

    def account_summary(self) -> AccountSummary: ...

    def health(self) -> BrokerHealth: ...
