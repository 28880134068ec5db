"""The outbox sweeper: nothing accepted is ever left behind.

It finds alerts that were accepted but never picked up (the enqueue failed or Redis lost
the message) and alerts abandoned mid-processing (a worker died), and enqueues them
again. Over-age alerts with nothing in flight are recorded expired, never re-enqueued.

An alert no worker has taken yet exists only as its inbox receipt: the sweeper copies it
into the ledger (accepted and enqueued, or expired) and marks the receipt handed over, so
each receipt costs the inbox one batched write, once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trading import lifecycle
from trading.ledger.alerts import stranded_alerts
from trading.ledger.db import Database
from trading.ledger.inbox import ledger_copy, mark_handed_over, unhanded_receipts
from trading.ledger.models import AlertRecord, InboxRecord

log = logging.getLogger(__name__)

Enqueue = Callable[[str, datetime], None]


@dataclass(frozen=True)
class SweepReport:
    enqueued: tuple[str, ...]
    expired: tuple[str, ...]
    failed: tuple[str, ...]
    handed_over: tuple[str, ...] = ()


@dataclass
class _Decisions:
    to_enqueue: list[tuple[str, datetime]] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    handed_over: list[str] = field(default_factory=list)


def sweep(
    database: Database,
    enqueue: Enqueue,
    *,
    inbox: Database,
    now: datetime,
    accepted_grace: timedelta,
    stuck_after: timedelta,
) -> SweepReport:
    receipts = unhanded_receipts(inbox, received_before=now - accepted_grace)
    try:
        decided = _decide(database, receipts, now, accepted_grace, stuck_after)
    except IntegrityError:
        # A worker copied one of the receipts meanwhile (PostgreSQL): look again.
        decided = _decide(database, receipts, now, accepted_grace, stuck_after)
    mark_handed_over(inbox, decided.handed_over, now=now)
    enqueued, failed = [], []
    for key, expires_at in decided.to_enqueue:
        try:
            enqueue(key, expires_at)
            enqueued.append(key)
        except Exception as error:  # noqa: BLE001 - any publish failure: try next sweep
            log.warning("sweeper could not enqueue %s: %s", key, error)
            failed.append(key)
    if enqueued or decided.expired:
        log.info("sweeper re-enqueued %d, expired %d", len(enqueued), len(decided.expired))
    return SweepReport(
        tuple(enqueued), tuple(decided.expired), tuple(failed), tuple(decided.handed_over)
    )


def _decide(
    database: Database,
    receipts: list[InboxRecord],
    now: datetime,
    accepted_grace: timedelta,
    stuck_after: timedelta,
) -> _Decisions:
    decided = _Decisions()
    with database.write() as session:
        for alert in stranded_alerts(
            session, now=now, accepted_grace=accepted_grace, stuck_after=stuck_after
        ):
            _resend_or_expire(alert, now, accepted_grace, decided)
        _take_over(session, receipts, now, decided)
    return decided


def _take_over(
    session: Session, receipts: list[InboxRecord], now: datetime, decided: _Decisions
) -> None:
    """Copy into the ledger the receipts no worker took; all of them are then handed over."""
    keys = [found.key for found in receipts]
    known = set(session.scalars(select(AlertRecord.key).where(AlertRecord.key.in_(keys))))
    for found in receipts:
        decided.handed_over.append(found.key)
        if found.key in known:
            continue
        alert = ledger_copy(found, now=now)
        session.add(alert)
        _resend_or_expire(alert, now, timedelta(0), decided)


def _resend_or_expire(
    alert: AlertRecord, now: datetime, accepted_grace: timedelta, decided: _Decisions
) -> None:
    if lifecycle.expires_now(alert, now):
        # Its instrument lock, if it held one, is free from now on: a lock's holder counts
        # only while its alert is not final.
        lifecycle.expire(alert, now)
        decided.expired.append(alert.key)
        return
    if alert.enqueued_at is not None and alert.enqueued_at > now - accepted_grace:
        return  # re-enqueued recently; give that message time
    alert.enqueued_at = now
    decided.to_enqueue.append((alert.key, alert.expires_at))
