"""One alert at a time per broker and instrument, across every worker and host.

The lock is a ledger row taken inside the transaction that claims the alert, so it holds
on SQLite (one writer at a time) and on PostgreSQL (``SELECT ... FOR UPDATE``) alike. It
belongs to an alert until that alert reaches a final state: a holder that is waiting for a
fill or a reconnect keeps it, and a holder that died is resumed by the sweeper and
finishes (at the latest when its maximum age has passed), so the lock is never lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.ledger.db import insert_or_ignore
from trading.ledger.models import AlertRecord, AlertStatus, InstrumentLock


@dataclass(frozen=True)
class LockState:
    """Who holds the instrument (None when the caller now does) and the newest alert time
    already planned on it."""

    busy_with: str | None
    last_alert_time: datetime | None
    last_alert_key: str | None


def lock_name(broker: str, instrument: str) -> str:
    return f"{broker}:{instrument}"[:100]


def take_instrument(session: Session, name: str, holder: str, *, now: datetime) -> LockState:
    row = _locked_row(session, name)
    if row.holder not in (None, holder) and _holder_alive(session, row.holder):
        return LockState(row.holder, row.last_alert_time, row.last_alert_key)
    row.holder, row.until = holder, now
    return LockState(None, row.last_alert_time, row.last_alert_key)


def note_planned(session: Session, name: str, key: str, alert_time: datetime) -> None:
    """Remember the newest alert planned on the instrument (for the out-of-order rule)."""
    row = _locked_row(session, name)
    if row.last_alert_time is None or alert_time >= row.last_alert_time:
        row.last_alert_time, row.last_alert_key = alert_time, key


def release_instrument(session: Session, name: str, holder: str) -> None:
    row = session.scalar(select(InstrumentLock).where(InstrumentLock.name == name))
    if row is not None and row.holder == holder:
        row.holder, row.until = None, None


def _locked_row(session: Session, name: str) -> InstrumentLock:
    query = select(InstrumentLock).where(InstrumentLock.name == name).with_for_update()
    row = session.scalar(query)
    if row is None:
        # Two first alerts on an instrument may both find no row: one creates it, the
        # other waits for that and then locks the row it made.
        insert_or_ignore(session, InstrumentLock, name=name)
        row = session.scalars(query).one()
    return row


def _holder_alive(session: Session, holder: str) -> bool:
    status = session.scalar(select(AlertRecord.status).where(AlertRecord.key == holder))
    return status is not None and status not in AlertStatus.FINAL


def next_waiter(session: Session, name: str) -> str | None:
    """The alert that has waited for the instrument longest, by its own time."""
    return session.scalar(
        select(AlertRecord.key)
        .where(AlertRecord.waiting_on == name, AlertRecord.status == AlertStatus.WAITING)
        .order_by(AlertRecord.alert_time, AlertRecord.id)
        .limit(1)
    )
