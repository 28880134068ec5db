"""The simulator's records: orders, fills, and what the engine tells the sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from ibsim.catalogue import Instrument
from ibsim.place_order import OrderTicket
from ibsim.wire import truthy

PENDING_SUBMIT = "PendingSubmit"
PRE_SUBMITTED = "PreSubmitted"
SUBMITTED = "Submitted"
FILLED = "Filled"
CANCELLED = "Cancelled"
API_CANCELLED = "ApiCancelled"
INACTIVE = "Inactive"

FINISHED_STATUSES = frozenset({FILLED, CANCELLED, API_CANCELLED, INACTIVE})
SUPPORTED_ORDER_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT", "TRAIL"})
SUPPORTED_TIFS = frozenset({"DAY", "GTC", "IOC", "FOK"})
# Orders that trade at once or not at all: what does not fill on arrival is cancelled.
IMMEDIATE_TIFS = frozenset({"IOC", "FOK"})


@dataclass
class SimOrder:
    order_id: int
    client_id: int
    perm_id: int
    ticket: OrderTicket
    instrument: Instrument
    account: str
    created_at: float
    # The working terms below are read from the ticket by apply_ticket (again on modify).
    action: str = "BUY"
    quantity: float = 0.0
    order_type: str = "MKT"
    limit_price: float | None = None
    stop_price: float | None = None
    trailing_percent: float | None = None
    tif: str = "DAY"
    oca_group: str = ""
    oca_type: int = 0
    parent_id: int = 0
    transmit: bool = True
    order_ref: str = ""
    status: str = PENDING_SUBMIT
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    triggered: bool = False
    trail_stop: float | None = None
    completed_at: float | None = None
    completed_reason: str = ""
    waiting_for_parent: bool = False
    parent_perm_id: int = 0

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.filled, 0.0)

    @property
    def is_buy(self) -> bool:
        return self.action.upper() == "BUY"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def working(self) -> bool:
        """Live at the (simulated) exchange and allowed to fill."""
        return self.status in (SUBMITTED, PRE_SUBMITTED) and not self.waiting_for_parent


@dataclass
class Fill:
    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    instrument: Instrument
    account: str
    side: str
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    order_ref: str
    time: float
    commission: float = 0.0
    realized_pnl: float = 0.0
    liquidity: int = 1


@dataclass
class Position:
    con_id: int
    quantity: float = 0.0
    # Per unit, multiplier and commissions included, as IB reports it.
    avg_cost: float = 0.0


@dataclass
class Account:
    name: str
    cash: float
    starting_cash: float
    positions: dict[int, Position] = field(default_factory=dict)
    realized_today: float = 0.0
    # Realized PnL per contract since the account opened (commissions included).
    realized: dict[int, float] = field(default_factory=dict)
    # Per contract: net cash flow of today's trades, commissions today, and the
    # quantity and price the day started with (for daily PnL).
    day_cash_flow: dict[int, float] = field(default_factory=dict)
    day_commissions: dict[int, float] = field(default_factory=dict)
    day_start: dict[int, tuple[float, float]] = field(default_factory=dict)


class EngineListener(Protocol):
    """What the engine announces; the server routes each to the right sessions."""

    def order_changed(self, order: SimOrder, with_open_order: bool) -> None: ...

    def order_error(self, client_id: int, order_id: int, code: int, message: str) -> None: ...

    def executed(self, fill: Fill) -> None: ...

    def commission_reported(self, fill: Fill) -> None: ...

    def position_changed(self, account: str, con_id: int) -> None: ...

    def price_changed(self, con_id: int) -> None: ...


def apply_ticket(order: SimOrder, ticket: OrderTicket) -> None:
    order.action = ticket.text("action").upper()
    order.quantity = float(ticket.text("totalQuantity") or 0)
    order.order_type = ticket.text("orderType").upper()
    order.limit_price = ticket.number("lmtPrice")
    order.stop_price = ticket.number("auxPrice")
    order.trailing_percent = ticket.number("trailingPercent")
    if order.order_type == "TRAIL" and ticket.number("trailStopPrice") is not None:
        order.trail_stop = ticket.number("trailStopPrice")
    order.tif = ticket.text("tif").upper() or "DAY"
    order.oca_group = ticket.text("ocaGroup")
    order.oca_type = int(float(ticket.text("ocaType") or 0))
    order.parent_id = int(float(ticket.text("parentId") or 0))
    order.transmit = truthy(ticket.text("transmit") or "1")
    order.order_ref = ticket.text("orderRef")


def quantity_text(quantity: float) -> str:
    return str(int(quantity)) if quantity == int(quantity) else str(quantity)
