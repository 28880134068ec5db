"""A dry run: the plan an alert would make now, against the current position and rules,
without recording or sending anything."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from trading.alerts.model import Alert
from trading.brokers.port import Broker, Instrument
from trading.errors import OrderRejected
from trading.halt import read_halt
from trading.ledger.db import Database
from trading.leg_sender import Work
from trading.planning import (
    OrderRules,
    PlannedLeg,
    decide,
    plan_legs,
    settled_target,
)
from trading.positions import read_view
from trading.pretrade import PreTrade
from trading.risk import RiskLimits
from trading.symbol_map import map_symbol


def explain(
    alert: Alert,
    *,
    broker: Broker,
    database: Database,
    rules: OrderRules,
    limits: RiskLimits,
) -> dict[str, Any]:
    """``would`` is ``trade``, ``nothing`` or ``reject``, with the plan or the reason.

    Cancels are assumed to succeed: the legs shown are those planned from the position
    without our working orders, as the real plan would read it after its cancels.
    """
    symbol = map_symbol(rules.symbol_map, alert.symbol, alert.exchange)
    instrument = Instrument(symbol, alert.exchange, alert.sec_type, alert.currency)
    view = read_view(broker, database, alert, instrument)
    answer: dict[str, Any] = {
        "symbol": symbol,
        "instrument_id": view.instrument_id,
        "intent": alert.intent,
        "position": str(view.position),
        "working": str(view.working),
    }
    try:
        decision = decide(alert, view, rules)
        if decision.kind == "nothing":
            return {**answer, "would": "nothing", "reason": decision.reason}
        after = view if not decision.cancel else replace(view, working=Decimal(0))
        target = decision.target
        if target is None and alert.intent != "protect":
            target = settled_target(alert, after, before=view.effective)
        target, legs = plan_legs(
            alert, after, target, capabilities=broker.capabilities, rules=rules
        )
        opening = any(leg.leg in ("entry", "open") for leg in (*legs.now, *legs.then_open))
        with database.read() as session:
            halt = read_halt(session)
        if opening and halt.halted:
            raise OrderRejected(halt.refusal())
        now = datetime.now(UTC)
        work = Work("explain", alert, instrument, "", now, alert.timestamp or now)
        refusal = PreTrade(database, broker, limits).check(
            work, after, target, legs, now=now, dry_run=True
        )
        if refusal is not None:
            return {
                **answer,
                "would": "reject",
                "reason": refusal.message,
                "risk": refusal.to_json(),
            }
    except OrderRejected as error:
        return {**answer, "would": "reject", "reason": error.reason}
    return {
        **answer,
        "would": "trade" if legs.now else "nothing",
        "plan": {
            "kind": decision.kind,
            "target": str(target),
            "cancel_first": list(decision.cancel),
            "legs": [_leg(leg) for leg in legs.now],
            "after_the_close_fills": [_leg(leg) for leg in legs.then_open],
            "attached_exits": legs.attached,
            "notes": list(legs.notes),
        },
    }


def _leg(leg: PlannedLeg) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "leg": leg.leg,
        "side": leg.side,
        "quantity": str(leg.quantity),
        "order_type": leg.order_type,
    }
    for name in ("limit_price", "stop_price", "trail_amount", "trail_percent", "parent_leg"):
        value = getattr(leg, name)
        if value is not None:
            shown[name] = str(value)
    if leg.time_in_force:
        shown["time_in_force"] = leg.time_in_force
    return shown
