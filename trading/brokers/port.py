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
OrderType = Literal["market", "limit", "stop", "stop_limit", "trailing_stop"]
TimeInForce = Literal["day", "gtc", "ioc", "fok"]

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
    time_in_force: TimeInForce = "day"
    # The alert's expiry: no broker call may place the order after it (one age clock).
    not_after: datetime | None = None
    # Stop and stop-limit orders trigger at ``stop_price``; a trailing stop follows the best
    # price by ``trail_amount`` (a price distance) or ``trail_percent``.
    stop_price: Decimal | None = None
    trail_amount: Decimal | None = None
    trail_percent: Decimal | None = None
    # Limit orders only: may also fill outside regular trading hours.
    outside_rth: bool = False
    # A bracket's exits as separate orders (``Capabilities.attached_exits`` False): a child
    # works only once its parent has filled, and a fill of one order of an OCA group
    # cancels the others.
    parent_reference: str | None = None
    oca_group: str | None = None
    # The order only takes a position down (a close, a bracket's exit): it is sent even
    # while trading is halted. Everything else is refused by a halted broker.
    reduces_only: bool = False
    # A bracket's exits attached to the entry (``Capabilities.attached_exits`` True): the
    # broker places them itself when the entry fills.
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
    stop_price: Decimal | None = None

    @property
    def remaining(self) -> Decimal:
        """Quantity still to fill while the order works; zero once it is done."""
        if self.status not in ACTIVE_STATES:
            return Decimal(0)
        return max(Decimal(0), self.quantity - self.filled_quantity)

    @property
    def signed_remaining(self) -> Decimal:
        return self.remaining if self.side == "buy" else -self.remaining


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
class Instrument:
    """An instrument as an alert names it; each broker resolves it its own way."""

    symbol: str
    exchange: str | None = None
    sec_type: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class InstrumentPosition:
    """The broker's position in one resolved instrument and our orders still working on it.

    ``instrument_id`` is the broker's identity of the instrument (IB's conId, OANDA's
    instrument name, the paper broker's symbol), so positions are matched by identity and
    never by a loose symbol comparison. ``working`` holds only orders carrying a tvbridge
    reference: a user's manual orders are never counted, cancelled or changed.
    """

    instrument_id: str
    quantity: Decimal
    working: tuple[BrokerOrder, ...] = ()
    last_price: Decimal | None = None
    # The smallest step an order quantity may take (1 for shares and contracts); None
    # when the broker does not say (sizing then uses the asset class's usual step).
    quantity_increment: Decimal | None = None


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
    # True where a bracket's exits ride on the entry order (OANDA's takeProfitOnFill);
    # False where they are orders of their own with a parent and an OCA group (IB, paper).
    attached_exits: bool = False


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

    def position_in(self, instrument: Instrument) -> InstrumentPosition:
        """The position in ``instrument`` and our working orders on it; raises
        BrokerStateUnknown (or another error) when it cannot be read, never "flat"."""
        ...

    def account_summary(self) -> AccountSummary: ...

    def health(self) -> BrokerHealth: ...
