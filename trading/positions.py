"""Where an instrument's position stands: the broker's, ours on the way, each strategy's.

The broker's position is read for the resolved instrument (by the broker's own identity
of it, never a loose symbol match). Orders of ours still working count as position on
its way, so the same target twice, or a target while an entry rests, never doubles it.
A strategy's position is the sum of the fills of the orders its alerts produced: the
account's position is what every strategy holds plus what was traded outside them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.alerts.model import Alert
from trading.brokers.port import Broker, Instrument, InstrumentPosition
from trading.keys import PROTECTIVE_LEGS, leg_of
from trading.ledger.db import Database
from trading.ledger.models import AlertRecord, OrderRecord, OrderStatus, PlanRecord
from trading.planning import PositionView

ZERO = Decimal(0)
FRACTIONAL_STEP = Decimal("0.00000001")


def read_view(
    broker: Broker, database: Database, alert: Alert, instrument: Instrument
) -> PositionView:
    """What planning needs to know of the alert's instrument, read now from the broker
    (and the ledger, for a strategy's own position)."""
    held = broker.position_in(instrument)
    if held.quantity_increment is None and broker.capabilities.fractional_quantities:
        # A broker that takes fractions of anything (paper) sizes to a fine step.
        held = replace(held, quantity_increment=FRACTIONAL_STEP)
    equity = None
    if alert.quantity_type in ("percent_of_equity", "risk_percent"):
        equity = broker.account_summary().net_liquidation
    if alert.strategy:
        with database.read() as session:
            return strategy_view(session, alert.strategy, held, price=alert.price, equity=equity)
    return broker_view(held, price=alert.price, equity=equity)


def broker_view(
    held: InstrumentPosition,
    *,
    price: Decimal | None,
    equity: Decimal | None = None,
) -> PositionView:
    """The account's view: the broker's position plus our working entries."""
    working = sum(
        (o.signed_remaining for o in held.working if leg_of(o.reference) not in PROTECTIVE_LEGS),
        ZERO,
    )
    return PositionView(
        instrument_id=held.instrument_id,
        position=held.quantity,
        working=working,
        cancellable=tuple(o.reference for o in held.working),
        price=price or held.last_price,
        equity=equity,
        increment=held.quantity_increment,
    )


def strategy_view(
    session: Session,
    strategy: str,
    held: InstrumentPosition,
    *,
    price: Decimal | None,
    equity: Decimal | None = None,
) -> PositionView:
    """One strategy's view: its own fills and working orders on the instrument."""
    rows = session.execute(
        select(
            OrderRecord.order_ref,
            OrderRecord.leg,
            OrderRecord.side,
            OrderRecord.quantity,
            OrderRecord.filled_quantity,
            OrderRecord.status,
        ).where(OrderRecord.strategy == strategy, OrderRecord.instrument_id == held.instrument_id)
    ).all()
    at_broker = {o.reference for o in held.working}
    position = working = ZERO
    cancellable = []
    for reference, leg, side, quantity, filled, status in rows:
        sign = 1 if side == "buy" else -1
        position += sign * filled
        if reference in at_broker:
            cancellable.append(reference)
            if status in OrderStatus.OPEN | {OrderStatus.SUBMITTING} and leg not in PROTECTIVE_LEGS:
                working += sign * (quantity - filled)
    return PositionView(
        instrument_id=held.instrument_id,
        position=position,
        working=working,
        cancellable=tuple(cancellable),
        broker_position=held.quantity,
        price=price or held.last_price,
        equity=equity,
        increment=held.quantity_increment,
    )


@dataclass(frozen=True)
class StrategyPosition:
    strategy: str
    symbol: str
    instrument_id: str | None
    quantity: Decimal


def strategy_positions(session: Session) -> list[StrategyPosition]:
    """Every strategy's non-zero position, from the fills of its orders."""
    rows = session.execute(
        select(
            OrderRecord.strategy,
            OrderRecord.symbol,
            OrderRecord.instrument_id,
            OrderRecord.side,
            OrderRecord.filled_quantity,
        ).where(OrderRecord.strategy.is_not(None))
    ).all()
    totals: dict[tuple[str, str, str | None], Decimal] = defaultdict(lambda: ZERO)
    for strategy, symbol, instrument_id, side, filled in rows:
        if strategy is None:
            continue
        totals[(strategy, symbol, instrument_id)] += filled if side == "buy" else -filled
    return [
        StrategyPosition(strategy, symbol, instrument_id, quantity)
        for (strategy, symbol, instrument_id), quantity in sorted(totals.items())
        if quantity != 0
    ]


# How far back /health reports strategies whose position drifted from ours.
DRIFT_WINDOW = timedelta(hours=24)


def recent_drift(session: Session, *, since: datetime) -> dict[str, object]:
    """Strategy alerts since ``since`` whose position disagreed with ours, newest first."""
    rows = session.execute(
        select(AlertRecord.alert_id, PlanRecord.drift)
        .join(PlanRecord, PlanRecord.alert_pk == AlertRecord.id)
        .where(PlanRecord.drift.is_not(None), PlanRecord.created_at >= since)
        .order_by(PlanRecord.created_at.desc())
        .limit(20)
    ).all()
    return {
        "count": len(rows),
        "alerts": [{"alert_id": alert_id, "drift": str(drift)} for alert_id, drift in rows],
    }
