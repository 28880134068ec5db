"""Keeping resting orders current at brokers that do not tell us when they fill.

IB's gateway publishes every status change and the paper broker applies its own fills,
but a REST broker (OANDA) only answers when asked. Every few seconds the orders we hold as
working at such a broker are looked up by reference, and what changed is recorded like
any other broker update. A lookup that fails leaves the order as it was (unknown is not
an answer); an order the broker says it has never had is recorded as an event for a human,
never as cancelled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.brokers.port import Broker
from trading.errors import TvbridgeError
from trading.ledger.db import Database
from trading.ledger.models import OrderEventRecord, OrderRecord, OrderStatus
from trading.ledger.orders import apply_update_by_reference, find_order, record_event

log = logging.getLogger(__name__)
MOST_PER_SYNC = 200
MISSING = "missing_at_broker"


@dataclass(frozen=True)
class SyncReport:
    looked_up: int
    updated: int
    missing: int
    failed: int


def sync_working_orders(database: Database, broker: Broker) -> SyncReport:
    if broker.capabilities.pushes_order_updates:
        return SyncReport(0, 0, 0, 0)
    with database.read() as session:
        working = list(
            session.execute(
                select(OrderRecord.order_ref, OrderRecord.status, OrderRecord.filled_quantity)
                .where(OrderRecord.broker == broker.name, OrderRecord.status.in_(OrderStatus.OPEN))
                .order_by(OrderRecord.id)
                .limit(MOST_PER_SYNC)
            )
        )
    updated = missing = failed = 0
    for reference, status, filled in working:
        try:
            seen = broker.order_by_reference(reference)
        except TvbridgeError as error:
            failed += 1
            log.warning("order %s could not be looked up (%s); kept as it was", reference, error)
            continue
        with database.write() as session:
            if seen is None:
                missing += 1
                _record_missing_once(session, reference, broker.name)
                continue
            if (seen.status, seen.filled_quantity) != (status, filled):
                apply_update_by_reference(session, seen)
                updated += 1
    if updated or missing:
        log.info("order sync: %d updated, %d missing at %s", updated, missing, broker.name)
    return SyncReport(len(working), updated, missing, failed)


def _record_missing_once(session: Session, reference: str, broker_name: str) -> None:
    already = session.scalar(
        select(OrderEventRecord.id).where(
            OrderEventRecord.order_ref == reference, OrderEventRecord.kind == MISSING
        )
    )
    if already is None:
        order = find_order(session, reference)
        record_event(session, order, reference, MISSING, {"broker": broker_name})
