"""The kill switch: halting and resuming trading, recorded in the ledger.

While halted, a plan that would open or add to a position is rejected with the halt's
reason; closes, reductions and a bracket's exits are still sent, so a position can always
be taken down. The halt is set by hand (API, CLI) or by the daily loss limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.halt import HaltFlag
from trading.ledger.db import insert_or_ignore
from trading.ledger.models import TradingHalt

_ROW = 1


@dataclass(frozen=True)
class HaltState:
    halted: bool
    reason: str | None = None
    since: datetime | None = None
    by: str | None = None

    def flag(self) -> HaltFlag:
        return HaltFlag(self.halted, self.reason)

    def refusal(self) -> str:
        since = self.since.isoformat() if self.since else "an unknown time"
        return (
            f"trading is halted since {since} ({self.by or 'unknown'}: {self.reason}); "
            "only closes and exits are sent until POST /api/resume"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "halted": self.halted,
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "by": self.by,
        }


def read_halt(session: Session) -> HaltState:
    row = session.get(TradingHalt, _ROW)
    if row is None or not row.halted:
        return HaltState(False)
    return HaltState(True, row.reason, row.since, row.by)


def set_halt(session: Session, *, reason: str, by: str, now: datetime) -> HaltState:
    """Halt (again: the first halt's time and reason are kept)."""
    row = _row(session, now)
    if not row.halted:
        row.halted, row.reason, row.since, row.by = True, reason, now, by
    row.updated_at = now
    return read_halt(session)


def clear_halt(session: Session, *, now: datetime) -> HaltState:
    row = _row(session, now)
    row.halted, row.reason, row.since, row.by, row.updated_at = False, None, None, None, now
    return HaltState(False)


def _row(session: Session, now: datetime) -> TradingHalt:
    query = select(TradingHalt).where(TradingHalt.id == _ROW).with_for_update()
    row = session.scalar(query)
    if row is None:
        insert_or_ignore(session, TradingHalt, id=_ROW, halted=False, updated_at=now)
        row = session.scalars(query).one()
    return row
