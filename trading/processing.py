"""Processing one accepted alert: claim it, plan once, carry the plan through its stages.

Safe to run any number of times for the same alert. The plan and its stage are durable;
each leg is marked ``submitting`` before the broker call, and a leg found ``submitting``
is looked up at the broker by its reference before anything is sent again. One alert at a
time holds an instrument (``trading.ledger.locks``), so closes and reversals that arrive
together are planned one after the other, each from the position the previous one left.

The webhook writes only its inbox. The first worker to take an alert copies the receipt
into the ledger inside its claim transaction; the receipt's unique key lets only one of
two racing workers create it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from trading import lifecycle
from trading.alerts.model import Alert
from trading.brokers.port import Broker, Instrument
from trading.errors import (
    BrokerStateUnknown,
    OperationalError,
    OrderRejected,
    RequestRefused,
    TemporaryError,
)
from trading.ledger import locks
from trading.ledger.db import Database
from trading.ledger.inbox import ledger_copy, receipt
from trading.ledger.models import AlertRecord, AlertStatus, OrderRecord, OrderStatus
from trading.ledger.plans import LegResult, apply_results
from trading.plan_runner import PlanRunner, StageResult, Work, settle
from trading.planning import OrderRules
from trading.risk import RiskLimits
from trading.symbol_map import map_symbol

log = logging.getLogger(__name__)

# After an alert's maximum age, how long an unresolved submission keeps being looked up.
UNKNOWN_OUTCOME_GRACE = timedelta(minutes=10)
# A stage that cannot finish now (a fill or a cancel still on its way) looks again after this.
STAGE_RECHECK_SECONDS = 0.25
# An alert whose instrument another alert holds is woken by that alert when it ends; it
# looks again by itself after this in case the wake-up message is lost.
BUSY_FALLBACK_SECONDS = 1.0


@dataclass(frozen=True)
class Outcome:
    status: str
    retry_in: float | None = None
    reason: str | None = None
    # An alert that waited for this one's instrument: to be sent again now.
    wake: str | None = None


@dataclass
class Claimed:
    """An alert this worker now holds (``work``), or why it does not (``outcome``)."""

    work: Work | None = None
    stage: str | None = None
    outcome: Outcome | None = None
    # Broker answers not yet recorded: an error part-way records them first.
    sent: list[LegResult] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


class AlertProcessor:
    """Runs alerts through planning and the broker, recording every step in the ledger."""

    def __init__(
        self,
        database: Database,
        broker: Broker,
        *,
        inbox: Database,
        stuck_after: timedelta,
        rules: OrderRules | None = None,
        limits: RiskLimits | None = None,
    ) -> None:
        self._db = database
        self._inbox = inbox
        self._broker = broker
        self._stuck_after = stuck_after
        self._rules = rules or OrderRules()
        self._runner = PlanRunner(database, broker, self._rules, limits or RiskLimits())

    def process(self, key: str, attempt: int = 0) -> Outcome:
        claimed: Claimed | None = None
        try:
            claimed = self._claim(key)
            if claimed.outcome is not None:
                return claimed.outcome
            return self._run(claimed, attempt)
        except OrderRejected as error:
            self._record(key, claimed)
            return self._finish(key, AlertStatus.REJECTED, error.reason)
        except (TemporaryError, BrokerStateUnknown) as error:
            self._record(key, claimed)
            return self._retry_later(key, str(error), attempt)
        except RequestRefused as error:
            # A refused read (a position, a lookup) is no order rejection, and sending it
            # again would be refused again: stop, and say what a human should look at.
            self._record(key, claimed)
            reason = f"the broker refused a request; check the broker: {error}"
            return self._finish(key, AlertStatus.FAILED, reason)
        except OperationalError as error:
            # A refused credential, an unreadable request: no retry within the alert's age
            # can help, and a human must fix the setting or the code it names.
            self._record(key, claimed)
            reason = f"the broker cannot be used as configured: {error}"
            return self._finish(key, AlertStatus.FAILED, reason)

    def _run(self, claimed: Claimed, attempt: int) -> Outcome:
        work, stage = claimed.work, claimed.stage
        assert work is not None  # noqa: S101 - claimed without an outcome
        for _ in range(8):
            result = self._runner.run_stage(work, stage, claimed.sent)
            if result.final is not None:
                status, reason = result.final  # recorded by the stage itself
                return Outcome(status, reason=reason, wake=result.wake)
            if result.wait is not None:
                return self._wait_for_stage(work.key, result, attempt)
            stage = result.next_stage
        raise OperationalError(f"alert {work.key}: its plan did not settle (stage {stage})")

    # --- claiming ---------------------------------------------------------------------

    def _claim(self, key: str) -> Claimed:
        try:
            return self._claim_once(key)
        except IntegrityError:
            # Another worker copied the receipt into the ledger first: take it as theirs.
            return self._claim_once(key)

    def _claim_once(self, key: str) -> Claimed:
        """Take the alert's lease and its instrument; refuse it if it is out of order."""
        now = _now()
        with self._db.write() as session:
            alert = self._alert(session, key)
            if alert is None:
                found = receipt(self._inbox, key)
                if found is None:
                    return Claimed(outcome=Outcome("missing", reason=f"no alert with key {key}"))
                if found.status != AlertStatus.ACCEPTED:
                    # Too old on arrival: the webhook said so, and it is never traded.
                    return Claimed(outcome=Outcome(found.status, reason=found.reason))
                alert = ledger_copy(found, now=now)
                session.add(alert)
            refused = self._lease(alert, now)
            if refused is not None:
                return Claimed(outcome=refused)
            parsed = Alert.from_json(json.loads(alert.parsed))
            instrument = self._instrument(parsed)
            lock = self._lock_name(instrument.symbol)
            work = Work(key, parsed, instrument, lock, alert.expires_at, alert.alert_time)
            claimed = Claimed(work, alert.plan.stage if alert.plan else None)
            state = locks.take_instrument(session, lock, key, now=now)
            if state.busy_with is not None:
                reason = f"waiting for alert {state.busy_with} on {instrument.symbol} to finish"
                lifecycle.wait(alert, reason, now)
                alert.waiting_on = lock
                # The holder wakes it when it ends; this retry is only the fallback.
                claimed.outcome = Outcome("retry", retry_in=BUSY_FALLBACK_SECONDS, reason=reason)
                return claimed
            alert.waiting_on = None
            if alert.plan is None and parsed.timestamp is not None:
                # Only alerts that carry their own time are ordered by it: the time of
                # receipt says nothing about the order in which TradingView fired them.
                refusal = self._out_of_order(alert, state, instrument.symbol)
                if refusal is not None:
                    lifecycle.finish(alert, AlertStatus.REJECTED, refusal, now)
                    wake = self._release(alert)
                    claimed.outcome = Outcome(AlertStatus.REJECTED, reason=refusal, wake=wake)
            return claimed

    def _lease(self, alert: AlertRecord, now: datetime) -> Outcome | None:
        if alert.status in AlertStatus.FINAL:
            return Outcome(alert.status, reason=alert.reason)
        lease_alive = alert.started_at is not None and alert.started_at > now - self._stuck_after
        if alert.status == AlertStatus.PROCESSING and lease_alive:
            return Outcome("busy", reason="another worker holds this alert")
        if lifecycle.expires_now(alert, now):
            reason = lifecycle.expire(alert, now)
            return Outcome(AlertStatus.EXPIRED, reason=reason, wake=self._release(alert))
        lifecycle.start(alert, now)
        return None

    def _out_of_order(self, alert: AlertRecord, state: locks.LockState, symbol: str) -> str | None:
        last = state.last_alert_time
        if not self._rules.refuse_out_of_order or last is None or alert.alert_time >= last:
            return None
        return (
            f"out of order: this alert's time {alert.alert_time.isoformat()} is older than "
            f"alert {state.last_alert_key} ({last.isoformat()}) already processed on {symbol} "
            "(OUT_OF_ORDER_ALERTS=allow processes such alerts anyway)"
        )

    def _instrument(self, parsed: Alert) -> Instrument:
        symbol = map_symbol(self._rules.symbol_map, parsed.symbol, parsed.exchange)
        return Instrument(symbol, parsed.exchange, parsed.sec_type, parsed.currency)

    # --- settling ---------------------------------------------------------------------

    def _record(self, key: str, claimed: Claimed | None) -> None:
        """Record what the broker said about each leg before an error ends this attempt."""
        if claimed is None or not claimed.sent:
            return
        with self._db.write() as session:
            alert = self._existing(session, key)
            apply_results(session, alert, claimed.sent, _now())
        claimed.sent.clear()

    def _finish(self, key: str, status: str, reason: str | None) -> Outcome:
        with self._db.write() as session:
            alert = self._existing(session, key)
            wake = settle(session, alert, self._lock_of(alert), status, reason)
        return Outcome(status, reason=reason, wake=wake)

    def _wait_for_stage(self, key: str, result: StageResult, attempt: int) -> Outcome:
        """A stage waits for the broker (a fill, a cancel): look again soon, within age."""
        now = _now()
        with self._db.write() as session:
            alert = self._existing(session, key)
            if now >= alert.expires_at:
                reason = f"{result.wait} until the alert's maximum age; nothing more was sent"
                for order in alert.orders:
                    if order.status == OrderStatus.PLANNED:
                        order.status, order.reason = OrderStatus.EXPIRED, reason
                lifecycle.finish(alert, AlertStatus.FAILED, reason, now)
                return Outcome(AlertStatus.FAILED, reason=reason, wake=self._release(alert))
            lifecycle.wait(alert, result.wait or "waiting", now)
        delay = min(2.0, STAGE_RECHECK_SECONDS * (attempt + 1))
        return Outcome("retry", retry_in=delay, reason=result.wait)

    def _retry_later(self, key: str, reason: str, attempt: int) -> Outcome:
        now = _now()
        with self._db.write() as session:
            alert = self._existing(session, key)
            in_flight = any(o.status == OrderStatus.SUBMITTING for o in alert.orders)
            deadline = alert.expires_at + (UNKNOWN_OUTCOME_GRACE if in_flight else timedelta(0))
            if now >= deadline:
                if in_flight:
                    status = AlertStatus.FAILED
                    why = f"order outcome still unknown; check the broker: {reason}"
                else:
                    status = AlertStatus.EXPIRED
                    why = f"broker unavailable until the alert's maximum age: {reason}"
                for order in alert.orders:
                    if order.status == OrderStatus.PLANNED:
                        order.status, order.reason = OrderStatus.EXPIRED, why
                lifecycle.finish(alert, status, why, now)
                return Outcome(status, reason=why, wake=self._release(alert))
            # Release the lease so the retry can take it at once; the retry message is ours,
            # so the sweeper need not add one. The instrument stays this alert's.
            if alert.status == AlertStatus.PROCESSING:
                lifecycle.wait(alert, reason, now)
            remaining = (deadline - now).total_seconds()
        delay = min(5.0, 0.5 * (attempt + 1), max(0.1, remaining))
        return Outcome("retry", retry_in=delay, reason=reason)

    def _lock_name(self, symbol: str) -> str:
        """One lock per broker and instrument, however the symbol is spelt."""
        return locks.lock_name(self._broker.name, same_instrument(symbol))

    def _lock_of(self, alert: AlertRecord) -> str:
        return self._lock_name(self._instrument(Alert.from_json(json.loads(alert.parsed))).symbol)

    def _release(self, alert: AlertRecord) -> str | None:
        """Free the alert's instrument (inside the caller's transaction); the alert that
        waited for it longest, to be woken."""
        session = Session.object_session(alert)
        if session is None:
            return None
        lock = self._lock_of(alert)
        locks.release_instrument(session, lock, alert.key)
        return locks.next_waiter(session, lock)

    # --- lookups ----------------------------------------------------------------------

    def _existing(self, session: Session, key: str) -> AlertRecord:
        alert = self._alert(session, key)
        found = receipt(self._inbox, key) if alert is None else None
        if alert is None and found is not None and found.status == AlertStatus.ACCEPTED:
            # The claim that copied it rolled back (planning refused the alert, say).
            alert = ledger_copy(found, now=_now())
            session.add(alert)
            session.flush()
        if alert is None:
            raise OperationalError(f"alert {key} vanished from the ledger while processing")
        return alert

    @staticmethod
    def _alert(session: Session, key: str) -> AlertRecord | None:
        # One joined query: about half the cost of loading the relationships separately.
        return (
            session.scalars(
                select(AlertRecord)
                .where(AlertRecord.key == key)
                # PostgreSQL: two deliveries of one alert must not both take its lease.
                # (SQLite's BEGIN IMMEDIATE already serialises every writer.)
                .with_for_update(of=AlertRecord)
                .options(
                    joinedload(AlertRecord.orders).joinedload(OrderRecord.fills),
                    joinedload(AlertRecord.plan),
                )
            )
            .unique()
            .one_or_none()
        )


def same_instrument(symbol: str) -> str:
    """A symbol as brokers and alerts may each spell it: EUR/USD, EUR.USD and EURUSD, or
    BRK.B and BRK B, compare equal."""
    return "".join(ch for ch in symbol.upper() if ch.isalnum())
