"""The paper broker: a ledger-backed simulated account shared by every worker.

Correctness under concurrency comes from the database: each call runs in one write
transaction that first locks the account row (``BEGIN IMMEDIATE`` on SQLite,
``SELECT ... FOR UPDATE`` on PostgreSQL), so fills, cash and positions never race.
Market orders fill at the alert's price, else the last price seen for the symbol, else
they are rejected; limit orders rest until a later price crosses them.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trading.brokers import port
from trading.brokers.paper_book import Holding, apply_fill, limit_crosses, opens_exposure
from trading.errors import NotCancellable, OrderNotFound
from trading.ledger.db import Database
from trading.ledger.models import (
    PaperAccount,
    PaperOrder,
    PaperPosition,
    PaperPrice,
    PaperSubmission,
)
from trading.ledger.orders import apply_update_by_reference
from trading.retry import retrier

ACCOUNT_ID = 1


def _now() -> datetime:
    return datetime.now(UTC)


class PaperBroker:
    name = "paper"
    capabilities = port.Capabilities(
        order_types=frozenset({"market", "limit"}),
        fractional_quantities=True,
        short_selling=True,
        asset_classes=frozenset({"STK", "CASH", "CRYPTO", "FUT"}),
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
        if self._ack_delay:
            # The order is booked; only its acknowledgement is late, as over a network.
            time.sleep(self._ack_delay)
        return placed

    def _place(self, request: port.OrderRequest) -> port.BrokerOrder:
        with self._db.write() as session:
            account = self._lock_account(session)
            # Before the lookup by reference: a resubmission must leave a trace even though
            # it places nothing, as a real broker would have received the request.
            session.add(PaperSubmission(reference=request.reference, pid=os.getpid(), at=_now()))
            existing = self._order(session, request.reference)
            if existing is not None:
                return _to_port(existing)
            if request.reference_price is not None:
                self._observe_price(session, account, request.symbol, request.reference_price)
            order = PaperOrder(
                reference=request.reference,
                symbol=request.symbol,
                side=request.side,
                quantity=request.quantity,
                order_type=request.order_type,
                limit_price=request.limit_price,
                status=port.SUBMITTED,
                filled_quantity=Decimal(0),
                created_at=_now(),
                updated_at=_now(),
            )
            price = request.reference_price or self._last_price(session, request.symbol)
            # The new order is written once, already filled or rejected when it is.
            with session.no_autoflush:
                if request.order_type == "market":
                    if price is None:
                        _reject(order, f"no price known for {request.symbol}: send price")
                    else:
                        self._fill(session, account, order, price)
                elif (
                    price is not None
                    and request.limit_price is not None
                    and limit_crosses(order.side, request.limit_price, price)
                ):
                    self._fill(session, account, order, price)
            session.add(order)
            session.flush()
            return _to_port(order)

    @retrier(3)
    def cancel(self, reference: str) -> port.BrokerOrder:
        with self._db.write() as session:
            self._lock_account(session)
            order = self._order(session, reference)
            if order is None:
                raise OrderNotFound(f"no paper order with reference {reference}")
            if order.status not in port.ACTIVE_STATES:
                raise NotCancellable(f"order {reference} is already {order.status}")
            order.status = port.CANCELLED
            order.updated_at = _now()
            return _to_port(order)

    @retrier(3)
    def order_by_reference(self, reference: str) -> port.BrokerOrder | None:
        with self._db.read() as session:
            order = self._order(session, reference)
            return _to_port(order) if order else None

    @retrier(3)
    def open_orders(self) -> list[port.BrokerOrder]:
        with self._db.read() as session:
            rows = session.scalars(
                select(PaperOrder).where(PaperOrder.status.in_(port.ACTIVE_STATES))
            )
            return [_to_port(row) for row in rows]

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
    def account_summary(self) -> port.AccountSummary:
        with self._db.read() as session:
            account = session.get(PaperAccount, ACCOUNT_ID)
            cash = account.cash if account else self._starting_cash
            realized = account.realized_pnl if account else Decimal(0)
            return self._summary(session, cash, realized)

    def health(self) -> port.BrokerHealth:
        started = datetime.now(UTC)
        self._db.ping()
        latency = (datetime.now(UTC) - started).total_seconds() * 1000
        return port.BrokerHealth(
            connected=True, tradeable=True, latency_ms=round(latency, 3), detail={"broker": "paper"}
        )

    # --- internals --------------------------------------------------------------------

    def _summary(self, session: Session, cash: Decimal, realized: Decimal) -> port.AccountSummary:
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

    def _lock_account(self, session: Session) -> PaperAccount:
        account = session.scalar(
            select(PaperAccount).where(PaperAccount.id == ACCOUNT_ID).with_for_update()
        )
        if account is None:
            # Two first orders may both find no account: one creates it, the other waits
            # for that and then locks the row it made (never a duplicate-key error).
            insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
            session.execute(
                insert(PaperAccount)
                .values(
                    id=ACCOUNT_ID,
                    starting_cash=self._starting_cash,
                    cash=self._starting_cash,
                    realized_pnl=Decimal(0),
                    updated_at=_now(),
                )
                .on_conflict_do_nothing(index_elements=["id"])
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

    def _observe_price(
        self, session: Session, account: PaperAccount, symbol: str, price: Decimal
    ) -> None:
        row = session.get(PaperPrice, symbol)
        if row is None:
            session.add(PaperPrice(symbol=symbol, price=price, at=_now()))
        else:
            row.price, row.at = price, _now()
        session.flush()
        resting = session.scalars(
            select(PaperOrder)
            .where(PaperOrder.symbol == symbol, PaperOrder.status == port.SUBMITTED)
            .where(PaperOrder.order_type == "limit")
            .order_by(PaperOrder.id)
        ).all()
        for order in resting:
            if order.limit_price is not None and limit_crosses(
                order.side, order.limit_price, price
            ):
                self._fill(session, account, order, price)
                # Fills of earlier alerts' orders reach the ledger like any broker event.
                apply_update_by_reference(session, _to_port(order))

    def _fill(
        self, session: Session, account: PaperAccount, order: PaperOrder, price: Decimal
    ) -> None:
        position = session.get(PaperPosition, order.symbol)
        holding = Holding(
            position.quantity if position else Decimal(0),
            position.avg_price if position else Decimal(0),
        )
        quantity = order.quantity - order.filled_quantity
        if opens_exposure(holding, order.side):
            summary = self._summary(session, account.cash, account.realized_pnl)
            if quantity * price > summary.buying_power:
                _reject(
                    order,
                    f"insufficient buying power: {quantity * price} needed, "
                    f"{summary.buying_power} available",
                )
                return
        effect = apply_fill(holding, order.side, quantity, price)
        if position is None:
            position = PaperPosition(
                symbol=order.symbol,
                quantity=Decimal(0),
                avg_price=Decimal(0),
                realized_pnl=Decimal(0),
                updated_at=_now(),
            )
            session.add(position)
        position.quantity = effect.holding.quantity
        position.avg_price = effect.holding.avg_price
        position.realized_pnl += effect.realized_pnl
        position.updated_at = _now()
        account.cash += effect.cash_change
        account.realized_pnl += effect.realized_pnl
        account.updated_at = _now()
        order.filled_quantity = order.quantity
        order.avg_fill_price = price
        order.status = port.FILLED
        order.filled_at = order.updated_at = _now()


def _reject(order: PaperOrder, reason: str) -> None:
    order.status = port.REJECTED
    order.reason = reason
    order.updated_at = _now()


def _to_port(order: PaperOrder) -> port.BrokerOrder:
    fills: tuple[port.Fill, ...] = ()
    if order.status == port.FILLED and order.avg_fill_price is not None:
        fills = (
            port.Fill(
                fill_id=f"paper-{order.id}",
                quantity=order.filled_quantity,
                price=order.avg_fill_price,
                at=order.filled_at or order.updated_at,
                commission=Decimal(0),
            ),
        )
    return port.BrokerOrder(
        reference=order.reference,
        broker_order_id=f"P{order.id}",
        symbol=order.symbol,
        side=order.side,  # type: ignore[arg-type]
        quantity=order.quantity,
        order_type=order.order_type,  # type: ignore[arg-type]
        status=order.status,
        filled_quantity=order.filled_quantity,
        avg_fill_price=order.avg_fill_price,
        limit_price=order.limit_price,
        reason=order.reason,
        fills=fills,
    )
