"""Retention: old finished alerts, their orders, fills and events, old rejections, old
inbox receipts and the paper broker's old submission records go; expired deduplication
claims are released."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, or_, select, update
from sqlalchemy.orm import Session

from trading.ledger.db import Database
from trading.ledger.models import (
    AlertRecord,
    AlertStatus,
    FillRecord,
    InboxRecord,
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
    receipts: int = 0


def prune(
    database: Database, *, inbox: Database, now: datetime, retention: timedelta
) -> PruneReport:
    cutoff = now - retention
    with database.write() as session:
        released = _release(session, AlertRecord, now)
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
        # Written here before the inbox took the webhook's rejections.
        rejections = _count(
            session.execute(delete(RejectionRecord).where(RejectionRecord.at < cutoff))
        )
        session.execute(delete(PaperSubmission).where(PaperSubmission.at < cutoff))
    with inbox.write() as session:
        released += _release(session, InboxRecord, now)
        # A receipt goes once its claim is released and it needs no sweeper: the ledger
        # has the alert (whose own retention then applies) or it expired on arrival.
        receipts = _count(
            session.execute(
                delete(InboxRecord).where(
                    InboxRecord.received_at < cutoff,
                    InboxRecord.dedup_key.is_(None),
                    or_(
                        InboxRecord.handed_over_at.is_not(None),
                        InboxRecord.status != AlertStatus.ACCEPTED,
                    ),
                )
            )
        )
        if inbox is not database:
            rejections += _count(
                session.execute(delete(RejectionRecord).where(RejectionRecord.at < cutoff))
            )
    return PruneReport(len(doomed), rejections, released, receipts)


def _release(session: Session, model: type[AlertRecord] | type[InboxRecord], now: datetime) -> int:
    return _count(
        session.execute(
            update(model)
            .where(model.dedup_key.is_not(None), model.dedup_until < now)
            .values(dedup_key=None)
        )
    )


def _count(result: Result[Any]) -> int:
    return int(cast(CursorResult[Any], result).rowcount)
