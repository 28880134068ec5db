"""Which row a public alert id names: the one holding its deduplication claim, else the
one with that key, else the newest with that alert id (a repeat after its window)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from trading.ledger.models import AlertRecord, InboxRecord

Row = TypeVar("Row", AlertRecord, InboxRecord)


def current_for(session: Session, model: type[Row], alert_id: str) -> Row | None:
    for wanted in (model.dedup_key == alert_id, model.key == alert_id):
        found = session.scalar(select(model).where(wanted))
        if found is not None:
            return found
    return session.scalar(
        select(model).where(model.alert_id == alert_id).order_by(model.id.desc()).limit(1)
    )
