"""The paper broker's matching: working orders against prices inside one write transaction.

A price seen for a symbol is the market for every order on it: limits fill when it
crosses them, stops trigger when it trades through them (a stop then fills at that price,
a stop-limit works as a limit), trailing stops follow it. A fill has consequences at once,
before any other order sees the same price: the other orders of its one-cancels-other
group are cancelled, and its bracket children begin working. A parent that ends without a
fill (cancelled, rejected) takes its unfilled children with it.

The caller holds the account row's lock for the whole transaction, so nothing here races.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.brokers import port
from trading.brokers.paper_book import (
    Holding,
    Trail,
    apply_fill,
    limit_crosses,
    opens_exposure,
    stop_crossed,
    trail,
)
from trading.brokers.paper_requests import IMMEDIATE, LIMIT_TYPES, STOP_TYPES, to_port
from trading.ledger.models import PaperAccount, PaperOrder, PaperPosition, PaperPrice
from trading.ledger.orders import apply_update_by_reference, utcnow

_IMMEDIATE_NAMES = {"ioc": "immediate-or-cancel", "fok": "fill-or-kill"}


def account_summary(session: Session, cash: Decimal, realized: Decimal) -> port.AccountSummary:
    """The account's figures, every position marked at its symbol's last price."""
    rows = session.execute(
        select(PaperPosition.quantity, PaperPosition.avg_price, PaperPrice.price)
        .outerjoin(PaperPrice, PaperPrice.symbol == PaperPosition.symbol)
        .where(PaperPosition.quantity != 0)
    )
    gross = net_positions = unrealized = Decimal(0)
    for quantity, avg_price, price in rows:
        mark = price if price is not None else avg_price
        gross += abs(quantity) * mark
        net_positions += quantity * mark
        unrealized += (mark - avg_price) * quantity
    net_liquidation = cash + net_positions
    return port.AccountSummary(
        total_cash_value=cash,
        net_liquidation=net_liquidation,
        # A cash account: what is left after covering every open exposure.
        buying_power=max(Decimal(0), net_liquidation - gross),
        gross_position_value=gross,
        unrealized_pnl=unrealized,
        realized_pnl=realized,
    )


class Matching:
    """One write transaction's work on the paper book; remembers every order it changed."""

    def __init__(self, session: Session, account: PaperAccount) -> None:
        self._session = session
        self._account = account
        # By object identity: an order placed in this transaction has no id until flushed.
        self._changed: dict[int, PaperOrder] = {}

    # --- what the broker calls -----------------------------------------------------------

    def observe(self, symbol: str, price: Decimal) -> None:
        """Record ``price`` as the market for ``symbol`` and work every order on it."""
        row = self._session.get(PaperPrice, symbol)
        if row is None:
            self._session.add(PaperPrice(symbol=symbol, price=price, at=utcnow()))
        else:
            row.price, row.at = price, utcnow()
        self._session.flush()
        self._settle(symbol, price)

    def begin(self, order: PaperOrder) -> None:
        """Decide the state a new order is booked in; it is not in the session yet, so the
        caller books it with that state in one write, then calls ``follow``."""
        parent = self._by_reference(order.parent_reference) if order.parent_reference else None
        if parent is not None and parent.status in (port.CANCELLED, port.REJECTED):
            self.end(order, port.CANCELLED, f"parent {parent.reference} {parent.status}")
            return
        spent = self._filled_in_group(order.oca_group)
        if spent is not None:
            # The group has done its work: a late member must not trade against it.
            self.end(order, port.CANCELLED, f"one-cancels-other: {spent.reference} filled")
            return
        if parent is None or parent.status == port.FILLED:
            self._start(order, follow=False)

    def follow(self, order: PaperOrder) -> None:
        """The consequences of a fill ``begin`` made, once the order is in the session."""
        if order.status == port.FILLED:
            self._after_fill(order)

    def end(self, order: PaperOrder, status: str, reason: str | None) -> None:
        """Finish an unfilled order; its unfilled children end with it."""
        order.status = status
        order.reason = reason
        self._touch(order)
        if order.id is None:
            return  # just placed: nobody can name it as a parent yet
        for child in self._children(order):
            self.end(child, port.CANCELLED, f"parent {order.reference} {status}")

    def report(self, *, skip: PaperOrder | None = None) -> list[port.BrokerOrder]:
        """Tell our ledger about every changed order but ``skip`` (the caller reports that
        one itself), as a real broker's events would; the changes, oldest order first."""
        self._session.flush()
        updates = []
        for order in sorted(self._changed.values(), key=lambda o: o.id):
            if order is skip:
                continue
            update = to_port(order)
            apply_update_by_reference(self._session, update)
            updates.append(update)
        return updates

    # --- working orders ------------------------------------------------------------------

    def _settle(self, symbol: str, price: Decimal) -> None:
        # One pass can change what another pass would do (a fill starts children, whose
        # fills cancel others), so it repeats until a pass changes nothing.
        while True:
            progressed = False
            for order in self._working(symbol):
                if order.status in port.ACTIVE_STATES and self._is_live(order):
                    progressed = self._step(order, price) or progressed
            if not progressed:
                return

    def _start(self, order: PaperOrder, *, follow: bool = True) -> None:
        """The order begins working (placed, or its parent filled): it meets the market."""
        price = self._price(order.symbol)
        if follow:
            self._step(order, price)
        else:
            self._trade(order, price)
        if order.status in port.ACTIVE_STATES and order.time_in_force in IMMEDIATE:
            name = _IMMEDIATE_NAMES[order.time_in_force]
            self.end(order, port.CANCELLED, f"{name}: not fillable when it began working")

    def _step(self, order: PaperOrder, price: Decimal | None) -> bool:
        changed = self._trade(order, price)
        if changed and order.status == port.FILLED:
            self._after_fill(order)
        return changed

    def _trade(self, order: PaperOrder, price: Decimal | None) -> bool:
        """One look at the market; True if the order changed. Consequences are the caller's."""
        if price is None:
            if order.order_type == "market":
                self.end(order, port.REJECTED, f"no price known for {order.symbol}: send price")
                return True
            return False
        changed = order.order_type == "trailing_stop" and self._ratchet(order, price)
        if order.order_type in STOP_TYPES and not order.triggered:
            if order.stop_price is None or not stop_crossed(order.side, order.stop_price, price):
                return self._touched(order, changed)
            order.triggered = changed = True
        if order.order_type in LIMIT_TYPES and not (
            order.limit_price is not None and limit_crosses(order.side, order.limit_price, price)
        ):
            return self._touched(order, changed)
        self._fill(order, price)
        return True

    def _ratchet(self, order: PaperOrder, price: Decimal) -> bool:
        current = None
        if order.trail_extreme is not None and order.stop_price is not None:
            current = Trail(order.trail_extreme, order.stop_price)
        moved = trail(order.side, current, price, order.trail_amount, order.trail_percent)
        if moved == current:
            return False
        order.trail_extreme, order.stop_price = moved.extreme, moved.stop
        return True

    def _fill(self, order: PaperOrder, price: Decimal) -> None:
        position = self._session.get(PaperPosition, order.symbol)
        holding = Holding(
            position.quantity if position else Decimal(0),
            position.avg_price if position else Decimal(0),
        )
        quantity = order.quantity - order.filled_quantity
        if opens_exposure(holding, order.side):
            account = self._account
            summary = account_summary(self._session, account.cash, account.realized_pnl)
            if quantity * price > summary.buying_power:
                reason = (
                    f"insufficient buying power: {quantity * price} needed, "
                    f"{summary.buying_power} available"
                )
                self.end(order, port.REJECTED, reason)
                return
        effect = apply_fill(holding, order.side, quantity, price)
        if position is None:
            position = PaperPosition(
                symbol=order.symbol,
                quantity=Decimal(0),
                avg_price=Decimal(0),
                realized_pnl=Decimal(0),
                updated_at=utcnow(),
            )
            self._session.add(position)
        position.quantity = effect.holding.quantity
        position.avg_price = effect.holding.avg_price
        position.realized_pnl += effect.realized_pnl
        position.updated_at = utcnow()
        self._account.cash += effect.cash_change
        self._account.realized_pnl += effect.realized_pnl
        self._account.updated_at = utcnow()
        order.filled_quantity = order.quantity
        order.avg_fill_price = price
        order.status = port.FILLED
        self._touch(order)
        order.filled_at = order.updated_at

    def _after_fill(self, order: PaperOrder) -> None:
        if order.oca_group is not None:
            siblings = self._session.scalars(
                select(PaperOrder)
                .where(PaperOrder.oca_group == order.oca_group, PaperOrder.id != order.id)
                .where(PaperOrder.status.in_(port.ACTIVE_STATES))
                .order_by(PaperOrder.id)
            ).all()
            for sibling in siblings:
                if sibling.status in port.ACTIVE_STATES:
                    reason = f"one-cancels-other: {order.reference} filled"
                    self.end(sibling, port.CANCELLED, reason)
        for child in self._children(order):
            # An earlier child's fill may have cancelled this one (the two exits of a
            # bracket share an OCA group).
            if child.status in port.ACTIVE_STATES:
                self._start(child)

    # --- reading the book ----------------------------------------------------------------

    def _touch(self, order: PaperOrder) -> None:
        order.updated_at = utcnow()
        self._changed[id(order)] = order

    def _touched(self, order: PaperOrder, changed: bool) -> bool:
        if changed:
            self._touch(order)
        return changed

    def _price(self, symbol: str) -> Decimal | None:
        row = self._session.get(PaperPrice, symbol)
        return row.price if row else None

    def _by_reference(self, reference: str) -> PaperOrder | None:
        return self._session.scalar(select(PaperOrder).where(PaperOrder.reference == reference))

    def _is_live(self, order: PaperOrder) -> bool:
        """A bracket child works only once its parent has filled."""
        if order.parent_reference is None:
            return True
        parent = self._by_reference(order.parent_reference)
        return parent is not None and parent.status == port.FILLED

    def _working(self, symbol: str) -> list[PaperOrder]:
        return list(
            self._session.scalars(
                select(PaperOrder)
                .where(PaperOrder.symbol == symbol)
                .where(PaperOrder.status.in_(port.ACTIVE_STATES))
                .order_by(PaperOrder.id)
            )
        )

    def _children(self, order: PaperOrder) -> list[PaperOrder]:
        return list(
            self._session.scalars(
                select(PaperOrder)
                .where(PaperOrder.parent_reference == order.reference)
                .where(PaperOrder.status.in_(port.ACTIVE_STATES))
                .order_by(PaperOrder.id)
            )
        )

    def _filled_in_group(self, group: str | None) -> PaperOrder | None:
        if group is None:
            return None
        return self._session.scalar(
            select(PaperOrder)
            .where(PaperOrder.oca_group == group, PaperOrder.status == port.FILLED)
            .order_by(PaperOrder.id)
            .limit(1)
        )
