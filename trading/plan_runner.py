"""Carrying a plan through its stages (``trading.lifecycle.PlanStage``).

Each stage reads the broker, records what it decided in one ledger transaction before any
order is sent, sends, and records what the broker answered; the last record also settles
the alert. A plain entry therefore costs three transactions of ours: the claim, the plan
with its legs marked ``submitting``, and the answer with the alert's end. A stage that must
wait for the broker (a cancel not yet confirmed, a close not yet filled) says so and is
run again by the alert's next attempt; nothing is ever sent twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from trading import lifecycle
from trading.brokers import port
from trading.brokers.port import Broker, BrokerOrder
from trading.errors import NotCancellable, OrderNotFound, OrderRejected
from trading.halt import read_halt, set_halt
from trading.ledger import locks
from trading.ledger.db import Database
from trading.ledger.models import AlertRecord, AlertStatus, OrderRecord, OrderStatus
from trading.ledger.orders import apply_update_by_reference
from trading.ledger.plans import (
    LegResult,
    add_legs,
    apply_results,
    plan_detail,
    record_plan,
    update_plan_detail,
)
from trading.leg_sender import LegSender, Send, Work, mark
from trading.lifecycle import PlanStage
from trading.planning import (
    Decision,
    Legs,
    OrderRules,
    PositionView,
    decide,
    plan_legs,
    settled_target,
)
from trading.positions import read_view
from trading.pretrade import PreTrade
from trading.risk import RiskLimits, RiskRefusal

# Legs that open or add to a position: refused while trading is halted.
OPENING_LEGS = frozenset({"entry", "open"})

__all__ = ["PlanRunner", "StageResult", "Work", "settle"]


@dataclass
class StageResult:
    next_stage: str | None = None
    # The alert's end, already recorded (``settle``) in the stage's last transaction.
    final: tuple[str, str | None] | None = None
    wait: str | None = None
    # With ``final``: the alert waiting for the instrument that this one freed.
    wake: str | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def settle(
    session: Session, alert: AlertRecord, lock: str, status: str, reason: str | None
) -> str | None:
    """End the alert: legs never sent are cancelled, and its instrument is free again.
    Returns the alert that has waited longest for the instrument, to be woken."""
    if alert.status not in AlertStatus.FINAL:
        now = _now()
        for order in alert.orders:
            if order.status == OrderStatus.PLANNED:
                order.status, order.updated_at = OrderStatus.CANCELLED, now
                order.reason = f"not sent: the alert ended {status}"
        lifecycle.finish(alert, status, reason, now)
    locks.release_instrument(session, lock, alert.key)
    return locks.next_waiter(session, lock)


class PlanRunner:
    def __init__(
        self, database: Database, broker: Broker, rules: OrderRules, limits: RiskLimits
    ) -> None:
        self._db = database
        self._broker = broker
        self._rules = rules
        self._sender = LegSender(database, broker)
        self._pretrade = PreTrade(database, broker, limits)

    def run_stage(self, work: Work, stage: str | None, sent: list[LegResult]) -> StageResult:
        """Run ``stage`` of the alert's plan; ``sent`` collects broker answers not yet
        recorded, so an error part-way still records them."""
        if stage is None:
            return self._decide(work, sent)
        if stage == PlanStage.CANCEL:
            return self._cancel(work)
        if stage == PlanStage.PLACE:
            return self._place(work, sent)
        if stage == PlanStage.OPEN:
            return self._open(work, sent)
        return self._resume(work, sent)

    # --- stages -----------------------------------------------------------------------

    def _decide(self, work: Work, sent: list[LegResult]) -> StageResult:
        view = self._view(work)
        decision = decide(work.parsed, view, self._rules)
        legs = None
        if decision.kind != "nothing" and not decision.cancel:
            # Nothing to cancel first: the position just read still holds, so the legs
            # are planned, recorded and marked in the plan's own transaction.
            target = decision.target
            if target is None and work.parsed.intent != "protect":
                target = settled_target(work.parsed, view, before=view.effective)
            legs = self._legs(work, view, target)
        refusal = self._pretrade.check(work, view, *legs, now=_now()) if legs else None
        with self._db.write() as session:
            alert = _load(session, work.key)
            if alert.plan is not None:
                return StageResult(next_stage=alert.plan.stage)
            if _opens(decision, view) and (halt := read_halt(session)).halted:
                # Before anything is cancelled or recorded.
                raise OrderRejected(halt.refusal())
            if work.parsed.timestamp is not None:
                locks.note_planned(session, work.lock, work.key, alert.alert_time)
            stage = self._first_stage(decision)
            record_plan(
                alert,
                decision,
                stage=stage,
                instrument_id=view.instrument_id,
                strategy=work.parsed.strategy,
                now=_now(),
            )
            if decision.kind == "nothing":
                wake = settle(session, alert, work.lock, AlertStatus.DONE, decision.reason)
                return StageResult(final=(AlertStatus.DONE, decision.reason), wake=wake)
            if refusal is not None:
                return _refuse(session, alert, work, refusal)
            if legs is None:
                return StageResult(next_stage=stage)
            staged = self._stage_legs(session, alert, work, view, legs)
        return self._send_staged(work, staged, sent)

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
        pending = self._sender.until_settled(seen, lambda o: o.status not in port.ACTIVE_STATES)
        with self._db.write() as session:
            for order in seen.values():
                if order is not None:
                    apply_update_by_reference(session, order)
            if pending:
                return StageResult(
                    wait=f"waiting for the broker to confirm the cancel of {', '.join(pending)}"
                )
            alert = _load(session, work.key)
            plan = alert.plan
            assert plan is not None  # noqa: S101
            if plan.kind == "cancel":
                # Cancelling was the whole plan: nothing is placed after it.
                plan.stage = PlanStage.DONE
                wake = settle(session, alert, work.lock, AlertStatus.DONE, None)
                return StageResult(final=(AlertStatus.DONE, None), wake=wake)
            plan.stage = PlanStage.PLACE
        return StageResult(next_stage=PlanStage.PLACE)

    def _place(self, work: Work, sent: list[LegResult]) -> StageResult:
        """After the cancels: plan from the position read now."""
        view = self._view(work)
        with self._db.read() as session:
            plan = _load(session, work.key, plan_only=True).plan
            assert plan is not None  # noqa: S101
            target, detail = plan.target_position, plan_detail(plan)
        if target is None and work.parsed.intent != "protect":
            before = Decimal(detail.get("position_before", "0")) + Decimal(
                detail.get("working_before", "0")
            )
            target = settled_target(work.parsed, view, before=before)
        legs = self._legs(work, view, target)
        refusal = self._pretrade.check(work, view, *legs, now=_now())
        with self._db.write() as session:
            alert = _load(session, work.key)
            assert alert.plan is not None  # noqa: S101
            if alert.plan.stage != PlanStage.PLACE:
                return StageResult(next_stage=alert.plan.stage)
            if refusal is not None:
                return _refuse(session, alert, work, refusal)
            staged = self._stage_legs(session, alert, work, view, legs)
        return self._send_staged(work, staged, sent)

    def _open(self, work: Work, sent: list[LegResult]) -> StageResult:
        """The close across zero was sent: open once it has filled."""
        resumed = self._resume(work, sent, only={"close"}, conclude=False)
        if resumed.final is not None:
            return resumed
        with self._db.read() as session:
            close = next((o for o in _load(session, work.key).orders if o.leg == "close"), None)
            if close is None:
                return self._end(work, AlertStatus.FAILED, "the plan lost its close leg")
            status, reference, reason = close.status, close.order_ref, close.reason
        if status in OrderStatus.OPEN:
            found = {reference: self._broker.order_by_reference(reference)}
            pending = self._sender.until_settled(found, lambda o: o.status == port.FILLED)
            with self._db.write() as session:
                for order in found.values():
                    if order is not None:
                        apply_update_by_reference(session, order)
            if pending:
                return StageResult(wait=f"waiting for the close {reference} to fill")
            return StageResult(next_stage=PlanStage.OPEN)
        if status != OrderStatus.FILLED:
            why = f"the close was {status}" + (f" ({reason})" if reason else "")
            return self._end(work, AlertStatus.FAILED, f"{why}: nothing was opened")
        with self._db.write() as session:
            alert = _load(session, work.key)
            assert alert.plan is not None  # noqa: S101
            planned = {o.leg for o in alert.orders if o.status == OrderStatus.PLANNED}
            alert.plan.stage = PlanStage.DONE
            sends = mark(session, alert, work, planned, _now())
        self._sender.send(sends, work, sent)
        return self._record(work, sent, conclude=True)

    def _resume(
        self,
        work: Work,
        sent: list[LegResult],
        only: set[str] | None = None,
        *,
        conclude: bool = True,
    ) -> StageResult:
        """Send what an earlier attempt of this stage did not: legs left ``submitting`` (by
        an attempt that died: looked up first) and legs still ``planned`` (the broker was
        unavailable); then, with ``conclude``, end the alert."""
        with self._db.write() as session:
            alert = _load(session, work.key)
            legs = {
                o.leg
                for o in alert.orders
                if o.status in (OrderStatus.PLANNED, OrderStatus.SUBMITTING)
                and (only is None or o.leg in only)
            }
            sends = mark(session, alert, work, legs, _now()) if legs else []
        self._sender.send(sends, work, sent)
        return self._record(work, sent, conclude=conclude)

    # --- helpers ----------------------------------------------------------------------

    @staticmethod
    def _first_stage(decision: Decision) -> str:
        if decision.kind == "nothing":
            return PlanStage.DONE
        return PlanStage.CANCEL if decision.cancel else PlanStage.PLACE

    def _legs(self, work: Work, view: PositionView, target: Decimal | None) -> tuple[Decimal, Legs]:
        capabilities = self._broker.capabilities
        return plan_legs(work.parsed, view, target, capabilities=capabilities, rules=self._rules)

    def _stage_legs(
        self,
        session: Session,
        alert: AlertRecord,
        work: Work,
        view: PositionView,
        planned: tuple[Decimal, Legs],
    ) -> tuple[list[Send], str] | StageResult:
        """Record the legs and mark the first ones submitting, in the caller's transaction."""
        target, legs = planned
        plan = alert.plan
        assert plan is not None  # noqa: S101
        plan.target_position = target
        update_plan_detail(
            plan,
            target=str(target),
            position_placed_from=str(view.effective),
            notes=list(legs.notes),
            attached=legs.attached,
            legs=[leg.leg for leg in (*legs.now, *legs.then_open)],
        )
        opening = [leg.leg for leg in (*legs.now, *legs.then_open) if leg.leg in OPENING_LEGS]
        if opening and (halt := read_halt(session)).halted:
            # Raised inside the transaction: nothing of this plan is recorded.
            raise OrderRejected(halt.refusal())
        if not legs.now:
            plan.stage = PlanStage.DONE
            reason = "; ".join(legs.notes) or f"already at the target position {target}"
            wake = settle(session, alert, work.lock, AlertStatus.DONE, reason)
            return StageResult(final=(AlertStatus.DONE, reason), wake=wake)
        every = (*legs.now, *legs.then_open)
        add_legs(alert, every, broker=self._broker.name, symbol=work.instrument.symbol, now=_now())
        plan.stage = PlanStage.OPEN if legs.then_open else PlanStage.DONE
        return mark(session, alert, work, {leg.leg for leg in legs.now}, _now()), plan.stage

    def _send_staged(
        self, work: Work, staged: tuple[list[Send], str] | StageResult, sent: list[LegResult]
    ) -> StageResult:
        if isinstance(staged, StageResult):
            return staged
        sends, stage = staged
        self._sender.send(sends, work, sent)
        if stage == PlanStage.OPEN:
            # The close is sent; the opening legs wait for its fill.
            self._record(work, sent, conclude=False)
            return StageResult(next_stage=PlanStage.OPEN)
        return self._record(work, sent, conclude=True)

    def _record(self, work: Work, sent: list[LegResult], *, conclude: bool) -> StageResult:
        """Record the broker's answers; with ``conclude``, end the alert in the same
        transaction once no leg of it is left to send."""
        with self._db.write() as session:
            alert = _load(session, work.key)
            if sent:
                apply_results(session, alert, sent, _now())
                sent.clear()
            if not conclude:
                return StageResult()
            if any(o.status == OrderStatus.SUBMITTING for o in alert.orders):
                return StageResult(next_stage=PlanStage.DONE)
            status, reason = _conclusion(alert)
            wake = settle(session, alert, work.lock, status, reason)
            return StageResult(final=(status, reason), wake=wake)

    def _end(self, work: Work, status: str, reason: str) -> StageResult:
        with self._db.write() as session:
            wake = settle(session, _load(session, work.key), work.lock, status, reason)
            return StageResult(final=(status, reason), wake=wake)

    def _view(self, work: Work) -> PositionView:
        return read_view(self._broker, self._db, work.parsed, work.instrument)


