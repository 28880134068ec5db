"""Retention: old finished alerts, their orders, fills and events, old rejections and the
paper broker's old submission records go; expired deduplication claims are released."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, select, update

from trading.ledger.db import Database
from trading.ledger.models import (
    AlertRecord,
    AlertStatus,
    FillRecord,
    OrderEventRecord,
    OrderRecord,
    OrderStatus,
    PaperSubmission,
    PlanRecord,
    RejectionRecord,
)


@dataclass(frozen=True)
class PruneReport:
    alerts: int
    rejections: int
    released_keys: int


def prune(database: Database, *, now: datetime, retention: timedelta) -> PruneReport:
    cutoff = now - retention
    with database.write() as session:
        released = _count(
            session.execute(
                update(AlertRecord)
                .where(AlertRecord.dedup_key.is_not(None), AlertRecord.dedup_until < now)
                .values(dedup_key=None)
            )
        )
        old_alerts = select(AlertRecord.id).where(
            AlertRecord.status.in_(AlertStatus.FINAL), AlertRecord.finished_at < cutoff
        )
        # Orders still open at the broker keep their alert, however old.
        still_open = select(OrderRecord.alert_pk).where(
            OrderRecord.status.in_((OrderStatus.SUBMITTING, *OrderStatus.OPEN))
        )
        doomed = [pk for pk in session.scalars(old_alerts.where(AlertRecord.id.not_in(still_open)))]
        orders = select(OrderRecord.id).where(OrderRecord.alert_pk.in_(doomed))
        session.execute(delete(FillRecord).where(FillRecord.order_pk.in_(orders)))
        session.execute(delete(OrderEventRecord).where(OrderEventRecord.order_pk.in_(orders)))
        session.execute(delete(OrderRecord).where(OrderRecord.alert_pk.in_(doomed)))
        session.execute(delete(PlanRecord).where(PlanRecord.alert_pk.in_(doomed)))
        session.execute(delete(AlertRecord).where(AlertRecord.id.in_(doomed)))
        rejections = _count(
            session.execute(delete(RejectionRecord).where(RejectionRecord.at < cutoff))
        )
        session.execute(delete(PaperSubmission).where(PaperSubmission.at < cutoff))
    return PruneReport(len(doomed), rejections, released)


def _count(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)
