"""Reading alert rows in the ledger: lookups, their state, the ones left behind."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.ledger.models import AlertRecord, AlertStatus
from trading.ledger.public_ids import current_for


def find_alert(session: Session, alert_id: str) -> AlertRecord | None:
    """The ledger's alert for a key or public alert id (newest first).

    Which alert a public id means now is the inbox's to say (``find_receipt``); this is
    the lookup for a key, and for alerts whose receipt is gone.
    """
    # A claim recorded before the inbox held the claims names the current alert.
    return current_for(session, AlertRecord, alert_id)


def alert_state(session: Session, key: str) -> tuple[str, str | None] | None:
    """The ledger's status and reason of the alert with ``key``, if a worker took it."""
    row = session.execute(
        select(AlertRecord.status, AlertRecord.reason).where(AlertRecord.key == key)
    ).first()
    return (row[0], row[1]) if row is not None else None


def stranded_alerts(
    session: Session, *, now: datetime, accepted_grace: timedelta, stuck_after: timedelta
) -> list[AlertRecord]:
    """Ledger alerts waiting for a message that may be lost, or started and abandoned."""
    accepted = select(AlertRecord).where(
        AlertRecord.status.in_(AlertStatus.QUEUED),
        AlertRecord.received_at < now - accepted_grace,
    )
    stuck = select(AlertRecord).where(
        AlertRecord.status == AlertStatus.PROCESSING,
        AlertRecord.started_at < now - stuck_after,
    )
    rows = list(session.scalars(accepted.limit(500))) + list(session.scalars(stuck.limit(500)))
    return rows
