"""The simulated broker: accounts, prices, orders and fills, driven by an injectable clock."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from ibsim import codes
from ibsim.accounts import Ledger, commission_for
from ibsim.catalogue import Catalogue, Instrument, names_retired_exchange
from ibsim.matching import fill_price, oca_siblings, update_trailing_stop
from ibsim.model import (
    CANCELLED,
    FILLED,
    IMMEDIATE_TIFS,
    PENDING_SUBMIT,
    PRE_SUBMITTED,
    SUBMITTED,
    Account,
    EngineListener,
    Fill,
    SimOrder,
    apply_ticket,
    quantity_text,
)
from ibsim.order_checks import as_modification, order_problem
from ibsim.place_order import OrderTicket

STOP_TYPES = frozenset({"STP", "STP LMT", "TRAIL"})
EPSILON = 1e-9


@dataclass
class EngineConfig:
    accounts: tuple[str, ...] = ("DU1234567",)
    starting_cash: float = 1_000_000.0
    seed: int = 0
    # Partial fills: at most this much of an order trades per matching round (None: all).
    max_fill_qty: float | None = None
    # Stops rest as PreSubmitted until triggered, as IB-simulated stops do.
    realism: bool = False


class Engine:
    def __init__(
        self, config: EngineConfig | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config or EngineConfig()
        self.clock = clock
        today = dt.datetime.fromtimestamp(clock(), dt.UTC).date()
        self.catalogue = Catalogue(today)
        self.prices: dict[int, float] = {i.con_id: i.default_price for i in self.catalogue}
        self.accounts: dict[str, Account] = {
            name: Account(name, self.config.starting_cash, self.config.starting_cash)
            for name in self.config.accounts
        }
        self.ledger = Ledger(self.accounts, self.price, self.catalogue.by_con_id, self.usd_rate)
        self.orders: dict[int, SimOrder] = {}
        # The unfinished subset of ``orders``: every scan for work goes through it, so a long
        # session's history of filled orders costs nothing per new order.
        self.live: dict[int, SimOrder] = {}
        self.order_keys: dict[tuple[int, int], int] = {}
        self.highest_order_id: dict[int, int] = {}
        self.fills: list[Fill] = []
        seed = self.config.seed
        self.next_perm_id = 1_000_000_000 + (seed % 1000) * 1_000_000 + 1
        self.exec_seq = 0
        self.exec_prefix = f"{(0xE0D5 + seed) % 0xFFFFFFFF:08x}"
        self.listeners: list[EngineListener] = []

    # --- lookups -----------------------------------------------------------------------

    @property
    def account_names(self) -> list[str]:
        return list(self.accounts)

    def price(self, con_id: int) -> float:
        return self.prices.get(con_id, 0.0)

    def usd_rate(self, currency: str) -> float | None:
        for instrument in self.catalogue:
            if instrument.sec_type == "CASH" and instrument.local_symbol == f"USD.{currency}":
                return self.price(instrument.con_id)
        return None

    def resolve(self, contract: dict[str, str]) -> Instrument | None:
        """The instrument a contract names (a CONTFUT resolves to its front month)."""
        con_id = int(float(contract.get("conId") or 0))
        if con_id and not names_retired_exchange(contract):
            found = self.catalogue.by_con_id(con_id)
            if found is not None and contract.get("secType", "") not in ("", "CONTFUT"):
                return found if found.sec_type == contract["secType"] else None
            return found
        matches = self.catalogue.search(contract)
        if len(matches) != 1:
            return None
        match = matches[0]
        return self.catalogue.by_con_id(match.con_id) if match.is_continuous else match

    def next_valid_id(self, client_id: int) -> int:
        return self.highest_order_id.get(client_id, 0) + 1

    def order_for(self, client_id: int, order_id: int) -> SimOrder | None:
        perm_id = self.order_keys.get((client_id, order_id))
        return None if perm_id is None else self.orders[perm_id]

    def open_orders(self, client_id: int | None = None) -> list[SimOrder]:
        return [
            o
            for o in self.live.values()
            if o.status != PENDING_SUBMIT and (client_id is None or o.client_id == client_id)
        ]

    def completed_orders(self) -> list[SimOrder]:
        return [o for o in self.orders.values() if o.finished]

    # --- notifications -----------------------------------------------------------------

    def _order_changed(self, order: SimOrder, with_open_order: bool = True) -> None:
        for listener in self.listeners:
            listener.order_changed(order, with_open_order)

    def error(self, client_id: int, order_id: int, code: int, message: str) -> None:
        for listener in self.listeners:
            listener.order_error(client_id, order_id, code, message)

    # --- orders ------------------------------------------------------------------------

    def place_order(self, client_id: int, ticket: OrderTicket) -> None:
        existing = self.order_for(client_id, ticket.order_id)
        if existing is not None:
            self._modify(existing, ticket)
            return
        if ticket.order_id <= self.highest_order_id.get(client_id, 0):
            self.error(client_id, ticket.order_id, codes.DUPLICATE_ORDER_ID, "Duplicate order id")
            return
        self.highest_order_id[client_id] = ticket.order_id
        instrument = self.resolve(ticket.contract)
        if instrument is None:
            self.error(
                client_id,
                ticket.order_id,
                codes.NO_SECURITY_DEFINITION,
                codes.NO_SECURITY_DEFINITION_TEXT,
            )
            return
        refusal = order_problem(ticket, instrument, self.account_names)
        if refusal:
            self.error(client_id, ticket.order_id, refusal.code, refusal.text)
            return
        order = self.new_order(client_id, ticket, instrument)
        price = order.limit_price or self.price(instrument.con_id)
        if order.quantity <= 0:
            # A cash-quantity order (crypto, forex): the size follows from the price now.
            order.quantity = round((ticket.number("cashQty") or 0.0) / price, 8)
        signed = order.quantity if order.is_buy else -order.quantity
        if not self.ledger.can_afford(self.accounts[order.account], instrument, signed, price):
            self.error(client_id, ticket.order_id, codes.ORDER_REJECTED, codes.INSUFFICIENT_FUNDS)
            return
        self.orders[order.perm_id] = order
        self.live[order.perm_id] = order
        self.order_keys[(client_id, ticket.order_id)] = order.perm_id
        if order.transmit:
            self._transmit_family(order)

    def new_order(
        self, client_id: int, ticket: OrderTicket, instrument: Instrument, booked: bool = True
    ) -> SimOrder:
        """An order built from a ticket; ``booked=False`` for a preview that takes no permId."""
        perm_id = self.next_perm_id if booked else 0
        self.next_perm_id += 1 if booked else 0
        order = SimOrder(
            order_id=ticket.order_id,
            client_id=client_id,
            perm_id=perm_id,
            ticket=ticket,
            instrument=instrument,
            account=ticket.text("account") or self.account_names[0],
            created_at=self.clock(),
        )
        apply_ticket(order, ticket)
        parent = self.order_for(client_id, order.parent_id) if order.parent_id else None
        order.parent_perm_id = parent.perm_id if parent else 0
        return order

    def _transmit_family(self, order: SimOrder) -> None:
        """Release an order with every held (transmit=0) order of its bracket or OCA group."""
        root_id = order.parent_id or order.order_id
        family = [
            o
            for o in self.live.values()
            if o.client_id == order.client_id
            and o.status == PENDING_SUBMIT
            and (
                o is order
                or o.order_id == root_id
                or o.parent_id == root_id
                or (order.oca_group != "" and o.oca_group == order.oca_group)
            )
        ]
        family.sort(key=lambda o: o.order_id)
        for member in family:
            self._activate(member)
        for member in family:
            self._try_fill(member)
            self._expire_if_ioc(member)

    def _activate(self, order: SimOrder) -> None:
        parent = self.order_for(order.client_id, order.parent_id) if order.parent_id else None
        order.waiting_for_parent = parent is not None and parent.status != FILLED
        order.status = self._resting_status(order)
        self._order_changed(order)

    def _resting_status(self, order: SimOrder) -> str:
        if order.waiting_for_parent:
            return PRE_SUBMITTED
        if self.config.realism and order.order_type in STOP_TYPES and not order.triggered:
            return PRE_SUBMITTED
        return SUBMITTED

    def _expire_if_ioc(self, order: SimOrder) -> None:
        if order.tif in IMMEDIATE_TIFS and order.working and order.remaining > EPSILON:
            self._cancel(order, notify_error=False)

    def _modify(self, order: SimOrder, ticket: OrderTicket) -> None:
        if order.finished:
            # The same instrument and side is an attempt to modify; anything else is a new
            # order reusing an old id (what a rolled-back nextValidId produces).
            same_order = (
                self.resolve(ticket.contract) is order.instrument
                and ticket.text("action").upper() == order.action
            )
            if order.status == FILLED and same_order:
                code, text = codes.CANNOT_MODIFY_FILLED, "Cannot modify a filled order"
            else:
                code, text = codes.DUPLICATE_ORDER_ID, "Duplicate order id"
            self.error(order.client_id, order.order_id, code, text)
            return
        refusal = order_problem(ticket, order.instrument, self.account_names)
        if refusal:
            code, text = as_modification(refusal)
            self.error(order.client_id, order.order_id, code, text)
            return
        stop_before = (order.order_type, order.stop_price, order.trailing_percent)
        apply_ticket(order, ticket)
        order.ticket = ticket
        if (order.order_type, order.stop_price, order.trailing_percent) != stop_before:
            order.trail_stop = None
            order.triggered = False
        if order.status == PENDING_SUBMIT:
            if order.transmit:
                self._transmit_family(order)
            return
        if order.remaining <= EPSILON:
            self._complete(order)
        self._order_changed(order)
        self._try_fill(order)

    def cancel_order(self, client_id: int, order_id: int) -> None:
        order = self.order_for(client_id, order_id)
        if order is None:
            self.error(
                client_id, order_id, codes.CANCEL_UNKNOWN_ORDER, codes.cancel_unknown_text(order_id)
            )
        elif order.finished:
            # IB knows a finished order and says which state stops the cancel.
            text = codes.cancel_finished_text(order_id, order.status)
            self.error(client_id, order_id, codes.CANCEL_FINISHED_ORDER, text)
        else:
            self._cancel(order)

    def global_cancel(self) -> None:
        for order in list(self.live.values()):
            self._cancel(order)

    def _cancel(self, order: SimOrder, notify_error: bool = True, reason: str = "") -> None:
        if order.finished:
            return
        order.status = CANCELLED
        self.live.pop(order.perm_id, None)
        order.completed_at = self.clock()
        order.completed_reason = reason or "Cancelled"
        self._order_changed(order)
        if notify_error:
            text = f"Order Canceled - reason:{reason}"
            self.error(order.client_id, order.order_id, codes.ORDER_CANCELLED, text)
        for child in self._children(order):
            self._cancel(child, notify_error, reason)

    def _children(self, order: SimOrder) -> list[SimOrder]:
        return [
            o
            for o in self.live.values()
            if o.client_id == order.client_id and o.parent_id == order.order_id
        ]

    def _complete(self, order: SimOrder) -> None:
        order.status = FILLED
        self.live.pop(order.perm_id, None)
        order.completed_at = self.clock()
        order.completed_reason = "Filled Size: " + quantity_text(order.filled)

    # --- prices and matching -------------------------------------------------------------

    def set_price(self, con_id: int, price: float) -> None:
        self.prices[con_id] = price
        for listener in self.listeners:
            listener.price_changed(con_id)
        self.match(con_id)

    def match(self, con_id: int | None = None) -> None:
        """Give every working order (of one contract, or all) a chance to trade."""
        for order in sorted(self.live.values(), key=lambda o: o.perm_id):
            if order.working and (con_id is None or order.instrument.con_id == con_id):
                self._try_fill(order)

    def _try_fill(self, order: SimOrder) -> None:
        if not order.working or order.remaining <= EPSILON:
            return
        price = self.price(order.instrument.con_id)
        if price <= 0:
            return
        update_trailing_stop(order, price)
        was_triggered = order.triggered
        execution_price = fill_price(order, price)
        if order.triggered and not was_triggered and order.status == PRE_SUBMITTED:
            order.status = SUBMITTED
            self._order_changed(order, with_open_order=False)
        if execution_price is None:
            return
        quantity = order.remaining
        if self.config.max_fill_qty:
            quantity = min(quantity, self.config.max_fill_qty)
        if order.tif == "FOK" and quantity < order.remaining - EPSILON:
            # Fill or kill: a part of the order never trades; it is cancelled whole.
            return
        self.execute(order, quantity, execution_price)

    def execute(self, order: SimOrder, quantity: float, price: float) -> Fill:
        """Book a fill of ``quantity`` at ``price`` and tell everyone who needs to know."""
        instrument = order.instrument
        commission = commission_for(instrument, quantity, price)
        signed = quantity if order.is_buy else -quantity
        account = self.accounts[order.account]
        realized = self.ledger.book_fill(account, instrument, signed, price, commission)
        total = order.filled + quantity
        order.avg_fill_price = (order.avg_fill_price * order.filled + price * quantity) / total
        order.filled = total
        order.last_fill_price = price
        self.exec_seq += 1
        fill = Fill(
            exec_id=f"{self.exec_prefix}.{self.exec_seq:08x}.01.01",
            order_id=order.order_id,
            client_id=order.client_id,
            perm_id=order.perm_id,
            instrument=instrument,
            account=order.account,
            side="BOT" if order.is_buy else "SLD",
            shares=quantity,
            price=price,
            cum_qty=order.filled,
            avg_price=order.avg_fill_price,
            order_ref=order.order_ref,
            time=self.clock(),
            commission=commission,
            realized_pnl=realized,
        )
        self.fills.append(fill)
        if order.remaining <= EPSILON:
            self._complete(order)
        for listener in self.listeners:
            listener.executed(fill)
        self._order_changed(order, with_open_order=order.status == FILLED)
        for listener in self.listeners:
            listener.commission_reported(fill)
            listener.position_changed(order.account, instrument.con_id)
        self._after_fill(order, quantity)
        return fill

    def _after_fill(self, order: SimOrder, quantity: float) -> None:
        if order.status == FILLED:
            for child in self._children(order):
                if child.waiting_for_parent and not child.finished:
                    child.waiting_for_parent = False
                    child.status = self._resting_status(child)
                    self._order_changed(child, with_open_order=False)
                    self._try_fill(child)
        for sibling in oca_siblings(order, list(self.live.values())):
            cancel_all = order.oca_type in (0, 1) and not order.parent_id
            if cancel_all:
                self._cancel(sibling, reason="OCA group")
                continue
            sibling.quantity = max(sibling.quantity - quantity, sibling.filled)
            if sibling.remaining <= EPSILON:
                self._cancel(sibling, reason="OCA group")
            else:
                self._order_changed(sibling)

    def start_new_day(self) -> None:
        """Session close: DAY orders expire, daily PnL starts again from here."""
        for order in list(self.live.values()):
            if order.tif == "DAY":
                self._cancel(order, notify_error=False, reason="Expired")
        self.ledger.start_new_day()