def _refuse(session: Session, alert: AlertRecord, work: Work, refusal: RiskRefusal) -> StageResult:
    """A risk rule refused the plan: recorded on the plan with its rule, limit and value.
    Reaching the daily loss limit also halts trading."""
    plan = alert.plan
    assert plan is not None  # noqa: S101
    plan.stage = PlanStage.DONE
    update_plan_detail(plan, risk=refusal.to_json())
    if refusal.halts:
        set_halt(session, reason=refusal.message, by="daily_loss_limit", now=_now())
    wake = settle(session, alert, work.lock, AlertStatus.REJECTED, refusal.message)
    return StageResult(final=(AlertStatus.REJECTED, refusal.message), wake=wake)


def _opens(decision: Decision, view: PositionView) -> bool:
    """Whether the plan opens or adds to a position (a reversal always does)."""
    if decision.kind == "reverse":
        return True
    target, current = decision.target, view.effective
    if decision.kind not in ("add", "target") or target is None:
        return False
    return abs(target) > abs(current) or target * current < 0


def _conclusion(alert: AlertRecord) -> tuple[str, str | None]:
    orders = [(o.leg, o.status, o.reason) for o in alert.orders]
    notes = plan_detail(alert.plan).get("notes", []) if alert.plan else []
    rejected = [(leg, r) for leg, status, r in orders if status == OrderStatus.REJECTED]
    expired = [reason for _, status, reason in orders if status == OrderStatus.EXPIRED]
    if orders and len(rejected) == len(orders):
        return AlertStatus.REJECTED, rejected[0][1]
    if expired:
        return AlertStatus.EXPIRED, expired[0]
    if rejected:
        leg, reason = rejected[0]
        return (
            AlertStatus.FAILED,
            f"part of the plan failed: the {leg} order was rejected ({reason})",
        )
    return AlertStatus.DONE, "; ".join(notes) or None


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
