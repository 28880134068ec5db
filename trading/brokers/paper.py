"""The paper broker: a ledger-backed simulated account shared by every worker.

Correctness under concurrency comes from the database: each call runs in one write
transaction that first locks the account row (``BEGIN IMMEDIATE`` on SQLite,
``SELECT ... FOR UPDATE`` on PostgreSQL), so fills, cash and positions never race.

Prices come from the alerts (an order's ``reference_price``) and from ``observe_price``;
each one works every order on its symbol (``paper_triggers``). Market orders fill at the
last price, or are rejected when none is known; limit orders rest until a price crosses
them; stops trigger when a price trades through them; trailing stops follow the best
price. Brackets are separate orders: children work once their parent has filled, and a
fill cancels the rest of its one-cancels-other group.

The paper broker keeps no trading sessions: ``day`` orders rest like ``gtc`` ones, and
``outside_rth`` is stored but changes nothing. It fills whole orders, so ``ioc`` and
``fok`` both mean "fill when it begins working, or be cancelled".
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.brokers import port
from trading.brokers.paper_requests import new_order, refusal, to_port
from trading.brokers.paper_triggers import Matching, account_summary
from trading.errors import NotCancellable, OrderNotFound, OrderRejected
from trading.halt import read_halt
from trading.keys import is_our_reference
from trading.ledger.db import Database, insert_or_ignore
from trading.ledger.models import (
    PaperAccount,
    PaperOrder,
    PaperPosition,
    PaperPrice,
    PaperSubmission,
)
from trading.retry import retrier

ACCOUNT_ID = 1


def _now() -> datetime:
    return datetime.now(UTC)


class PaperBroker:
    name = "paper"
    capabilities = port.Capabilities(
        order_types=frozenset({"market", "limit", "stop", "stop_limit", "trailing_stop"}),
        fractional_quantities=True,
        short_selling=True,
        asset_classes=frozenset({"STK", "CASH", "CRYPTO", "FUT"}),
        attached_exits=False,
    )

    def __init__(
        self, database: Database, starting_cash: Decimal, ack_delay_seconds: float = 0.0
    ) -> None:
        self._db = database
        self._starting_cash = starting_cash
        self._ack_delay = ack_delay_seconds

    # --- orders -----------------------------------------------------------------------

    @retrier(0)
    def submit(self, request: port.OrderRequest) -> port.BrokerOrder:
        placed = self._place(request)
        if isinstance(placed, str):
            raise OrderRejected(placed)
        if self._ack_delay:
            # The order is booked; only its acknowledgement is late, as over a network.
            time.sleep(self._ack_delay)
        return placed

    def _place(self, request: port.OrderRequest) -> port.BrokerOrder | str:
        """The order booked for ``request``, or why it was refused (nothing booked)."""
        problem = refusal(request)
        with self._db.write() as session:
            account = self._lock_account(session)
            # Before the lookup by reference: a resubmission must leave a trace even though
            # it places nothing, as a real broker would have received the request.
            session.add(PaperSubmission(reference=request.reference, pid=os.getpid(), at=_now()))
            existing = self._order(session, request.reference)
            if existing is not None:
                return to_port(existing)
            parent = request.parent_reference
            if problem is None and parent is not None and self._order(session, parent) is None:
                problem = f"parent order {parent} not found: place it first"
            if problem is None and not request.reduces_only:
                # The broker's own check, as the IB gateway makes it: a stale worker that
                # missed the halt still cannot add to a position.
                halt = read_halt(session)
                if halt.halted:
                    problem = halt.refusal()
            if problem is not None:
                # Returned, not raised, so the submission record above is committed.
                return problem
            matching = Matching(session, account)
            if request.reference_price is not None:
                matching.observe(request.symbol.upper(), request.reference_price)
            order = new_order(request, _now())
            session.flush()
            # The new order is written once, already in the state it is born in.
            with session.no_autoflush:
                matching.begin(order)
            session.add(order)
            session.flush()
            matching.follow(order)
            matching.report(skip=order)
            return to_port(order)

    @retrier(3)
    def cancel(self, reference: str) -> port.BrokerOrder:
        with self._db.write() as session:
            account = self._lock_account(session)
            order = self._order(session, reference)
            if order is None:
                raise OrderNotFound(f"no paper order with reference {reference}")
            if order.status not in port.ACTIVE_STATES:
                raise NotCancellable(f"order {reference} is already {order.status}")
            matching = Matching(session, account)
            # Its bracket children go with it; our ledger hears of them as broker events.
            matching.end(order, port.CANCELLED, None)
            matching.report(skip=order)
            return to_port(order)

    @retrier(3)
    def observe_price(self, symbol: str, price: Decimal) -> list[port.BrokerOrder]:
        """Record a price for ``symbol`` and work every order on it: limits, stops,
        stop-limits and trailing stops, then what their fills set off (OCA cancels,
        bracket children), until nothing more changes. The orders that changed, each
        also reported to our ledger."""
        if not (price.is_finite() and price > 0):
            raise ValueError(f"a price must be positive, got {price}")
        with self._db.write() as session:
            account = self._lock_account(session)
            matching = Matching(session, account)
            matching.observe(symbol.upper(), price)
            return matching.report()

    @retrier(3)
    def order_by_reference(self, reference: str) -> port.BrokerOrder | None:
        with self._db.read() as session:
            order = self._order(session, reference)
            return to_port(order) if order else None

    @retrier(3)
    def open_orders(self) -> list[port.BrokerOrder]:
        with self._db.read() as session:
            rows = session.scalars(
                select(PaperOrder).where(PaperOrder.status.in_(port.ACTIVE_STATES))
            )
            return [to_port(row) for row in rows]

    # --- account ----------------------------------------------------------------------

    @retrier(3)
    def positions(self) -> list[port.Position]:
        with self._db.read() as session:
            prices = {p.symbol: p.price for p in session.scalars(select(PaperPrice))}
            result = []
            for row in session.scalars(select(PaperPosition).where(PaperPosition.quantity != 0)):
                market = prices.get(row.symbol)
                unrealized = (market - row.avg_price) * row.quantity if market else None
                result.append(
                    port.Position(
                        symbol=row.symbol,
                        quantity=row.quantity,
                        avg_price=row.avg_price,
                        market_price=market,
                        unrealized_pnl=unrealized,
                        realized_pnl=row.realized_pnl,
                    )
                )
            return sorted(result, key=lambda p: p.symbol)

    @retrier(3)
    def position_in(self, instrument: port.Instrument) -> port.InstrumentPosition:
        """The position in the paper symbol ``instrument`` names and our orders working on
        it, bracket children waiting for their parent included."""
        symbol = instrument.symbol.upper()
        with self._db.read() as session:
            position = session.get(PaperPosition, symbol)
            working = session.scalars(
                select(PaperOrder)
                .where(PaperOrder.symbol == symbol)
                .where(PaperOrder.status.in_(port.ACTIVE_STATES))
                .order_by(PaperOrder.id)
            )
            return port.InstrumentPosition(
                instrument_id=symbol,
                quantity=position.quantity if position else Decimal(0),
                working=tuple(to_port(o) for o in working if is_our_reference(o.reference)),
                last_price=self._last_price(session, symbol),
                quantity_increment=None,
            )

    @retrier(3)
    def account_summary(self) -> port.AccountSummary:
        with self._db.read() as session:
            account = session.get(PaperAccount, ACCOUNT_ID)
            cash = account.cash if account else self._starting_cash
            realized = account.realized_pnl if account else Decimal(0)
            return account_summary(session, cash, realized)

    def health(self) -> port.BrokerHealth:
        started = datetime.now(UTC)
        self._db.ping()
        latency = (datetime.now(UTC) - started).total_seconds() * 1000
        return port.BrokerHealth(
            connected=True, tradeable=True, latency_ms=round(latency, 3), detail={"broker": "paper"}
        )

    # --- internals --------------------------------------------------------------------

    def _lock_account(self, session: Session) -> PaperAccount:
        account = session.scalar(
            select(PaperAccount).where(PaperAccount.id == ACCOUNT_ID).with_for_update()
        )
        if account is None:
            # Two first orders may both find no account: one creates it, the other waits
            # for that and then locks the row it made (never a duplicate-key error).
            insert_or_ignore(
                session,
                PaperAccount,
                id=ACCOUNT_ID,
                starting_cash=self._starting_cash,
                cash=self._starting_cash,
                realized_pnl=Decimal(0),
                updated_at=_now(),
            )
            account = session.scalars(
                select(PaperAccount).where(PaperAccount.id == ACCOUNT_ID).with_for_update()
            ).one()
        return account

    @staticmethod
    def _order(session: Session, reference: str) -> PaperOrder | None:
        return session.scalar(select(PaperOrder).where(PaperOrder.reference == reference))

    @staticmethod
    def _last_price(session: Session, symbol: str) -> Decimal | None:
        row = session.get(PaperPrice, symbol)
        return row.price if row else None
