"""Gathering what the risk rules need to know about a plan, then asking them.

Facts that cost a broker request (the account's value for the daily loss, every position
for the open-positions limit) are read only when that limit is set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trading.brokers.port import Broker
from trading.ledger.db import Database, insert_or_ignore
from trading.ledger.models import OrderRecord, RiskDay
from trading.leg_sender import Work
from trading.planning import Legs, PositionView
from trading.risk import RiskContext, RiskLimits, RiskRefusal, check_orders

RATE_WINDOW = timedelta(minutes=1)
ZERO = Decimal(0)


class PreTrade:
    def __init__(self, database: Database, broker: Broker, limits: RiskLimits) -> None:
        self._db = database
        self._broker = broker
        self._limits = limits

    def check(
        self,
        work: Work,
        view: PositionView,
        target: Decimal,
        legs: Legs,
        *,
        now: datetime,
        dry_run: bool = False,
    ) -> RiskRefusal | None:
        """The rule the plan breaks, if any. ``dry_run`` writes nothing (not even the
        day's first account value)."""
        before = view.effective if view.broker_position is None else view.broker_position
        after = before + (target - view.effective)
        if abs(after) <= abs(before) and after * before >= 0:
            return None  # only takes the position down: never refused
        limits = self._limits
        open_positions = 0
        if limits.max_open_positions is not None:
            open_positions = sum(1 for p in self._broker.positions() if p.quantity != 0)
        daily_pnl = None
        if limits.daily_loss_limit is not None:
            daily_pnl = self._daily_pnl(now, record=not dry_run)
        with self._db.read() as session:
            recent, on_instrument = _orders_since(session, now - RATE_WINDOW, view.instrument_id)
        context = RiskContext(
            symbol=work.instrument.symbol,
            legs=(*legs.now, *legs.then_open),
            position_before=before,
            position_after=after,
            now=now,
            alert_age_seconds=(now - work.alert_time).total_seconds(),
            alert_price=work.parsed.price,
            last_price=view.price,
            open_positions=open_positions,
            daily_pnl=daily_pnl,
            orders_last_minute=recent,
            instrument_orders_last_minute=on_instrument,
        )
        return check_orders(limits, context)

    def _daily_pnl(self, now: datetime, *, record: bool) -> Decimal:
        """The account's value now against its value at the day's first look (UTC days)."""
        value = self._broker.account_summary().net_liquidation
        day = now.date().isoformat()
        if not record:
            with self._db.read() as session:
                start = session.get(RiskDay, day)
            return ZERO if start is None else value - start.start_net_liquidation
        with self._db.write() as session:
            insert_or_ignore(session, RiskDay, day=day, start_net_liquidation=value, at=now)
            start = session.scalars(select(RiskDay).where(RiskDay.day == day)).one()
            return value - start.start_net_liquidation


def _orders_since(session: Session, since: datetime, instrument_id: str) -> tuple[int, int]:
    """Orders created since ``since``: in all, and on the instrument (one query)."""
    on_instrument = func.count().filter(OrderRecord.instrument_id == instrument_id)
    row = session.execute(
        select(func.count(), on_instrument).where(OrderRecord.created_at >= since)
    ).one()
    return int(row[0] or 0), int(row[1] or 0)
