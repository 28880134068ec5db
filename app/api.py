"""/api/*: account, positions, orders, alerts, cancel, rejections. Bearer API_TOKEN."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from app import services
from app.auth import require_api_token
from app.views import alert_view, order_view, receipt_view
from trading.alerts.redact import scrub
from trading.errors import (
    BrokerStateUnknown,
    NotCancellable,
    OrderNotFound,
    RequestInvalid,
    RequestRefused,
    TemporaryError,
)
from trading.ledger.alerts import find_alert
from trading.ledger.inbox import find_receipt, recent_rejections
from trading.ledger.models import OrderRecord
from trading.ledger.orders import apply_broker_order, record_event
from trading.positions import strategy_positions

api = Blueprint("api", __name__, url_prefix="/api")


def _error(status: int, field: str, message: str) -> tuple[Response, int]:
    return jsonify({"errors": {field: [message]}}), status


def _limit(default: int = 100, most: int = 1000) -> int:
    try:
        return max(1, min(most, int(request.args.get("limit", default))))
    except ValueError:
        return default


@api.get("/account")
@require_api_token
def account() -> Response | tuple[Response, int]:
    svc = services(current_app)
    try:
        summary = svc.broker.account_summary()
        positions = svc.broker.positions()
    except (TemporaryError, BrokerStateUnknown) as error:
        return _error(503, "broker", f"account unknown right now: {error}")
    except (RequestRefused, RequestInvalid) as error:
        return _error(502, "broker", f"the broker refused the request: {error}")
    return jsonify(
        {
            "broker": svc.broker.name,
            "summary": summary.as_contract(),
            "positions": [
                {k: v for k, v in asdict(p).items() if k != "extra"} | p.extra for p in positions
            ],
        }
    )


@api.get("/positions")
@require_api_token
def positions() -> Response | tuple[Response, int]:
    """The broker's positions, and each strategy's own (from the fills of its orders)."""
    svc = services(current_app)
    try:
        held = svc.broker.positions()
    except (TemporaryError, BrokerStateUnknown) as error:
        return _error(503, "broker", f"positions unknown right now: {error}")
    except (RequestRefused, RequestInvalid) as error:
        return _error(502, "broker", f"the broker refused the request: {error}")
    with svc.database.read() as session:
        strategies = strategy_positions(session)
    return jsonify(
        {
            "broker": svc.broker.name,
            "positions": [
                {k: v for k, v in asdict(p).items() if k != "extra"} | p.extra for p in held
            ],
            "strategies": [
                {
                    "strategy": s.strategy,
                    "symbol": s.symbol,
                    "instrument_id": s.instrument_id,
                    "quantity": s.quantity,
                }
                for s in strategies
            ],
        }
    )


@api.get("/orders")
@require_api_token
def orders() -> Response:
    svc = services(current_app)
    query = select(OrderRecord).order_by(OrderRecord.id.desc()).limit(_limit())
    if status := request.args.get("status"):
        query = query.where(OrderRecord.status == status)
    if symbol := request.args.get("symbol"):
        query = query.where(OrderRecord.symbol == symbol.upper())
    with svc.database.read() as session:
        return jsonify({"orders": [order_view(row) for row in session.scalars(query)]})


@api.get("/alerts/<path:alert_id>")
@require_api_token
def alert(alert_id: str) -> Response | tuple[Response, int]:
    svc = services(current_app)
    # The inbox says which alert a public id means now; the ledger has its history once
    # a worker took it, and an alert nobody took yet is shown from its receipt.
    with svc.inbox.read() as session:
        received = find_receipt(session, alert_id)
    with svc.database.read() as session:
        record = find_alert(session, received.key if received is not None else alert_id)
        if record is not None:
            view = alert_view(record)
        elif received is not None:
            view = receipt_view(received)
        else:
            return _error(404, "alert_id", f"no alert {alert_id!r}")
        # Rows stored before bodies were masked at the door are masked on the way out.
        view["body"] = scrub(view["body"], svc.settings.webhook_secret())
        return jsonify(view)


@api.post("/orders/<order_id>/cancel")
@require_api_token
def cancel(order_id: str) -> Response | tuple[Response, int]:
    svc = services(current_app)
    with svc.database.read() as session:
        numeric = order_id.isascii() and order_id.isdigit() and len(order_id) < 19
        where = OrderRecord.id == int(order_id) if numeric else OrderRecord.order_ref == order_id
        order = session.scalar(select(OrderRecord).where(where))
        if order is None:
            return _error(404, "order_id", f"no order {order_id!r} (use the id or order_ref)")
        reference, order_pk = order.order_ref, order.id
    try:
        seen = svc.broker.cancel(reference)
    except OrderNotFound as error:
        return _error(404, "order_id", str(error))
    except NotCancellable as error:
        return _error(409, "order_id", str(error))
    except (TemporaryError, BrokerStateUnknown) as error:
        return _error(503, "broker", f"cancel not confirmed: {error}")
    except (RequestRefused, RequestInvalid) as error:
        return _error(502, "broker", f"cancel refused by the broker: {error}")
    with svc.database.write() as session:
        record = session.get_one(OrderRecord, order_pk)
        record_event(session, record, reference, "cancel_requested", {"via": "api"})
        apply_broker_order(session, record, seen)
        return jsonify(order_view(record, with_fills=True))


@api.get("/rejections")
@require_api_token
def rejections() -> Response:
    svc = services(current_app)
    with svc.inbox.read() as session:
        rows = recent_rejections(session, _limit())
        secret = svc.settings.webhook_secret()
        return jsonify(
            {
                "rejections": [
                    {
                        "at": r.at.isoformat(),
                        "status": r.status_code,
                        "reason": scrub(r.reason, secret, pairs=False),
                        "source_address": r.source_address,
                        "excerpt": scrub(r.excerpt, secret),
                    }
                    for r in rows
                ]
            }
        )
