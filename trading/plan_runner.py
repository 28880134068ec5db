"""Carrying a plan through its stages (``trading.lifecycle.PlanStage``), one per call.

Each stage reads the broker, records what it decided in one ledger transaction before any
order is sent, sends, and records what the broker answered. A stage that must wait for
the broker (a cancel not yet confirmed, a close not yet filled) says so and is run again
by the alert's next attempt; nothing is ever sent twice (a leg marked ``submitting`` is
looked up by its reference first).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from trading.alerts.model import Alert
from trading.brokers import port
from trading.brokers.port import Broker, BrokerOrder, Instrument, OrderRequest
from trading.errors import BrokerUnavailable, NotCancellable, OrderNotFound, OrderRejected
from trading.keys import order_reference
from trading.ledger import locks
from trading.ledger.db import Database
from trading.ledger.models import AlertRecord, AlertStatus, OrderRecord, OrderStatus
from trading.ledger.orders import apply_update_by_reference
from trading.ledger.plans import (
    LegResult,
    add_legs,
    apply_results,
    mark_submitting,
    plan_detail,
    record_plan,
    set_status,
    update_plan_detail,
)
from trading.lifecycle import PlanStage
from trading.planning import (
    OrderRules,
    PositionView,
    decide,
    legs_toward,
    protective_legs,
    settled_target,
)
from trading.positions import broker_view, strategy_view

# How long one attempt keeps looking for a cancel to be confirmed or a close to fill
# before it hands the alert to its next attempt (the broker usually answers in well
# under this).
IN_ATTEMPT_WAIT_SECONDS = 1.0
_POLL_SECONDS = 0.05
FRACTIONAL_STEP = Decimal("0.00000001")


@dataclass(frozen=True)
class Work:
    """The alert a worker holds, and the instrument it holds with it."""

    key: str
    parsed: Alert
    instrument: Instrument
    lock: str
    expires_at: datetime


@dataclass
class StageResult:
    next_stage: str | None = None
    final: tuple[str, str | None] | None = None
    wait: str | None = None


@dataclass
class _Send:
    order_pk: int
    leg: str
    request: OrderRequest
    resume: bool
    parent_leg: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


class PlanRunner:
    def __init__(self, database: Database, broker: Broker, rules: OrderRules) -> None:
        self._db = database
        self._broker = broker
        self._rules = rules
        self._fresh: dict[str, PositionView] = {}

    def run_stage(self, work: Work, stage: str | None, sent: list[LegResult]) -> StageResult:
        """Run ``stage`` of the alert's plan; ``sent`` collects broker answers not yet
        recorded, so an error part-way still records them."""
        if stage is None:
            return self._decide(work)
        if stage == PlanStage.CANCEL:
            return self._cancel(work)
        if stage == PlanStage.PLACE:
            return self._place(work, sent)
        if stage == PlanStage.OPEN:
            return self._open(work, sent)
        return self._conclude(work, sent)

    # --- stages -----------------------------------------------------------------------

    def _decide(self, work: Work) -> StageResult:
        view = self._view(work)
        decision = decide(work.parsed, view, self._rules)
        now = _now()
        with self._db.write() as session:
            alert = _load(session, work.key)
            if alert.plan is not None:
                return StageResult(next_stage=alert.plan.stage)
            if work.parsed.timestamp is not None:
                locks.note_planned(session, work.lock, work.key, alert.alert_time)
            if decision.kind == "nothing":
                stage = PlanStage.DONE
            else:
                stage = PlanStage.CANCEL if decision.cancel else PlanStage.PLACE
            record_plan(
                alert,
                decision,
                stage=stage,
                instrument_id=view.instrument_id,
                strategy=work.parsed.strategy,
                now=now,
            )
        if decision.kind == "nothing":
            return StageResult(final=(AlertStatus.DONE, decision.reason))
        if stage == PlanStage.PLACE:
            self._fresh[work.key] = view  # no cancels: the position just read still holds
        return StageResult(next_stage=stage)

    def _cancel(self, work: Work) -> StageResult:
        with self._db.read() as session:
            plan = _load(session, work.key, plan_only=True).plan
            assert plan is not None  # noqa: S101
            references = list(plan_detail(plan).get("cancel", []))
        seen: dict[str, BrokerOrder | None] = {}
        for reference in references:
            try:
                seen[reference] = self._broker.cancel(reference)
            except (NotCancellable, OrderNotFound):
                seen[reference] = self._broker.order_by_reference(reference)
        pending = self._until_settled(seen, lambda o: o.status not in port.ACTIVE_STATES)
        with self._db.write() as session:
            for order in seen.values():
                if order is not None:
                    apply_update_by_reference(session, order)
            if pending:
                return StageResult(
                    wait=f"waiting for the broker to confirm the cancel of {', '.join(pending)}"
                )
            plan = _load(session, work.key).plan
            assert plan is not None  # noqa: S101
            plan.stage = PlanStage.PLACE
        return StageResult(next_stage=PlanStage.PLACE)

    def _place(self, work: Work, sent: list[LegResult]) -> StageResult:
        view = self._fresh.pop(work.key, None) or self._view(work)
        with self._db.read() as session:
            plan = _load(session, work.key).plan
            assert plan is not None  # noqa: S101
            target, detail = plan.target_position, plan_detail(plan)
        capabilities = self._broker.capabilities
        if work.parsed.intent == "protect":
            target = view.effective
            legs = protective_legs(work.parsed, view, capabilities=capabilities)
        else:
            if target is None:
                before = Decimal(detail.get("position_before", "0")) + Decimal(
                    detail.get("working_before", "0")
                )
                target = settled_target(work.parsed, view, before=before)
            legs = legs_toward(
                work.parsed, view, target, capabilities=capabilities, rules=self._rules
            )
        now = _now()
        with self._db.write() as session:
            alert = _load(session, work.key)
            plan = alert.plan
            assert plan is not None  # noqa: S101
            if plan.stage != PlanStage.PLACE:
                return StageResult(next_stage=plan.stage)
            plan.target_position = target
            update_plan_detail(
                plan,
                target=str(target),
                position_placed_from=str(view.effective),
                notes=list(legs.notes),
                attached=legs.attached,
                legs=[leg.leg for leg in (*legs.now, *legs.then_open)],
            )
            if not legs.now:
                plan.stage = PlanStage.DONE
                reason = "; ".join(legs.notes) or f"already at the target position {target}"
                return StageResult(final=(AlertStatus.DONE, reason))
            add_legs(
                alert,
                (*legs.now, *legs.then_open),
                broker=self._broker.name,
                symbol=work.instrument.symbol,
                now=now,
            )
            plan.stage = PlanStage.OPEN if legs.then_open else PlanStage.DONE
            sends = self._mark(session, alert, work, {leg.leg for leg in legs.now}, now)
        self._send(sends, work, sent)
        self._record(work.key, sent)
        return StageResult(next_stage=PlanStage.OPEN if legs.then_open else PlanStage.DONE)

    def _open(self, work: Work, sent: list[LegResult]) -> StageResult:
        """The close across zero was sent: open once it has filled."""
        self._resume(work, sent, only={"close"})
        with self._db.read() as session:
            close = next((o for o in _load(session, work.key).orders if o.leg == "close"), None)
            if close is None:
                return StageResult(final=(AlertStatus.FAILED, "the plan lost its close leg"))
            status, reference, reason = close.status, close.order_ref, close.reason
        if status in OrderStatus.OPEN:
            found = {reference: self._broker.order_by_reference(reference)}
            pending = self._until_settled(found, lambda o: o.status == port.FILLED)
            with self._db.write() as session:
                for order in found.values():
                    if order is not None:
                        apply_update_by_reference(session, order)
            if pending:
                return StageResult(wait=f"waiting for the close {reference} to fill")
            return StageResult(next_stage=PlanStage.OPEN)
        if status != OrderStatus.FILLED:
            why = f"the close was {status}" + (f" ({reason})" if reason else "")
            return StageResult(
                final=(AlertStatus.FAILED, f"{why}: nothing was opened; check the position")
            )
        now = _now()
        with self._db.write() as session:
            alert = _load(session, work.key)
            assert alert.plan is not None  # noqa: S101
            planned = {o.leg for o in alert.orders if o.status == OrderStatus.PLANNED}
            alert.plan.stage = PlanStage.DONE
            sends = self._mark(session, alert, work, planned, now)
        self._send(sends, work, sent)
        self._record(work.key, sent)
        return StageResult(next_stage=PlanStage.DONE)

    def _conclude(self, work: Work, sent: list[LegResult]) -> StageResult:
        self._resume(work, sent)
        with self._db.read() as session:
            alert = _load(session, work.key)
            orders = [(o.leg, o.status, o.reason) for o in alert.orders]
            notes = plan_detail(alert.plan).get("notes", []) if alert.plan else []
        rejected = [(leg, r) for leg, status, r in orders if status == OrderStatus.REJECTED]
        expired = [reason for _, status, reason in orders if status == OrderStatus.EXPIRED]
        if orders and len(rejected) == len(orders):
            return StageResult(final=(AlertStatus.REJECTED, rejected[0][1]))
        if expired:
            return StageResult(final=(AlertStatus.EXPIRED, expired[0]))
        if rejected:
            leg, reason = rejected[0]
            why = f"part of the plan failed: the {leg} order was rejected ({reason})"
            return StageResult(final=(AlertStatus.FAILED, why))
        return StageResult(final=(AlertStatus.DONE, "; ".join(notes) or None))

    # --- the broker -------------------------------------------------------------------

    def _view(self, work: Work) -> PositionView:
        held = self._broker.position_in(work.instrument)
        if held.quantity_increment is None and self._broker.capabilities.fractional_quantities:
            # A broker that takes fractions of anything (paper) sizes to a fine step.
            held = replace(held, quantity_increment=FRACTIONAL_STEP)
        equity = None
        if work.parsed.quantity_type in ("percent_of_equity", "risk_percent"):
            equity = self._broker.account_summary().net_liquidation
        if work.parsed.strategy:
            with self._db.read() as session:
                return strategy_view(
                    session, work.parsed.strategy, held, price=work.parsed.price, equity=equity
                )
        return broker_view(held, price=work.parsed.price, equity=equity)

    def _until_settled(
        self, orders: dict[str, BrokerOrder | None], settled: Callable[[BrokerOrder], bool]
    ) -> list[str]:
        """Look again at unsettled orders for a moment; return those still unsettled."""
        deadline = time.monotonic() + IN_ATTEMPT_WAIT_SECONDS
        while True:
            pending = [r for r, o in orders.items() if o is not None and not settled(o)]
            if not pending or time.monotonic() >= deadline:
                return pending
            time.sleep(_POLL_SECONDS)
            for reference in pending:
                orders[reference] = self._broker.order_by_reference(reference)

    def _resume(self, work: Work, sent: list[LegResult], only: set[str] | None = None) -> None:
        """Send what an earlier attempt of this stage did not: legs left ``submitting`` (by
        an attempt that died: looked up first) and legs still ``planned`` (the broker was
        unavailable)."""
        now = _now()
        with self._db.write() as session:
            alert = _load(session, work.key)
            legs = {
                o.leg
                for o in alert.orders
                if o.status in (OrderStatus.PLANNED, OrderStatus.SUBMITTING)
                and (only is None or o.leg in only)
            }
            if not legs:
                return
            sends = self._mark(session, alert, work, legs, now)
        self._send(sends, work, sent)
        self._record(work.key, sent)

    def _mark(
        self, session: Session, alert: AlertRecord, work: Work, legs: set[str], now: datetime
    ) -> list[_Send]:
        attached = plan_detail(alert.plan).get("attached", {}) if alert.plan else {}
        return [
            _Send(
                order.id,
                order.leg,
                _request(order, work, attached if order.parent_leg is None else {}),
                resume,
                order.parent_leg,
            )
            for order, resume in mark_submitting(session, alert, legs, now)
        ]

    def _send(self, sends: list[_Send], work: Work, sent: list[LegResult]) -> None:
        failed: set[str] = set()
        for item in sends:
            if item.parent_leg in failed:
                reason = f"not sent: its {item.parent_leg} order was not placed"
                sent.append(LegResult(item.order_pk, status=OrderStatus.CANCELLED, reason=reason))
                failed.add(item.leg)
                continue
            result = self._place_one(item, work.expires_at)
            sent.append(result)
            if result.status is not None or (
                result.seen is not None and result.seen.status == port.REJECTED
            ):
                failed.add(item.leg)

    def _place_one(self, item: _Send, expires_at: datetime) -> LegResult:
        if item.resume:
            seen = self._broker.order_by_reference(item.request.reference)
            if seen is not None:
                return LegResult(item.order_pk, seen=seen)
        if _now() >= expires_at:
            reason = "the alert reached its maximum age before its order was placed"
            return LegResult(item.order_pk, status=OrderStatus.EXPIRED, reason=reason)
        try:
            return LegResult(item.order_pk, seen=self._broker.submit(item.request))
        except OrderRejected as error:
            return LegResult(item.order_pk, status=OrderStatus.REJECTED, reason=error.reason)
        except BrokerUnavailable:
            # Raised only before anything was sent: the leg is simply not placed yet.
            self._set_planned(item.order_pk)
            raise

    def _record(self, key: str, sent: list[LegResult]) -> None:
        if not sent:
            return
        with self._db.write() as session:
            apply_results(session, _load(session, key), sent, _now())
        sent.clear()

    def _set_planned(self, order_pk: int) -> None:
        with self._db.write() as session:
            order = session.get_one(OrderRecord, order_pk)
            set_status(session, order, OrderStatus.PLANNED, None, _now())


def _load(session: Session, key: str, *, plan_only: bool = False) -> AlertRecord:
    query = select(AlertRecord).where(AlertRecord.key == key)
    if plan_only:
        query = query.options(joinedload(AlertRecord.plan))
    else:
        query = query.options(
            joinedload(AlertRecord.orders).joinedload(OrderRecord.fills),
            joinedload(AlertRecord.plan),
        )
    return session.scalars(query).unique().one()


def _request(order: OrderRecord, work: Work, attached: dict[str, str]) -> OrderRequest:
    parsed = work.parsed
    return OrderRequest(
        reference=order.order_ref,
        symbol=order.symbol,
        side=order.side,  # type: ignore[arg-type]
        quantity=order.quantity,
        order_type=order.order_type,  # type: ignore[arg-type]
        limit_price=order.limit_price,
        reference_price=parsed.price,
        exchange=work.instrument.exchange,
        sec_type=work.instrument.sec_type,
        currency=work.instrument.currency,
        time_in_force=order.time_in_force or "day",  # type: ignore[arg-type]
        not_after=work.expires_at,
        stop_price=order.stop_price,
        trail_amount=order.trail_amount,
        trail_percent=order.trail_percent,
        outside_rth=order.outside_rth,
        parent_reference=(
            order_reference(work.key, order.parent_leg) if order.parent_leg else None
        ),
        oca_group=order.oca_group,
        take_profit_price=_decimal(attached.get("take_profit_price")),
        stop_loss_price=_decimal(attached.get("stop_loss_price")),
        trailing_stop_distance=_decimal(attached.get("trailing_stop_distance")),
    )


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
