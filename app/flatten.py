"""Flattening the account: one close alert per position and one cancel alert per
instrument where only our working orders remain, recorded and handed to the workers like
webhook alerts, so each goes through the instrument's lock, the cancels first, and the
ledger's record like any other."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app import Services
from app.webhooks import ingest_policy
from trading.alerts import DecodedBody, validate_alert
from trading.brokers.port import Broker, Position
from trading.ingest import accept_alert
from trading.keys import is_our_reference


@dataclass(frozen=True)
class FlattenPreview:
    positions: list[Position]
    working: dict[str, list[str]]  # symbol -> our working references

    def as_json(self) -> dict[str, object]:
        return {
            "positions": [{"symbol": p.symbol, "quantity": p.quantity} for p in self.positions],
            "working_orders": self.working,
            "will": (
                f"close {len(self.positions)} position(s) and cancel our working orders on "
                f"{len(self.working)} instrument(s); manual orders are left alone"
            ),
        }


def flatten_preview(broker: Broker) -> FlattenPreview:
    positions = [p for p in broker.positions() if p.quantity != 0]
    working: dict[str, list[str]] = {}
    for order in broker.open_orders():
        if is_our_reference(order.reference):
            working.setdefault(order.symbol, []).append(order.reference)
    return FlattenPreview(positions, working)


def flatten_everything(svc: Services, *, now: datetime) -> list[str]:
    """Record and hand over the alerts that flatten the account; their alert ids."""
    preview = flatten_preview(svc.broker)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    bodies = [_close(p, stamp) for p in preview.positions]
    held = {p.symbol for p in preview.positions}
    bodies += [
        {"symbol": symbol, "action": "cancel", "alert_id": f"flatten-{stamp}-{symbol}-cancel"}
        for symbol in preview.working
        if symbol not in held
    ]
    started = []
    for fields in bodies:
        decoded = DecodedBody(fields, "json")
        claim = accept_alert(
            svc.inbox,
            decoded,
            validate_alert(fields),
            ledger=svc.database,
            source_address="api:flatten",
            received_at=now,
            policy=ingest_policy(svc),
        )
        if claim.outcome == "accepted":
            svc.handoff.hand_over_soon(claim.key, claim.expires_at)
        started.append(claim.alert_id)
    return started


def _close(position: Position, stamp: str) -> dict[str, object]:
    fields: dict[str, object] = {
        "symbol": position.symbol,
        "action": "close",
        "alert_id": f"flatten-{stamp}-{position.symbol}",
    }
    # The broker's own description of the contract, so the close resolves to it.
    for name in ("sec_type", "exchange", "currency"):
        value = position.extra.get(name)
        if isinstance(value, str) and value:
            fields[name] = value
    if position.market_price:
        fields["price"] = str(position.market_price)
    return fields
